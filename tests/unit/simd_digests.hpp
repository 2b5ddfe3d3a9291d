#pragma once
// Digests of the permutation order and of the cookies for fixed seeds and
// keys: test_simd.cpp pins them to the values the code gave before the SIMD
// paths existed (computed from the commit before them), so a change that
// alters probe bytes for a given seed and key (breaking resume and shards
// across versions) fails a test rather than passing silently.
#include <cstdint>

#include "wirespeed/cookie.hpp"
#include "wirespeed/permutation.hpp"

namespace ws::test {

inline std::uint64_t digest_mix(std::uint64_t h, std::uint64_t v) noexcept {
    h ^= v;
    h *= 0x100000001b3ULL;
    return h ^ (h >> 29);
}

inline std::uint64_t permutation_digest(std::uint64_t size, std::uint64_t seed) {
    const Permutation p(size, seed);
    std::uint64_t h = 0xcbf29ce484222325ULL;
    const std::uint64_t direct = size < 2000 ? size : 2000;
    for (std::uint64_t i = 0; i < direct; ++i) h = digest_mix(h, p.forward(i));
    for (std::uint64_t k = 0; k < 2000; ++k) h = digest_mix(h, p.forward((k * 0x9e3779b97f4a7c15ULL) % size));
    return h;
}

inline std::uint64_t cookie_digest(CookiePrf prf) {
    const CookieMaker maker(CookieKey{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL}, PortRange{40000, 60999}, prf);
    constexpr Proto protos[] = {Proto::tcp, Proto::udp, Proto::icmp};
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (std::uint32_t k = 0; k < 3000; ++k) {
        const Cookie c = maker.make(k * 2654435761u ^ 0x5a5a, std::uint16_t(k * 7919), 0xc6120064u, protos[k % 3]);
        h = digest_mix(digest_mix(digest_mix(h, c.isn), c.source_port), c.ip_id);
    }
    return h;
}

struct PermutationCase {
    std::uint64_t size;
    std::uint64_t seed;
};
// Sizes: trivial, a power of two (no cycle walking), the perf spaces (2^26,
// just above it, the Internet x 1-1024), odd large ones, the 2^63 limit.
inline constexpr PermutationCase permutation_cases[] = {
    {1, 1}, {7, 3}, {65536, 0x5eed}, {67108864, 0x5eed}, {67760000, 42},
    {3702258432ULL * 1024, 0x5eed}, {(1ULL << 40) + 12345, 77}, {1ULL << 63, 9},
};

} // namespace ws::test
