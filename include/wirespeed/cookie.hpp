#pragma once
// Stateless SYN cookies: a keyed PRF over (target ip, target port, protocol,
// source ip) gives the probe's ISN, its source port (within the configured
// range) and its IP ID; UDP and ICMP probes take their source port, DNS
// transaction ID, echo identifier and sequence from the same 64 bits. A reply is ours when it validates against the recomputed cookie. The
// 128-bit key is random per scan and independent of the permutation seed.
#include <cstdint>

#include "wirespeed/address.hpp"
#include "wirespeed/ports.hpp"
#include "wirespeed/record.hpp"
#include "wirespeed/simd.hpp"

namespace ws {

struct Target;

struct CookieKey {
    std::uint64_t k0;
    std::uint64_t k1;
    static CookieKey random(); // from the OS CSPRNG (getrandom)
};

// SipHash-2-4 of a 16-byte message; exposed for tests against the reference vectors.
std::uint64_t siphash24(const CookieKey& key, const void* data, std::size_t len) noexcept;

enum class CookiePrf : std::uint8_t { siphash, aesni };

struct Cookie {
    std::uint32_t isn;         // SYN sequence number
    std::uint16_t source_port; // in the configured range
    std::uint16_t ip_id;
};

class CookieMaker {
public:
    CookieMaker(CookieKey key, PortRange source_ports, CookiePrf prf = CookiePrf::siphash) noexcept;
    // TCP keeps the protocol word 0, so its cookies are those of a plain SYN scanner.
    Cookie make(std::uint32_t target_ip, std::uint16_t target_port, std::uint32_t source_ip,
                Proto proto = Proto::tcp) const noexcept;
    // Either family. Two IPv4 addresses give exactly make(uint32_t...)'s
    // cookie. IPv6: with AES, a two-block CBC-MAC under the scan key,
    // E(E(target) ^ (source folded to 64 bits | port, protocol)); with
    // SipHash, SipHash-2-4 of target, source, port and protocol (40 bytes).
    Cookie make(IpAddress target, std::uint16_t target_port, IpAddress source, Proto proto = Proto::tcp) const noexcept;
    // IPv6 cookies of a burst: make(targets6[i], t[i].port, sources6[i], t[i].proto)
    // for each i; with AES four chains at a time so their rounds overlap.
    void make_burst6(const uint128* targets6, const Target* t, const uint128* sources6, std::size_t count,
                     Cookie* out) const noexcept;
    // The cookies of a burst: the same values as make(). With AES-NI, on the
    // scalar path four at a time so the AES round chains of independent
    // probes overlap; 8 chains on the AVX2 path, 4 blocks per VAES register
    // on the AVX-512 one (src/core/cookie_simd.hpp). SipHash stays scalar.
    void make_burst(const Target* targets, std::size_t count, std::uint32_t source_ip, Cookie* out) const noexcept;
    SimdPath simd_path() const noexcept { return path_; }
    // Forces a path (clamped to what the CPU supports): tests and benchmarks.
    void set_simd_path(SimdPath path) noexcept { path_ = supported_simd_path(path); }
    const CookieKey& key() const noexcept { return key_; }
    PortRange source_ports() const noexcept { return source_ports_; }
    CookiePrf prf() const noexcept { return prf_; }
    static bool aesni_available() noexcept;

private:
    CookieKey key_;
    PortRange source_ports_;
    CookiePrf prf_;
    SimdPath path_;
    alignas(16) std::uint8_t aes_round_keys_[11][16];
};

} // namespace ws
