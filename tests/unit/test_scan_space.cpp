#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <numeric>
#include <tuple>
#include <vector>

#include "wirespeed/error.hpp"
#include "wirespeed/address.hpp"
#include "wirespeed/scan_space.hpp"

namespace {

ws::PortSet port_range(std::uint16_t first, std::uint16_t last) {
    std::vector<std::uint16_t> ports;
    for (std::uint32_t p = first; p <= last; ++p) ports.push_back(static_cast<std::uint16_t>(p));
    return ws::PortSet::from_ports(std::move(ports));
}

constexpr std::uint32_t ip(std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint32_t d) {
    return (a << 24) | (b << 16) | (c << 8) | d;
}

// Every (address, port) of the space appears exactly once, and the three
// mappings agree with each other.
void expect_exhaustive(const ws::ScanSpace& space) {
    const std::uint64_t hosts = space.targets().count();
    const std::uint64_t ports = space.slots().count();
    ASSERT_EQ(space.size(), hosts * ports);
    std::vector<bool> seen(space.size(), false);
    for (std::uint64_t pos = 0; pos < space.size(); ++pos) {
        const ws::Target t = space.at(pos);
        ASSERT_TRUE(space.targets().contains(t.address)) << pos;
        ASSERT_NE(space.slots().key_index(t.proto, t.port), UINT32_MAX) << pos;
        const std::uint64_t dense = space.dense_index(t.address, t.port);
        ASSERT_EQ(dense, std::uint64_t{space.slots().key_index(t.proto, t.port)} * hosts + space.targets().index_of(t.address));
        ASSERT_LT(dense, space.size());
        ASSERT_FALSE(seen[dense]) << "position " << pos << " repeats a target";
        seen[dense] = true;
        ASSERT_EQ(space.position_of_tcp(t.address, t.port), pos);
    }
}

} // namespace

// ------------------------------------------------------------ split_range

TEST(SplitRange, DisjointAndComplete) {
    const std::vector<std::uint64_t> sizes = {0, 1, 2, 3, 7, 10, 100, 1000, 65535, 1ULL << 32, (1ULL << 48),
                                              (1ULL << 48) + 3, (1ULL << 63)};
    const std::vector<std::uint32_t> counts = {1, 2, 3, 4, 7, 16, 64, 1000, 65536};
    for (std::uint64_t begin : {std::uint64_t{0}, std::uint64_t{5}}) {
        for (std::uint64_t size : sizes) {
            for (std::uint32_t n : counts) {
                const ws::IndexRange whole{begin, begin + size};
                std::uint64_t next = whole.begin;
                std::uint64_t smallest = UINT64_MAX, largest = 0;
                for (std::uint32_t i = 0; i < n; ++i) {
                    const ws::IndexRange r = ws::split_range(whole, i, n);
                    ASSERT_EQ(r.begin, next) << size << "/" << n << " shard " << i;
                    ASSERT_LE(r.begin, r.end);
                    next = r.end;
                    smallest = std::min(smallest, r.size());
                    largest = std::max(largest, r.size());
                }
                ASSERT_EQ(next, whole.end) << size << "/" << n;
                // Balanced: shard sizes differ by at most one.
                ASSERT_LE(largest - smallest, 1u) << size << "/" << n;
            }
        }
    }
}

TEST(SplitRange, SingleShardIsWhole) {
    const ws::IndexRange whole{10, 1000};
    EXPECT_EQ(ws::split_range(whole, 0, 1), whole);
}

TEST(SplitRange, MoreShardsThanPositions) {
    const ws::IndexRange whole{0, 3};
    std::uint64_t nonempty = 0;
    for (std::uint32_t i = 0; i < 10; ++i) nonempty += ws::split_range(whole, i, 10).size();
    EXPECT_EQ(nonempty, 3u);
}

// -------------------------------------------------------------- ScanSpace

TEST(ScanSpace, OneHostAllPorts) {
    const ws::ScanSpace space(ws::TargetSet::from_intervals({{ip(10, 0, 0, 1), ip(10, 0, 0, 1)}}),
                              port_range(1, 65535), 42);
    ASSERT_EQ(space.size(), 65535u);
    expect_exhaustive(space);
    int top = 0;
    for (std::uint64_t pos = 0; pos < space.size(); ++pos) top += space.at(pos).port == 65535;
    EXPECT_EQ(top, 1);
}

TEST(ScanSpace, ThreeHostsSevenPorts) {
    const ws::ScanSpace space(ws::TargetSet::from_intervals({{ip(192, 168, 1, 1), ip(192, 168, 1, 3)}}),
                              port_range(20, 26), 1);
    ASSERT_EQ(space.size(), 21u);
    expect_exhaustive(space);
}

TEST(ScanSpace, MultiIntervalTargetsSparsePorts) {
    auto targets = ws::TargetSet::from_intervals({{ip(10, 0, 0, 0), ip(10, 0, 0, 255)},
                                                  {ip(10, 0, 2, 7), ip(10, 0, 2, 9)},
                                                  {ip(172, 16, 0, 0), ip(172, 16, 0, 99)},
                                                  {ip(255, 255, 255, 250), ip(255, 255, 255, 255)}});
    auto ports = ws::PortSet::from_ports({22, 80, 443, 8080, 65535, 1});
    const ws::ScanSpace space(targets, ports, 0xfeed);
    ASSERT_EQ(space.size(), (256u + 3u + 100u + 6u) * 6u);
    expect_exhaustive(space);
}

TEST(ScanSpace, OutsideTargetsAreRejected) {
    const ws::ScanSpace space(ws::TargetSet::from_intervals({{ip(10, 0, 0, 0), ip(10, 0, 0, 9)}}),
                              ws::PortSet::from_ports({80, 443}), 3);
    EXPECT_EQ(space.dense_index(ip(10, 0, 0, 10), 80), UINT64_MAX);
    EXPECT_EQ(space.dense_index(ip(10, 0, 0, 1), 81), UINT64_MAX);
    EXPECT_EQ(space.position_of_tcp(ip(9, 255, 255, 255), 80), UINT64_MAX);
    EXPECT_EQ(space.position_of_tcp(ip(10, 0, 0, 1), 22), UINT64_MAX);
    EXPECT_EQ(space.dense_index(ip(10, 0, 0, 3), 443), 1u * 10u + 3u);
}

TEST(ScanSpace, SeedChangesOrderNotContent) {
    auto targets = ws::TargetSet::from_intervals({{ip(10, 0, 0, 0), ip(10, 0, 0, 99)}});
    auto ports = port_range(1, 50);
    const ws::ScanSpace a(targets, ports, 1), b(targets, ports, 2);
    EXPECT_EQ(a.seed(), 1u);
    int same = 0;
    for (std::uint64_t pos = 0; pos < a.size(); ++pos) same += a.at(pos) == b.at(pos);
    EXPECT_LT(same, 20);
    expect_exhaustive(b);
}

TEST(ScanSpace, ConsecutiveProbesSpreadOverHosts) {
    const ws::ScanSpace space(ws::TargetSet::from_intervals({{ip(10, 1, 0, 0), ip(10, 1, 0, 255)}}),
                              port_range(1000, 1099), 7);
    std::uint64_t same_host = 0;
    for (std::uint64_t pos = 0; pos + 1 < space.size(); ++pos)
        same_host += space.at(pos).address == space.at(pos + 1).address;
    EXPECT_LT(same_host, (space.size() - 1) / 20);
}

TEST(ScanSpace, WholeInternetSampled) {
    const ws::ScanSpace space(ws::TargetSet::from_intervals({{0, 0xffffffff}}), port_range(1, 65535), 0xabcdef);
    const std::uint64_t size = (std::uint64_t{1} << 32) * 65535;
    ASSERT_EQ(space.size(), size);
    std::uint64_t x = 12345;
    for (int i = 0; i < 20000; ++i) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        const std::uint64_t pos = x % size;
        const ws::Target t = space.at(pos);
        ASSERT_NE(t.port, 0);
        ASSERT_EQ(space.position_of_tcp(t.address, t.port), pos);
        ASSERT_LT(space.dense_index(t.address, t.port), size);
    }
    for (std::uint64_t pos : {std::uint64_t{0}, size - 1}) {
        const ws::Target t = space.at(pos);
        EXPECT_EQ(space.position_of_tcp(t.address, t.port), pos);
    }
    // The corners of the space are reachable.
    for (auto [a, p] : {std::pair<std::uint32_t, std::uint16_t>{0, 1}, {0xffffffff, 65535}, {0, 65535}, {0xffffffff, 1}}) {
        const std::uint64_t pos = space.position_of_tcp(a, p);
        ASSERT_LT(pos, size);
        EXPECT_EQ(space.at(pos), (ws::Target{a, p, ws::Proto::tcp, 0, std::uint32_t(p - 1)})); // slot = port index
    }
}

TEST(ScanSpace, EmptyInputsThrow) {
    EXPECT_THROW(ws::ScanSpace(ws::TargetSet{}, port_range(1, 2), 0), ws::Error);
    EXPECT_THROW(ws::ScanSpace(ws::TargetSet::from_intervals({{1, 2}}), ws::PortSet{}, 0), ws::Error);
}

TEST(ScanSpace, Movable) {
    ws::ScanSpace a(ws::TargetSet::from_intervals({{ip(10, 0, 0, 0), ip(10, 0, 0, 4)}}), port_range(1, 3), 9);
    const ws::Target first = a.at(0);
    ws::ScanSpace b(std::move(a));
    EXPECT_EQ(b.at(0), first);
    ws::ScanSpace c(ws::TargetSet::from_intervals({{1, 1}}), port_range(1, 1), 0);
    c = std::move(b);
    EXPECT_EQ(c.at(0), first);
    expect_exhaustive(c);
}

// ---------------------------------------------------------- RetrySchedule

namespace {

void expect_schedule(ws::IndexRange range, std::uint32_t retries, std::uint64_t spacing) {
    SCOPED_TRACE(testing::Message() << "range [" << range.begin << "," << range.end << ") retries " << retries
                                    << " spacing " << spacing);
    const ws::RetrySchedule sched(range, retries, spacing);
    EXPECT_EQ(sched.range(), range);
    EXPECT_EQ(sched.retries(), retries);
    const std::uint64_t gap = (std::uint64_t{retries} + 1) * sched.block();
    // Per position: the slots of its attempts, in slot order.
    std::vector<std::vector<std::uint64_t>> slots_of(range.size());
    std::vector<std::vector<std::uint32_t>> attempts_of(range.size());
    std::uint64_t valid = 0;
    for (std::uint64_t slot = 0; slot < sched.slots(); ++slot) {
        const auto step = sched.at(slot);
        if (!step.valid) continue;
        ++valid;
        ASSERT_GE(step.position, range.begin);
        ASSERT_LT(step.position, range.end);
        ASSERT_LE(step.attempt, retries);
        slots_of[step.position - range.begin].push_back(slot);
        attempts_of[step.position - range.begin].push_back(step.attempt);
    }
    ASSERT_EQ(valid, range.size() * (retries + 1));
    for (std::uint64_t i = 0; i < range.size(); ++i) {
        ASSERT_EQ(attempts_of[i].size(), retries + 1u) << "position " << range.begin + i;
        for (std::uint32_t a = 0; a <= retries; ++a) {
            ASSERT_EQ(attempts_of[i][a], a) << "position " << range.begin + i;
            if (a > 0) {
                ASSERT_EQ(slots_of[i][a] - slots_of[i][a - 1], gap) << "position " << range.begin + i;
            }
        }
    }
    if (retries == 0) {
        EXPECT_EQ(sched.slots(), range.size());
        EXPECT_EQ(valid, sched.slots());
    }
}

} // namespace

TEST(RetrySchedule, EveryPositionEveryAttemptInOrder) {
    const std::vector<ws::IndexRange> ranges = {{0, 0}, {0, 1}, {0, 10}, {7, 17}, {100, 1100}, {0, 1023}, {5, 4101}};
    for (const auto& range : ranges)
        for (std::uint32_t retries : {0u, 1u, 2u, 3u, 7u})
            for (std::uint64_t spacing : {0ULL, 1ULL, 2ULL, 3ULL, 10ULL, 64ULL, 1000ULL, 5000ULL})
                expect_schedule(range, retries, spacing);
}

TEST(RetrySchedule, NoRetriesIsIdentity) {
    const ws::RetrySchedule sched({1000, 2000}, 0, 77);
    ASSERT_EQ(sched.slots(), 1000u);
    for (std::uint64_t slot = 0; slot < sched.slots(); ++slot) {
        const auto step = sched.at(slot);
        ASSERT_TRUE(step.valid);
        ASSERT_EQ(step.position, 1000 + slot);
        ASSERT_EQ(step.attempt, 0u);
    }
}

TEST(RetrySchedule, WasteIsBoundedByRamps) {
    // Only the ramp rounds and the tail of the last block are wasted.
    const ws::RetrySchedule sched({0, 100000}, 2, 1000);
    EXPECT_EQ(sched.block(), 1000u);
    EXPECT_EQ(sched.slots(), (100u + 2u) * 3u * 1000u);
}

TEST(RetrySchedule, HugeRangeDoesNotOverflow) {
    const std::uint64_t size = (std::uint64_t{1} << 32) * 65535;
    const ws::RetrySchedule sched({0, size}, 3, 1 << 20);
    EXPECT_GE(sched.slots(), size * 4);
    const auto first = sched.at(0);
    EXPECT_TRUE(first.valid);
    EXPECT_EQ(first.position, 0u);
    const auto last = sched.at(sched.slots() - 1);
    EXPECT_TRUE(last.valid);
    EXPECT_EQ(last.attempt, 3u);
    EXPECT_THROW(ws::RetrySchedule({0, std::uint64_t{1} << 62}, 7, 1 << 20), ws::Error);
    EXPECT_THROW(ws::RetrySchedule({0, 100}, UINT32_MAX, std::uint64_t{1} << 40), ws::Error);
}

TEST(RetrySchedule, Movable) {
    ws::RetrySchedule a({0, 50}, 1, 8);
    const std::uint64_t slots = a.slots();
    ws::RetrySchedule b(std::move(a));
    EXPECT_EQ(b.slots(), slots);
    EXPECT_TRUE(b.at(0).valid);
}

namespace ws {
namespace {

TEST(ScanSpaceBurst, EqualsOneAtATime) {
    for (std::uint64_t seed : {1ull, 99ull}) {
        // 2^32 x 3 ports needs cycle-walking (domain 2^34); the lab space does not.
        ScanSpace internet(TargetSet::from_intervals({{0, 0xffffffffu}}), PortSet::from_ports({22, 80, 443}), seed);
        ScanSpace small(TargetSet::from_intervals({{0xc6130000u, 0xc6130006u}}), PortSet::from_ports({1, 2, 3}), seed);
        for (const ScanSpace* space : {&internet, &small}) {
            for (unsigned count : {0u, 1u, 3u, 4u, 7u, 21u}) {
                const std::uint64_t first = space->size() > 1000 ? 123456789 : 0;
                Target burst[64];
                space->at_burst(first, count, burst);
                for (unsigned i = 0; i < count; ++i) EXPECT_EQ(burst[i], space->at(first + i)) << i;
            }
        }
    }
}

} // namespace
} // namespace ws

// ---------------------------------------------------------------- IPv6

// A space of both families: every (address, slot) exactly once, IPv4 hosts
// first then IPv6 by host index, and at(), at_burst(), dense_index(),
// position_of() and target_of() agree on every path.
TEST(ScanSpace, MixedFamiliesAreOnePermutation) {
    const ws::TargetSet targets = ws::parse_targets("198.19.0.0/28, 2001:db8:1::/124, 2001:db8:2::7, 198.19.9.9");
    ASSERT_EQ(targets.count(), 17u + 17u);
    const ws::ProbeSlots slots = ws::ProbeSlots::tcp(port_range(20, 24));
    for (ws::SimdPath path : {ws::SimdPath::scalar, ws::SimdPath::avx2, ws::SimdPath::avx512}) {
        ws::ScanSpace space(targets, slots, 77);
        space.set_simd_path(path);
        ASSERT_EQ(space.size(), 34u * 5u);
        std::map<std::pair<ws::IpAddress, std::uint16_t>, int> seen;
        std::vector<ws::Target> burst(space.size());
        for (std::uint64_t first = 0; first < space.size(); first += 64)
            space.at_burst(first, unsigned(std::min<std::uint64_t>(64, space.size() - first)), burst.data() + first);
        std::uint64_t v6 = 0;
        for (std::uint64_t pos = 0; pos < space.size(); ++pos) {
            const ws::Target t = space.at(pos);
            ASSERT_EQ(burst[pos], t) << pos;
            const ws::IpAddress a = space.address_of(t);
            EXPECT_EQ(t.v6 != 0, !a.is_ipv4());
            EXPECT_TRUE(targets.contains(a)) << ws::format_ip(a);
            v6 += t.v6;
            ++seen[{a, t.port}];
            EXPECT_EQ(space.position_of(a, t.slot), pos);
            EXPECT_EQ(space.dense_index(t), space.dense_index(a, t.proto, t.port));
            EXPECT_EQ(space.target_of(a, t.slot), t);
        }
        EXPECT_EQ(seen.size(), space.size());
        EXPECT_EQ(v6, 17u * 5u);
        // Consecutive positions spread over both families (the permutation mixes them).
        EXPECT_NE(space.at(0).v6 + space.at(1).v6 + space.at(2).v6 + space.at(3).v6, 0u);
    }
    EXPECT_EQ(targets.index_of(*ws::parse_ip("2001:db8:2::7")), 33u);
    EXPECT_EQ(targets.address_at(17), *ws::parse_ip("2001:db8:1::"));
}

TEST(ScanSpace, MoreThan2To32Ipv6HostsRefused) {
    EXPECT_THROW(ws::ScanSpace(ws::parse_targets("2001:db8::/95"), port_range(1, 1), 0), ws::Error);
    EXPECT_NO_THROW(ws::ScanSpace(ws::parse_targets("2001:db8::/96"), port_range(1, 1), 0));
}
