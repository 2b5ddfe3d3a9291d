#pragma once
// The AVX-512 form of ScanSpace::at_burst's mapping (permuted index ->
// Target): the same host/slot split as the scalar loop in scan_space.cpp,
// eight lanes at a time. Only for target sets of at most 16 intervals and
// spaces below 2^52, where a double holds every index exactly (the caller
// checks both).
#include <cstddef>
#include <cstdint>

#include "wirespeed/probe_slots.hpp"
#include "wirespeed/scan_space.hpp"
#include "wirespeed/targets.hpp"

namespace ws::detail {

inline constexpr std::uint64_t vector_map_limit = std::uint64_t{1} << 52;
inline constexpr std::size_t max_vector_intervals = 16; // two registers of starts

// out[i] = the Target of permuted index permuted[i], i < count.
// host_scale = 1.0 / hosts: the quotient is estimated by a multiply and
// corrected by one step either way (never a divide).
void map_burst_avx512(const std::uint64_t* permuted, unsigned count, std::uint64_t hosts, double host_scale,
                      const TargetSet& targets, const ProbeSlot* slots, std::uint32_t slot_count,
                      bool port_range, Target* out) noexcept;

// The slots are ports p, p + 1, ... of one protocol (as `-p 1-1024`): slot s's
// port is p + s, which the vector mapping computes instead of gathering.
inline bool is_port_range(const ProbeSlots& slots) noexcept {
    const ProbeSlot& first = slots.at(0);
    for (std::uint32_t s = 0; s < slots.count(); ++s) {
        const ProbeSlot& slot = slots.at(s);
        if (slot.proto != first.proto || slot.payload != 0 || std::uint32_t{slot.port} != first.port + s) return false;
    }
    return true;
}

} // namespace ws::detail
