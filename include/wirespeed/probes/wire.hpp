#pragma once
// Byte-level helpers shared by the probe modules: big-endian loads and
// stores, Ethernet and IPv4 headers, checksum folding. Inline: they sit on
// the TX and RX hot paths.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "wirespeed/address.hpp"
#include "wirespeed/checksum.hpp"

namespace ws::wire {

constexpr std::size_t eth_len = 14;
constexpr std::size_t ip_len = 20; // the headers we build carry no options
constexpr std::size_t ip_off = eth_len;
constexpr std::size_t l4_off = eth_len + ip_len;
constexpr std::uint16_t ethertype_ipv4 = 0x0800;
constexpr std::uint16_t ethertype_arp = 0x0806;
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

} // namespace ws::wire
