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
