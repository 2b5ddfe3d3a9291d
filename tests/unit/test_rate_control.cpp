#include "wirespeed/rate_control.hpp"

#include <gtest/gtest.h>

namespace ws {
namespace {

TEST(RateControl, FixedModeNeverMoves) {
    RateController rc({.cap = 50'000, .adaptive = false});
    EXPECT_EQ(rc.rate(), 50'000u);
    EXPECT_EQ(rc.update({.sent = 5'000, .drops = 1'000}), 50'000u);
}

TEST(RateControl, ClimbsToTheCapAndStaysThere) {
    RateController rc({.cap = 1'000'000});
    EXPECT_EQ(rc.rate(), 250'000u);
    for (int tick = 0; tick < 50; ++tick) rc.update({.sent = rc.rate() / 10, .replies = rc.rate() / 100});
    EXPECT_EQ(rc.rate(), 1'000'000u);
}

TEST(RateControl, BacksOffOnDropsAndRingPressure) {
    RateController rc({.cap = 1'000'000});
    const auto start = rc.rate();
    EXPECT_LT(rc.update({.sent = start / 10, .drops = 3}), start);
    const auto after_drop = rc.rate();
    EXPECT_LT(rc.update({.sent = after_drop / 10, .ring_fill = 0.9}), after_drop);
    for (int tick = 0; tick < 100; ++tick) rc.update({.sent = 100, .drops = 10});
    EXPECT_EQ(rc.rate(), 1'000u); // the floor
}

TEST(RateControl, BacksOffWhenTheYieldCollapses) {
    RateController rc({.cap = 10'000'000});
    rc.update({.sent = 100'000, .replies = 10'000}); // baseline yield 10 %
    const auto before = rc.rate();
    EXPECT_LT(rc.update({.sent = 100'000, .replies = 2'000}), before); // 2 %: the far side is dropping
    EXPECT_TRUE(rc.saturated_last_tick());
}

TEST(RateControl, DoesNotClimbWhenTheRateIsNotReached) {
    RateController rc({.cap = 10'000'000});
    const auto start = rc.rate();
    rc.update({.sent = start / 100, .tx_stalls = 50}); // the port could not take even a tenth
    EXPECT_EQ(rc.rate(), start);
}

TEST(RateControl, UncappedAdaptiveStartsModestlyAndDoublesInSlowStart) {
    RateController rc({.cap = 0});
    EXPECT_EQ(rc.rate(), 100'000u);
    EXPECT_TRUE(rc.in_slow_start());
    rc.update({.sent = 10'000});
    EXPECT_EQ(rc.rate(), 200'000u);
    rc.update({.sent = 20'000});
    EXPECT_EQ(rc.rate(), 400'000u);
}

// No replies at all (net_null): no signal, so the rate climbs straight up.
TEST(RateControl, WithoutAnySignalTheRateClimbsToThePortsLimit) {
    RateController rc({.cap = 0});
    for (int tick = 0; tick < 10; ++tick) rc.update({.sent = rc.rate() / 10});
    EXPECT_EQ(rc.rate(), 100'000u << 10);
}

// After the first saturation: multiplicative back-off, then additive increase
// by 5% of the rate where saturation was first seen.
TEST(RateControl, SlowStartEndsAtTheFirstSaturationThenClimbsAdditively) {
    RateController rc({.cap = 0});
    rc.update({.sent = 10'000});             // 200k
    rc.update({.sent = 20'000});             // 400k
    rc.update({.sent = 40'000, .drops = 5}); // saturated at 400k -> 280k, step 20k
    EXPECT_FALSE(rc.in_slow_start());
    EXPECT_EQ(rc.rate(), 280'000u);
    EXPECT_STREQ(rc.last_backoff(), "drops");
    rc.update({.sent = 28'000});
    EXPECT_EQ(rc.rate(), 300'000u);
    rc.update({.sent = 30'000});
    EXPECT_EQ(rc.rate(), 320'000u);
    rc.update({.sent = 32'000, .ring_fill = 0.5});
    EXPECT_STREQ(rc.last_backoff(), "result ring");
}

TEST(RateControl, LiveCapChanges) {
    RateController rc({.cap = 1'000'000});
    rc.update({.sent = 25'000}); // 500k
    rc.set_cap(300'000);
    EXPECT_EQ(rc.rate(), 300'000u);
    rc.update({.sent = 30'000});
    EXPECT_EQ(rc.rate(), 300'000u);
    RateController fixed({.cap = 50'000, .adaptive = false});
    fixed.set_cap(55'000);
    EXPECT_EQ(fixed.rate(), 55'000u);
}

// A cap below the back-off floor (1,000 pps) is still a cap: the adaptive
// mode starts at or under it and never backs off above it.
TEST(RateControl, CapBelowTheFloorIsNeverExceeded) {
    for (std::uint64_t cap : {1ull, 5ull, 999ull, 1000ull, 1001ull, 3999ull}) {
        RateController rc({.cap = cap});
        EXPECT_LE(rc.rate(), cap) << "cap " << cap;
        EXPECT_GE(rc.rate(), 1u) << "cap " << cap;
        for (int tick = 0; tick < 20; ++tick) {
            rc.update({.sent = cap / 10 + 1, .drops = std::uint64_t(tick % 2)});
            EXPECT_LE(rc.rate(), cap) << "cap " << cap << " tick " << tick;
            EXPECT_GE(rc.rate(), 1u) << "cap " << cap << " tick " << tick;
        }
    }
}

} // namespace
} // namespace ws
