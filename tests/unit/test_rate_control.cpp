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

TEST(RateControl, UncappedAdaptiveStartsAtTheDefaultCapAndDoublesInSlowStart) {
    RateController rc({.cap = 0});
    EXPECT_EQ(rc.rate(), 1'000'000u);
    EXPECT_TRUE(rc.in_slow_start());
    rc.update({.sent = 100'000});
    EXPECT_EQ(rc.rate(), 2'000'000u);
    rc.update({.sent = 200'000});
    EXPECT_EQ(rc.rate(), 4'000'000u);
}

// No replies at all (net_null): no signal, so the rate climbs straight up.
TEST(RateControl, WithoutAnySignalTheRateClimbsToThePortsLimit) {
    RateController rc({.cap = 0});
    for (int tick = 0; tick < 6; ++tick) rc.update({.sent = rc.rate() / 10});
    EXPECT_EQ(rc.rate(), 1'000'000u << 6); // 64 Mpps after 0.6 s
}

// After the first saturation: multiplicative back-off, then additive increase
// by 5% of the rate where saturation was first seen.
TEST(RateControl, SlowStartEndsAtTheFirstSaturationThenClimbsAdditively) {
    RateController rc({.cap = 0});
    rc.update({.sent = 100'000});             // 2M
    rc.update({.sent = 200'000});             // 4M
    rc.update({.sent = 400'000, .drops = 5}); // saturated at 4M -> 2.8M, step 200k
    EXPECT_FALSE(rc.in_slow_start());
    EXPECT_EQ(rc.rate(), 2'800'000u);
    EXPECT_STREQ(rc.last_backoff(), "drops");
    rc.update({.sent = 280'000});
    EXPECT_EQ(rc.rate(), 3'000'000u);
    rc.update({.sent = 300'000});
    EXPECT_EQ(rc.rate(), 3'200'000u);
    rc.update({.sent = 320'000, .ring_fill = 0.5});
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

// ---- the canaries' verdict (DeliveryWindow) driving the controller, over
// synthetic tick series: canaries resolved per tick as the far side would
// deliver them at each rate.

// A path that carries `capacity` probes/s: canaries sent at a higher rate are
// lost in proportion (1% of the rate, as the control loop sends them).
struct Path {
    double capacity;
    std::pair<std::uint64_t, std::uint64_t> canaries(std::uint64_t rate) const {
        const auto sent = std::max<std::uint64_t>(1, rate / 1000); // 1% of a 100 ms tick
        const double delivered = rate <= capacity ? 1.0 : capacity / double(rate);
        const auto answered = std::uint64_t(double(sent) * delivered);
        return {answered, sent - answered};
    }
};

std::uint64_t run_ticks(RateController& rc, DeliveryWindow& window, const Path& path, int ticks, int* losses = nullptr) {
    for (int tick = 0; tick < ticks; ++tick) {
        const auto [answered, missed] = path.canaries(rc.rate());
        const bool far_loss = window.push(answered, missed);
        if (losses) *losses += far_loss;
        rc.update({.sent = rc.rate() / 10, .replies = rc.rate() / 1000, .far_loss = far_loss});
    }
    return rc.rate();
}

TEST(DeliveryWindow, NeedsThreeMissesBelowNinetyNinePercent) {
    DeliveryWindow w;
    EXPECT_EQ(w.delivery(), -1);
    EXPECT_FALSE(w.push(500, 1)); // one miss in 501: noise
    EXPECT_FALSE(w.push(500, 1));
    EXPECT_FALSE(w.push(0, 0));   // nothing resolved this tick: no new verdict
    EXPECT_NEAR(w.delivery(), 1000.0 / 1002.0, 1e-12);
    EXPECT_FALSE(w.push(10, 2));  // 4 misses, but 1010 of 1014 is still above 99%
    EXPECT_TRUE(w.push(10, 20));  // 24 misses: 1020 of 1044 is below
}

TEST(DeliveryWindow, LossFromTheFirstTickIsSeenAtOnceAndTheWindowRestarts) {
    DeliveryWindow w;
    EXPECT_TRUE(w.push(90, 10));
    EXPECT_NEAR(w.delivery(), 0.9, 1e-12);
    EXPECT_FALSE(w.push(100, 0)); // the window restarted: only the new rate's canaries count
    EXPECT_NEAR(w.delivery(), 1.0, 1e-12);
}

// Loss from the very first tick: the path carries 50k/s and the scan starts
// above it. The controller backs off below the path's rate and never returns
// to slow start.
TEST(RateControl, LossFromTheFirstTickBacksOffBelowThePath) {
    RateController rc({.cap = 1'000'000});
    DeliveryWindow window;
    int losses = 0;
    run_ticks(rc, window, Path{50'000}, 60, &losses);
    EXPECT_GT(losses, 0);
    EXPECT_FALSE(rc.in_slow_start());
    EXPECT_STREQ(rc.last_backoff(), "far-side loss");
    EXPECT_LT(rc.rate(), 100'000u); // hovering around the path's rate, not the cap
}

// Loss appearing mid-scan: the path narrows from 20M/s to 2M/s after the
// controller has climbed; it comes back down within a few ticks.
TEST(RateControl, LossAppearingMidScanEndsSlowStartAndBacksOff) {
    RateController rc({.cap = 0});
    DeliveryWindow window;
    run_ticks(rc, window, Path{20'000'000}, 4);
    EXPECT_TRUE(rc.in_slow_start());
    EXPECT_GE(rc.rate(), 10'000'000u);
    int losses = 0;
    run_ticks(rc, window, Path{2'000'000}, 30, &losses);
    EXPECT_GT(losses, 0);
    EXPECT_FALSE(rc.in_slow_start());
    EXPECT_LT(rc.rate(), 4'000'000u);
}

// Bursty loss: one bad tick among healthy ones backs off once, then the rate
// climbs again (additively) instead of collapsing to the floor.
TEST(RateControl, BurstyLossBacksOffOnceAndRecovers) {
    RateController rc({.cap = 1'000'000});
    DeliveryWindow window;
    run_ticks(rc, window, Path{1e9}, 5);
    EXPECT_EQ(rc.rate(), 1'000'000u);
    rc.update({.sent = 100'000, .far_loss = window.push(900, 100)});
    EXPECT_EQ(rc.rate(), 700'000u);
    run_ticks(rc, window, Path{1e9}, 10);
    EXPECT_GT(rc.rate(), 700'000u);
}

// No replies at all (net_null): no canary ever resolves, so no verdict, and
// the rate climbs to the cap.
TEST(RateControl, NoRepliesNoCanariesClimbToTheCap) {
    RateController rc({.cap = 5'000'000});
    DeliveryWindow window;
    for (int tick = 0; tick < 20; ++tick) rc.update({.sent = rc.rate() / 10, .far_loss = window.push(0, 0)});
    EXPECT_EQ(rc.rate(), 5'000'000u);
    EXPECT_EQ(window.delivery(), -1);
}

// A scan the cap sends within one tick starts at the cap (one host's 65,535
// ports at the default 1M cap); a larger one starts at a quarter of it.
TEST(RateControl, SmallScanStartsAtTheCap) {
    EXPECT_EQ(RateController({.cap = 1'000'000, .planned = 65'535}).rate(), 1'000'000u);
    EXPECT_EQ(RateController({.cap = 1'000'000, .planned = 100'001}).rate(), 250'000u);
    EXPECT_EQ(RateController({.cap = 1'000'000}).rate(), 250'000u);        // unknown size
    EXPECT_EQ(RateController({.cap = 0, .planned = 10}).rate(), 1'000'000u); // no cap: the default cap's rate
    EXPECT_EQ(RateController({.cap = 1'000'000, .adaptive = false, .planned = 10}).rate(), 1'000'000u);
}

} // namespace
} // namespace ws
