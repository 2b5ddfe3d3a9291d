#include "wirespeed/simd.hpp"

#include <cpuid.h>

#include <cstdlib>
#include <fmt/format.h>

#include "wirespeed/error.hpp"

namespace ws {

namespace {

// CPUID leaf 7 ECX bit 9. Read directly: clang's __builtin_cpu_supports does
// not know "vaes". (Its register state is AVX's, which the avx512f check
// already requires the OS to save.)
bool has_vaes() noexcept {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return (c >> 9) & 1;
}

} // namespace

const char* to_string(SimdPath path) noexcept {
    switch (path) {
    case SimdPath::scalar: return "scalar";
    case SimdPath::avx2: return "avx2";
    case SimdPath::avx512: return "avx512";
    }
    return "?";
}

std::optional<SimdPath> parse_simd_path(std::string_view name) noexcept {
    for (SimdPath p : {SimdPath::scalar, SimdPath::avx2, SimdPath::avx512})
        if (name == to_string(p)) return p;
    return std::nullopt;
}

bool simd_supported(SimdPath path) noexcept {
    // May run from a static initialiser, before libgcc has probed the CPU.
    // __builtin_cpu_supports reports AVX2/AVX-512 only when the OS saves
    // their register state (XCR0), so a kernel without it falls back here.
    __builtin_cpu_init();
    switch (path) {
    case SimdPath::scalar: return true;
    case SimdPath::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("aes");
    case SimdPath::avx512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
               has_vaes() && __builtin_cpu_supports("aes") && __builtin_cpu_supports("avx2");
    }
    return false;
}

SimdPath supported_simd_path(SimdPath path) noexcept {
    while (path != SimdPath::scalar && !simd_supported(path)) path = SimdPath(std::uint8_t(path) - 1);
    return path;
}

SimdPath best_simd_path() noexcept { return supported_simd_path(SimdPath::avx512); }

SimdPath simd_path_from_environment() {
    const char* forced = std::getenv("WIRESPEED_SIMD");
    if (forced == nullptr || *forced == '\0') return best_simd_path();
    const auto path = parse_simd_path(forced);
    if (!path) throw Error(fmt::format("WIRESPEED_SIMD={}: expected scalar, avx2 or avx512", forced));
    if (!simd_supported(*path)) throw Error(fmt::format("WIRESPEED_SIMD={}: this CPU lacks that path's instructions", forced));
    return *path;
}

SimdPath default_simd_path() noexcept {
    static const SimdPath path = [] {
        try {
            return simd_path_from_environment();
        } catch (...) {
            return best_simd_path();
        }
    }();
    return path;
}

} // namespace ws
