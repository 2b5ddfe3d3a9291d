#pragma once
// Which SIMD path the TX burst kernels (the Feistel permutation and the AES
// cookies of a burst) run on. Chosen once, at start-up, from CPUID: the
// binary must run on any x86-64 CPU with the scalar code, so each wider path
// lives in functions compiled with __attribute__((target(...))) and is only
// called when the CPU has the features. Every path produces the same bytes
// (tests/unit/test_simd.cpp compares them); a path only changes speed.
//
// WIRESPEED_SIMD=scalar|avx2|avx512 forces one (tests, perf/, bisecting a
// suspected miscompile); the scan's -v line and metadata show the choice.
#include <cstdint>
#include <optional>
#include <string_view>

namespace ws {

enum class SimdPath : std::uint8_t {
    scalar, // today's code: four interleaved lanes, AES-NI xmm when present
    avx2,   // AVX2 Feistel (4 x 64-bit lanes per register) + AES-NI, 8 chains
    avx512, // AVX-512 Feistel (8 lanes, VPMULLQ) + VAES, 4 AES blocks per register
};

const char* to_string(SimdPath path) noexcept;
std::optional<SimdPath> parse_simd_path(std::string_view name) noexcept;
// The CPU (and OS, for the AVX-512 state) supports everything the path uses.
bool simd_supported(SimdPath path) noexcept;
// The widest supported path.
SimdPath best_simd_path() noexcept;
// WIRESPEED_SIMD when set, the best path otherwise; throws Error when the
// variable names no path or one this CPU lacks (the engine calls it at start-up).
SimdPath simd_path_from_environment();
// The same choice, never throwing (an invalid WIRESPEED_SIMD is ignored):
// what Permutation and CookieMaker start with. Computed once.
SimdPath default_simd_path() noexcept;
// path, or the widest supported path narrower than it.
SimdPath supported_simd_path(SimdPath path) noexcept;

} // namespace ws
