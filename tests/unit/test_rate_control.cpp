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

TEST(RateControl, UncappedAdaptiveStartsModestly) {
    RateController rc({.cap = 0});
    EXPECT_EQ(rc.rate(), 100'000u);
    rc.update({.sent = 10'000});
    EXPECT_EQ(rc.rate(), 125'000u);
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
