#include "wirespeed/probe_slots.hpp"

#include <string>

#include "text.hpp"
#include "wirespeed/error.hpp"

namespace ws {

ProtocolPorts parse_protocol_ports(std::string_view spec) {
    const auto whole = detail::trim(spec);
    if (whole.empty()) throw Error("empty port list");
    // Items go to one plain spec per protocol, which parse_ports then checks
    // (its errors name the bad item); the prefix only switches the target.
    std::string tcp_spec, udp_spec;
    std::string* current = &tcp_spec;
    std::size_t pos = 0;
    while (true) {
        const auto comma = whole.find(',', pos);
        auto item = detail::trim(whole.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
        if (item.size() >= 2 && item[1] == ':') {
            const char p = item[0];
            if (p == 'T' || p == 't') current = &tcp_spec;
            else if (p == 'U' || p == 'u') current = &udp_spec;
            else if (p == 'S' || p == 's')
                throw Error("invalid port item " + detail::quote(item, 64) + ": SCTP (S:) is not supported; use T: or U:");
            else
                throw Error("invalid port item " + detail::quote(item, 64) + ": protocol prefixes are T: and U:");
            item = detail::trim(item.substr(2));
            if (item.empty()) throw Error("empty item after protocol prefix in port list " + detail::quote(whole, 64));
        }
        if (item.empty()) throw Error("empty item in port list " + detail::quote(whole, 64));
        if (!current->empty()) *current += ',';
        *current += item;
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
    }
    ProtocolPorts out;
    if (!tcp_spec.empty()) out.tcp = parse_ports(tcp_spec);
    if (!udp_spec.empty()) out.udp = parse_ports(udp_spec);
    return out;
}

ProbeSlots ProbeSlots::tcp(const PortSet& ports) {
    return build(ports, PortSet{}, false, [](std::uint16_t) { return 1u; });
}

void ProbeSlots::add(ProbeSlot slot) { slots_.push_back(slot); }

void ProbeSlots::finish() {
    keys_.clear();
    key_of_slot_.clear();
    first_slot_of_key_.clear();
    tcp_key_.clear();
    udp_key_.clear();
    icmp_key_ = UINT32_MAX;
    for (const ProbeSlot& s : slots_) {
        std::uint32_t key = key_index(s.proto, s.port);
        if (key == UINT32_MAX) {
            key = std::uint32_t(keys_.size());
            keys_.push_back({s.proto, s.port, 0});
            first_slot_of_key_.push_back(std::uint32_t(key_of_slot_.size()));
            switch (s.proto) {
            case Proto::tcp:
                if (tcp_key_.empty()) tcp_key_.assign(65536, UINT32_MAX);
                tcp_key_[s.port] = key;
                break;
            case Proto::udp:
                if (udp_key_.empty()) udp_key_.assign(65536, UINT32_MAX);
                udp_key_[s.port] = key;
                break;
            case Proto::icmp: icmp_key_ = key; break;
            }
        }
        key_of_slot_.push_back(key);
    }
}

std::uint32_t ProbeSlots::key_index(Proto proto, std::uint16_t port) const noexcept {
    switch (proto) {
    case Proto::tcp: return tcp_key_.empty() ? UINT32_MAX : tcp_key_[port];
    case Proto::udp: return udp_key_.empty() ? UINT32_MAX : udp_key_[port];
    case Proto::icmp: return port == 0 ? icmp_key_ : UINT32_MAX;
    }
    return UINT32_MAX;
}

std::uint32_t ProbeSlots::count(Proto proto) const noexcept {
    std::uint32_t n = 0;
    for (const ProbeSlot& s : slots_) n += s.proto == proto;
    return n;
}

std::vector<std::uint16_t> ProbeSlots::ports(Proto proto) const {
    std::vector<std::uint16_t> out;
    for (const ProbeSlot& k : keys_)
        if (k.proto == proto) out.push_back(k.port);
    return out; // keys are in slot order, which is ascending per protocol
}

} // namespace ws
