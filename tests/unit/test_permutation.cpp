#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "wirespeed/permutation.hpp"

namespace {

void expect_bijection(std::uint64_t size, std::uint64_t seed) {
    const ws::Permutation perm(size, seed);
    ASSERT_EQ(perm.size(), size);
    std::vector<bool> seen(size, false);
    for (std::uint64_t i = 0; i < size; ++i) {
        const std::uint64_t v = perm.forward(i);
        ASSERT_LT(v, size) << "size " << size << " index " << i;
        ASSERT_FALSE(seen[v]) << "size " << size << " value " << v << " hit twice";
        seen[v] = true;
        ASSERT_EQ(perm.inverse(v), i) << "size " << size;
    }
}

} // namespace

TEST(Permutation, ExhaustiveBijection) {
    for (std::uint64_t size : {1ULL, 2ULL, 3ULL, 4ULL, 5ULL, 7ULL, 8ULL, 15ULL, 16ULL, 17ULL, 64ULL, 65ULL, 1000ULL,
                               65535ULL, 65536ULL, 100003ULL, (1ULL << 20) + 7}) {
        SCOPED_TRACE(size);
        expect_bijection(size, 0x1234);
    }
}

TEST(Permutation, BijectionForManySeeds) {
    for (std::uint64_t seed = 0; seed < 50; ++seed) {
        SCOPED_TRACE(seed);
        expect_bijection(1 + seed * 37, seed);
    }
}

TEST(Permutation, SizeOneMapsZeroToZero) {
    for (std::uint64_t seed : {0ULL, 1ULL, ~0ULL}) {
        const ws::Permutation perm(1, seed);
        EXPECT_EQ(perm.forward(0), 0u);
        EXPECT_EQ(perm.inverse(0), 0u);
    }
}

TEST(Permutation, DifferentSeedsGiveDifferentOrders) {
    constexpr std::uint64_t size = 10000;
    const ws::Permutation a(size, 1), b(size, 2);
    int same = 0;
    for (std::uint64_t i = 0; i < size; ++i) same += a.forward(i) == b.forward(i);
    // Two random permutations agree on ~1 point; allow a generous margin.
    EXPECT_LT(same, 20);
}

TEST(Permutation, SameSeedIsDeterministic) {
    const ws::Permutation a(123457, 99), b(123457, 99);
    for (std::uint64_t i = 0; i < 123457; i += 97) EXPECT_EQ(a.forward(i), b.forward(i));
}

TEST(Permutation, ScattersConsecutiveIndices) {
    // Not the identity, and neighbours do not stay neighbours.
    const ws::Permutation perm(1 << 16, 7);
    int fixed = 0, adjacent = 0;
    for (std::uint64_t i = 0; i + 1 < (1 << 16); ++i) {
        fixed += perm.forward(i) == i;
        const std::uint64_t a = perm.forward(i), b = perm.forward(i + 1);
        adjacent += (a > b ? a - b : b - a) == 1;
    }
    EXPECT_LT(fixed, 20);
    EXPECT_LT(adjacent, 20);
}

TEST(Permutation, SampledRoundTripOnFullInternet) {
    const std::uint64_t size = (std::uint64_t{1} << 32) * 65535;
    const ws::Permutation perm(size, 0xdeadbeef);
    std::uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 20000; ++i) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        const std::uint64_t index = x % size;
        const std::uint64_t v = perm.forward(index);
        ASSERT_LT(v, size);
        ASSERT_EQ(perm.inverse(v), index);
    }
    for (std::uint64_t index : {std::uint64_t{0}, size - 1, size / 2}) {
        const std::uint64_t v = perm.forward(index);
        ASSERT_LT(v, size);
        EXPECT_EQ(perm.inverse(v), index);
    }
}

TEST(Permutation, LargestSize) {
    const std::uint64_t size = std::uint64_t{1} << 63;
    const ws::Permutation perm(size, 5);
    for (std::uint64_t index : {std::uint64_t{0}, std::uint64_t{1}, size - 1, size / 3, size - 12345}) {
        const std::uint64_t v = perm.forward(index);
        ASSERT_LT(v, size);
        EXPECT_EQ(perm.inverse(v), index);
    }
}
