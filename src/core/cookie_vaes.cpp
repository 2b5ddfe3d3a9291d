// CookieMaker::make_burst (and make_burst6's two-block CBC-MAC) on VAES +
// AVX-512: four AES blocks per register,
// eight registers (32 probes) per pass, so one VAESENC does the work of four
// AESENCs and 8 chains cover the round latency. The hash -> cookie step
// (multiply-high onto the source-port range, the IP ID fold) is done on eight
// hashes at once and each cookie stored as one 64-bit word.
// GCC 12 flags its own _mm512_undefined_epi32() (the "don't care" merge
// source of the unmasked AVX-512 intrinsics) as used uninitialized once
// inlined: a known false positive, silenced for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#include "cookie_simd.hpp"

#define WS_TARGET_VAES __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,vaes,aes")))

// The lane loops below have compile-time trip counts; -O2 keeps them as
// loops over stack arrays, so each carries `#pragma GCC unroll` to put every
// lane in its own register.

namespace ws::detail {
namespace {

// Eight hashes -> eight cookies, as cookie_from_hash() in cookie.cpp.
WS_TARGET_VAES inline __m512i cookies_from_hashes(__m512i h, __m512i first_port, __m512i port_count) noexcept {
    const __m512i low32 = _mm512_set1_epi64(0xffffffff);
    const __m512i isn = _mm512_and_si512(h, low32);
    const __m512i port = _mm512_add_epi64(first_port, _mm512_srli_epi64(_mm512_mul_epu32(_mm512_srli_epi64(h, 32), port_count), 32));
    const __m512i ip_id = _mm512_and_si512(_mm512_xor_si512(_mm512_srli_epi64(h, 48), _mm512_srli_epi64(h, 16)),
                                           _mm512_set1_epi64(0xffff));
    return _mm512_or_si512(isn, _mm512_or_si512(_mm512_slli_epi64(port, 32), _mm512_slli_epi64(ip_id, 48)));
}

// AES-128 of N registers of 4 blocks each, in place (x already whitened).
template <int N>
WS_TARGET_VAES inline void encrypt(const __m512i (&rk)[11], __m512i (&x)[N]) noexcept {
    #pragma GCC unroll 16
    for (int r = 1; r < 10; ++r)
        #pragma GCC unroll 16
        for (int n = 0; n < N; ++n) x[n] = _mm512_aesenc_epi128(x[n], rk[r]);
    #pragma GCC unroll 16
    for (int n = 0; n < N; ++n) x[n] = _mm512_aesenclast_epi128(x[n], rk[10]);
}

// Cookies of N x 4 blocks (the last register may be partly padding): lanes
// beyond `count` are computed on zero blocks and not stored. With `second`
// (IPv6), a two-block CBC-MAC: the second blocks are XORed into the first
// ones' ciphertexts and encrypted again.
template <int N>
WS_TARGET_VAES inline void pass(const __m512i (&rk)[11], const std::uint64_t* blocks, const std::uint64_t* second,
                                std::size_t count, __m512i first_port, __m512i port_count, Cookie* out) noexcept {
    __m512i x[N];
    #pragma GCC unroll 16
    for (int n = 0; n < N; ++n) x[n] = _mm512_xor_si512(_mm512_loadu_si512(blocks + 8 * n), rk[0]);
    encrypt(rk, x);
    if (second) {
        #pragma GCC unroll 16
        for (int n = 0; n < N; ++n) x[n] = _mm512_xor_si512(x[n], _mm512_xor_si512(_mm512_loadu_si512(second + 8 * n), rk[0]));
        encrypt(rk, x);
    }
    // The hash is each block's low word: qwords 0, 2, 4, 6 of two registers.
    const __m512i evens = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0);
    auto* words = reinterpret_cast<std::uint64_t*>(out);
    #pragma GCC unroll 16
    for (int n = 0; n < N; n += 2) {
        const __m512i h = _mm512_permutex2var_epi64(x[n], evens, x[n + 1 < N ? n + 1 : n]);
        const __m512i c = cookies_from_hashes(h, first_port, port_count);
        const std::size_t at = std::size_t(n) * 4;
        if (count >= at + 8) _mm512_storeu_si512(words + at, c);
        else _mm512_mask_storeu_epi64(words + at, __mmask8((1u << (count - at)) - 1), c);
    }
}

// 32 probes' blocks (and second blocks, or null) -> cookies.
WS_TARGET_VAES void passes(const __m512i (&rk)[11], std::uint64_t* blocks, std::uint64_t* second, std::size_t here,
                           __m512i first_port, __m512i port_count, Cookie* out) noexcept {
    // Zero padding up to the next whole register.
    for (std::size_t j = here; j % 4 != 0; ++j) {
        blocks[2 * j] = blocks[2 * j + 1] = 0;
        if (second) second[2 * j] = second[2 * j + 1] = 0;
    }
    switch ((here + 3) / 4) {
    case 8: pass<8>(rk, blocks, second, here, first_port, port_count, out); break;
    case 7: pass<7>(rk, blocks, second, here, first_port, port_count, out); break;
    case 6: pass<6>(rk, blocks, second, here, first_port, port_count, out); break;
    case 5: pass<5>(rk, blocks, second, here, first_port, port_count, out); break;
    case 4: pass<4>(rk, blocks, second, here, first_port, port_count, out); break;
    case 3: pass<3>(rk, blocks, second, here, first_port, port_count, out); break;
    case 2: pass<2>(rk, blocks, second, here, first_port, port_count, out); break;
    default: pass<1>(rk, blocks, second, here, first_port, port_count, out); break;
    }
}

WS_TARGET_VAES void load_round_keys(const AesRoundKeys& round_keys, __m512i (&rk)[11]) noexcept {
    #pragma GCC unroll 16
    for (int r = 0; r < 11; ++r)
        rk[r] = _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(round_keys[r])));
}

} // namespace

WS_TARGET_VAES void cookie_burst_vaes(const AesRoundKeys& round_keys, PortRange source_ports, const Target* targets,
                                      std::size_t count, std::uint32_t source_ip, Cookie* out) noexcept {
    __m512i rk[11];
    load_round_keys(round_keys, rk);
    const __m512i first_port = _mm512_set1_epi64(source_ports.first);
    const __m512i port_count = _mm512_set1_epi64(source_ports.size());
    constexpr std::size_t chunk = 32;
    alignas(64) std::uint64_t blocks[2 * chunk];
    for (std::size_t done = 0; done < count; done += chunk) {
        const std::size_t here = count - done < chunk ? count - done : chunk;
        for (std::size_t j = 0; j < here; ++j) {
            const Target& t = targets[done + j];
            blocks[2 * j] = first_word(t.address, source_ip);
            blocks[2 * j + 1] = service_word(t.port, t.proto);
        }
        passes(rk, blocks, nullptr, here, first_port, port_count, out + done);
    }
}

WS_TARGET_VAES void cookie_burst6_vaes(const AesRoundKeys& round_keys, PortRange source_ports, const uint128* targets6,
                                       const Target* lanes, const uint128* sources6, std::size_t count, Cookie* out) noexcept {
    __m512i rk[11];
    load_round_keys(round_keys, rk);
    const __m512i first_port = _mm512_set1_epi64(source_ports.first);
    const __m512i port_count = _mm512_set1_epi64(source_ports.size());
    constexpr std::size_t chunk = 32;
    alignas(64) std::uint64_t blocks[2 * chunk], second[2 * chunk];
    for (std::size_t done = 0; done < count; done += chunk) {
        const std::size_t here = count - done < chunk ? count - done : chunk;
        for (std::size_t j = 0; j < here; ++j) {
            const uint128 target = targets6[done + j], source = sources6[done + j];
            blocks[2 * j] = std::uint64_t(target);
            blocks[2 * j + 1] = std::uint64_t(target >> 64);
            second[2 * j] = std::uint64_t(source) ^ std::uint64_t(source >> 64);
            second[2 * j + 1] = service_word(lanes[done + j].port, lanes[done + j].proto);
        }
        passes(rk, blocks, second, here, first_port, port_count, out + done);
    }
}

} // namespace ws::detail
