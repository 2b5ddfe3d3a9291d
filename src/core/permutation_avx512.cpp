// Permutation::forward_burst on AVX-512: eight 64-bit lanes per register
// (VPMULLQ does the round function's 64-bit multiplies), four registers in
// flight so 32 independent Feistel chains hide the multiply latency. Lanes
// that land outside [0, size) are packed together and re-encrypted under a
// mask until every one is in range: the same cycle-walk, value for value,
// as the scalar loop in permutation.cpp.
// GCC 12 flags its own _mm512_undefined_epi32() (the "don't care" merge
// source of the unmasked AVX-512 intrinsics) as used uninitialized once
// inlined: a known false positive, silenced for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#include "permutation_simd.hpp"

#define WS_TARGET_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl")))

// The lane loops below have compile-time trip counts; -O2 keeps them as
// loops over stack arrays, so each carries `#pragma GCC unroll` to put every
// lane in its own register.

namespace ws::detail {
namespace {

struct Schedule512 {
    __m512i keys[FeistelKey::rounds];
    __m512i masks[FeistelKey::rounds];
    __m512i low_mask;
    __m128i shift; // low_bits, for the variable-count shifts
};

WS_TARGET_AVX512 inline __m512i round_function(__m512i r, __m512i key, __m512i mask) noexcept {
    __m512i x = _mm512_mullo_epi64(_mm512_xor_si512(r, key), _mm512_set1_epi64(std::int64_t(feistel_mul1)));
    x = _mm512_xor_si512(x, _mm512_srli_epi64(x, 32));
    x = _mm512_mullo_epi64(x, _mm512_set1_epi64(std::int64_t(feistel_mul2)));
    x = _mm512_xor_si512(x, _mm512_srli_epi64(x, 29));
    return _mm512_and_si512(x, mask);
}

// One Feistel encryption of every lane of x[0..N).
template <int N>
WS_TARGET_AVX512 inline void encrypt(const Schedule512& s, __m512i (&x)[N]) noexcept {
    __m512i l[N], r[N];
    #pragma GCC unroll 16
    for (int n = 0; n < N; ++n) {
        l[n] = _mm512_srl_epi64(x[n], s.shift);
        r[n] = _mm512_and_si512(x[n], s.low_mask);
    }
    #pragma GCC unroll 16
    for (int k = 0; k < FeistelKey::rounds; ++k)
        #pragma GCC unroll 16
        for (int n = 0; n < N; ++n) {
            const __m512i c = _mm512_xor_si512(l[n], round_function(r[n], s.keys[k], s.masks[k]));
            l[n] = r[n];
            r[n] = c;
        }
    #pragma GCC unroll 16
    for (int n = 0; n < N; ++n) x[n] = _mm512_or_si512(_mm512_sll_epi64(l[n], s.shift), r[n]);
}

// forward() of base + 0 .. base + lanes - 1 (lanes <= 8N) into out.
template <int N>
WS_TARGET_AVX512 inline void group(const Schedule512& s, __m512i last, std::uint64_t base, unsigned lanes,
                                   std::uint64_t* out) noexcept {
    const __m512i iota = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    __m512i x[N];
    __mmask8 valid[N];
    #pragma GCC unroll 16
    for (int n = 0; n < N; ++n) {
        x[n] = _mm512_add_epi64(_mm512_set1_epi64(std::int64_t(base + 8 * unsigned(n))), iota);
        const unsigned here = lanes > 8u * unsigned(n) ? lanes - 8u * unsigned(n) : 0u;
        valid[n] = here >= 8 ? __mmask8(0xff) : __mmask8((1u << here) - 1);
    }
    encrypt<N>(s, x);
    #pragma GCC unroll 16
    for (int n = 0; n < N; ++n) _mm512_mask_storeu_epi64(out + 8 * n, valid[n], x[n]);
    // Cycle-walk: the valid lanes still >= size (about one in seven on the
    // Internet space) are packed into as few registers as they fill (one,
    // mostly), so the walk re-encrypts one register rather than all N.
    alignas(64) std::uint64_t walking[8 * N];
    alignas(64) std::uint64_t where[8 * N];
    unsigned pending = 0;
    #pragma GCC unroll 16
    for (int n = 0; n < N; ++n) {
        const __mmask8 walk = _mm512_mask_cmpgt_epu64_mask(valid[n], x[n], last);
        _mm512_mask_compressstoreu_epi64(walking + pending, walk, x[n]);
        _mm512_mask_compressstoreu_epi64(where + pending, walk, _mm512_add_epi64(iota, _mm512_set1_epi64(8 * n)));
        pending += unsigned(__builtin_popcount(walk));
    }
    for (unsigned b = 0; b < pending; b += 8) {
        const __mmask8 lanes = __mmask8(pending - b >= 8 ? 0xff : (1u << (pending - b)) - 1);
        __m512i v[1] = {_mm512_maskz_loadu_epi64(lanes, walking + b)};
        __mmask8 walk = lanes; // every packed lane needs at least one more step
        while (walk) {
            __m512i next[1] = {v[0]};
            encrypt<1>(s, next);
            v[0] = _mm512_mask_mov_epi64(v[0], walk, next[0]);
            walk = _mm512_mask_cmpgt_epu64_mask(walk, v[0], last);
        }
        _mm512_mask_storeu_epi64(walking + b, lanes, v[0]);
    }
    for (unsigned k = 0; k < pending; ++k) out[where[k]] = walking[k];
}

} // namespace

WS_TARGET_AVX512 void feistel_burst_avx512(const FeistelKey& key, std::uint64_t first, unsigned count,
                                           std::uint64_t* out) noexcept {
    Schedule512 s;
    #pragma GCC unroll 16
    for (int k = 0; k < FeistelKey::rounds; ++k) {
        s.keys[k] = _mm512_set1_epi64(std::int64_t(key.keys[k]));
        s.masks[k] = _mm512_set1_epi64(std::int64_t(key.round_masks[k]));
    }
    s.low_mask = _mm512_set1_epi64(std::int64_t(key.low_mask));
    s.shift = _mm_cvtsi32_si128(int(key.low_bits));
    // x >= size as x > size - 1: size may be 2^63, size - 1 always fits.
    const __m512i last = _mm512_set1_epi64(std::int64_t(key.size - 1));
    unsigned i = 0;
    for (; i + 32 <= count; i += 32) group<4>(s, last, first + i, 32, out + i);
    const unsigned rest = count - i;
    if (rest > 16) group<4>(s, last, first + i, rest, out + i);
    else if (rest > 8) group<2>(s, last, first + i, rest, out + i);
    else if (rest > 0) group<1>(s, last, first + i, rest, out + i);
}

} // namespace ws::detail
