// The SIMD paths of the TX burst kernels (simd.hpp) against the scalar code:
// the same permutation order (cycle-walking lanes included), the same
// cookies, hence the same probe bytes, over random spaces, seeds, keys,
// source-port ranges and burst lengths; and the scalar code against digests
// taken before the SIMD paths existed (simd_digests.hpp). Paths this CPU
// lacks are reported and skipped, never silently passed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "simd_digests.hpp"
#include "wirespeed/cookie.hpp"
#include "wirespeed/error.hpp"
#include "wirespeed/permutation.hpp"
#include "wirespeed/probe.hpp"
#include "wirespeed/probe_slots.hpp"
#include "wirespeed/scan_space.hpp"
#include "wirespeed/simd.hpp"
#include "wirespeed/targets.hpp"

namespace {

constexpr ws::SimdPath all_paths[] = {ws::SimdPath::scalar, ws::SimdPath::avx2, ws::SimdPath::avx512};

// The paths to compare on this CPU; prints the ones it lacks.
std::vector<ws::SimdPath> testable_paths() {
    std::vector<ws::SimdPath> paths;
    for (ws::SimdPath p : all_paths) {
        if (ws::simd_supported(p)) paths.push_back(p);
        else std::printf("[ SKIPPED  ] SIMD path %s: not supported by this CPU\n", ws::to_string(p));
    }
    return paths;
}

// A size with a log-uniform bit width in [1, 63], half of them just above a
// power of two (the worst case for cycle-walking: the domain is ~2x the size).
std::uint64_t random_size(std::mt19937_64& rng) {
    const unsigned bits = 1 + unsigned(rng() % 63);
    const std::uint64_t top = std::uint64_t{1} << (bits - 1);
    if (rng() % 2) return top + 1 + rng() % (top < 64 ? 1 : top / 64);
    return top + rng() % top;
}

} // namespace

TEST(Simd, NamesRoundTrip) {
    for (ws::SimdPath p : all_paths) EXPECT_EQ(ws::parse_simd_path(ws::to_string(p)), p);
    EXPECT_FALSE(ws::parse_simd_path("sse2"));
    EXPECT_TRUE(ws::simd_supported(ws::SimdPath::scalar));
    EXPECT_TRUE(ws::simd_supported(ws::best_simd_path()));
    EXPECT_TRUE(ws::simd_supported(ws::supported_simd_path(ws::SimdPath::avx512)));
}

TEST(Simd, EnvironmentChoosesOrRejects) {
    const char* saved = std::getenv("WIRESPEED_SIMD");
    const std::string restore = saved ? saved : "";
    ::setenv("WIRESPEED_SIMD", "scalar", 1);
    EXPECT_EQ(ws::simd_path_from_environment(), ws::SimdPath::scalar);
    ::setenv("WIRESPEED_SIMD", "neon", 1);
    EXPECT_THROW(ws::simd_path_from_environment(), ws::Error);
    if (!ws::simd_supported(ws::SimdPath::avx512)) {
        ::setenv("WIRESPEED_SIMD", "avx512", 1);
        EXPECT_THROW(ws::simd_path_from_environment(), ws::Error);
    }
    ::unsetenv("WIRESPEED_SIMD");
    EXPECT_EQ(ws::simd_path_from_environment(), ws::best_simd_path());
    if (saved) ::setenv("WIRESPEED_SIMD", restore.c_str(), 1);
}

// The scalar code's order and cookies are those of the commit before the
// SIMD paths: resume points and shards stay valid across versions.
TEST(Simd, ScalarOutputUnchangedSinceBeforeSimd) {
    constexpr std::uint64_t expected[] = {
        0x6be9a17bc7e9ae01ULL, 0xf2d91f12cd073210ULL, 0x374ce19e8f2cefaaULL, 0xffd929c6182fdbc6ULL,
        0x90d2658826594458ULL, 0x515509633831e670ULL, 0x48a2ec0d50203609ULL, 0xf2354178c1b85621ULL,
    };
    static_assert(std::size(expected) == std::size(ws::test::permutation_cases));
    for (std::size_t i = 0; i < std::size(expected); ++i) {
        const auto& c = ws::test::permutation_cases[i];
        EXPECT_EQ(ws::test::permutation_digest(c.size, c.seed), expected[i]) << "size " << c.size << " seed " << c.seed;
    }
    EXPECT_EQ(ws::test::cookie_digest(ws::CookiePrf::siphash), 0x08fe83142e94b7e1ULL);
    if (ws::CookieMaker::aesni_available()) {
        EXPECT_EQ(ws::test::cookie_digest(ws::CookiePrf::aesni), 0x45e1b53c060c8d47ULL);
    }
}

TEST(Simd, PermutationBurstIdenticalOnEveryPath) {
    const auto paths = testable_paths();
    std::mt19937_64 rng(20261130);
    for (int trial = 0; trial < 3000; ++trial) {
        const std::uint64_t size = trial < 64 ? std::uint64_t(trial) + 1 : random_size(rng);
        const std::uint64_t seed = rng();
        ws::Permutation perm(size, seed);
        const unsigned count = unsigned(std::min<std::uint64_t>(1 + rng() % 64, size));
        const std::uint64_t first = size == count ? 0 : rng() % (size - count + 1);
        std::uint64_t expected[64];
        for (unsigned i = 0; i < count; ++i) expected[i] = perm.forward(first + i);
        for (ws::SimdPath p : paths) {
            perm.set_simd_path(p);
            ASSERT_EQ(perm.simd_path(), p);
            std::uint64_t got[65];
            got[count] = 0xdeadbeef; // a canary: nothing past count is written
            perm.forward_burst(first, count, got);
            ASSERT_EQ(got[count], 0xdeadbeefu) << ws::to_string(p);
            for (unsigned i = 0; i < count; ++i)
                ASSERT_EQ(got[i], expected[i]) << ws::to_string(p) << " size " << size << " seed " << seed << " index "
                                               << first + i;
        }
    }
}

// A whole small space, burst by burst: every path visits it in the same order.
TEST(Simd, PermutationWholeSpaceInBursts) {
    const auto paths = testable_paths();
    for (std::uint64_t size : {1000ULL, 65537ULL, (1ULL << 18) - 3}) {
        const ws::Permutation reference(size, size * 31);
        for (ws::SimdPath p : paths) {
            ws::Permutation perm(size, size * 31);
            perm.set_simd_path(p);
            std::uint64_t got[64];
            for (std::uint64_t first = 0; first < size; first += 64) {
                const unsigned count = unsigned(std::min<std::uint64_t>(64, size - first));
                perm.forward_burst(first, count, got);
                for (unsigned i = 0; i < count; ++i)
                    ASSERT_EQ(got[i], reference.forward(first + i)) << ws::to_string(p) << " size " << size;
            }
        }
    }
}

TEST(Simd, CookieBurstIdenticalOnEveryPath) {
    const auto paths = testable_paths();
    std::mt19937_64 rng(42);
    constexpr ws::Proto protos[] = {ws::Proto::tcp, ws::Proto::udp, ws::Proto::icmp};
    for (int trial = 0; trial < 2000; ++trial) {
        const ws::CookieKey key{rng(), rng()};
        std::uint16_t a = std::uint16_t(rng()), b = std::uint16_t(rng());
        if (trial % 7 == 0) a = 0, b = 65535; // the whole port range: size 65536
        if (trial % 11 == 0) b = a;          // a single source port
        const ws::PortRange ports{std::min(a, b), std::max(a, b)};
        const std::size_t count = 1 + rng() % 70; // crosses the 32-probe chunks
        std::vector<ws::Target> targets(count);
        for (auto& t : targets) t = {std::uint32_t(rng()), std::uint16_t(rng()), protos[rng() % 3], 0, std::uint32_t(rng())};
        const std::uint32_t source_ip = std::uint32_t(rng());
        for (ws::CookiePrf prf : {ws::CookiePrf::siphash, ws::CookiePrf::aesni}) {
            ws::CookieMaker maker(key, ports, prf);
            for (ws::SimdPath p : paths) {
                maker.set_simd_path(p);
                std::vector<ws::Cookie> got(count + 1);
                got[count] = {0xfeedface, 7, 9};
                maker.make_burst(targets.data(), count, source_ip, got.data());
                ASSERT_EQ(got[count].isn, 0xfeedfaceu);
                for (std::size_t i = 0; i < count; ++i) {
                    const ws::Cookie want = maker.make(targets[i].address, targets[i].port, source_ip, targets[i].proto);
                    ASSERT_EQ(got[i].isn, want.isn) << ws::to_string(p) << " i " << i;
                    ASSERT_EQ(got[i].source_port, want.source_port) << ws::to_string(p) << " i " << i;
                    ASSERT_EQ(got[i].ip_id, want.ip_id) << ws::to_string(p) << " i " << i;
                }
            }
        }
    }
}

// ScanSpace::at_burst on random target sets (up to 16 intervals: the
// AVX-512 mapping; more: the bucket table) and mixed TCP/UDP/ICMP slots, one slot
// or hundreds: every path gives at()'s Targets.
TEST(Simd, ScanSpaceBurstIdenticalOnEveryPath) {
    const auto paths = testable_paths();
    std::mt19937_64 rng(99);
    for (int trial = 0; trial < 60; ++trial) {
        std::vector<ws::Ipv4Interval> intervals;
        // Up to 16 intervals (the AVX-512 mapping's case) in most trials.
        const int n = trial % 4 == 1 ? 1 : 1 + int(rng() % (trial % 3 == 0 ? 2000 : 20));
        for (int k = 0; k < n; ++k) {
            const std::uint32_t first = std::uint32_t(rng());
            const std::uint32_t span = std::uint32_t(rng() % (trial % 2 ? 5 : 1u << 20));
            intervals.push_back({first, first > 0xffffffffu - span ? 0xffffffffu : first + span});
        }
        ws::PortSet tcp = ws::parse_ports(trial % 4 == 0 ? "80" : "1-300");
        ws::PortSet udp = ws::parse_ports(trial % 5 == 0 ? "53,161" : "7");
        // A single TCP port, or a plain TCP port range: no slot gather.
        const bool one_slot = trial % 8 == 5, tcp_range = trial % 8 == 3;
        if (one_slot || tcp_range) udp = ws::PortSet{};
        const ws::ProbeSlots slots =
            ws::ProbeSlots::build(one_slot ? ws::parse_ports("443") : tcp_range ? ws::parse_ports("1000-1300") : tcp, udp,
                                  !one_slot && !tcp_range && trial % 2 == 0, [](std::uint16_t p) { return p % 3; });
        ws::ScanSpace space(ws::TargetSet::from_intervals(intervals), slots, rng());
        for (int burst = 0; burst < 20; ++burst) {
            const unsigned count = unsigned(std::min<std::uint64_t>(1 + rng() % 64, space.size()));
            const std::uint64_t first = rng() % (space.size() - count + 1);
            ws::Target expected[64];
            for (unsigned i = 0; i < count; ++i) expected[i] = space.at(first + i);
            for (ws::SimdPath p : paths) {
                space.set_simd_path(p);
                ws::Target got[65];
                got[count] = {0xabcdef, 1, ws::Proto::udp, 0, 77};
                space.at_burst(first, count, got);
                ASSERT_EQ(got[count], (ws::Target{0xabcdef, 1, ws::Proto::udp, 0, 77})) << ws::to_string(p);
                for (unsigned i = 0; i < count; ++i)
                    ASSERT_EQ(got[i], expected[i]) << ws::to_string(p) << " trial " << trial << " index " << first + i;
            }
        }
    }
}

// TargetSet::at's bucket table (the scalar mapping of every path) against
// index_of's independent binary search, on sets of 1 to 3000 intervals.
TEST(Simd, TargetSetBucketsAgreeWithIndexOf) {
    std::mt19937_64 rng(5);
    for (int trial = 0; trial < 200; ++trial) {
        std::vector<ws::Ipv4Interval> intervals;
        const int n = 1 + int(rng() % (trial % 2 ? 3000 : 17));
        for (int k = 0; k < n; ++k) {
            const std::uint32_t first = std::uint32_t(rng());
            const std::uint32_t span = std::uint32_t(rng() % (trial % 3 ? 3 : 1u << 24));
            intervals.push_back({first, first > 0xffffffffu - span ? 0xffffffffu : first + span});
        }
        const ws::TargetSet set = ws::TargetSet::from_intervals(intervals);
        std::vector<std::uint64_t> indices = {0, set.count() - 1};
        for (int i = 0; i < 500; ++i) indices.push_back(rng() % set.count());
        for (std::uint64_t index : indices) ASSERT_EQ(set.index_of(set.at(index)), index) << "trial " << trial;
    }
}

// End to end as the TX lcore crafts a burst: targets, cookies, patched
// frames, on a space with a blocklist-shaped target set and cycle-walking.
TEST(Simd, CraftedFramesByteIdenticalOnEveryPath) {
    const auto paths = testable_paths();
    ws::TargetSet targets = ws::TargetSet::from_intervals({{0x01000000, 0xdfffffff}});
    targets.subtract(ws::parse_targets("10.0.0.0/8,100.64.0.0/10,127.0.0.0/8,169.254.0.0/16,172.16.0.0/12,192.168.0.0/16"));
    ws::ScanSpace space(std::move(targets), ws::parse_ports("1-1000"), 0x5eed);
    ws::ProbeConfig config;
    config.source_mac = {2, 0, 0, 0, 0, 1};
    config.destination_mac = {2, 0, 0, 0, 0, 2};
    config.source_ip = 0xc6120064;
    const ws::ProbeTemplate probe(config);
    const ws::CookieMaker reference_cookies(ws::CookieKey{1, 2}, ws::PortRange{40000, 60999}, ws::CookiePrf::aesni);
    std::mt19937_64 rng(7);
    for (int burst = 0; burst < 200; ++burst) {
        const unsigned count = 1 + unsigned(rng() % 32);
        const std::uint64_t first = rng() % (space.size() - count);
        std::vector<std::uint8_t> expected(count * 128), got(count * 128);
        for (unsigned i = 0; i < count; ++i) {
            const ws::Target t = space.at(first + i);
            const ws::Cookie c = reference_cookies.make(t.address, t.port, config.source_ip);
            probe.write(expected.data() + i * 128, {t.address, t.port, c.source_port, c.isn, c.ip_id});
        }
        for (ws::SimdPath p : paths) {
            space.set_simd_path(p);
            ws::CookieMaker cookies(ws::CookieKey{1, 2}, ws::PortRange{40000, 60999}, ws::CookiePrf::aesni);
            cookies.set_simd_path(p);
            ws::Target t[32];
            ws::Cookie c[32];
            space.at_burst(first, count, t);
            cookies.make_burst(t, count, config.source_ip, c);
            for (unsigned i = 0; i < count; ++i)
                probe.write(got.data() + i * 128, {t[i].address, t[i].port, c[i].source_port, c[i].isn, c[i].ip_id});
            ASSERT_EQ(std::memcmp(got.data(), expected.data(), got.size()), 0) << ws::to_string(p) << " burst " << burst;
        }
    }
}
