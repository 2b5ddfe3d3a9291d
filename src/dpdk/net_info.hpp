#pragma once
// What the kernel knows about an interface (its IPv4 address, its default
// gateway), read once before the scan; none of it is used on the data path.
#include <cstdint>
#include <optional>
#include <string>

namespace ws::dp {

std::optional<std::uint32_t> interface_ipv4(const std::string& interface);
// The gateway of the default route through `interface` (from /proc/net/route).
std::optional<std::uint32_t> default_gateway(const std::string& interface);
bool interface_exists(const std::string& interface);

} // namespace ws::dp
