#pragma once
// A keyed bijection over [0, size) for any size in [1, 2^63]: a balanced
// Feistel network on the smallest even bit width covering size, with
// cycle-walking back into range (expected < 4 rounds of walking, since the
// width is at most 4x the size). No divide: only multiplies, shifts, xors.
#include <cstdint>

namespace ws {

class Permutation {
public:
    Permutation(std::uint64_t size, std::uint64_t seed) noexcept;
    std::uint64_t size() const noexcept { return size_; }
    std::uint64_t forward(std::uint64_t index) const noexcept; // index < size
    std::uint64_t inverse(std::uint64_t value) const noexcept; // value < size
    // forward() of first, first+1, ..., first+count-1 (all < size), four at a
    // time so the independent Feistel chains overlap in the pipeline.
    void forward_burst(std::uint64_t first, unsigned count, std::uint64_t* out) const noexcept;

private:
    std::uint64_t encrypt(std::uint64_t x) const noexcept;
    std::uint64_t decrypt(std::uint64_t x) const noexcept;
    static constexpr int rounds = 4;
    std::uint64_t size_;
    unsigned half_bits_;
    std::uint64_t half_mask_;
    std::uint64_t keys_[rounds];
};

} // namespace ws
