// CookieMaker::make_burst for the AVX2 path: AES-NI on 8 interleaved chains
// (twice the scalar path's 4, enough to cover AESENC's latency at two per
// cycle), the hash -> cookie step on four hashes per AVX2 register. Built
// with -mno-avx512f (src/core/meson.build) like permutation_avx2.cpp.
#include <immintrin.h>

#include "cookie_simd.hpp"

#define WS_TARGET_AVX2_AES __attribute__((target("avx2,aes")))

// The lane loops below have compile-time trip counts; -O2 keeps them as
// loops over stack arrays, so each carries `#pragma GCC unroll` to put every
// lane in its own register.

namespace ws::detail {
namespace {

// Four hashes -> four cookies, as cookie_from_hash() in cookie.cpp.
WS_TARGET_AVX2_AES inline __m256i cookies_from_hashes(__m256i h, __m256i first_port, __m256i port_count) noexcept {
    const __m256i isn = _mm256_and_si256(h, _mm256_set1_epi64x(0xffffffff));
    const __m256i port = _mm256_add_epi64(first_port, _mm256_srli_epi64(_mm256_mul_epu32(_mm256_srli_epi64(h, 32), port_count), 32));
    const __m256i ip_id = _mm256_and_si256(_mm256_xor_si256(_mm256_srli_epi64(h, 48), _mm256_srli_epi64(h, 16)),
                                           _mm256_set1_epi64x(0xffff));
    return _mm256_or_si256(isn, _mm256_or_si256(_mm256_slli_epi64(port, 32), _mm256_slli_epi64(ip_id, 48)));
}

WS_TARGET_AVX2_AES inline __m128i block(const Target& t, std::uint32_t source_ip, __m128i k0) noexcept {
    return _mm_xor_si128(_mm_set_epi64x(std::int64_t(service_word(t.port, t.proto)), std::int64_t(first_word(t.address, source_ip))), k0);
}

} // namespace

WS_TARGET_AVX2_AES void cookie_burst_aesni8(const AesRoundKeys& round_keys, PortRange source_ports, const Target* targets,
                                            std::size_t count, std::uint32_t source_ip, Cookie* out) noexcept {
    const auto* rk = reinterpret_cast<const __m128i*>(round_keys);
    const __m128i k0 = _mm_load_si128(rk);
    const __m256i first_port = _mm256_set1_epi64x(source_ports.first);
    const __m256i port_count = _mm256_set1_epi64x(source_ports.size());
    auto* words = reinterpret_cast<std::uint64_t*>(out);
    for (std::size_t i = 0; i < count; i += 8) {
        const std::size_t here = count - i < 8 ? count - i : 8;
        // Missing lanes hash the last real target again and are not stored.
        __m128i x[8];
        #pragma GCC unroll 16
        for (std::size_t n = 0; n < 8; ++n) x[n] = block(targets[i + (n < here ? n : here - 1)], source_ip, k0);
        #pragma GCC unroll 16
        for (int r = 1; r < 10; ++r) {
            const __m128i k = _mm_load_si128(rk + r);
            #pragma GCC unroll 16
            for (auto& v : x) v = _mm_aesenc_si128(v, k);
        }
        const __m128i last = _mm_load_si128(rk + 10);
        #pragma GCC unroll 16
        for (auto& v : x) v = _mm_aesenclast_si128(v, last);
        // Low words: unpacklo pairs blocks (0,1), (2,3), ...
        const __m256i h0 = _mm256_set_m128i(_mm_unpacklo_epi64(x[2], x[3]), _mm_unpacklo_epi64(x[0], x[1]));
        const __m256i h1 = _mm256_set_m128i(_mm_unpacklo_epi64(x[6], x[7]), _mm_unpacklo_epi64(x[4], x[5]));
        alignas(32) std::uint64_t c[8];
        _mm256_store_si256(reinterpret_cast<__m256i*>(c), cookies_from_hashes(h0, first_port, port_count));
        _mm256_store_si256(reinterpret_cast<__m256i*>(c + 4), cookies_from_hashes(h1, first_port, port_count));
        for (std::size_t n = 0; n < here; ++n) words[i + n] = c[n];
    }
}

} // namespace ws::detail
