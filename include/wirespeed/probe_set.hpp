#pragma once
// The frames of one scan: a template per distinct probe frame (every TCP slot
// shares one, ICMP echo has one, each UDP slot has its own payload), and the
// slot -> template map the TX lcores read per probe.
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "wirespeed/probe.hpp"
#include "wirespeed/probe_slots.hpp"

namespace ws {

class ProbeSet {
public:
    // `payload_of` gives a UDP slot's payload bytes (empty: an empty datagram).
    using PayloadLookup = std::function<std::span<const std::uint8_t>(const ProbeSlot&)>;
    // `family`: every template of one address family (an IPv6 set is built
    // from config.source_ip6; its templates are patched with patch6).
    ProbeSet(const ProbeConfig& config, const ProbeSlots& slots, const PayloadLookup& payload_of,
             AddressFamily family = AddressFamily::ipv4);
    AddressFamily family() const noexcept { return templates_.front().family(); }

    const ProbeTemplate& for_slot(std::uint32_t slot) const noexcept { return templates_[template_of_slot_[slot]]; }
    std::uint32_t template_index(std::uint32_t slot) const noexcept { return template_of_slot_[slot]; }
    const ProbeTemplate& at(std::uint32_t index) const noexcept { return templates_[index]; }
    // The template the most slots use: what TX pools are pre-filled with, so
    // most probes of a multi-template scan find it already in their mbuf.
    std::uint32_t most_used() const noexcept { return most_used_; }
    // One template serves every slot: TX pools are pre-filled with it and
    // probes patched in place; otherwise each probe copies its template first.
    bool single_template() const noexcept { return templates_.size() == 1; }
    const ProbeTemplate& first() const noexcept { return templates_.front(); }
    // Every slot is of one module (the TX lcore runs that module's loop).
    bool single_kind() const noexcept { return single_kind_; }
    ProbeKind kind() const noexcept { return templates_.front().kind(); } // when single_kind()
    bool has(ProbeKind kind) const noexcept;
    std::size_t max_frame() const noexcept { return max_frame_; }
    std::size_t template_count() const noexcept { return templates_.size(); }

private:
    std::vector<ProbeTemplate> templates_;
    std::vector<std::uint32_t> template_of_slot_;
    std::size_t max_frame_ = 0;
    std::uint32_t most_used_ = 0;
    bool single_kind_ = true;
};

} // namespace ws
