#pragma once
// Byte-level helpers shared by the probe modules: big-endian loads and
// stores, Ethernet, IPv4 and IPv6 headers, checksum folding, and the two
// address-family policies (Ipv4, Ipv6) the modules are written over once.
// Inline: they sit on the TX and RX hot paths.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "wirespeed/address.hpp"
#include "wirespeed/checksum.hpp"
#include "wirespeed/cookie.hpp"
#include "wirespeed/probe.hpp"

namespace ws::wire {

constexpr std::size_t eth_len = 14;
constexpr std::size_t ip_len = 20; // the headers we build carry no options
constexpr std::size_t ip_off = eth_len;
constexpr std::size_t l4_off = eth_len + ip_len;
constexpr std::uint16_t ethertype_ipv4 = 0x0800;
constexpr std::uint16_t ethertype_arp = 0x0806;
constexpr std::uint16_t ethertype_ipv6 = 0x86dd;
constexpr std::size_t ip6_len = 40; // the fixed header; our probes carry no extension header
constexpr std::size_t l4_off6 = eth_len + ip6_len;
constexpr std::uint8_t proto_icmpv6 = 58;
constexpr std::uint16_t ip_flag_df = 0x4000;
constexpr std::uint8_t proto_icmp = 1;
constexpr std::uint8_t proto_tcp = 6;
constexpr std::uint8_t proto_udp = 17;

// Offsets of the IPv4 per-probe fields inside a frame.
constexpr std::size_t ip_id_at = ip_off + 4;
constexpr std::size_t ip_sum_at = ip_off + 10;
constexpr std::size_t ip_dst_at = ip_off + 16;

// One fixed-size store each (a byte swap, then a 2- or 4-byte memcpy): byte
// by byte, GCC's store merging glued neighbouring fields of a probe's patch
// into one 8-byte word assembled with eight shift/or pairs.
inline void put16(std::uint8_t* p, std::uint16_t v) noexcept {
    if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap16(v);
    std::memcpy(p, &v, sizeof v);
}
inline void put32(std::uint8_t* p, std::uint32_t v) noexcept {
    if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap32(v);
    std::memcpy(p, &v, sizeof v);
}
inline std::uint16_t load16(const std::uint8_t* p) noexcept { return std::uint16_t((std::uint16_t{p[0]} << 8) | p[1]); }
inline std::uint32_t load32(const std::uint8_t* p) noexcept {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// Sums of 16-bit words kept below 2^17 so a few more adds cannot overflow.
constexpr std::uint32_t fold16(std::uint32_t sum) noexcept {
    sum = (sum & 0xffff) + (sum >> 16);
    return (sum & 0xffff) + (sum >> 16);
}
// The checksum field value for a sum (~folded).
constexpr std::uint16_t finish(std::uint32_t sum) noexcept { return std::uint16_t(~fold16(sum)); }
constexpr std::uint32_t address_sum(std::uint32_t a) noexcept { return (a >> 16) + (a & 0xffff); }

inline std::size_t put_ethernet(std::uint8_t* out, const MacAddress& destination, const MacAddress& source,
                                std::uint16_t ethertype) noexcept {
    std::memcpy(out, destination.data(), 6);
    std::memcpy(out + 6, source.data(), 6);
    put16(out + 12, ethertype);
    return eth_len;
}

// IPv4 header without options; the checksum field is left zero for the caller.
inline void put_ipv4(std::uint8_t* ip, std::uint16_t total_length, std::uint16_t id, std::uint16_t flags_fragment,
                     std::uint8_t ttl, std::uint8_t protocol, std::uint32_t source, std::uint32_t destination) noexcept {
    ip[0] = 0x45;
    ip[1] = 0; // tos
    put16(ip + 2, total_length);
    put16(ip + 4, id);
    put16(ip + 6, flags_fragment);
    ip[8] = ttl;
    ip[9] = protocol;
    put16(ip + 10, 0);
    put32(ip + 12, source);
    put32(ip + 16, destination);
}

// The IPv4 per-probe words every module patches: ID and destination, and the
// header checksum unless the NIC finishes it.
template <bool Offload>
inline void patch_ipv4(std::uint8_t* frame, std::uint32_t ip_sum_base, std::uint32_t destination,
                       std::uint16_t ip_id) noexcept {
    put16(frame + ip_id_at, ip_id);
    put32(frame + ip_dst_at, destination);
    put16(frame + ip_sum_at, Offload ? 0 : finish(ip_sum_base + ip_id + address_sum(destination)));
}

// ---- IPv6

inline void put128(std::uint8_t* p, uint128 v) noexcept {
    put32(p, std::uint32_t(v >> 96));
    put32(p + 4, std::uint32_t(v >> 64));
    put32(p + 8, std::uint32_t(v >> 32));
    put32(p + 12, std::uint32_t(v));
}
inline uint128 load128(const std::uint8_t* p) noexcept {
    return (uint128{load32(p)} << 96) | (uint128{load32(p + 4)} << 64) | (uint128{load32(p + 8)} << 32) | load32(p + 12);
}

// The sum of an IPv6 address's eight 16-bit words, folded below 2^17 like
// address_sum()'s: the 32-bit halves add without carry in 64 bits, and
// 2^16 = 1 modulo 0xffff lets the folds go 16 bits at a time.
constexpr std::uint32_t address_sum6(uint128 a) noexcept {
    const auto hi = std::uint64_t(a >> 64), lo = std::uint64_t(a);
    std::uint64_t s = (hi >> 32) + (hi & 0xffffffffu) + (lo >> 32) + (lo & 0xffffffffu);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return std::uint32_t(s);
}
// RFC 8200 8.1: both addresses, the upper-layer length (32 bits) and the next header.
constexpr std::uint32_t pseudo_header_sum6(uint128 source, uint128 destination, std::uint8_t next_header,
                                           std::size_t l4_length) noexcept {
    return address_sum6(source) + address_sum6(destination) + next_header + std::uint32_t(l4_length >> 16) +
           std::uint32_t(l4_length & 0xffff);
}

// The fixed IPv6 header: traffic class 0, flow label `flow` (20 bits).
inline void put_ipv6(std::uint8_t* ip, std::uint16_t payload_length, std::uint8_t next_header, std::uint8_t hop_limit,
                     uint128 source, uint128 destination, std::uint32_t flow = 0) noexcept {
    put32(ip, 0x60000000u | (flow & 0xfffff));
    put16(ip + 4, payload_length);
    ip[6] = next_header;
    ip[7] = hop_limit;
    put128(ip + 8, source);
    put128(ip + 24, destination);
}

// ---- The address families: what the probe modules' build/patch/classify
// are written over, once. Everything L3 lives here; the modules only say
// where their L4 words go (offsets relative to l4_off).

struct Ipv4 {
    using Address = std::uint32_t; // host order
    using Fields = ProbeFields;
    static constexpr AddressFamily family = AddressFamily::ipv4;
    static constexpr std::uint16_t ethertype = ethertype_ipv4;
    static constexpr std::size_t header_len = ip_len;
    static constexpr std::size_t l4_off = wire::l4_off;
    static constexpr std::size_t max_l4_len = 0xffff - ip_len; // the total length counts the header
    static constexpr std::uint8_t icmp_protocol = proto_icmp;
    static constexpr std::uint8_t echo_request = 8, echo_reply = 0;
    static constexpr bool icmp_pseudo_header = false; // ICMPv4 sums the message only
    static constexpr bool udp_zero_checksum_ok = true; // RFC 768: 0 is "no checksum"

    static Address source(const ProbeConfig& config) noexcept { return config.source_ip; }
    static IpAddress ip(Address a) noexcept { return IpAddress::from_ipv4(a); }
    static Address of(IpAddress a) noexcept { return a.ipv4(); }
    static constexpr std::uint32_t address_sum(Address a) noexcept { return wire::address_sum(a); }
    static constexpr std::uint32_t pseudo_sum(Address s, Address d, std::uint8_t protocol, std::size_t len) noexcept {
        return pseudo_header_sum(s, d, protocol, len);
    }
    // Header with `l4_len` bytes behind it, ID 0; the checksum field stays 0.
    static void put_header(std::uint8_t* ip, std::size_t l4_len, std::uint8_t ttl, std::uint8_t protocol, Address source,
                           Address destination, bool dont_fragment = true) noexcept {
        put_ipv4(ip, std::uint16_t(ip_len + l4_len), 0, dont_fragment ? ip_flag_df : 0, ttl, protocol, source,
                 destination);
    }
    static void finish_header(std::uint8_t* ip) noexcept { put16(ip + 10, wire::finish(ones_sum(ip, ip_len))); }
    static std::uint32_t header_sum(const std::uint8_t* ip) noexcept { return fold16(ones_sum(ip, ip_len)); }
    // The per-probe IP words; returns the destination's sum for the L4 checksum.
    template <bool Offload>
    static std::uint32_t patch_header(std::uint8_t* frame, const ProbeTemplate& t, const Fields& p) noexcept {
        patch_ipv4<Offload>(frame, t.ip_sum_base_, p.destination_ip, p.ip_id);
        return address_sum(p.destination_ip);
    }
    static std::uint16_t quoted_ip_id(const std::uint8_t* ip) noexcept { return load16(ip + 4); }
    static Address quoted_source(const std::uint8_t* ip) noexcept { return load32(ip + 12); }
    static Address quoted_destination(const std::uint8_t* ip) noexcept { return load32(ip + 16); }
    static Cookie cookie(const CookieMaker& cookies, Address target, std::uint16_t port, Address source,
                         Proto proto) noexcept {
        return cookies.make(target, port, source, proto);
    }
};

struct Ipv6 {
    using Address = uint128;
    using Fields = ProbeFields6;
    static constexpr AddressFamily family = AddressFamily::ipv6;
    static constexpr std::uint16_t ethertype = ethertype_ipv6;
    static constexpr std::size_t header_len = ip6_len;
    static constexpr std::size_t l4_off = l4_off6;
    static constexpr std::size_t max_l4_len = 0xffff; // the payload length does not
    static constexpr std::uint8_t icmp_protocol = proto_icmpv6;
    static constexpr std::uint8_t echo_request = 128, echo_reply = 129;
    static constexpr bool icmp_pseudo_header = true;    // ICMPv6 sums the pseudo header too (RFC 4443 2.3)
    static constexpr bool udp_zero_checksum_ok = false; // RFC 8200 8.1: a zero UDP checksum is discarded

    static Address source(const ProbeConfig& config) noexcept { return config.source_ip6; }
    static IpAddress ip(Address a) noexcept { return IpAddress::from_ipv6(a); }
    static Address of(IpAddress a) noexcept { return a.bits; }
    static constexpr std::uint32_t address_sum(Address a) noexcept { return address_sum6(a); }
    static constexpr std::uint32_t pseudo_sum(Address s, Address d, std::uint8_t protocol, std::size_t len) noexcept {
        return pseudo_header_sum6(s, d, protocol, len);
    }
    static void put_header(std::uint8_t* ip, std::size_t l4_len, std::uint8_t hop_limit, std::uint8_t next_header,
                           Address source, Address destination, bool = true) noexcept {
        put_ipv6(ip, std::uint16_t(l4_len), next_header, hop_limit, source, destination);
    }
    static void finish_header(std::uint8_t*) noexcept {} // no header checksum
    static std::uint32_t header_sum(const std::uint8_t*) noexcept { return 0; }
    // Flow label's low 16 bits (the IP ID's stand-in) and the destination.
    template <bool>
    static std::uint32_t patch_header(std::uint8_t* frame, const ProbeTemplate&, const Fields& p) noexcept {
        put16(frame + ip_off + 2, p.ip_id);
        put128(frame + ip_off + 24, p.destination_ip);
        return address_sum6(p.destination_ip);
    }
    static std::uint16_t quoted_ip_id(const std::uint8_t* ip) noexcept { return load16(ip + 2); }
    static Address quoted_source(const std::uint8_t* ip) noexcept { return load128(ip + 8); }
    static Address quoted_destination(const std::uint8_t* ip) noexcept { return load128(ip + 24); }
    static Cookie cookie(const CookieMaker& cookies, Address target, std::uint16_t port, Address source,
                         Proto proto) noexcept {
        return cookies.make(IpAddress::from_ipv6(target), port, IpAddress::from_ipv6(source), proto);
    }
};

} // namespace ws::wire
