#pragma once
// The SIMD forms of CookieMaker::make_burst for the AES PRF: the same
// 16-byte block, the same AES-128 and the same cookie_from_hash() as
// cookie.cpp, computed 4 blocks per VAES register (AVX-512 path) or as 8
// interleaved AES-NI chains (AVX2 path). Each in its own translation unit
// compiled for its instruction set; called only when the CPU has it.
#include <cstddef>
#include <cstdint>

#include "wirespeed/cookie.hpp"
#include "wirespeed/scan_space.hpp"

namespace ws::detail {

// The PRF's second word: the port, and the protocol above it (0 for TCP).
inline std::uint64_t service_word(std::uint16_t port, Proto proto) noexcept {
    return std::uint64_t{port} | (proto == Proto::tcp ? 0 : std::uint64_t(proto) << 16);
}

// The 16-byte block, read as two little-endian words: target ip, source ip,
// target port and protocol, zero padding.
inline std::uint64_t first_word(std::uint32_t target_ip, std::uint32_t source_ip) noexcept {
    return std::uint64_t{target_ip} | (std::uint64_t{source_ip} << 32);
}

// Cookie's layout as one little-endian word, which the vector paths store
// whole: isn | source_port << 32 | ip_id << 48.
static_assert(sizeof(Cookie) == 8 && offsetof(Cookie, isn) == 0 && offsetof(Cookie, source_port) == 4 &&
              offsetof(Cookie, ip_id) == 6);

using AesRoundKeys = std::uint8_t[11][16];

void cookie_burst_vaes(const AesRoundKeys& round_keys, PortRange source_ports, const Target* targets,
                       std::size_t count, std::uint32_t source_ip, Cookie* out) noexcept;
// IPv6: CookieMaker::make_burst6's CBC-MAC, 4 blocks per VAES register.
void cookie_burst6_vaes(const AesRoundKeys& round_keys, PortRange source_ports, const uint128* targets6, const Target* lanes,
                        const uint128* sources6, std::size_t count, Cookie* out) noexcept;
void cookie_burst_aesni8(const AesRoundKeys& round_keys, PortRange source_ports, const Target* targets,
                         std::size_t count, std::uint32_t source_ip, Cookie* out) noexcept;

} // namespace ws::detail
