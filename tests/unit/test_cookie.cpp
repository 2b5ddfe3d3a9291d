#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <vector>

#include "wirespeed/cookie.hpp"
#include "wirespeed/scan_space.hpp"

namespace {

// The key of the SipHash paper's test vectors: bytes 00..0f.
constexpr ws::CookieKey paper_key{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};

// The cookie's PRF input: target ip, source ip, target port, little-endian, zero padded.
// Byte 10 is the IP protocol number for UDP and ICMP, 0 for TCP (so TCP
// cookies are those of the plain SYN scanner).
std::vector<std::uint8_t> cookie_block(std::uint32_t target_ip, std::uint16_t target_port, std::uint32_t source_ip,
                                       std::uint8_t protocol_byte = 0) {
    std::vector<std::uint8_t> b(16, 0);
    for (int i = 0; i < 4; ++i) b[i] = std::uint8_t(target_ip >> (8 * i));
    for (int i = 0; i < 4; ++i) b[4 + i] = std::uint8_t(source_ip >> (8 * i));
    b[8] = std::uint8_t(target_port);
    b[9] = std::uint8_t(target_port >> 8);
    b[10] = protocol_byte;
    return b;
}

ws::Cookie expected_cookie(std::uint64_t h, ws::PortRange range) {
    ws::Cookie c;
    c.isn = std::uint32_t(h);
    c.source_port = std::uint16_t(range.first + ((h >> 32) * range.size() >> 32));
    c.ip_id = std::uint16_t((h >> 48) ^ (h >> 16));
    return c;
}

void expect_same(const ws::Cookie& a, const ws::Cookie& b) {
    EXPECT_EQ(a.isn, b.isn);
    EXPECT_EQ(a.source_port, b.source_port);
    EXPECT_EQ(a.ip_id, b.ip_id);
}

} // namespace

TEST(SipHash, PaperVectors) {
    // From the reference implementation's vectors.h (message = bytes 00, 01, ...).
    const std::uint64_t expected[] = {
        0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL, 0x0d6c8009d9a94f5aULL, 0x85676696d7fb7e2dULL,
        0xcf2794e0277187b7ULL, 0x18765564cd99a68dULL, 0xcbc9466e58fee3ceULL, 0xab0200f58b01d137ULL,
        0x93f5f5799a932462ULL, 0x9e0082df0ba9e4b0ULL, 0x7a5dbbc594ddb9f3ULL, 0xf4b32f46226bada7ULL,
        0x751e8fbc860ee5fbULL, 0x14ea5627c0843d90ULL, 0xf723ca908e7af2eeULL, 0xa129ca6149be45e5ULL,
        0x3f2acc7f57c29bdbULL,
    };
    std::uint8_t msg[64];
    for (int i = 0; i < 64; ++i) msg[i] = std::uint8_t(i);
    for (std::size_t len = 0; len < std::size(expected); ++len)
        EXPECT_EQ(ws::siphash24(paper_key, msg, len), expected[len]) << "length " << len;
    EXPECT_EQ(ws::siphash24(paper_key, msg, 63), 0x958a324ceb064572ULL);
}

TEST(Cookie, SiphashMatchesGenericSiphashOfBlock) {
    const ws::PortRange range{32768, 61000};
    const ws::CookieMaker maker(paper_key, range, ws::CookiePrf::siphash);
    EXPECT_EQ(maker.prf(), ws::CookiePrf::siphash);
    for (std::uint32_t i = 0; i < 1000; ++i) {
        const std::uint32_t tip = 0x0a000000u + i * 7919u, sip = 0xc0a80101u ^ (i << 20);
        const std::uint16_t port = std::uint16_t(1 + i * 65u);
        const auto block = cookie_block(tip, port, sip);
        const std::uint64_t h = ws::siphash24(paper_key, block.data(), block.size());
        expect_same(maker.make(tip, port, sip), expected_cookie(h, range));
    }
    // Fixed regression value (computed with an independent SipHash implementation).
    EXPECT_EQ(maker.make(0x0a000001, 443, 0xc0a80101).isn, 0xf4d68353u);
}

// UDP and ICMP cookies: the protocol number in the PRF block; TCP's block is
// the classic one, whether Proto::tcp is given or left to its default.
TEST(Cookie, ProtocolInTheSiphashBlock) {
    const ws::PortRange range{40000, 40999};
    const ws::CookieMaker maker(paper_key, range, ws::CookiePrf::siphash);
    for (std::uint32_t i = 0; i < 1000; ++i) {
        const std::uint32_t tip = 0xc0000000u + i * 104729u, sip = 0x0a000001u ^ (i << 12);
        const std::uint16_t port = std::uint16_t(i * 131u);
        const struct {
            ws::Proto proto;
            std::uint8_t byte;
        } cases[] = {{ws::Proto::tcp, 0}, {ws::Proto::udp, 17}, {ws::Proto::icmp, 1}};
        for (const auto& c : cases) {
            const auto block = cookie_block(tip, port, sip, c.byte);
            expect_same(maker.make(tip, port, sip, c.proto),
                        expected_cookie(ws::siphash24(paper_key, block.data(), block.size()), range));
        }
        expect_same(maker.make(tip, port, sip), maker.make(tip, port, sip, ws::Proto::tcp));
    }
    // The TCP regression value above, unchanged by the protocol word.
    EXPECT_EQ(ws::CookieMaker(paper_key, {32768, 61000}, ws::CookiePrf::siphash)
                  .make(0x0a000001, 443, 0xc0a80101, ws::Proto::tcp)
                  .isn,
              0xf4d68353u);
}

// The same (address, port) under another protocol is another cookie, for both
// PRFs: a UDP answer cannot validate against a TCP probe's cookie by design.
TEST(Cookie, ProtocolsGiveIndependentCookies) {
    for (ws::CookiePrf prf : {ws::CookiePrf::siphash, ws::CookiePrf::aesni}) {
        const ws::CookieMaker maker(ws::CookieKey{0x1234, 0x5678}, {1, 65535}, prf);
        int same_isn = 0;
        for (std::uint32_t i = 0; i < 2000; ++i) {
            const auto tcp = maker.make(i * 2654435761u, std::uint16_t(i), 0x0a000001, ws::Proto::tcp);
            const auto udp = maker.make(i * 2654435761u, std::uint16_t(i), 0x0a000001, ws::Proto::udp);
            const auto icmp = maker.make(i * 2654435761u, std::uint16_t(i), 0x0a000001, ws::Proto::icmp);
            same_isn += tcp.isn == udp.isn || tcp.isn == icmp.isn || udp.isn == icmp.isn;
        }
        EXPECT_EQ(same_isn, 0);
    }
}

TEST(Cookie, AesniMatchesReferenceAes) {
    if (!ws::CookieMaker::aesni_available()) GTEST_SKIP() << "no AES-NI on this CPU";
    const ws::PortRange range{1, 65535};
    const ws::CookieMaker maker(paper_key, range, ws::CookiePrf::aesni);
    ASSERT_EQ(maker.prf(), ws::CookiePrf::aesni);
    // Low 64 bits of AES-128(key 00..0f, cookie_block(10.0.0.1, 443, 192.168.1.1)), from a reference AES.
    expect_same(maker.make(0x0a000001, 443, 0xc0a80101), expected_cookie(0x336c7d5a96bd5beeULL, range));
}

TEST(Cookie, Deterministic) {
    for (auto prf : {ws::CookiePrf::siphash, ws::CookiePrf::aesni}) {
        const ws::CookieKey key = ws::CookieKey::random();
        const ws::CookieMaker a(key, {40000, 50000}, prf), b(key, {40000, 50000}, prf);
        for (std::uint32_t i = 0; i < 1000; ++i) {
            const std::uint32_t tip = i * 2654435761u;
            expect_same(a.make(tip, std::uint16_t(i), 0x01020304), b.make(tip, std::uint16_t(i), 0x01020304));
            expect_same(a.make(tip, std::uint16_t(i), 0x01020304), a.make(tip, std::uint16_t(i), 0x01020304));
        }
    }
}

TEST(Cookie, InputsAllMatter) {
    const ws::CookieMaker maker(ws::CookieKey::random(), {1, 65535});
    const auto base = maker.make(0x08080808, 53, 0x0a000001);
    EXPECT_NE(base.isn, maker.make(0x08080809, 53, 0x0a000001).isn);
    EXPECT_NE(base.isn, maker.make(0x08080808, 54, 0x0a000001).isn);
    EXPECT_NE(base.isn, maker.make(0x08080808, 53, 0x0a000002).isn);
}

TEST(Cookie, SourcePortStaysInRange) {
    const ws::PortRange ranges[] = {{1, 65535}, {1024, 1024}, {65535, 65535}, {1, 1}, {32768, 61000}, {40000, 40001}};
    for (auto prf : {ws::CookiePrf::siphash, ws::CookiePrf::aesni}) {
        for (const auto& range : ranges) {
            const ws::CookieMaker maker(ws::CookieKey::random(), range, prf);
            std::set<std::uint16_t> seen;
            for (std::uint32_t i = 0; i < 20000; ++i) {
                const auto c = maker.make(i * 2654435761u, std::uint16_t(i), 0x0a000001);
                ASSERT_GE(c.source_port, range.first);
                ASSERT_LE(c.source_port, range.last);
                seen.insert(c.source_port);
            }
            if (range.size() == 2) {
                EXPECT_EQ(seen.size(), 2u);
            }
            if (range.size() > 20000) { // spread over the range
                EXPECT_GT(seen.size(), 10000u);
            }
        }
    }
}

TEST(Cookie, DifferentKeysGiveDifferentIsns) {
    for (auto prf : {ws::CookiePrf::siphash, ws::CookiePrf::aesni}) {
        const ws::CookieMaker a(ws::CookieKey{1, 2}, {1, 65535}, prf), b(ws::CookieKey{1, 3}, {1, 65535}, prf);
        int same = 0;
        for (std::uint32_t i = 0; i < 1000; ++i) same += a.make(i, 80, 7).isn == b.make(i, 80, 7).isn;
        EXPECT_LT(same, 3);
    }
}

TEST(Cookie, PrfsDiffer) {
    if (!ws::CookieMaker::aesni_available()) GTEST_SKIP() << "no AES-NI on this CPU";
    const ws::CookieKey key = ws::CookieKey::random();
    const ws::CookieMaker sip(key, {1, 65535}, ws::CookiePrf::siphash), aes(key, {1, 65535}, ws::CookiePrf::aesni);
    int same = 0;
    for (std::uint32_t i = 0; i < 1000; ++i) same += sip.make(i, 443, 9).isn == aes.make(i, 443, 9).isn;
    EXPECT_LT(same, 3);
}

TEST(Cookie, AesniFallsBackToSiphash) {
    const ws::CookieKey key{0x1111, 0x2222};
    const ws::CookieMaker requested(key, {1000, 2000}, ws::CookiePrf::aesni);
    const ws::CookieMaker sip(key, {1000, 2000}, ws::CookiePrf::siphash);
    if (ws::CookieMaker::aesni_available()) {
        EXPECT_EQ(requested.prf(), ws::CookiePrf::aesni);
    } else {
        EXPECT_EQ(requested.prf(), ws::CookiePrf::siphash);
        for (std::uint32_t i = 0; i < 100; ++i) expect_same(requested.make(i, 22, 1), sip.make(i, 22, 1));
    }
    EXPECT_EQ(sip.prf(), ws::CookiePrf::siphash);
    EXPECT_EQ(requested.key().k0, key.k0);
    EXPECT_EQ(requested.source_ports().first, 1000);
}

TEST(Cookie, RandomKeysDiffer) {
    const auto a = ws::CookieKey::random(), b = ws::CookieKey::random();
    EXPECT_FALSE(a.k0 == b.k0 && a.k1 == b.k1);
    EXPECT_FALSE(a.k0 == 0 && a.k1 == 0);
}

TEST(Cookie, CopiedMakerAgrees) {
    // The AES round keys live inside the object; copies (and heap placement) must keep working.
    const ws::CookieMaker a(ws::CookieKey::random(), {1, 65535}, ws::CookiePrf::aesni);
    const auto b = std::make_unique<ws::CookieMaker>(a);
    for (std::uint32_t i = 0; i < 100; ++i) expect_same(a.make(i, 1, 2), b->make(i, 1, 2));
}

namespace ws {
namespace {

TEST(CookieBurst, EqualsOneAtATimeForBothPrfs) {
    for (CookiePrf prf : {CookiePrf::siphash, CookiePrf::aesni}) {
        const CookieMaker maker(CookieKey{0x0123456789abcdefull, 0xfedcba9876543210ull}, PortRange{40000, 60999}, prf);
        std::vector<Target> targets;
        for (std::uint32_t i = 0; i < 37; ++i) targets.push_back({0xc6130000u + i * 7919u, std::uint16_t(1 + i * 1777)});
        for (std::size_t n : {0u, 1u, 3u, 4u, 5u, 32u, 37u}) {
            std::vector<Cookie> burst(n);
            maker.make_burst(targets.data(), n, 0xc6120064u, burst.data());
            for (std::size_t i = 0; i < n; ++i) {
                const Cookie one = maker.make(targets[i].address, targets[i].port, 0xc6120064u);
                EXPECT_EQ(burst[i].isn, one.isn);
                EXPECT_EQ(burst[i].source_port, one.source_port);
                EXPECT_EQ(burst[i].ip_id, one.ip_id);
            }
        }
    }
}

// A mixed scan's burst: each lane takes its own target's protocol.
TEST(CookieBurst, MixedProtocolsEqualOneAtATime) {
    for (CookiePrf prf : {CookiePrf::siphash, CookiePrf::aesni}) {
        const CookieMaker maker(CookieKey{0x0123456789abcdefull, 0xfedcba9876543210ull}, PortRange{40000, 60999}, prf);
        std::vector<Target> targets;
        const Proto protos[] = {Proto::tcp, Proto::udp, Proto::icmp, Proto::udp, Proto::tcp};
        for (std::uint32_t i = 0; i < 41; ++i) {
            const Proto proto = protos[i % 5];
            targets.push_back({0xc6130000u + i * 7919u, std::uint16_t(proto == Proto::icmp ? 0 : 1 + i * 1777), proto, 0,
                               i});
        }
        for (std::size_t n : {1u, 4u, 5u, 8u, 41u}) {
            std::vector<Cookie> burst(n);
            maker.make_burst(targets.data(), n, 0xc6120064u, burst.data());
            for (std::size_t i = 0; i < n; ++i) {
                const Cookie one = maker.make(targets[i].address, targets[i].port, 0xc6120064u, targets[i].proto);
                EXPECT_EQ(burst[i].isn, one.isn) << i;
                EXPECT_EQ(burst[i].source_port, one.source_port) << i;
                EXPECT_EQ(burst[i].ip_id, one.ip_id) << i;
            }
        }
    }
}

} // namespace
} // namespace ws

namespace ws {
namespace {

// IPv6 cookies: the burst form equals make() lane by lane on both PRFs, the
// source and the target's every bit count, and IPv4 pairs keep the IPv4 cookie.
TEST(Cookie6, BurstEqualsSingleAndEveryBitCounts) {
    for (CookiePrf prf : {CookiePrf::siphash, CookiePrf::aesni}) {
        const CookieMaker maker(CookieKey{0x1111222233334444ull, 0x5555666677778888ull}, PortRange{40000, 60999}, prf);
        std::vector<uint128> targets, sources;
        std::vector<Target> lanes;
        for (std::uint32_t i = 0; i < 23; ++i) {
            targets.push_back((uint128{0x20010db800010000ull} << 64) | (std::uint64_t{i} * 0x9e3779b97f4a7c15ull));
            sources.push_back((uint128{0x20010db800000000ull} << 64) | (1 + i % 3));
            lanes.push_back({i, std::uint16_t(1 + i * 97), i % 2 ? Proto::udp : Proto::tcp, 1, i});
        }
        std::vector<Cookie> burst(targets.size());
        for (SimdPath path : {SimdPath::scalar, SimdPath::avx2, SimdPath::avx512}) { // VAES, or 4 AES-NI chains
            CookieMaker on_path = maker;
            on_path.set_simd_path(path);
            on_path.make_burst6(targets.data(), lanes.data(), sources.data(), targets.size(), burst.data());
            for (std::size_t i = 0; i < targets.size(); ++i) {
                const Cookie one = maker.make(IpAddress::from_ipv6(targets[i]), lanes[i].port, IpAddress::from_ipv6(sources[i]),
                                              lanes[i].proto);
                EXPECT_EQ(burst[i].isn, one.isn) << i;
                EXPECT_EQ(burst[i].source_port, one.source_port) << i;
                EXPECT_EQ(burst[i].ip_id, one.ip_id) << i;
            }
        }
        const IpAddress t = IpAddress::from_ipv6(targets[5]), s = IpAddress::from_ipv6(sources[5]);
        const std::uint32_t isn = maker.make(t, 80, s, Proto::tcp).isn;
        int same = 0;
        for (int bit = 0; bit < 128; ++bit) {
            same += maker.make(IpAddress::from_ipv6(t.bits ^ (uint128{1} << bit)), 80, s, Proto::tcp).isn == isn;
            same += maker.make(t, 80, IpAddress::from_ipv6(s.bits ^ (uint128{1} << bit)), Proto::tcp).isn == isn;
        }
        EXPECT_EQ(same, 0);
        EXPECT_NE(maker.make(t, 81, s, Proto::tcp).isn, isn);
        EXPECT_NE(maker.make(t, 80, s, Proto::udp).isn, isn);
        const IpAddress v4 = IpAddress::from_ipv4(0xc6130005), src4 = IpAddress::from_ipv4(0xc6120001);
        EXPECT_EQ(maker.make(v4, 80, src4, Proto::tcp).isn, maker.make(0xc6130005u, 80, 0xc6120001u, Proto::tcp).isn);
    }
}

} // namespace
} // namespace ws
