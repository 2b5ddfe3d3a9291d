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

} // namespace
} // namespace ws
