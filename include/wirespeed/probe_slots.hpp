#pragma once
// Probe slots: what one scan sends to every host. A slot is (protocol, port,
// payload): "-p 22,80,U:53,161 --ping" gives tcp/22, tcp/80, udp/53 (one slot
// per nmap payload for port 53), udp/161 (one per payload), icmp/0. The index
// space is hosts x slots; results, dedup and resume are keyed on the slot's
// (protocol, port), its *key*, since a reply cannot say which of a port's
// payloads it answers.
#include <cstdint>
#include <string_view>
#include <vector>

#include "wirespeed/ports.hpp"
#include "wirespeed/record.hpp"

namespace ws {

struct ProbeSlot {
    Proto proto;
    std::uint16_t port;    // 0 for ICMP echo
    std::uint16_t payload; // index into the port's UDP payloads (0 otherwise)
    friend bool operator==(const ProbeSlot&, const ProbeSlot&) = default;
};

// "-p" with nmap's protocol prefixes: T: and U: select the protocol for the
// items that follow until the next prefix ("80,U:53,161,T:8080": tcp 80 and
// 8080, udp 53 and 161); no prefix means TCP. S: (SCTP) is refused.
struct ProtocolPorts {
    PortSet tcp;
    PortSet udp;
};
ProtocolPorts parse_protocol_ports(std::string_view spec);

class ProbeSlots {
public:
    ProbeSlots() = default;
    // TCP ports only (one slot per port): the classic SYN scan.
    static ProbeSlots tcp(const PortSet& ports);
    // TCP ports, then UDP ports with payloads_per_udp_port(port) (>= 1) slots
    // each, then one ICMP echo slot when `ping`.
    template <class PayloadCount>
    static ProbeSlots build(const PortSet& tcp, const PortSet& udp, bool ping, PayloadCount payloads_per_udp_port) {
        ProbeSlots s;
        for (std::uint16_t p : tcp.ports()) s.add({Proto::tcp, p, 0});
        for (std::uint16_t p : udp.ports()) {
            const std::uint32_t n = payloads_per_udp_port(p);
            for (std::uint32_t i = 0; i < (n ? n : 1); ++i) s.add({Proto::udp, p, std::uint16_t(i)});
        }
        if (ping) s.add({Proto::icmp, 0, 0});
        s.finish();
        return s;
    }

    std::uint32_t count() const noexcept { return std::uint32_t(slots_.size()); }
    bool empty() const noexcept { return slots_.empty(); }
    const ProbeSlot& at(std::uint32_t slot) const noexcept { return slots_[slot]; }
    const std::vector<ProbeSlot>& slots() const noexcept { return slots_; }

    // Keys: distinct (protocol, port), in slot order.
    std::uint32_t key_count() const noexcept { return std::uint32_t(keys_.size()); }
    std::uint32_t key_of(std::uint32_t slot) const noexcept { return key_of_slot_[slot]; }
    const ProbeSlot& key(std::uint32_t key) const noexcept { return keys_[key]; } // payload 0
    std::uint32_t first_slot_of(std::uint32_t key) const noexcept { return first_slot_of_key_[key]; }
    // (protocol, port) -> key, or UINT32_MAX when the scan has no such slot.
    std::uint32_t key_index(Proto proto, std::uint16_t port) const noexcept;
    bool one_slot_per_key() const noexcept { return keys_.size() == slots_.size(); }

    // What the scan sends, for summaries and the fingerprint.
    std::uint32_t count(Proto proto) const noexcept;
    std::vector<std::uint16_t> ports(Proto proto) const; // ascending, unique
    friend bool operator==(const ProbeSlots& a, const ProbeSlots& b) { return a.slots_ == b.slots_; }

private:
    void add(ProbeSlot slot);
    void finish();
    std::vector<ProbeSlot> slots_;
    std::vector<ProbeSlot> keys_;
    std::vector<std::uint32_t> key_of_slot_;
    std::vector<std::uint32_t> first_slot_of_key_;
    std::vector<std::uint32_t> tcp_key_, udp_key_; // 65536 entries when the protocol is present
    std::uint32_t icmp_key_ = UINT32_MAX;
};

} // namespace ws
