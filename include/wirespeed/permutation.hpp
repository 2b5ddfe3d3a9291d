#pragma once
// A keyed bijection over [0, size) for any size in [1, 2^63]: a Feistel
// network on exactly the bit width of size - 1, split into a high part of
// floor(w/2) bits and a low part of ceil(w/2) bits (unbalanced when w is odd,
// the rounds alternating which part they write), with cycle-walking back into
// range: the domain is less than 2x the size, so fewer than 2 encryptions per
// index on average. No divide: only multiplies, shifts, xors.
#include <cstdint>

#include "wirespeed/simd.hpp"

namespace ws {

// The permutation's key schedule, shared with the SIMD burst kernels
// (src/core/permutation_simd.hpp).
struct FeistelKey {
    static constexpr int rounds = 4;
    std::uint64_t size;
    unsigned low_bits;            // the low part's width, ceil(w/2)
    std::uint64_t low_mask;
    std::uint64_t round_masks[rounds]; // width each round writes: high, low, high, low
    std::uint64_t keys[rounds];
};

class Permutation {
public:
    Permutation(std::uint64_t size, std::uint64_t seed) noexcept;
    std::uint64_t size() const noexcept { return key_.size; }
    std::uint64_t forward(std::uint64_t index) const noexcept; // index < size
    std::uint64_t inverse(std::uint64_t value) const noexcept; // value < size
    // forward() of first, first+1, ..., first+count-1 (all < size): on the
    // scalar path four at a time so the independent Feistel chains overlap
    // in the pipeline, on the SIMD paths 4 or 8 lanes per register. The
    // path is one switch per burst; every path gives the same values.
    void forward_burst(std::uint64_t first, unsigned count, std::uint64_t* out) const noexcept;
    SimdPath simd_path() const noexcept { return path_; }
    // Forces a path (clamped to what the CPU supports): tests and benchmarks.
    void set_simd_path(SimdPath path) noexcept { path_ = supported_simd_path(path); }

private:
    std::uint64_t encrypt(std::uint64_t x) const noexcept;
    std::uint64_t decrypt(std::uint64_t x) const noexcept;
    void forward_burst_scalar(std::uint64_t first, unsigned count, std::uint64_t* out) const noexcept;
    static constexpr int rounds = FeistelKey::rounds;
    FeistelKey key_;
    SimdPath path_;
};

} // namespace ws
