#include "wirespeed/permutation.hpp"

#include "permutation_simd.hpp"

#include <algorithm>
#include <bit>

namespace ws {

namespace {

std::uint64_t splitmix64(std::uint64_t& state) noexcept {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// Multiplies only carry entropy upwards, so each one is followed by a fold of
// the high half down: the masked low bits then depend on every input bit.
inline std::uint64_t round_function(std::uint64_t r, std::uint64_t key, std::uint64_t mask) noexcept {
    std::uint64_t x = (r ^ key) * 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 32;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 29;
    return x & mask;
}

} // namespace

Permutation::Permutation(std::uint64_t size, std::uint64_t seed) noexcept : key_{}, path_(default_simd_path()) {
    key_.size = size;
    // Bits needed to hold size - 1 (the largest index); at least one bit per part.
    const unsigned bits = std::max(2u, size <= 1 ? 0u : unsigned(std::bit_width(size - 1)));
    const unsigned high_bits = bits / 2;
    key_.low_bits = bits - high_bits;
    key_.low_mask = (std::uint64_t{1} << key_.low_bits) - 1;
    const std::uint64_t high_mask = (std::uint64_t{1} << high_bits) - 1;
    for (int i = 0; i < rounds; ++i) key_.round_masks[i] = i % 2 == 0 ? high_mask : key_.low_mask;
    std::uint64_t state = seed;
    for (auto& key : key_.keys) key = splitmix64(state);
}

// Round i: the part of key_.round_masks[i]'s width is xored with F(the other part)
// and the parts swap. After an even number of rounds the high part is back on
// top with its own width.
std::uint64_t Permutation::encrypt(std::uint64_t x) const noexcept {
    std::uint64_t a = x >> key_.low_bits;
    std::uint64_t b = x & key_.low_mask;
    for (int i = 0; i < rounds; ++i) {
        const std::uint64_t c = a ^ round_function(b, key_.keys[i], key_.round_masks[i]);
        a = b;
        b = c;
    }
    return (a << key_.low_bits) | b;
}

std::uint64_t Permutation::decrypt(std::uint64_t x) const noexcept {
    std::uint64_t a = x >> key_.low_bits;
    std::uint64_t b = x & key_.low_mask;
    for (int i = rounds - 1; i >= 0; --i) {
        const std::uint64_t previous_a = b ^ round_function(a, key_.keys[i], key_.round_masks[i]);
        b = a;
        a = previous_a;
    }
    return (a << key_.low_bits) | b;
}

void Permutation::forward_burst(std::uint64_t first, unsigned count, std::uint64_t* out) const noexcept {
    switch (path_) {
    case SimdPath::avx512: return detail::feistel_burst_avx512(key_, first, count, out);
    case SimdPath::avx2: return detail::feistel_burst_avx2(key_, first, count, out);
    case SimdPath::scalar: break;
    }
    forward_burst_scalar(first, count, out);
}

// Cycle-walking: the Feistel network permutes [0, 2^w); following each
// cycle until it re-enters [0, size) restricts it to a permutation of that range.
void Permutation::forward_burst_scalar(std::uint64_t first, unsigned count, std::uint64_t* out) const noexcept {
    unsigned i = 0;
    for (; i + 4 <= count; i += 4) {
        // One encryption per lane, interleaved; the rare lanes that land
        // outside the domain finish their cycle-walk one by one below.
        std::uint64_t l0 = (first + i) >> key_.low_bits, r0 = (first + i) & key_.low_mask;
        std::uint64_t l1 = (first + i + 1) >> key_.low_bits, r1 = (first + i + 1) & key_.low_mask;
        std::uint64_t l2 = (first + i + 2) >> key_.low_bits, r2 = (first + i + 2) & key_.low_mask;
        std::uint64_t l3 = (first + i + 3) >> key_.low_bits, r3 = (first + i + 3) & key_.low_mask;
        for (int k = 0; k < rounds; ++k) {
            const std::uint64_t mask = key_.round_masks[k];
            const std::uint64_t n0 = l0 ^ round_function(r0, key_.keys[k], mask);
            const std::uint64_t n1 = l1 ^ round_function(r1, key_.keys[k], mask);
            const std::uint64_t n2 = l2 ^ round_function(r2, key_.keys[k], mask);
            const std::uint64_t n3 = l3 ^ round_function(r3, key_.keys[k], mask);
            l0 = r0, l1 = r1, l2 = r2, l3 = r3;
            r0 = n0, r1 = n1, r2 = n2, r3 = n3;
        }
        out[i] = (l0 << key_.low_bits) | r0;
        out[i + 1] = (l1 << key_.low_bits) | r1;
        out[i + 2] = (l2 << key_.low_bits) | r2;
        out[i + 3] = (l3 << key_.low_bits) | r3;
        for (unsigned j = i; j < i + 4; ++j)
            while (out[j] >= key_.size) out[j] = encrypt(out[j]);
    }
    for (; i < count; ++i) out[i] = forward(first + i);
}

std::uint64_t Permutation::forward(std::uint64_t index) const noexcept {
    std::uint64_t x = encrypt(index);
    while (x >= key_.size) x = encrypt(x);
    return x;
}

std::uint64_t Permutation::inverse(std::uint64_t value) const noexcept {
    std::uint64_t x = decrypt(value);
    while (x >= key_.size) x = decrypt(x);
    return x;
}

} // namespace ws
