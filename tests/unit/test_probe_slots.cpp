// "-p" with nmap's protocol prefixes, the probe slots a scan sends, their
// (protocol, port) keys, and the scan space over hosts x slots.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "wirespeed/error.hpp"
#include "wirespeed/probe_slots.hpp"
#include "wirespeed/scan_space.hpp"

namespace {

using Ports = std::vector<std::uint16_t>;
using ws::Proto;

Ports range(std::uint32_t first, std::uint32_t last) {
    Ports p;
    for (std::uint32_t i = first; i <= last; ++i) p.push_back(std::uint16_t(i));
    return p;
}
Ports join(Ports a, const Ports& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

void expect_ports(const std::string& spec, const Ports& tcp, const Ports& udp) {
    SCOPED_TRACE(spec);
    const ws::ProtocolPorts p = ws::parse_protocol_ports(spec);
    EXPECT_EQ(p.tcp.ports(), tcp);
    EXPECT_EQ(p.udp.ports(), udp);
}

// The message of the error a spec raises ("" when it parses).
std::string error_of(const std::string& spec) {
    try {
        ws::parse_protocol_ports(spec);
    } catch (const ws::Error& e) {
        return e.what();
    }
    return "";
}

// ------------------------------------------------------- parse_protocol_ports

TEST(ProtocolPorts, NoPrefixIsTcp) {
    expect_ports("80", {80}, {});
    expect_ports("22,80,443", {22, 80, 443}, {});
    expect_ports("1-5", range(1, 5), {});
    expect_ports("-", range(1, 65535), {});
}

TEST(ProtocolPorts, PrefixesPersistUntilTheNext) {
    // nmap's example: everything after U: is UDP until T:.
    expect_ports("80,U:53,161,T:8080", {80, 8080}, {53, 161});
    expect_ports("U:53,111,137,T:21-25,80,139,8080", {21, 22, 23, 24, 25, 80, 139, 8080}, {53, 111, 137});
    expect_ports("U:53", {}, {53});
    expect_ports("T:80", {80}, {});
    expect_ports("T:80,U:53,T:443,U:161", {80, 443}, {53, 161});
    expect_ports("U:1-3,4,5-6", {}, range(1, 6));
}

TEST(ProtocolPorts, LowerCasePrefixes) {
    expect_ports("t:80,u:53", {80}, {53});
    expect_ports("u:53,161,t:22", {22}, {53, 161});
    expect_ports("U:53,t:22,u:161", {22}, {53, 161});
}

TEST(ProtocolPorts, Whitespace) {
    expect_ports(" 80 , U: 53 ,\t161 ", {80}, {53, 161});
    expect_ports("U:53,\nT:80\r\n", {80}, {53});
}

TEST(ProtocolPorts, AllUdpPorts) {
    expect_ports("U:-", {}, range(1, 65535));
    expect_ports("22,U:-", {22}, range(1, 65535));
    expect_ports("U:-,T:80", {80}, range(1, 65535));
    expect_ports("T:-,U:-", range(1, 65535), range(1, 65535));
}

TEST(ProtocolPorts, OverlapsCollapsePerProtocol) {
    // The same port on both protocols is two results; within one, it collapses.
    expect_ports("U:1-100,T:50-60,U:90-110", range(50, 60), range(1, 110));
    expect_ports("53,U:53,T:53,U:53", {53}, {53});
    expect_ports("1-10,U:5-15,T:8-12,U:1", range(1, 12), join({1}, range(5, 15)));
    expect_ports("U:100-200,150", {}, range(100, 200));
}

TEST(ProtocolPorts, SctpRefusedWithItsMessage) {
    for (const char* spec : {"S:80", "s:80", "80,S:9", "U:53,S:2905", "S:"}) {
        SCOPED_TRACE(spec);
        const std::string e = error_of(spec);
        EXPECT_NE(e.find("SCTP (S:) is not supported; use T: or U:"), std::string::npos) << e;
        EXPECT_EQ(e.find('\n'), std::string::npos);
    }
    EXPECT_NE(error_of("80,S:9").find("\"S:9\""), std::string::npos) << error_of("80,S:9"); // names the item
}

TEST(ProtocolPorts, UnknownPrefix) {
    for (const char* spec : {"X:80", "P:1", "80,Y:2", "1:80"}) {
        SCOPED_TRACE(spec);
        EXPECT_NE(error_of(spec).find("protocol prefixes are T: and U:"), std::string::npos) << error_of(spec);
    }
}

TEST(ProtocolPorts, EmptyItems) {
    for (const char* spec : {"U:", "T:", "80,U:", "U:,53", "U: ,53", "80,t:  ", "u:\t"}) {
        SCOPED_TRACE(spec);
        EXPECT_NE(error_of(spec).find("empty item after protocol prefix"), std::string::npos) << error_of(spec);
    }
    for (const char* spec : {"80,,90", "U:53,", ",80", "U:53,,161"}) {
        SCOPED_TRACE(spec);
        EXPECT_NE(error_of(spec).find("empty item in port list"), std::string::npos) << error_of(spec);
    }
    for (const char* spec : {"", "   ", "\n"}) EXPECT_EQ(error_of(spec), "empty port list");
}

TEST(ProtocolPorts, BadPortsNameTheItem) {
    EXPECT_NE(error_of("80,U:0").find("\"0\""), std::string::npos) << error_of("80,U:0");
    EXPECT_NE(error_of("U:53,T:70000").find("\"70000\""), std::string::npos) << error_of("U:53,T:70000");
    EXPECT_NE(error_of("U:10-5").find("start is after end"), std::string::npos) << error_of("U:10-5");
    EXPECT_NE(error_of("U:T:80").find("\"T:80\""), std::string::npos) << error_of("U:T:80"); // one prefix per item
    EXPECT_NE(error_of("U:dns").find("\"dns\""), std::string::npos) << error_of("U:dns");
}

// Without a prefix the spec is what parse_ports reads.
TEST(ProtocolPorts, AgreesWithParsePortsWithoutPrefixes) {
    for (const char* spec : {"1", "1-1024", "22,80,443", "65535", "-", " 7 , 9 "}) {
        SCOPED_TRACE(spec);
        const auto p = ws::parse_protocol_ports(spec);
        EXPECT_EQ(p.tcp, ws::parse_ports(spec));
        EXPECT_TRUE(p.udp.empty());
    }
}

// ------------------------------------------------------------- ProbeSlots

// tcp 22, 80; udp 53 (3 payloads), 161 (2), 500 (0 -> the empty datagram); ping.
ws::ProbeSlots mixed_slots() {
    const std::map<std::uint16_t, std::uint32_t> payloads = {{53, 3}, {161, 2}, {500, 0}};
    return ws::ProbeSlots::build(ws::PortSet::from_ports({22, 80}), ws::PortSet::from_ports({53, 161, 500}), true,
                                 [&](std::uint16_t port) { return payloads.at(port); });
}

TEST(ProbeSlots, MultiPayloadUdpPorts) {
    const ws::ProbeSlots s = mixed_slots();
    const std::vector<ws::ProbeSlot> want = {
        {Proto::tcp, 22, 0},  {Proto::tcp, 80, 0},  {Proto::udp, 53, 0},  {Proto::udp, 53, 1}, {Proto::udp, 53, 2},
        {Proto::udp, 161, 0}, {Proto::udp, 161, 1}, {Proto::udp, 500, 0}, {Proto::icmp, 0, 0},
    };
    ASSERT_EQ(s.slots(), want);
    EXPECT_EQ(s.count(), 9u);
    EXPECT_FALSE(s.empty());
    EXPECT_EQ(s.key_count(), 6u);
    EXPECT_FALSE(s.one_slot_per_key());

    const std::vector<std::uint32_t> key_of = {0, 1, 2, 2, 2, 3, 3, 4, 5};
    for (std::uint32_t i = 0; i < s.count(); ++i) {
        EXPECT_EQ(s.key_of(i), key_of[i]) << "slot " << i;
        EXPECT_EQ(s.at(i), want[i]);
        // The key is the slot's (protocol, port), payload 0.
        EXPECT_EQ(s.key(s.key_of(i)), (ws::ProbeSlot{want[i].proto, want[i].port, 0}));
        EXPECT_EQ(s.key_index(want[i].proto, want[i].port), key_of[i]);
    }
    const std::vector<std::uint32_t> first = {0, 1, 2, 5, 7, 8};
    for (std::uint32_t k = 0; k < s.key_count(); ++k) {
        EXPECT_EQ(s.first_slot_of(k), first[k]) << "key " << k;
        EXPECT_EQ(s.key_of(s.first_slot_of(k)), k);
        EXPECT_EQ(s.at(s.first_slot_of(k)).payload, 0);
    }

    // Absent keys: the other protocol's port, ICMP with a port, ports not scanned.
    EXPECT_EQ(s.key_index(Proto::tcp, 53), UINT32_MAX);
    EXPECT_EQ(s.key_index(Proto::udp, 22), UINT32_MAX);
    EXPECT_EQ(s.key_index(Proto::udp, 0), UINT32_MAX);
    EXPECT_EQ(s.key_index(Proto::tcp, 0), UINT32_MAX);
    EXPECT_EQ(s.key_index(Proto::icmp, 1), UINT32_MAX);
    EXPECT_EQ(s.key_index(Proto::icmp, 80), UINT32_MAX);
    EXPECT_EQ(s.key_index(Proto::udp, 65535), UINT32_MAX);

    EXPECT_EQ(s.count(Proto::tcp), 2u);
    EXPECT_EQ(s.count(Proto::udp), 6u);
    EXPECT_EQ(s.count(Proto::icmp), 1u);
    EXPECT_EQ(s.ports(Proto::tcp), (Ports{22, 80}));
    EXPECT_EQ(s.ports(Proto::udp), (Ports{53, 161, 500}));
    EXPECT_EQ(s.ports(Proto::icmp), (Ports{0}));
}

TEST(ProbeSlots, OneSlotPerKey) {
    const auto one = ws::ProbeSlots::build(ws::PortSet::from_ports({80}), ws::PortSet::from_ports({53, 80}), true,
                                           [](std::uint16_t) { return 1u; });
    EXPECT_TRUE(one.one_slot_per_key());
    EXPECT_EQ(one.key_count(), 4u);
    EXPECT_NE(one.key_index(Proto::tcp, 80), one.key_index(Proto::udp, 80)); // tcp/80 and udp/80 are two keys
    for (std::uint32_t i = 0; i < one.count(); ++i) {
        EXPECT_EQ(one.key_of(i), i);
        EXPECT_EQ(one.first_slot_of(i), i);
    }
    const auto tcp = ws::ProbeSlots::tcp(ws::PortSet::from_ports({1, 2, 65535}));
    EXPECT_TRUE(tcp.one_slot_per_key());
    EXPECT_EQ(tcp.key_index(Proto::tcp, 65535), 2u);
    EXPECT_EQ(tcp.key_index(Proto::icmp, 0), UINT32_MAX);
    EXPECT_EQ(tcp.key_index(Proto::udp, 1), UINT32_MAX);
    EXPECT_EQ(tcp.count(Proto::udp), 0u);
    EXPECT_TRUE(tcp.ports(Proto::udp).empty());

    const ws::ProbeSlots none;
    EXPECT_TRUE(none.empty());
    EXPECT_EQ(none.key_count(), 0u);
    EXPECT_EQ(none.key_index(Proto::tcp, 80), UINT32_MAX);
    EXPECT_EQ(none.key_index(Proto::icmp, 0), UINT32_MAX);

    // Equality is over the slots.
    EXPECT_EQ(mixed_slots(), mixed_slots());
    EXPECT_FALSE(mixed_slots() == one);
}

// Every UDP port of "U:-" with nmap-like payload counts: keys stay one per
// port, slots one per payload.
TEST(ProbeSlots, AllUdpPortsWithPayloads) {
    const auto pp = ws::parse_protocol_ports("22,U:-");
    auto count = [](std::uint16_t port) -> std::uint32_t { return port % 7 == 0 ? 3 : port % 5 == 0 ? 0 : 1; };
    const auto s = ws::ProbeSlots::build(pp.tcp, pp.udp, true, count);
    std::uint32_t want_slots = 1 + 1;
    for (std::uint32_t p = 1; p <= 65535; ++p) want_slots += count(std::uint16_t(p)) ? count(std::uint16_t(p)) : 1;
    ASSERT_EQ(s.count(), want_slots);
    ASSERT_EQ(s.key_count(), 1u + 65535u + 1u);
    for (std::uint32_t k = 0; k < s.key_count(); ++k) {
        const ws::ProbeSlot& key = s.key(k);
        ASSERT_EQ(s.key_index(key.proto, key.port), k);
        const std::uint32_t first = s.first_slot_of(k);
        const std::uint32_t end = k + 1 < s.key_count() ? s.first_slot_of(k + 1) : s.count();
        const std::uint32_t n = key.proto == Proto::udp ? (count(key.port) ? count(key.port) : 1) : 1;
        ASSERT_EQ(end - first, n) << "key " << k;
        for (std::uint32_t i = first; i < end; ++i) {
            ASSERT_EQ(s.key_of(i), k);
            ASSERT_EQ(s.at(i), (ws::ProbeSlot{key.proto, key.port, std::uint16_t(i - first)}));
        }
    }
}

// ------------------------------------------------------------- ScanSpace

constexpr std::uint32_t ip(std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint32_t d) {
    return (a << 24) | (b << 16) | (c << 8) | d;
}

// Every (host, slot) of a mixed space exactly once, in at() and at_burst();
// position_of inverts at(); dense_index is the slot's key x hosts + host, in
// [0, keys()), each key's index hit once per payload slot.
void expect_exhaustive(const ws::ScanSpace& space) {
    const ws::ProbeSlots& slots = space.slots();
    const std::uint64_t hosts = space.targets().count();
    ASSERT_EQ(space.size(), hosts * slots.count());
    ASSERT_EQ(space.keys(), hosts * slots.key_count());
    std::vector<int> seen(space.size(), 0);
    std::vector<int> dense_hits(space.keys(), 0);
    std::vector<ws::Target> burst(64);
    for (std::uint64_t pos = 0; pos < space.size(); ++pos) {
        const ws::Target t = space.at(pos);
        ASSERT_LT(t.slot, slots.count());
        const ws::ProbeSlot& slot = slots.at(t.slot);
        ASSERT_EQ(t.proto, slot.proto) << pos;
        ASSERT_EQ(t.port, slot.port) << pos;
        const std::uint64_t host = space.targets().index_of(t.address);
        ASSERT_LT(host, hosts) << pos;
        const std::uint64_t cell = std::uint64_t{t.slot} * hosts + host;
        ASSERT_EQ(seen[cell]++, 0) << "position " << pos << " repeats (host, slot)";
        ASSERT_EQ(space.position_of(t.address, t.slot), pos);
        const std::uint64_t dense = space.dense_index(t.address, t.proto, t.port);
        ASSERT_LT(dense, space.keys());
        ASSERT_EQ(dense, std::uint64_t{slots.key_of(t.slot)} * hosts + host);
        ++dense_hits[dense];
        if (t.proto == Proto::tcp) {
            ASSERT_EQ(space.position_of_tcp(t.address, t.port), pos);
        }
        if (pos % 64 == 0) {
            const unsigned n = unsigned(std::min<std::uint64_t>(64, space.size() - pos));
            space.at_burst(pos, n, burst.data());
            for (unsigned i = 0; i < n; ++i) ASSERT_EQ(burst[i], space.at(pos + i)) << pos + i;
        }
    }
    for (std::uint64_t d = 0; d < space.keys(); ++d) {
        const std::uint32_t key = std::uint32_t(d / hosts);
        const std::uint32_t first = slots.first_slot_of(key);
        const std::uint32_t end = key + 1 < slots.key_count() ? slots.first_slot_of(key + 1) : slots.count();
        ASSERT_EQ(dense_hits[d], int(end - first)) << "dense " << d;
    }
}

TEST(ScanSpaceMixed, ExhaustiveWalk) {
    const auto targets = ws::TargetSet::from_intervals({{ip(10, 0, 0, 1), ip(10, 0, 0, 5)}, {ip(192, 0, 2, 250), ip(192, 0, 2, 251)}});
    for (std::uint64_t seed : {1ull, 2ull, 0xdeadbeefull}) {
        SCOPED_TRACE(seed);
        expect_exhaustive(ws::ScanSpace(targets, mixed_slots(), seed));
    }
    // One host; UDP only; ping only.
    expect_exhaustive(ws::ScanSpace(ws::TargetSet::from_intervals({{ip(10, 0, 0, 9), ip(10, 0, 0, 9)}}), mixed_slots(), 3));
    const auto pp = ws::parse_protocol_ports("U:1-20,53");
    expect_exhaustive(ws::ScanSpace(targets, ws::ProbeSlots::build(pp.tcp, pp.udp, false,
                                                                   [](std::uint16_t p) { return p == 53 ? 4u : 1u; }),
                                    4));
    expect_exhaustive(ws::ScanSpace(targets, ws::ProbeSlots::build({}, {}, true, [](std::uint16_t) { return 1u; }), 5));
}

TEST(ScanSpaceMixed, DenseIndexOfWhatTheScanDoesNotHave) {
    const auto targets = ws::TargetSet::from_intervals({{ip(10, 0, 0, 1), ip(10, 0, 0, 5)}});
    const ws::ScanSpace space(targets, mixed_slots(), 1);
    EXPECT_EQ(space.dense_index(ip(10, 0, 0, 6), Proto::tcp, 22), UINT64_MAX); // not a target
    EXPECT_EQ(space.dense_index(ip(10, 0, 0, 1), Proto::tcp, 53), UINT64_MAX); // 53 is UDP here
    EXPECT_EQ(space.dense_index(ip(10, 0, 0, 1), Proto::udp, 22), UINT64_MAX);
    EXPECT_EQ(space.dense_index(ip(10, 0, 0, 1), Proto::icmp, 7), UINT64_MAX);
    EXPECT_EQ(space.dense_index(ip(10, 0, 0, 1), Proto::icmp, 0), 5u * 5u + 0u); // key 5 (icmp), host 0
    EXPECT_EQ(space.dense_index(ip(10, 0, 0, 5), Proto::udp, 161), 3u * 5u + 4u);
    EXPECT_EQ(space.position_of(ip(10, 0, 0, 1), 9), UINT64_MAX); // slot 9 does not exist
    EXPECT_EQ(space.position_of(ip(10, 0, 0, 6), 0), UINT64_MAX);
    EXPECT_EQ(space.position_of_tcp(ip(10, 0, 0, 1), 53), UINT64_MAX);
    EXPECT_EQ(space.keys(), 5u * 6u);
    EXPECT_EQ(space.size(), 5u * 9u);
}

} // namespace
