#include "wirespeed/scan_space.hpp"

#include "scan_space_simd.hpp"

#include <libdivide.h>

#include <algorithm>
#include <fmt/format.h>

#include "wirespeed/error.hpp"

namespace ws {

namespace {

__extension__ using u128 = unsigned __int128;

constexpr u128 max_space = u128{1} << 63; // Permutation's limit

// IPv6 targets travel as 32-bit indices in Target::address.
constexpr uint128 max_ipv6_hosts = uint128{1} << 32;

std::uint64_t checked_size(const TargetSet& targets, const ProbeSlots& slots) {
    if (targets.empty()) throw Error("no targets left to scan");
    if (slots.empty()) throw Error("no ports to scan");
    if (targets.ipv6_count() > max_ipv6_hosts)
        throw Error("more than 2^32 IPv6 targets in one scan: name a hitlist (-iL) or smaller prefixes");
    const u128 size = static_cast<u128>(targets.count()) * slots.count();
    if (size > max_space)
        throw Error(fmt::format("scan space of {} hosts x {} probes per host is too large", targets.count(), slots.count()));
    return static_cast<std::uint64_t>(size);
}

} // namespace

IndexRange split_range(IndexRange whole, std::uint32_t part, std::uint32_t parts) noexcept {
    if (parts == 0) return {whole.begin, whole.end};
    if (part >= parts) return {whole.end, whole.end};
    const u128 size = whole.size();
    const auto lo = static_cast<std::uint64_t>(size * part / parts);
    const auto hi = static_cast<std::uint64_t>(size * (part + std::uint64_t{1}) / parts);
    return {whole.begin + lo, whole.begin + hi};
}

// ---------------------------------------------------------------- ScanSpace

struct ScanSpace::Divider {
    libdivide::divider<std::uint64_t> hosts;
};

ScanSpace::ScanSpace(TargetSet targets, const PortSet& tcp_ports, std::uint64_t seed)
    : ScanSpace(std::move(targets), ProbeSlots::tcp(tcp_ports), seed) {}

ScanSpace::ScanSpace(TargetSet targets, ProbeSlots slots, std::uint64_t seed)
    : targets_(std::move(targets)),
      ipv4_hosts_(targets_.ipv4_count()),
      slots_(std::move(slots)),
      seed_(seed),
      hosts_(targets_.count()),
      size_(checked_size(targets_, slots_)),
      permutation_(size_, seed),
      divider_(std::make_unique<Divider>(Divider{libdivide::divider<std::uint64_t>(hosts_)})),
      host_scale_(1.0 / double(hosts_)),
      port_range_(detail::is_port_range(slots_)) {}

ScanSpace::~ScanSpace() = default;
ScanSpace::ScanSpace(ScanSpace&&) noexcept = default;
ScanSpace& ScanSpace::operator=(ScanSpace&&) noexcept = default;

Target ScanSpace::at(std::uint64_t position) const noexcept {
    const std::uint64_t j = permutation_.forward(position);
    // Host varies fastest, so neighbouring indices hit different hosts even
    // before the permutation scatters them.
    const std::uint64_t slot = j / divider_->hosts;
    const std::uint64_t host_index = j - slot * hosts_;
    return host_target(host_index, slot);
}

void ScanSpace::at_burst(std::uint64_t first, unsigned count, Target* out) const noexcept {
    std::uint64_t permuted[64];
    permutation_.forward_burst(first, count, permuted);
    if (permutation_.simd_path() == SimdPath::avx512 && !targets_.has_ipv6() &&
        targets_.intervals().size() <= detail::max_vector_intervals &&
        size_ <= detail::vector_map_limit)
        return detail::map_burst_avx512(permuted, count, hosts_, host_scale_, targets_, &slots_.at(0), slots_.count(),
                                        port_range_, out);
    // Locals: the stores to out[] could alias the members, which would be
    // reloaded on every probe otherwise.
    const libdivide::divider<std::uint64_t> hosts_divider = divider_->hosts;
    const std::uint64_t hosts = hosts_;
    const ProbeSlots& slots = slots_;
    const TargetSet& targets = targets_;
    if (targets.has_ipv6()) {
        for (unsigned i = 0; i < count; ++i) {
            const std::uint64_t slot = permuted[i] / hosts_divider;
            out[i] = host_target(permuted[i] - slot * hosts, slot);
        }
        return;
    }
    for (unsigned i = 0; i < count; ++i) {
        const std::uint64_t slot = permuted[i] / hosts_divider;
        const std::uint64_t host_index = permuted[i] - slot * hosts;
        const ProbeSlot& s = slots.at(static_cast<std::uint32_t>(slot));
        out[i] = {targets.at(host_index), s.port, s.proto, 0, static_cast<std::uint32_t>(slot)};
    }
}

std::uint64_t ScanSpace::dense_index(IpAddress address, Proto proto, std::uint16_t port) const noexcept {
    const std::uint64_t host_index = targets_.index_of(address);
    if (host_index == UINT64_MAX) return UINT64_MAX;
    const std::uint32_t key = slots_.key_index(proto, port);
    if (key == UINT32_MAX) return UINT64_MAX;
    return std::uint64_t{key} * hosts_ + host_index;
}

std::uint64_t ScanSpace::dense_index(const Target& t) const noexcept {
    const std::uint64_t host_index = t.v6 ? ipv4_hosts_ + t.address : targets_.index_of(t.address);
    if (host_index == UINT64_MAX) return UINT64_MAX;
    const std::uint32_t key = slots_.key_index(t.proto, t.port);
    if (key == UINT32_MAX) return UINT64_MAX;
    return std::uint64_t{key} * hosts_ + host_index;
}

Target ScanSpace::target_of(IpAddress address, std::uint32_t slot) const noexcept {
    const std::uint64_t host_index = targets_.index_of(address);
    if (host_index == UINT64_MAX || slot >= slots_.count()) return {0, 0, Proto::tcp, 0, UINT32_MAX};
    return host_target(host_index, slot);
}

std::uint64_t ScanSpace::position_of(IpAddress address, std::uint32_t slot) const noexcept {
    const std::uint64_t host_index = targets_.index_of(address);
    if (host_index == UINT64_MAX || slot >= slots_.count()) return UINT64_MAX;
    return permutation_.inverse(std::uint64_t{slot} * hosts_ + host_index);
}

std::uint64_t ScanSpace::dense_index(std::uint32_t address, Proto proto, std::uint16_t port) const noexcept {
    const std::uint64_t host_index = targets_.index_of(address);
    if (host_index == UINT64_MAX) return UINT64_MAX;
    const std::uint32_t key = slots_.key_index(proto, port);
    if (key == UINT32_MAX) return UINT64_MAX;
    return std::uint64_t{key} * hosts_ + host_index;
}

std::uint64_t ScanSpace::position_of(std::uint32_t address, std::uint32_t slot) const noexcept {
    const std::uint64_t host_index = targets_.index_of(address);
    if (host_index == UINT64_MAX || slot >= slots_.count()) return UINT64_MAX;
    return permutation_.inverse(std::uint64_t{slot} * hosts_ + host_index);
}

std::uint64_t ScanSpace::position_of_tcp(std::uint32_t address, std::uint16_t port) const noexcept {
    const std::uint32_t key = slots_.key_index(Proto::tcp, port);
    if (key == UINT32_MAX) return UINT64_MAX;
    // TCP slots come first, one per port: the key is the slot.
    return position_of(address, key);
}

// ------------------------------------------------------------ RetrySchedule
//
// Slot layout: slot = round * per_round + lane * block + offset, with
// per_round = (retries + 1) * block. Round r carries attempt a of block r - a
// for a = 0..retries; that block goes in lane (block mod (retries + 1)), which
// is distinct for the retries + 1 blocks active in one round. Keeping a
// block's lane fixed across rounds puts consecutive attempts of a position
// exactly per_round slots apart, instead of drifting by one lane per attempt.

struct RetrySchedule::Dividers {
    libdivide::divider<std::uint64_t> per_round;
    libdivide::divider<std::uint64_t> block;
    libdivide::divider<std::uint64_t> lanes;
};

RetrySchedule::RetrySchedule(IndexRange range, std::uint32_t retries, std::uint64_t spacing)
    : range_(range), retries_(retries) {
    if (range.end < range.begin) throw Error("retry schedule: range end precedes its begin");
    const std::uint64_t size = range.size();
    block_ = retries == 0 ? std::max<std::uint64_t>(size, 1) : std::max<std::uint64_t>(spacing, 1);
    blocks_ = size / block_ + (size % block_ != 0);
    const std::uint64_t lanes = std::uint64_t{retries} + 1;
    const u128 per_round = static_cast<u128>(lanes) * block_;
    // An empty range sends nothing: no ramp rounds either.
    const u128 rounds = blocks_ == 0 ? 0 : static_cast<u128>(blocks_) + retries;
    const u128 slots = rounds * per_round;
    if (per_round > max_space || slots > max_space)
        throw Error(fmt::format("retry schedule of {} positions x {} retries with spacing {} is too long", size,
                                retries, spacing));
    slots_ = static_cast<std::uint64_t>(slots);
    dividers_ = std::make_unique<Dividers>(Dividers{libdivide::divider<std::uint64_t>(std::uint64_t(per_round)),
                                                    libdivide::divider<std::uint64_t>(block_),
                                                    libdivide::divider<std::uint64_t>(lanes)});
}

RetrySchedule::~RetrySchedule() = default;
RetrySchedule::RetrySchedule(RetrySchedule&&) noexcept = default;
RetrySchedule& RetrySchedule::operator=(RetrySchedule&&) noexcept = default;

RetrySchedule::Step RetrySchedule::at(std::uint64_t slot) const noexcept {
    const std::uint64_t lanes = std::uint64_t{retries_} + 1;
    const std::uint64_t round = slot / dividers_->per_round;
    const std::uint64_t in_round = slot - round * (lanes * block_);
    const std::uint64_t lane = in_round / dividers_->block;
    const std::uint64_t offset = in_round - lane * block_;
    // The block in this lane is the one in [round - retries, round] congruent
    // to lane mod lanes; its distance back from round is its attempt number.
    const std::uint64_t round_lane = round - (round / dividers_->lanes) * lanes;
    const std::uint64_t attempt = round_lane >= lane ? round_lane - lane : round_lane + lanes - lane;
    if (attempt > round) return {0, 0, false}; // ramp-up: block would be negative
    const std::uint64_t block = round - attempt;
    if (block >= blocks_) return {0, 0, false}; // ramp-down
    const std::uint64_t index = block * block_ + offset;
    if (index >= range_.size()) return {0, 0, false}; // tail of the last, partial block
    return {range_.begin + index, static_cast<std::uint32_t>(attempt), true};
}

} // namespace ws
