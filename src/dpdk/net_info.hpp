#pragma once
// What the kernel knows about an interface (its IPv4 and IPv6 addresses, its
// default gateways), read once before the scan; none of it is used on the
// data path.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "wirespeed/address.hpp"

namespace ws::dp {

std::optional<std::uint32_t> interface_ipv4(const std::string& interface);
// The gateway of the default route through `interface` (from /proc/net/route).
std::optional<std::uint32_t> default_gateway(const std::string& interface);
bool interface_exists(const std::string& interface);

// A global-scope IPv6 address of `interface` (from /proc/net/if_inet6): never
// link-local, loopback, multicast, nor one still tentative or whose DAD failed;
// a permanent (configured) address before a deprecated or temporary one.
std::optional<ws::uint128> interface_ipv6(const std::string& interface);
// The next hop of the IPv6 default route (::/0) through `interface` (from
// /proc/net/ipv6_route; the lowest metric wins). Often a link-local address
// (fe80::..., as router advertisements install it): NDP on that link
// resolves it all the same.
std::optional<ws::uint128> default_gateway6(const std::string& interface);

// The pure parsers behind those two, over the files' text (unit-tested).
//   /proc/net/if_inet6: "ADDR32HEX IFINDEX PREFIXLEN SCOPE FLAGS IFNAME" per line.
std::optional<ws::uint128> parse_if_inet6(std::string_view text, std::string_view interface);
//   /proc/net/ipv6_route: "DST32HEX DSTLEN SRC32HEX SRCLEN NEXTHOP32HEX METRIC
//   REFCNT USE FLAGS IFNAME" per line (hex fields, no header).
std::optional<ws::uint128> parse_ipv6_route_default(std::string_view text, std::string_view interface);

} // namespace ws::dp
