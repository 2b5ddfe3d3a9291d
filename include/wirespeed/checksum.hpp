#pragma once
// The Internet checksum on the RX hot path: a 16-bit ones' complement sum
// (RFC 1071) taken 8 bytes at a time with end-around carry, no allocation, no
// branch per word. probe.hpp's checksum_partial() is the byte-wise reference
// the unit tests hold this one against.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ws {

// The folded ones' complement sum of data[0, len) read as big-endian 16-bit
// words (an odd last byte is padded with a zero byte, RFC 1071), plus
// `initial` (host-order word values, e.g. a pseudo header; < 2^32). The result
// is in 1..0xffff unless every input word is zero: a correctly checksummed
// header or segment sums to 0xffff, whichever of the two zeros (0x0000 or
// 0xffff) its checksum field holds.
inline std::uint16_t ones_sum(const std::uint8_t* data, std::size_t len, std::uint32_t initial = 0) noexcept {
    std::uint64_t acc = 0;
    while (len >= 8) {
        std::uint64_t w;
        std::memcpy(&w, data, 8);
        acc += w;
        acc += acc < w; // end-around carry; cannot overflow again
        data += 8;
        len -= 8;
    }
    if (len) {
        // The tail keeps its offset within an 8-byte block, so 16-bit word
        // alignment holds and an odd last byte is zero-padded on its right.
        std::uint8_t tail[8] = {};
        std::memcpy(tail, data, len);
        std::uint64_t w;
        std::memcpy(&w, tail, 8);
        acc += w;
        acc += acc < w;
    }
    acc = (acc & 0xffffffffu) + (acc >> 32);
    acc = (acc & 0xffffffffu) + (acc >> 32);
    acc = (acc & 0xffffu) + (acc >> 16);
    acc = (acc & 0xffffu) + (acc >> 16);
    std::uint32_t sum = std::uint32_t(acc);
    // A ones' complement sum of byte-swapped words is the byte-swapped sum.
    if constexpr (std::endian::native == std::endian::little)
        sum = __builtin_bswap16(std::uint16_t(sum));
    std::uint64_t total = std::uint64_t(sum) + initial;
    total = (total & 0xffffu) + (total >> 16);
    total = (total & 0xffffu) + (total >> 16);
    total = (total & 0xffffu) + (total >> 16);
    return std::uint16_t(total);
}

// True when data (a header or message including its checksum field) checks.
inline bool checksum_ok(const std::uint8_t* data, std::size_t len, std::uint32_t initial = 0) noexcept {
    return ones_sum(data, len, initial) == 0xffff;
}

// The TCP/UDP pseudo-header sum (addresses in host order) for checksum_ok().
constexpr std::uint32_t pseudo_header_sum(std::uint32_t source, std::uint32_t destination, std::uint8_t protocol,
                                          std::size_t l4_length) noexcept {
    return (source >> 16) + (source & 0xffff) + (destination >> 16) + (destination & 0xffff) + protocol +
           std::uint32_t(l4_length);
}

} // namespace ws
