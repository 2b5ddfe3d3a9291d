#include "wirespeed/cookie.hpp"
#include "wirespeed/scan_space.hpp"

#include <sys/random.h>
#include <wmmintrin.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "wirespeed/error.hpp"

#include "cookie_simd.hpp"

namespace ws {

namespace {

inline std::uint64_t load_le64(const unsigned char* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
    return v;
}

struct SipState {
    std::uint64_t v0, v1, v2, v3;

    explicit SipState(const CookieKey& key) noexcept
        : v0(key.k0 ^ 0x736f6d6570736575ULL),
          v1(key.k1 ^ 0x646f72616e646f6dULL),
          v2(key.k0 ^ 0x6c7967656e657261ULL),
          v3(key.k1 ^ 0x7465646279746573ULL) {}

    inline void round() noexcept {
        v0 += v1; v1 = std::rotl(v1, 13); v1 ^= v0; v0 = std::rotl(v0, 32);
        v2 += v3; v3 = std::rotl(v3, 16); v3 ^= v2;
        v0 += v3; v3 = std::rotl(v3, 21); v3 ^= v0;
        v2 += v1; v1 = std::rotl(v1, 17); v1 ^= v2; v2 = std::rotl(v2, 32);
    }

    inline void compress(std::uint64_t m) noexcept {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }

    inline std::uint64_t finish() noexcept {
        v2 ^= 0xff;
        round();
        round();
        round();
        round();
        return v0 ^ v1 ^ v2 ^ v3;
    }
};

// SipHash-2-4 of exactly two words: the generic loop and tail handling fold
// away to three compressions, the last being the length-only final block.
inline std::uint64_t siphash24_16(const CookieKey& key, std::uint64_t m0, std::uint64_t m1) noexcept {
    SipState s(key);
    s.compress(m0);
    s.compress(m1);
    s.compress(std::uint64_t{16} << 56);
    return s.finish();
}

__m128i aes_expand_step(__m128i key, __m128i assist) noexcept {
    assist = _mm_shuffle_epi32(assist, 0xff);
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    return _mm_xor_si128(key, assist);
}

// The round constant must be an immediate, hence a template rather than a loop.
template <int Rcon>
inline __m128i aes_next_key(__m128i key) noexcept {
    return aes_expand_step(key, _mm_aeskeygenassist_si128(key, Rcon));
}

inline std::uint64_t aes_prf(const std::uint8_t (*round_keys)[16], std::uint64_t m0, std::uint64_t m1) noexcept {
    const auto* rk = reinterpret_cast<const __m128i*>(round_keys);
    __m128i x = _mm_xor_si128(_mm_set_epi64x(static_cast<long long>(m1), static_cast<long long>(m0)),
                              _mm_load_si128(rk));
    for (int i = 1; i < 10; ++i) x = _mm_aesenc_si128(x, _mm_load_si128(rk + i));
    x = _mm_aesenclast_si128(x, _mm_load_si128(rk + 10));
    return static_cast<std::uint64_t>(_mm_cvtsi128_si64(x));
}

} // namespace

CookieKey CookieKey::random() {
    std::uint64_t words[2];
    auto* out = reinterpret_cast<unsigned char*>(words);
    std::size_t filled = 0;
    while (filled < sizeof words) {
        const ssize_t n = ::getrandom(out + filled, sizeof words - filled, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(fmt::format("getrandom failed: {}", std::strerror(errno)));
        }
        filled += static_cast<std::size_t>(n);
    }
    return {words[0], words[1]};
}

std::uint64_t siphash24(const CookieKey& key, const void* data, std::size_t len) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    SipState s(key);
    const std::size_t full = len & ~std::size_t{7};
    for (std::size_t i = 0; i < full; i += 8) s.compress(load_le64(p + i));
    std::uint64_t last = static_cast<std::uint64_t>(len) << 56;
    for (std::size_t i = 0; i < (len & 7); ++i) last |= std::uint64_t{p[full + i]} << (8 * i);
    s.compress(last);
    return s.finish();
}

bool CookieMaker::aesni_available() noexcept {
    // A CookieMaker may be built by a static initialiser that runs before
    // libgcc has probed the CPU.
    __builtin_cpu_init();
    return __builtin_cpu_supports("aes");
}

CookieMaker::CookieMaker(CookieKey key, PortRange source_ports, CookiePrf prf) noexcept
    : key_(key), source_ports_(source_ports), prf_(prf), path_(default_simd_path()), aes_round_keys_{} {
    if (prf_ == CookiePrf::aesni && !aesni_available()) prf_ = CookiePrf::siphash;
    if (prf_ != CookiePrf::aesni) return;
    auto* rk = reinterpret_cast<__m128i*>(aes_round_keys_);
    __m128i k = _mm_set_epi64x(static_cast<long long>(key.k1), static_cast<long long>(key.k0));
    _mm_store_si128(rk + 0, k);
    k = aes_next_key<0x01>(k); _mm_store_si128(rk + 1, k);
    k = aes_next_key<0x02>(k); _mm_store_si128(rk + 2, k);
    k = aes_next_key<0x04>(k); _mm_store_si128(rk + 3, k);
    k = aes_next_key<0x08>(k); _mm_store_si128(rk + 4, k);
    k = aes_next_key<0x10>(k); _mm_store_si128(rk + 5, k);
    k = aes_next_key<0x20>(k); _mm_store_si128(rk + 6, k);
    k = aes_next_key<0x40>(k); _mm_store_si128(rk + 7, k);
    k = aes_next_key<0x80>(k); _mm_store_si128(rk + 8, k);
    k = aes_next_key<0x1b>(k); _mm_store_si128(rk + 9, k);
    k = aes_next_key<0x36>(k); _mm_store_si128(rk + 10, k);
}

namespace {

using detail::service_word;

inline Cookie cookie_from_hash(std::uint64_t h, PortRange source_ports) noexcept {
    Cookie c;
    c.isn = static_cast<std::uint32_t>(h);
    // Multiply-high maps the 32 high bits onto the range without a divide.
    c.source_port = static_cast<std::uint16_t>(
        source_ports.first + ((std::uint64_t{static_cast<std::uint32_t>(h >> 32)} * source_ports.size()) >> 32));
    c.ip_id = static_cast<std::uint16_t>((h >> 48) ^ (h >> 16));
    return c;
}

} // namespace

void CookieMaker::make_burst(const Target* targets, std::size_t count, std::uint32_t source_ip, Cookie* out) const noexcept {
    std::size_t i = 0;
    if (prf_ == CookiePrf::aesni) {
        switch (path_) {
        case SimdPath::avx512:
            return detail::cookie_burst_vaes(aes_round_keys_, source_ports_, targets, count, source_ip, out);
        case SimdPath::avx2:
            return detail::cookie_burst_aesni8(aes_round_keys_, source_ports_, targets, count, source_ip, out);
        case SimdPath::scalar: break;
        }
        const auto* rk = reinterpret_cast<const __m128i*>(aes_round_keys_);
        // Four named lanes, not an array: the rounds must stay in registers
        // so the four independent AES chains overlap in the pipeline.
        const __m128i k0 = _mm_load_si128(rk);
        auto block = [&](std::size_t j) {
            const std::uint64_t m0 = std::uint64_t{targets[j].address} | (std::uint64_t{source_ip} << 32);
            return _mm_xor_si128(_mm_set_epi64x(static_cast<long long>(service_word(targets[j].port, targets[j].proto)), static_cast<long long>(m0)), k0);
        };
        for (; i + 4 <= count; i += 4) {
            __m128i x0 = block(i), x1 = block(i + 1), x2 = block(i + 2), x3 = block(i + 3);
            for (int r = 1; r < 10; ++r) {
                const __m128i k = _mm_load_si128(rk + r);
                x0 = _mm_aesenc_si128(x0, k);
                x1 = _mm_aesenc_si128(x1, k);
                x2 = _mm_aesenc_si128(x2, k);
                x3 = _mm_aesenc_si128(x3, k);
            }
            const __m128i last = _mm_load_si128(rk + 10);
            out[i] = cookie_from_hash(static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm_aesenclast_si128(x0, last))), source_ports_);
            out[i + 1] = cookie_from_hash(static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm_aesenclast_si128(x1, last))), source_ports_);
            out[i + 2] = cookie_from_hash(static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm_aesenclast_si128(x2, last))), source_ports_);
            out[i + 3] = cookie_from_hash(static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm_aesenclast_si128(x3, last))), source_ports_);
        }
    }
    for (; i < count; ++i) out[i] = make(targets[i].address, targets[i].port, source_ip, targets[i].proto);
}

Cookie CookieMaker::make(std::uint32_t target_ip, std::uint16_t target_port, std::uint32_t source_ip,
                         Proto proto) const noexcept {
    // The 16-byte block, read as two little-endian words: target ip, source ip,
    // target port and protocol, zero padding.
    const std::uint64_t m0 = std::uint64_t{target_ip} | (std::uint64_t{source_ip} << 32);
    const std::uint64_t m1 = service_word(target_port, proto);
    const std::uint64_t h = prf_ == CookiePrf::aesni ? aes_prf(aes_round_keys_, m0, m1) : siphash24_16(key_, m0, m1);
    return cookie_from_hash(h, source_ports_);
}

} // namespace ws

namespace ws {

namespace {

// The IPv6 cookie's second CBC-MAC block: the source (one of our own
// addresses, folded to 64 bits) and the service word.
inline __m128i second_block6(uint128 source, std::uint64_t service) noexcept {
    return _mm_set_epi64x(static_cast<long long>(service),
                          static_cast<long long>(std::uint64_t(source) ^ std::uint64_t(source >> 64)));
}
inline __m128i first_block6(uint128 target) noexcept {
    return _mm_set_epi64x(static_cast<long long>(std::uint64_t(target >> 64)), static_cast<long long>(std::uint64_t(target)));
}

inline std::uint64_t aes_cbc_mac6(const std::uint8_t (*round_keys)[16], uint128 target, uint128 source,
                                  std::uint64_t service) noexcept {
    const auto* rk = reinterpret_cast<const __m128i*>(round_keys);
    __m128i x = _mm_xor_si128(first_block6(target), _mm_load_si128(rk));
    for (int i = 1; i < 10; ++i) x = _mm_aesenc_si128(x, _mm_load_si128(rk + i));
    x = _mm_aesenclast_si128(x, _mm_load_si128(rk + 10));
    x = _mm_xor_si128(_mm_xor_si128(x, second_block6(source, service)), _mm_load_si128(rk));
    for (int i = 1; i < 10; ++i) x = _mm_aesenc_si128(x, _mm_load_si128(rk + i));
    x = _mm_aesenclast_si128(x, _mm_load_si128(rk + 10));
    return static_cast<std::uint64_t>(_mm_cvtsi128_si64(x));
}

inline std::uint64_t siphash6(const CookieKey& key, uint128 target, uint128 source, std::uint64_t service) noexcept {
    // Five little-endian words: target high/low, source high/low, service.
    // The length (40) in SipHash's last block keeps these messages apart
    // from the 16-byte IPv4 ones under the same key.
    std::uint64_t words[5] = {std::uint64_t(target >> 64), std::uint64_t(target), std::uint64_t(source >> 64),
                              std::uint64_t(source), service};
    if constexpr (std::endian::native == std::endian::big)
        for (auto& w : words) w = __builtin_bswap64(w);
    return siphash24(key, words, sizeof words);
}

} // namespace

Cookie CookieMaker::make(IpAddress target, std::uint16_t target_port, IpAddress source, Proto proto) const noexcept {
    if (target.is_ipv4() && source.is_ipv4()) return make(target.ipv4(), target_port, source.ipv4(), proto);
    const std::uint64_t service = detail::service_word(target_port, proto);
    const std::uint64_t h = prf_ == CookiePrf::aesni ? aes_cbc_mac6(aes_round_keys_, target.bits, source.bits, service)
                                                     : siphash6(key_, target.bits, source.bits, service);
    return cookie_from_hash(h, source_ports_);
}

void CookieMaker::make_burst6(const uint128* targets6, const Target* t, const uint128* sources6, std::size_t count,
                              Cookie* out) const noexcept {
    std::size_t i = 0;
    if (prf_ == CookiePrf::aesni && path_ == SimdPath::avx512)
        return detail::cookie_burst6_vaes(aes_round_keys_, source_ports_, targets6, t, sources6, count, out);
    if (prf_ == CookiePrf::aesni) {
        const auto* rk = reinterpret_cast<const __m128i*>(aes_round_keys_);
        const __m128i k0 = _mm_load_si128(rk), last = _mm_load_si128(rk + 10);
        // Four named chains, as make_burst: the rounds stay in registers.
        for (; i + 4 <= count; i += 4) {
            __m128i x0 = _mm_xor_si128(first_block6(targets6[i]), k0), x1 = _mm_xor_si128(first_block6(targets6[i + 1]), k0);
            __m128i x2 = _mm_xor_si128(first_block6(targets6[i + 2]), k0), x3 = _mm_xor_si128(first_block6(targets6[i + 3]), k0);
            for (int round = 0; round < 2; ++round) {
                for (int r = 1; r < 10; ++r) {
                    const __m128i k = _mm_load_si128(rk + r);
                    x0 = _mm_aesenc_si128(x0, k);
                    x1 = _mm_aesenc_si128(x1, k);
                    x2 = _mm_aesenc_si128(x2, k);
                    x3 = _mm_aesenc_si128(x3, k);
                }
                x0 = _mm_aesenclast_si128(x0, last);
                x1 = _mm_aesenclast_si128(x1, last);
                x2 = _mm_aesenclast_si128(x2, last);
                x3 = _mm_aesenclast_si128(x3, last);
                if (round == 1) break;
                // CBC: the second block is XORed into the first's ciphertext.
                const auto block2 = [&](std::size_t j) {
                    return _mm_xor_si128(second_block6(sources6[j], detail::service_word(t[j].port, t[j].proto)), k0);
                };
                x0 = _mm_xor_si128(x0, block2(i));
                x1 = _mm_xor_si128(x1, block2(i + 1));
                x2 = _mm_xor_si128(x2, block2(i + 2));
                x3 = _mm_xor_si128(x3, block2(i + 3));
            }
            out[i] = cookie_from_hash(static_cast<std::uint64_t>(_mm_cvtsi128_si64(x0)), source_ports_);
            out[i + 1] = cookie_from_hash(static_cast<std::uint64_t>(_mm_cvtsi128_si64(x1)), source_ports_);
            out[i + 2] = cookie_from_hash(static_cast<std::uint64_t>(_mm_cvtsi128_si64(x2)), source_ports_);
            out[i + 3] = cookie_from_hash(static_cast<std::uint64_t>(_mm_cvtsi128_si64(x3)), source_ports_);
        }
    }
    for (; i < count; ++i)
        out[i] = make(IpAddress::from_ipv6(targets6[i]), t[i].port, IpAddress::from_ipv6(sources6[i]), t[i].proto);
}

} // namespace ws
