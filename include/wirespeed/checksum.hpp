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
    // 32-bit words into two 64-bit accumulators: no carry to propagate until
    // the fold (a frame is far below the 2^34 bytes that could overflow), and
    // two independent add chains. Any 16-bit word may be added at any 16-bit
    // lane: 2^16 = 1 modulo 0xffff, and so are 2^32 and 2^64.
    std::uint64_t acc0 = 0, acc1 = 0;
    while (len >= 8) {
        std::uint32_t a, b;
        std::memcpy(&a, data, 4);
        std::memcpy(&b, data + 4, 4);
        acc0 += a;
        acc1 += b;
        data += 8;
        len -= 8;
    }
    if (len & 4) {
        std::uint32_t w;
        std::memcpy(&w, data, 4);
        acc0 += w;
        data += 4;
    }
    if (len & 2) {
        std::uint16_t w;
        std::memcpy(&w, data, 2);
        acc1 += w;
        data += 2;
    }
    if (len & 1) // the odd last byte, zero-padded on its right (in native order)
        acc0 += std::endian::native == std::endian::little ? data[0] : std::uint64_t(data[0]) << 8;
    std::uint64_t acc = acc0 + acc1;
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
