#include "wirespeed/token_bucket.hpp"

#include <gtest/gtest.h>

namespace ws {
namespace {

constexpr std::uint64_t hz = 2'000'000'000; // a 2 GHz TSC

// Drives the bucket with a simulated clock and counts granted probes.
std::uint64_t probes_granted(TokenBucket& bucket, std::uint64_t start, std::uint64_t duration, std::uint64_t step) {
    std::uint64_t granted = 0;
    for (std::uint64_t t = start; t < start + duration; t += step) granted += bucket.grant(t);
    return granted;
}

TEST(TokenBucket, DeliversTheRateOverOneSecond) {
    for (std::uint64_t rate : {100ull, 1'000ull, 12'345ull, 1'000'000ull, 14'880'000ull}) {
        TokenBucket bucket(hz, rate, 0);
        const auto granted = probes_granted(bucket, 0, hz, 500);
        // Exact up to the bucket's start-up (empty) and one burst of rounding.
        EXPECT_LE(granted, rate) << rate;
        EXPECT_GE(granted + 2 * bucket.burst(), rate) << rate;
    }
}

TEST(TokenBucket, SmallRatesUseSmallBursts) {
    EXPECT_EQ(TokenBucket(hz, 100, 0).burst(), 1u);
    EXPECT_EQ(TokenBucket(hz, 5'000, 0).burst(), 5u);
    EXPECT_EQ(TokenBucket(hz, 10'000'000, 0).burst(), TokenBucket::max_burst);
}

TEST(TokenBucket, StallDoesNotCauseAFlood) {
    TokenBucket bucket(hz, 1'000'000, 0);
    probes_granted(bucket, 0, hz / 10, 1000);
    // Ten seconds without polling: at most 1 ms of the rate is granted at once.
    std::uint64_t now = hz / 10 + 10 * hz;
    std::uint64_t burst_after_stall = 0;
    while (std::uint32_t n = bucket.grant(now)) burst_after_stall += n;
    EXPECT_LE(burst_after_stall, 1'000u);
    EXPECT_GE(burst_after_stall, 1'000u - bucket.burst());
    // At a low rate the cap is two bursts.
    TokenBucket slow(hz, 100, 0);
    probes_granted(slow, 0, hz, 1000);
    now = hz + 10 * hz;
    burst_after_stall = 0;
    while (std::uint32_t n = slow.grant(now)) burst_after_stall += n;
    EXPECT_EQ(burst_after_stall, 2u * slow.burst());
}

// A TX lcore sleeps until the next grant and wakes late, as nanosleep does
// (here 50 us late every time): the rate still holds, since the credit of
// the late wake-up is kept (it used to be capped at two bursts, and 1.5 Mpps
// came out as 0.83).
TEST(TokenBucket, LateWakeUpsDoNotLowerTheRate) {
    for (std::uint64_t rate : {200'000ull, 1'500'000ull, 5'000'000ull}) {
        TokenBucket bucket(hz, rate, 0);
        std::uint64_t now = 0, granted = 0;
        while (now < hz) {
            while (std::uint32_t n = bucket.grant(now)) granted += n;
            now += bucket.cycles_until_next(now) + hz / 20'000; // + 50 us
        }
        EXPECT_GE(granted, rate * 99 / 100) << rate;
        EXPECT_LE(granted, rate) << rate;
    }
}

TEST(TokenBucket, UnlimitedAlwaysGrantsAFullBurst) {
    TokenBucket bucket(hz, 0, 0);
    EXPECT_EQ(bucket.grant(0), TokenBucket::max_burst);
    EXPECT_EQ(bucket.grant(0), TokenBucket::max_burst);
    EXPECT_EQ(bucket.cycles_until_next(0), 0u);
}

TEST(TokenBucket, RateChangeTakesEffect) {
    TokenBucket bucket(hz, 1'000, 0);
    const auto slow = probes_granted(bucket, 0, hz, 1000);
    bucket.set_rate(100'000);
    const auto fast = probes_granted(bucket, hz, hz, 1000);
    EXPECT_NEAR(double(slow), 1000.0, 3.0);
    // Credit left from the slow rate carries over, at most 1 ms of the new one.
    EXPECT_LE(fast, 100'000u + 100u);
    EXPECT_GE(fast + 2 * bucket.burst(), 100'000u);
}

TEST(TokenBucket, CyclesUntilNextPredictsTheGrant) {
    TokenBucket bucket(hz, 1'000, 0); // one probe every 2,000,000 cycles
    std::uint64_t now = 10;
    while (bucket.grant(now) == 0) now += bucket.cycles_until_next(now);
    const auto wait = bucket.cycles_until_next(now);
    EXPECT_GT(wait, 1'900'000u);
    EXPECT_EQ(bucket.grant(now + wait - 2), 0u);
    EXPECT_EQ(bucket.grant(now + wait), 1u);
}

} // namespace
} // namespace ws
