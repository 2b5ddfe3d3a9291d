// "-p" with nmap's T:/U: prefixes (parse_protocol_ports), held against a
// model of nmap's rule -- a prefix holds until the next, each item is a port
// or a range of its own ("-" alone: every port), the items of one protocol
// are unioned -- and the probe slots built from the result against their key
// invariants. Errors are one non-empty line; an S: item is refused as SCTP.
#include "wirespeed/error.hpp"
#include "wirespeed/ports.hpp"
#include "wirespeed/probe_slots.hpp"

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

void check_set(const ws::PortSet& set) {
    check(set.count() <= 65535);
    const auto& ports = set.ports();
    check(ports.size() == set.count());
    for (std::uint32_t i = 0; i < set.count(); ++i) {
        check(ports[i] >= 1);
        if (i > 0) check(ports[i - 1] < ports[i]);
        check(set.at(i) == ports[i]);
        check(set.index_of(ports[i]) == i);
    }
    check(!set.contains(0));
}

bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
std::string_view trim(std::string_view s) {
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

// The model's verdict on a -p spec: parses or not, and the ports per protocol.
struct Model {
    bool ok = true;
    bool sctp = false; // the first fault is an S: prefix
    std::bitset<65536> tcp, udp;
    unsigned tcp_items = 0, udp_items = 0;
    bool tcp_dash = false, udp_dash = false;
};

void model(std::string_view input, Model& m) {
    if (trim(input).empty()) {
        m.ok = false;
        return;
    }
    bool udp = false;
    std::size_t pos = 0;
    while (true) {
        const std::size_t comma = input.find(',', pos);
        std::string_view item =
            trim(input.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
        if (item.size() >= 2 && item[1] == ':') {
            const char p = item[0];
            if (p == 'T' || p == 't') {
                udp = false;
            } else if (p == 'U' || p == 'u') {
                udp = true;
            } else {
                m.sctp = p == 'S' || p == 's';
                m.ok = false;
                return;
            }
            item = trim(item.substr(2));
        }
        if (item.empty()) {
            m.ok = false;
            return;
        }
        // Every item on its own: "-" (all ports), or what a single range
        // ("A" or "A-B", parse_port_range) accepts.
        auto& bits = udp ? m.udp : m.tcp;
        if (item == "-") {
            bits.set();
            bits.reset(0);
            (udp ? m.udp_dash : m.tcp_dash) = true;
        } else {
            try {
                const ws::PortRange r = ws::parse_port_range(item);
                for (std::uint32_t p = r.first; p <= r.last; ++p) bits.set(p);
            } catch (const ws::Error&) {
                m.ok = false;
                return;
            }
        }
        (udp ? m.udp_items : m.tcp_items) += 1;
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
    }
    // "-" is a whole port list (as in parse_ports), not one item among others
    // of its protocol.
    if ((m.tcp_dash && m.tcp_items > 1) || (m.udp_dash && m.udp_items > 1)) m.ok = false;
}

bool same(const ws::PortSet& set, const std::bitset<65536>& bits) {
    if (set.count() != bits.count()) return false;
    for (std::uint16_t p : set.ports())
        if (!bits.test(p)) return false;
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    bool ok = false;
    ws::ProtocolPorts pp;
    std::string message;
    try {
        pp = ws::parse_protocol_ports(input);
        ok = true;
    } catch (const ws::Error& e) {
        message = e.what();
        check(!message.empty() && message.find('\n') == std::string::npos);
    }

    const auto m = std::make_unique<Model>();
    model(input, *m);
    check(m->ok == ok);
    // An S: item reached before any other fault is refused as SCTP.
    if (m->sctp) check(message.find("SCTP (S:) is not supported") != std::string::npos);
    if (!ok) return 0;

    check_set(pp.tcp);
    check_set(pp.udp);
    check(same(pp.tcp, m->tcp) && same(pp.udp, m->udp));
    check(!pp.tcp.empty() || !pp.udp.empty());
    // Without a prefix, the whole spec is parse_ports' TCP list.
    if (input.find(':') == std::string_view::npos) check(pp.udp.empty() && pp.tcp == ws::parse_ports(input));

    // The probe slots of the result: 0-3 payloads per UDP port, and ping.
    const auto payloads = [](std::uint16_t port) -> std::uint32_t { return port % 4; };
    const ws::ProbeSlots slots = ws::ProbeSlots::build(pp.tcp, pp.udp, true, payloads);
    check(slots.key_count() == pp.tcp.count() + pp.udp.count() + 1);
    std::uint32_t want = pp.tcp.count() + 1;
    for (std::uint16_t p : pp.udp.ports()) want += payloads(p) ? payloads(p) : 1;
    check(slots.count() == want);
    check(slots.one_slot_per_key() == (slots.count() == slots.key_count()));
    for (std::uint32_t k = 0; k < slots.key_count(); ++k) {
        const ws::ProbeSlot& key = slots.key(k);
        check(key.payload == 0 && slots.key_index(key.proto, key.port) == k);
        const std::uint32_t first = slots.first_slot_of(k);
        const std::uint32_t end = k + 1 < slots.key_count() ? slots.first_slot_of(k + 1) : slots.count();
        check(first < end);
        for (std::uint32_t i = first; i < end; ++i) {
            const ws::ProbeSlot& s = slots.at(i);
            check(slots.key_of(i) == k && s.proto == key.proto && s.port == key.port && s.payload == i - first);
        }
    }
    for (std::uint16_t p : pp.tcp.ports()) check(slots.key_index(ws::Proto::tcp, p) != UINT32_MAX);
    for (std::uint16_t p : pp.udp.ports()) check(slots.key_index(ws::Proto::udp, p) != UINT32_MAX);
    check(slots.key_index(ws::Proto::icmp, 0) == slots.key_count() - 1);
    check(slots.ports(ws::Proto::tcp) == pp.tcp.ports() && slots.ports(ws::Proto::udp) == pp.udp.ports());
    return 0;
}
