#pragma once
// The SIMD forms of Permutation::forward_burst: the same Feistel rounds and
// cycle-walking as permutation.cpp, computed across vector lanes. Each lives
// in its own translation unit compiled for its instruction set, and is only
// called when simd_supported() says the CPU has it.
#include <cstdint>

#include "wirespeed/permutation.hpp"

namespace ws::detail {

// The round function's multipliers (splitmix64's finaliser), shared by every path.
inline constexpr std::uint64_t feistel_mul1 = 0xbf58476d1ce4e5b9ULL;
inline constexpr std::uint64_t feistel_mul2 = 0x94d049bb133111ebULL;

// out[i] = forward(first + i) for i < count (count <= 64; all < key.size).
void feistel_burst_avx512(const FeistelKey& key, std::uint64_t first, unsigned count, std::uint64_t* out) noexcept;
void feistel_burst_avx2(const FeistelKey& key, std::uint64_t first, unsigned count, std::uint64_t* out) noexcept;

} // namespace ws::detail
