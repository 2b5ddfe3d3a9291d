#include "wirespeed/recall.hpp"

#include <random>

#include <gtest/gtest.h>

namespace ws {
namespace {

TEST(Recall, NothingLeftToMissIsExact) {
    const RecallEstimate e = estimate_recall(1000, 0, 0, 0);
    EXPECT_TRUE(e.valid);
    EXPECT_EQ(e.missed, 0);
    EXPECT_EQ(e.recall(), 1.0);
}

TEST(Recall, SilentSampleBoundsTheMisses) {
    // 2000 of 1e6 non-responders asked again, none answered: probably
    // nothing missed, but up to ~0.19% of them (the rule of three) may be.
    const RecallEstimate e = estimate_recall(50'000, 1'000'000, 2000, 0);
    EXPECT_TRUE(e.valid);
    EXPECT_EQ(e.missed, 0);
    EXPECT_EQ(e.missed_low, 0);
    EXPECT_GT(e.missed_high, 1000);
    EXPECT_LT(e.missed_high, 2500);
    EXPECT_EQ(e.recall(), 1.0);
    EXPECT_LT(e.recall_low(), 1.0);
}

TEST(Recall, AnsweringSampleCountsAsFoundAndEstimatesTheRest) {
    // 100k responders, 60k found; 40k missed among 1e6 - 60k non-responders.
    const RecallEstimate e = estimate_recall(60'000, 940'000, 10'000, 426);
    EXPECT_EQ(e.found, 60'426u);
    EXPECT_NEAR(e.missed, 40'044 - 426, 200);
    EXPECT_LT(e.missed_low, e.missed);
    EXPECT_GT(e.missed_high, e.missed);
    EXPECT_NEAR(e.recall(), 0.6, 0.01);
}

TEST(Recall, WholePopulationSampledHasNoUncertainty) {
    const RecallEstimate e = estimate_recall(10, 50, 50, 7);
    EXPECT_EQ(e.found, 17u);
    EXPECT_EQ(e.missed, 0);
    EXPECT_EQ(e.missed_high, 0);
}

// The sample covered every non-responder and half of its re-probes were
// lost on the way, as the responders asked beside it show: the estimate
// must not say "nothing missed" (the case a plain share got wrong).
TEST(Recall, WholePopulationSampledThroughALossyPathCountsTheLostReprobes) {
    // 100 non-responders of which 20 are real responders; 10 answered the
    // re-probe; 250 of 500 known responders answered beside them.
    const RecallEstimate e = estimate_recall(1'000, 100, 100, 10, 500, 250);
    EXPECT_EQ(e.found, 1'010u);
    EXPECT_DOUBLE_EQ(e.delivery, 0.5);
    EXPECT_NEAR(e.missed, 10, 1e-9);     // 10 / 0.5 = 20 responders, 10 found now
    EXPECT_GT(e.missed_high, e.missed);
    EXPECT_LT(e.missed_low, e.missed);
    EXPECT_GE(e.missed_low, 0);
}

TEST(Recall, FullDeliveryBesideTheSampleLeavesTheEstimateAndWidensOnlyItsTop) {
    const RecallEstimate plain = estimate_recall(60'000, 940'000, 10'000, 426);
    const RecallEstimate checked = estimate_recall(60'000, 940'000, 10'000, 426, 2'000, 2'000);
    EXPECT_DOUBLE_EQ(checked.missed, plain.missed);
    EXPECT_DOUBLE_EQ(checked.missed_low, plain.missed_low);
    EXPECT_GT(checked.missed_high, plain.missed_high); // delivery 1 is itself an estimate
    EXPECT_LT(checked.missed_high, plain.missed_high * 1.01);
}

TEST(Recall, NoDeliveryAtAllBoundsNothing) {
    // Not one known responder answered: the re-probes say nothing, and the
    // interval reaches every non-responder.
    const RecallEstimate e = estimate_recall(1'000, 5'000, 500, 0, 300, 0);
    EXPECT_TRUE(e.valid);
    EXPECT_EQ(e.missed_high, 5'000);
}

// Simulated verify passes through a path that delivers 70%: the corrected
// interval covers the truth in about 95% of them.
TEST(Recall, DeliveryCorrectedIntervalCoversTheTruth) {
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<double> u(0, 1);
    const std::uint64_t population = 100'000, responders = 2'000;
    const double delivery = 0.7;
    int covered = 0;
    constexpr int trials = 300;
    for (int t = 0; t < trials; ++t) {
        std::uint64_t k = 0, dk = 0;
        const std::uint64_t n = 2000, m = 500;
        for (std::uint64_t i = 0; i < n; ++i) k += rng() % population < responders && u(rng) < delivery;
        for (std::uint64_t i = 0; i < m; ++i) dk += u(rng) < delivery;
        const RecallEstimate e = estimate_recall(10'000, population, n, k, m, dk);
        const double still_missed = double(responders) - double(k);
        covered += e.missed_low <= still_missed && still_missed <= e.missed_high;
    }
    EXPECT_GE(covered, trials * 90 / 100);
}

// The 95% interval covers the truth in about 95% of random samples.
TEST(Recall, IntervalCoversTheTruth) {
    std::mt19937_64 rng(7);
    const std::uint64_t population = 200'000, responders = 3'000;
    int covered = 0;
    constexpr int trials = 400;
    for (int t = 0; t < trials; ++t) {
        std::uint64_t k = 0;
        const std::uint64_t n = 2000;
        for (std::uint64_t i = 0; i < n; ++i) k += rng() % population < responders;
        const RecallEstimate e = estimate_recall(10'000, population, n, k);
        const double still_missed = double(responders - k);
        covered += e.missed_low <= still_missed && still_missed <= e.missed_high;
    }
    EXPECT_GE(covered, trials * 90 / 100);
}

} // namespace
} // namespace ws
