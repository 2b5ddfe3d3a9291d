// Permutation::forward_burst on AVX2: four 64-bit lanes per register, four
// registers in flight (16 chains). AVX2 has no 64-bit low multiply, so each
// one is three 32x32->64 VPMULUDQs (the high x high product falls off the
// top). Built with -mno-avx512f (src/core/meson.build) so that this path is
// what a CPU without AVX-512 runs, even in a -march=native build on one
// that has it. Cycle-walking as in permutation_avx512.cpp.
#include <immintrin.h>

#include "permutation_simd.hpp"

#define WS_TARGET_AVX2 __attribute__((target("avx2")))

// The lane loops below have compile-time trip counts; -O2 keeps them as
// loops over stack arrays, so each carries `#pragma GCC unroll` to put every
// lane in its own register.

namespace ws::detail {
namespace {

struct Schedule256 {
    __m256i keys[FeistelKey::rounds];
    __m256i masks[FeistelKey::rounds];
    __m256i low_mask;
    __m128i shift;
};

// a * c mod 2^64 for a constant c: lo(a)lo(c) + (hi(a)lo(c) + lo(a)hi(c)) << 32.
template <std::uint64_t C>
WS_TARGET_AVX2 inline __m256i mul_const(__m256i a) noexcept {
    const __m256i c_lo = _mm256_set1_epi64x(std::int64_t(C & 0xffffffffu));
    const __m256i c_hi = _mm256_set1_epi64x(std::int64_t(C >> 32));
    const __m256i low = _mm256_mul_epu32(a, c_lo);
    const __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), c_lo), _mm256_mul_epu32(a, c_hi));
    return _mm256_add_epi64(low, _mm256_slli_epi64(cross, 32));
}

WS_TARGET_AVX2 inline __m256i round_function(__m256i r, __m256i key, __m256i mask) noexcept {
    __m256i x = mul_const<feistel_mul1>(_mm256_xor_si256(r, key));
    x = _mm256_xor_si256(x, _mm256_srli_epi64(x, 32));
    x = mul_const<feistel_mul2>(x);
    x = _mm256_xor_si256(x, _mm256_srli_epi64(x, 29));
    return _mm256_and_si256(x, mask);
}

template <int N>
WS_TARGET_AVX2 inline void encrypt(const Schedule256& s, __m256i (&x)[N]) noexcept {
    __m256i l[N], r[N];
    #pragma GCC unroll 16
    for (int n = 0; n < N; ++n) {
        l[n] = _mm256_srl_epi64(x[n], s.shift);
        r[n] = _mm256_and_si256(x[n], s.low_mask);
    }
    #pragma GCC unroll 16
    for (int k = 0; k < FeistelKey::rounds; ++k)
        #pragma GCC unroll 16
        for (int n = 0; n < N; ++n) {
            const __m256i c = _mm256_xor_si256(l[n], round_function(r[n], s.keys[k], s.masks[k]));
            l[n] = r[n];
            r[n] = c;
        }
    #pragma GCC unroll 16
    for (int n = 0; n < N; ++n) x[n] = _mm256_or_si256(_mm256_sll_epi64(l[n], s.shift), r[n]);
}

// Lane masks (all ones = valid) for the first `here` of four lanes.
WS_TARGET_AVX2 inline __m256i first_lanes(unsigned here) noexcept {
    const __m256i iota = _mm256_set_epi64x(3, 2, 1, 0);
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(std::int64_t(here)), iota);
}

template <int N>
WS_TARGET_AVX2 inline void group(const Schedule256& s, __m256i last, std::uint64_t base, unsigned lanes,
                                 std::uint64_t* out) noexcept {
    const __m256i iota = _mm256_set_epi64x(3, 2, 1, 0);
    __m256i x[N], valid[N];
    #pragma GCC unroll 16
    for (int n = 0; n < N; ++n) {
        x[n] = _mm256_add_epi64(_mm256_set1_epi64x(std::int64_t(base + 4 * unsigned(n))), iota);
        valid[n] = first_lanes(lanes > 4u * unsigned(n) ? lanes - 4u * unsigned(n) : 0u);
    }
    encrypt<N>(s, x);
    // Valid lanes are below 2^63 (the domain is at most 2^63), so the signed
    // compare is the unsigned one.
    __m256i walk[N];
    int any = 0;
    #pragma GCC unroll 16
    for (int n = 0; n < N; ++n) {
        walk[n] = _mm256_and_si256(valid[n], _mm256_cmpgt_epi64(x[n], last));
        any |= _mm256_movemask_pd(_mm256_castsi256_pd(walk[n]));
    }
    while (any) {
        __m256i next[N];
        #pragma GCC unroll 16
        for (int n = 0; n < N; ++n) next[n] = x[n];
        encrypt<N>(s, next);
        any = 0;
        #pragma GCC unroll 16
        for (int n = 0; n < N; ++n) {
            x[n] = _mm256_blendv_epi8(x[n], next[n], walk[n]);
            walk[n] = _mm256_and_si256(walk[n], _mm256_cmpgt_epi64(x[n], last));
            any |= _mm256_movemask_pd(_mm256_castsi256_pd(walk[n]));
        }
    }
    #pragma GCC unroll 16
    for (int n = 0; n < N; ++n) {
        if (lanes >= 4u * unsigned(n + 1)) _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 4 * n), x[n]);
        else _mm256_maskstore_epi64(reinterpret_cast<long long*>(out + 4 * n), valid[n], x[n]);
    }
}

} // namespace

WS_TARGET_AVX2 void feistel_burst_avx2(const FeistelKey& key, std::uint64_t first, unsigned count,
                                       std::uint64_t* out) noexcept {
    Schedule256 s;
    #pragma GCC unroll 16
    for (int k = 0; k < FeistelKey::rounds; ++k) {
        s.keys[k] = _mm256_set1_epi64x(std::int64_t(key.keys[k]));
        s.masks[k] = _mm256_set1_epi64x(std::int64_t(key.round_masks[k]));
    }
    s.low_mask = _mm256_set1_epi64x(std::int64_t(key.low_mask));
    s.shift = _mm_cvtsi32_si128(int(key.low_bits));
    const __m256i last = _mm256_set1_epi64x(std::int64_t(key.size - 1));
    unsigned i = 0;
    for (; i + 16 <= count; i += 16) group<4>(s, last, first + i, 16, out + i);
    const unsigned rest = count - i;
    if (rest > 8) group<4>(s, last, first + i, rest, out + i);
    else if (rest > 4) group<2>(s, last, first + i, rest, out + i);
    else if (rest > 0) group<1>(s, last, first + i, rest, out + i);
}

} // namespace ws::detail
