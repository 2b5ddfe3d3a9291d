#include "wirespeed/probe_set.hpp"

#include <algorithm>
#include <map>

#include "wirespeed/probes/udp.hpp"

namespace ws {

ProbeSet::ProbeSet(const ProbeConfig& config, const ProbeSlots& slots, const PayloadLookup& payload_of,
                   AddressFamily family) {
    std::uint32_t tcp_template = UINT32_MAX, icmp_template = UINT32_MAX;
    // UDP slots share a template when their payload (and whether it carries a
    // DNS ID) is the same: "-p U:-" is 65,535 slots but a few hundred payloads.
    std::map<std::pair<bool, std::vector<std::uint8_t>>, std::uint32_t> udp_templates;
    template_of_slot_.reserve(slots.count());
    auto add = [&](const ProbeSlot& slot, std::span<const std::uint8_t> payload) {
        templates_.emplace_back(config, slot, payload.data(), payload.size(), family);
        max_frame_ = std::max(max_frame_, templates_.back().size());
        return std::uint32_t(templates_.size() - 1);
    };
    for (const ProbeSlot& slot : slots.slots()) {
        std::uint32_t index;
        switch (slot.proto) {
        case Proto::tcp: // the destination port is patched per probe
            if (tcp_template == UINT32_MAX) tcp_template = add(slot, {});
            index = tcp_template;
            break;
        case Proto::icmp:
            if (icmp_template == UINT32_MAX) icmp_template = add(slot, {});
            index = icmp_template;
            break;
        case Proto::udp:
        default: {
            const auto payload = payload_of(slot);
            auto key = std::make_pair(probes::Udp::carries_dns_id(slot.port, payload.size()),
                                      std::vector<std::uint8_t>(payload.begin(), payload.end()));
            const auto found = udp_templates.find(key);
            index = found != udp_templates.end() ? found->second : add(slot, payload);
            udp_templates.emplace(std::move(key), index);
            break;
        }
        }
        template_of_slot_.push_back(index);
    }
    if (templates_.empty()) // no slots: never sent, but first() stays valid
        templates_.emplace_back(config, ProbeSlot{Proto::tcp, 0, 0}, nullptr, 0, family);
    for (const ProbeTemplate& t : templates_) single_kind_ = single_kind_ && t.kind() == templates_.front().kind();
    std::vector<std::uint64_t> uses(templates_.size(), 0);
    for (const std::uint32_t index : template_of_slot_) ++uses[index];
    most_used_ = std::uint32_t(std::max_element(uses.begin(), uses.end()) - uses.begin());
}

bool ProbeSet::has(ProbeKind kind) const noexcept {
    return std::any_of(templates_.begin(), templates_.end(), [&](const ProbeTemplate& t) { return t.kind() == kind; });
}

} // namespace ws
