#pragma once
// The probe index space [0, hosts x slots): a permuted index j maps to
// (host = j mod hosts, slot = j div hosts) so consecutive probes land on
// different hosts; the division by the run-time host count goes through
// libdivide (multiply + shift), never a hardware divide. A slot is a probe
// (protocol, port, payload): see probe_slots.hpp.
#include <cstdint>
#include <memory>

#include "wirespeed/permutation.hpp"
#include "wirespeed/ports.hpp"
#include "wirespeed/probe_slots.hpp"
#include "wirespeed/targets.hpp"

namespace ws {

// One probe's target, 12 bytes so a burst of them stays in a few cache
// lines. An IPv4 target carries its address; an IPv6 one (v6 = 1) the index
// of its address among the scan's IPv6 targets (ScanSpace::address_of).
struct Target {
    std::uint32_t address; // IPv4: host order; IPv6: index into TargetSet's IPv6 addresses
    std::uint16_t port;
    Proto proto = Proto::tcp;
    std::uint8_t v6 = 0;
    std::uint32_t slot = 0; // index into the scan's ProbeSlots
    friend bool operator==(const Target&, const Target&) = default;
};

// A half-open index range [begin, end).
struct IndexRange {
    std::uint64_t begin;
    std::uint64_t end;
    std::uint64_t size() const noexcept { return end - begin; }
    friend bool operator==(const IndexRange&, const IndexRange&) = default;
};

// Shard i of n gets [floor(size*i/n), floor(size*(i+1)/n)): disjoint, complete,
// computed with 128-bit arithmetic so size*i cannot overflow.
IndexRange split_range(IndexRange whole, std::uint32_t part, std::uint32_t parts) noexcept;

class ScanSpace {
public:
    ScanSpace(TargetSet targets, ProbeSlots slots, std::uint64_t seed);
    ScanSpace(TargetSet targets, const PortSet& tcp_ports, std::uint64_t seed); // a TCP SYN scan
    ~ScanSpace();
    ScanSpace(ScanSpace&&) noexcept;
    ScanSpace& operator=(ScanSpace&&) noexcept;

    std::uint64_t size() const noexcept { return size_; }
    const TargetSet& targets() const noexcept { return targets_; }
    const ProbeSlots& slots() const noexcept { return slots_; }
    // Distinct (address, protocol, port) results the scan can produce.
    std::uint64_t keys() const noexcept { return hosts_ * slots_.key_count(); }
    std::uint64_t seed() const noexcept { return seed_; }

    // Position in send order -> target. Hot path.
    Target at(std::uint64_t position) const noexcept;
    // at(first), ..., at(first + count - 1), count <= 64: the burst form the TX lcore uses.
    void at_burst(std::uint64_t first, unsigned count, Target* out) const noexcept;
    // The permutation's SIMD path (see simd.hpp): the same targets on every path.
    SimdPath simd_path() const noexcept { return permutation_.simd_path(); }
    void set_simd_path(SimdPath path) noexcept { permutation_.set_simd_path(path); }
    // Result key -> key_index * hosts + host_index in [0, keys()), or
    // UINT64_MAX when the scan has no such key. For exact dedup.
    std::uint64_t dense_index(std::uint32_t address, Proto proto, std::uint16_t port) const noexcept;
    // Either family (issue 11): UINT64_MAX for an address outside the space.
    std::uint64_t dense_index(IpAddress address, Proto proto, std::uint16_t port) const noexcept;
    std::uint64_t dense_index(std::uint32_t address, std::uint16_t tcp_port) const noexcept {
        return dense_index(address, Proto::tcp, tcp_port);
    }
    // A target of this space -> its dense index (no search for IPv6 targets).
    std::uint64_t dense_index(const Target& t) const noexcept;
    // The address a target names.
    IpAddress address_of(const Target& t) const noexcept {
        return t.v6 ? IpAddress::from_ipv6(targets_.at_ipv6(t.address)) : IpAddress::from_ipv4(t.address);
    }
    // The target of (address, slot) as at() would give it (no permutation).
    Target target_of(IpAddress address, std::uint32_t slot) const noexcept;
    bool has_ipv6() const noexcept { return targets_.has_ipv6(); }
    // (address, slot) -> position in send order (inverse of at()), or UINT64_MAX.
    std::uint64_t position_of(std::uint32_t address, std::uint32_t slot) const noexcept;
    std::uint64_t position_of(IpAddress address, std::uint32_t slot) const noexcept;
    // A TCP scan's (address, port) -> position, or UINT64_MAX.
    std::uint64_t position_of_tcp(std::uint32_t address, std::uint16_t port) const noexcept;

private:
    Target host_target(std::uint64_t host_index, std::uint64_t slot) const noexcept {
        const ProbeSlot& s = slots_.at(static_cast<std::uint32_t>(slot));
        if (host_index < ipv4_hosts_) return {targets_.at(host_index), s.port, s.proto, 0, static_cast<std::uint32_t>(slot)};
        return {static_cast<std::uint32_t>(host_index - ipv4_hosts_), s.port, s.proto, 1, static_cast<std::uint32_t>(slot)};
    }
    struct Divider;
    TargetSet targets_;
    std::uint64_t ipv4_hosts_ = 0; // host indices >= this are IPv6
    ProbeSlots slots_;
    std::uint64_t seed_;
    std::uint64_t hosts_;
    std::uint64_t size_;
    Permutation permutation_;
    std::unique_ptr<Divider> divider_;
    double host_scale_; // 1 / hosts, for the AVX-512 at_burst's quotient estimate
    bool port_range_;   // slots are consecutive ports of one protocol (scan_space_simd.hpp)
};

// Retries: each position is sent 1 + retries times. Positions are grouped in
// blocks of `block` slots; round r sends attempt a of block r - a for
// a = 0..retries, each block in a fixed lane, so the attempts of one position
// are exactly (retries + 1) x block slots apart (the engine picks block =
// delay x rate / (retries + 1)). Slots outside the range (the ramp-up and
// ramp-down rounds, the tail of a partial block) are reported invalid and
// skipped; with retries == 0 the block is the whole range and no slot is
// wasted. The schedule is one counter, which makes a resume point one integer.
class RetrySchedule {
public:
    RetrySchedule(IndexRange range, std::uint32_t retries, std::uint64_t spacing);
    ~RetrySchedule();
    RetrySchedule(RetrySchedule&&) noexcept;
    RetrySchedule& operator=(RetrySchedule&&) noexcept;

    std::uint64_t slots() const noexcept { return slots_; }
    struct Step {
        std::uint64_t position; // in [range.begin, range.end) when valid
        std::uint32_t attempt;  // 0 = first probe
        bool valid;
    };
    Step at(std::uint64_t slot) const noexcept; // slot < slots(); no hardware divide

    IndexRange range() const noexcept { return range_; }
    std::uint32_t retries() const noexcept { return retries_; }
    std::uint64_t block() const noexcept { return block_; }

private:
    struct Dividers;
    IndexRange range_;
    std::uint32_t retries_;
    std::uint64_t block_;
    std::uint64_t blocks_;
    std::uint64_t slots_;
    std::unique_ptr<Dividers> dividers_;
};

} // namespace ws
