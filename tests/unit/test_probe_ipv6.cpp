// IPv6 probe frames, byte for byte: every module's IPv6 template patched with
// patch6 (software checksums and NIC offload) against a frame this test
// writes itself a byte at a time with its own checksum code; patch6 over a
// frame holding another probe against a full rewrite; the IPv6 RST; the NDP
// frames (their bytes, and parse_reply reading them back).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <span>
#include <vector>

#include "wirespeed/probe.hpp"
#include "wirespeed/probe_set.hpp"
#include "wirespeed/probe_slots.hpp"
#include "wirespeed/reply.hpp"
#include "wirespeed/sources.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;
using ws::uint128;

constexpr ws::MacAddress our_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr ws::MacAddress gateway_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0xfe};
const uint128 our_ip6 = *ws::parse_ipv6("2001:db8::100");
const uint128 target_ip6 = *ws::parse_ipv6("2001:db8:0:1::5");

// ---- an independent frame writer: bytes appended one by one

void push16(Bytes& b, std::uint16_t v) {
    b.push_back(std::uint8_t(v >> 8));
    b.push_back(std::uint8_t(v & 0xff));
}
void push32(Bytes& b, std::uint32_t v) {
    push16(b, std::uint16_t(v >> 16));
    push16(b, std::uint16_t(v & 0xffff));
}
void push128(Bytes& b, uint128 v) {
    for (int i = 15; i >= 0; --i) b.push_back(std::uint8_t(v >> (8 * i)));
}
void push_mac(Bytes& b, const ws::MacAddress& m) { b.insert(b.end(), m.begin(), m.end()); }
void set16(Bytes& b, std::size_t at, std::uint16_t v) {
    b[at] = std::uint8_t(v >> 8);
    b[at + 1] = std::uint8_t(v & 0xff);
}
std::uint16_t get16(const Bytes& b, std::size_t at) { return std::uint16_t((b[at] << 8) | b[at + 1]); }

// The plain sum of big-endian 16-bit words, folded to 16 bits; no complement.
std::uint16_t folded_sum(const Bytes& data) {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < data.size(); i += 2) sum += data[i] * 256u + (i + 1 < data.size() ? data[i + 1] : 0u);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
    return std::uint16_t(sum);
}
std::uint16_t internet_checksum(const Bytes& data) { return std::uint16_t(~folded_sum(data) & 0xffff); }

// RFC 8200 8.1: source, destination, 32-bit upper-layer length, 3 zero bytes, next header.
Bytes pseudo_header6(uint128 source, uint128 destination, std::uint8_t next_header, std::size_t length) {
    Bytes p;
    push128(p, source);
    push128(p, destination);
    push32(p, std::uint32_t(length));
    p.insert(p.end(), {0, 0, 0, next_header});
    return p;
}
Bytes concat(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

ws::ProbeConfig make_config(ws::TcpOptionsProfile options = ws::TcpOptionsProfile::mss_only) {
    ws::ProbeConfig c;
    c.source_mac = our_mac;
    c.destination_mac = gateway_mac;
    c.source_ip = 0xc6120001; // 198.18.0.1: must not leak into an IPv6 frame
    c.source_ip6 = our_ip6;
    c.ttl = 61;
    c.window = 2048;
    c.options = options;
    return c;
}

// Ethernet + IPv6 header for `l4` (flow label = the cookie's IP ID), then l4.
Bytes frame6(const ws::ProbeConfig& c, const ws::ProbeFields6& f, std::uint8_t next_header, const Bytes& l4) {
    Bytes b;
    push_mac(b, c.destination_mac);
    push_mac(b, c.source_mac);
    push16(b, 0x86dd);
    push32(b, 0x60000000u | f.ip_id);
    push16(b, std::uint16_t(l4.size()));
    b.push_back(next_header);
    b.push_back(c.ttl);
    push128(b, c.source_ip6);
    push128(b, f.destination_ip);
    return concat(b, l4);
}

// With `offload`, the L4 checksum field holds the folded pseudo-header sum (what
// rte_ipv6_phdr_cksum gives), else the full checksum.
Bytes expected_tcp(const ws::ProbeConfig& c, const ws::ProbeFields6& f, bool offload) {
    Bytes tcp;
    push16(tcp, f.source_port);
    push16(tcp, f.destination_port);
    push32(tcp, f.sequence);
    push32(tcp, 0);
    const bool os = c.options == ws::TcpOptionsProfile::os_like;
    tcp.push_back(std::uint8_t((os ? 10 : 6) << 4));
    tcp.push_back(0x02);
    push16(tcp, c.window);
    push16(tcp, 0);
    push16(tcp, 0);
    tcp.insert(tcp.end(), {2, 4, 0x05, 0xb4});
    if (os) tcp.insert(tcp.end(), {4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7});
    const Bytes pseudo = pseudo_header6(c.source_ip6, f.destination_ip, 6, tcp.size());
    set16(tcp, 16, offload ? folded_sum(pseudo) : internet_checksum(concat(pseudo, tcp)));
    return frame6(c, f, 6, tcp);
}

Bytes expected_udp(const ws::ProbeConfig& c, const ws::ProbeFields6& f, const Bytes& payload, bool dns_id,
                   bool offload) {
    Bytes udp;
    push16(udp, f.source_port);
    push16(udp, f.destination_port);
    push16(udp, std::uint16_t(8 + payload.size()));
    push16(udp, 0);
    udp.insert(udp.end(), payload.begin(), payload.end());
    if (dns_id) set16(udp, 8, std::uint16_t(f.sequence));
    const Bytes pseudo = pseudo_header6(c.source_ip6, f.destination_ip, 17, udp.size());
    std::uint16_t sum = offload ? folded_sum(pseudo) : internet_checksum(concat(pseudo, udp));
    if (!offload && sum == 0) sum = 0xffff;
    set16(udp, 6, sum);
    return frame6(c, f, 17, udp);
}

// ICMPv6 echo request: always finished in software, pseudo header included.
Bytes expected_echo(const ws::ProbeConfig& c, const ws::ProbeFields6& f) {
    Bytes icmp{128, 0, 0, 0};
    push16(icmp, std::uint16_t(f.sequence >> 16));
    push16(icmp, std::uint16_t(f.sequence));
    set16(icmp, 2, internet_checksum(concat(pseudo_header6(c.source_ip6, f.destination_ip, 58, icmp.size()), icmp)));
    return frame6(c, f, 58, icmp);
}

ws::ProbeTemplate template6(const ws::ProbeConfig& c, ws::ProbeSlot slot, const Bytes& payload = {}) {
    return ws::ProbeTemplate(c, slot, payload.data(), payload.size(), ws::AddressFamily::ipv6);
}

Bytes written(const ws::ProbeTemplate& t, const ws::ProbeFields6& f, bool offload) {
    Bytes out(t.size());
    if (offload)
        t.write6_for_offload(out.data(), f);
    else
        t.write6(out.data(), f);
    return out;
}

ws::ProbeFields6 random_fields(std::mt19937_64& rng) {
    const uint128 dst = (uint128{0x20010db8u} << 96) | (uint128{rng()} << 32) | std::uint32_t(rng());
    return ws::ProbeFields6{dst, std::uint16_t(rng()), std::uint16_t(rng()), std::uint32_t(rng()), std::uint16_t(rng())};
}

// Random values and the corner ones: all-zero and all-ones words, so both
// zeros of the ones' complement show up.
std::vector<ws::ProbeFields6> field_samples() {
    std::mt19937_64 rng(11);
    std::vector<ws::ProbeFields6> v;
    for (int i = 0; i < 300; ++i) v.push_back(random_fields(rng));
    v.push_back({target_ip6, 0, 0, 0, 0});
    v.push_back({~uint128{0}, 0xffff, 0xffff, 0xffffffffu, 0xffff});
    v.push_back({target_ip6, 443, 40000, 0x12345678, 0xbeef});
    return v;
}

TEST(Ipv6Probe, TemplateSaysItsFamilyAndSize) {
    const ws::ProbeTemplate tcp = template6(make_config(), {ws::Proto::tcp, 80, 0});
    EXPECT_EQ(tcp.family(), ws::AddressFamily::ipv6);
    EXPECT_EQ(tcp.l3_len(), 40u);
    EXPECT_EQ(tcp.l4_off(), 54u);
    EXPECT_EQ(tcp.size(), 14u + 40 + 24);
    const ws::ProbeTemplate v4(make_config(), {ws::Proto::tcp, 80, 0}, nullptr, 0);
    EXPECT_EQ(v4.family(), ws::AddressFamily::ipv4);
    EXPECT_EQ(v4.l3_len(), 20u);
    EXPECT_EQ(v4.size(), 14u + 20 + 24);
}

TEST(Ipv6Probe, TcpSynIsByteExact) {
    for (auto options : {ws::TcpOptionsProfile::mss_only, ws::TcpOptionsProfile::os_like}) {
        const ws::ProbeConfig c = make_config(options);
        const ws::ProbeTemplate t = template6(c, {ws::Proto::tcp, 80, 0});
        for (const auto& f : field_samples()) {
            ASSERT_EQ(written(t, f, false), expected_tcp(c, f, false));
            ASSERT_EQ(written(t, f, true), expected_tcp(c, f, true));
        }
    }
}

TEST(Ipv6Probe, UdpIsByteExactWithAndWithoutDnsId) {
    const ws::ProbeConfig c = make_config();
    const Bytes dns = {0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0, 0, 16, 0, 3};
    const Bytes odd = {1, 2, 3, 4, 5};
    struct Case {
        std::uint16_t port;
        Bytes payload;
        bool dns_id;
    };
    for (const Case& k : {Case{53, dns, true}, Case{161, odd, false}, Case{9, {}, false}, Case{53, odd, false}}) {
        const ws::ProbeTemplate t = template6(c, {ws::Proto::udp, k.port, 0}, k.payload);
        for (auto f : field_samples()) {
            f.destination_port = k.port;
            ASSERT_EQ(written(t, f, false), expected_udp(c, f, k.payload, k.dns_id, false)) << k.port;
            ASSERT_EQ(written(t, f, true), expected_udp(c, f, k.payload, k.dns_id, true)) << k.port;
        }
    }
}

TEST(Ipv6Probe, IcmpEchoIsIcmpv6ByteExact) {
    const ws::ProbeConfig c = make_config();
    const ws::ProbeTemplate t = template6(c, {ws::Proto::icmp, 0, 0});
    EXPECT_EQ(t.l4_checksum(), ws::L4Checksum::none);
    for (const auto& f : field_samples()) {
        ASSERT_EQ(written(t, f, false), expected_echo(c, f));
        ASSERT_EQ(written(t, f, true), expected_echo(c, f)); // nothing for a NIC to finish
    }
}

// The largest UDP payload still fits an IPv6 frame, and more is cut consistently.
TEST(Ipv6Probe, MaxPayloadFitsTheFrame) {
    std::mt19937_64 rng(3);
    Bytes big(ws::ProbeTemplate::max_payload + 100);
    for (auto& x : big) x = std::uint8_t(rng());
    const ws::ProbeConfig c = make_config();
    const ws::ProbeTemplate t = template6(c, {ws::Proto::udp, 9, 0}, big);
    ASSERT_EQ(t.size(), ws::ProbeTemplate::max_frame);
    const Bytes cut(big.begin(), big.begin() + ws::ProbeTemplate::max_payload);
    const ws::ProbeFields6 f{target_ip6, 9, 40000, 7, 8};
    EXPECT_EQ(written(t, f, false), expected_udp(c, f, cut, false, false));
    EXPECT_LE(t.size() - 14, 1500u); // one 1500-byte MTU packet
}

// The TX lcores patch a frame that still holds the previous probe: every
// per-probe word must be overwritten, the checksum recomputed from scratch.
TEST(Ipv6Probe, Patch6OverAnotherProbeEqualsAFullWrite) {
    const ws::ProbeConfig c = make_config(ws::TcpOptionsProfile::os_like);
    const Bytes dns = {0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 1};
    std::mt19937_64 rng(5);
    for (const ws::ProbeTemplate& t : {template6(c, {ws::Proto::tcp, 80, 0}), template6(c, {ws::Proto::udp, 53, 0}, dns),
                                       template6(c, {ws::Proto::icmp, 0, 0})})
        for (bool offload : {false, true}) {
            Bytes frame = written(t, random_fields(rng), offload);
            for (int i = 0; i < 200; ++i) {
                const ws::ProbeFields6 f = random_fields(rng);
                if (offload)
                    t.patch6_for_offload(frame.data(), f);
                else
                    t.patch6(frame.data(), f);
                ASSERT_EQ(frame, written(t, f, offload));
            }
        }
}

TEST(Ipv6Probe, TcpSegment6IsByteExact) {
    for (bool mss : {false, true}) {
        ws::TcpSegment6 s{};
        s.source_mac = our_mac;
        s.destination_mac = gateway_mac;
        s.source_ip = our_ip6;
        s.destination_ip = target_ip6;
        s.source_port = 40001;
        s.destination_port = 443;
        s.sequence = 0x01020304;
        s.acknowledgment = 0xa0b0c0d0;
        s.flags = 0x04;
        s.window = 0;
        s.hop_limit = 64;
        s.with_mss = mss;
        Bytes out(128);
        out.resize(ws::build_tcp_segment6(out.data(), s));

        Bytes tcp;
        push16(tcp, 40001);
        push16(tcp, 443);
        push32(tcp, 0x01020304);
        push32(tcp, 0xa0b0c0d0);
        tcp.push_back(std::uint8_t((mss ? 6 : 5) << 4));
        tcp.push_back(0x04);
        push16(tcp, 0);
        push16(tcp, 0);
        push16(tcp, 0);
        if (mss) tcp.insert(tcp.end(), {2, 4, 0x05, 0xb4});
        set16(tcp, 16, internet_checksum(concat(pseudo_header6(our_ip6, target_ip6, 6, tcp.size()), tcp)));
        ws::ProbeConfig c = make_config();
        c.ttl = 64;
        EXPECT_EQ(out, frame6(c, ws::ProbeFields6{target_ip6, 0, 0, 0, 0}, 6, tcp)) << mss;
    }
}

TEST(Ipv6Probe, ProbeSetOfOneFamily) {
    const Bytes dns = {0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 1};
    const auto slots = ws::ProbeSlots::build(ws::PortSet::from_ports({22, 80}), ws::PortSet::from_ports({53}), true,
                                             [](std::uint16_t) { return 1u; });
    const auto payload = [&](const ws::ProbeSlot& s) {
        return s.proto == ws::Proto::udp ? std::span<const std::uint8_t>(dns) : std::span<const std::uint8_t>();
    };
    const ws::ProbeSet v6(make_config(), slots, payload, ws::AddressFamily::ipv6);
    const ws::ProbeSet v4(make_config(), slots, payload);
    EXPECT_EQ(v6.family(), ws::AddressFamily::ipv6);
    EXPECT_EQ(v4.family(), ws::AddressFamily::ipv4);
    ASSERT_EQ(v6.template_count(), v4.template_count());
    for (std::uint32_t i = 0; i < v6.template_count(); ++i) {
        EXPECT_EQ(v6.at(i).family(), ws::AddressFamily::ipv6);
        EXPECT_EQ(v6.at(i).kind(), v4.at(i).kind());
        EXPECT_EQ(v6.at(i).size(), v4.at(i).size() + 20);
    }
    EXPECT_EQ(v6.max_frame(), v4.max_frame() + 20);
}

// ---- NDP frames

// The ICMPv6 message of an NDP frame checks under its own pseudo header.
bool icmp6_checks(const Bytes& frame) {
    uint128 src = 0, dst = 0;
    for (int i = 0; i < 16; ++i) {
        src = (src << 8) | frame[22 + i];
        dst = (dst << 8) | frame[38 + i];
    }
    const Bytes message(frame.begin() + 54, frame.end());
    return folded_sum(concat(pseudo_header6(src, dst, 58, message.size()), message)) == 0xffff;
}

TEST(Ndp, NeighborSolicitGoesToTheSolicitedNodeGroup) {
    const uint128 target = *ws::parse_ipv6("2001:db8::1:2a3b:4c5d");
    Bytes out(128);
    out.resize(ws::build_neighbor_solicit(out.data(), our_mac, our_ip6, target));
    ASSERT_EQ(out.size(), 14u + 40 + 32);
    const ws::MacAddress group_mac{0x33, 0x33, 0xff, 0x3b, 0x4c, 0x5d};
    EXPECT_TRUE(std::equal(group_mac.begin(), group_mac.end(), out.begin()));
    EXPECT_TRUE(std::equal(our_mac.begin(), our_mac.end(), out.begin() + 6));
    EXPECT_EQ(get16(out, 12), 0x86dd);
    EXPECT_EQ(out[20], 58);  // next header
    EXPECT_EQ(out[21], 255); // hop limit
    EXPECT_EQ(get16(out, 18), 32);
    Bytes group;
    push128(group, *ws::parse_ipv6("ff02::1:ff3b:4c5d"));
    EXPECT_TRUE(std::equal(group.begin(), group.end(), out.begin() + 38));
    EXPECT_EQ(out[54], 135);
    EXPECT_EQ(out[55], 0);
    Bytes t;
    push128(t, target);
    EXPECT_TRUE(std::equal(t.begin(), t.end(), out.begin() + 62));
    EXPECT_EQ(out[78], 1); // source link-layer address option
    EXPECT_EQ(out[79], 1);
    EXPECT_TRUE(std::equal(our_mac.begin(), our_mac.end(), out.begin() + 80));
    EXPECT_TRUE(icmp6_checks(out));

    // Parsed back: an NS for `target` from us, our MAC from the option.
    const ws::ReplyContext context{0, nullptr};
    const ws::ParsedReply r = ws::parse_reply(out.data(), out.size(), context);
    ASSERT_EQ(r.kind, ws::ReplyKind::ndp_solicit) << ws::to_string(r.reject);
    EXPECT_EQ(r.ndp.sender_mac, our_mac);
    EXPECT_TRUE(r.ndp.sender_ip == our_ip6);
    EXPECT_TRUE(r.ndp.target_ip == target);
}

TEST(Ndp, NeighborAdvertCarriesFlagsAndTargetLinkLayerAddress) {
    const ws::ReplyContext context{0, nullptr};
    for (bool solicited : {false, true}) {
        Bytes out(128);
        out.resize(ws::build_neighbor_advert(out.data(), our_mac, our_ip6, gateway_mac, target_ip6, solicited));
        ASSERT_EQ(out.size(), 14u + 40 + 32);
        EXPECT_TRUE(std::equal(gateway_mac.begin(), gateway_mac.end(), out.begin()));
        EXPECT_EQ(out[21], 255);
        EXPECT_EQ(out[54], 136);
        EXPECT_EQ(out[58], solicited ? 0x60 : 0x20); // S and O; R clear
        EXPECT_EQ(out[78], 2);                       // target link-layer address option
        EXPECT_TRUE(icmp6_checks(out));
        const ws::ParsedReply r = ws::parse_reply(out.data(), out.size(), context);
        ASSERT_EQ(r.kind, ws::ReplyKind::ndp_advert) << ws::to_string(r.reject);
        EXPECT_EQ(r.ndp.sender_mac, our_mac);
        EXPECT_TRUE(r.ndp.sender_ip == our_ip6);
        EXPECT_TRUE(r.ndp.target_ip == our_ip6);
    }
    // Answering duplicate address detection (from ::): to all-nodes, not solicited.
    Bytes dad(128);
    dad.resize(ws::build_neighbor_advert(dad.data(), our_mac, our_ip6, gateway_mac, 0, true));
    const ws::MacAddress all_nodes_mac{0x33, 0x33, 0, 0, 0, 1};
    EXPECT_TRUE(std::equal(all_nodes_mac.begin(), all_nodes_mac.end(), dad.begin()));
    EXPECT_EQ(dad[58], 0x20);
    EXPECT_TRUE(icmp6_checks(dad));
    EXPECT_EQ(ws::parse_reply(dad.data(), dad.size(), context).kind, ws::ReplyKind::ndp_advert);
}

TEST(Ndp, RouterSolicitGoesToAllRouters) {
    Bytes out(128);
    out.resize(ws::build_router_solicit(out.data(), our_mac, our_ip6));
    ASSERT_EQ(out.size(), 14u + 40 + 16);
    const ws::MacAddress all_routers_mac{0x33, 0x33, 0, 0, 0, 2};
    EXPECT_TRUE(std::equal(all_routers_mac.begin(), all_routers_mac.end(), out.begin()));
    EXPECT_EQ(out[21], 255);
    EXPECT_EQ(out[53], 2); // ff02::2
    EXPECT_EQ(out[54], 133);
    EXPECT_EQ(out[62], 1); // source link-layer address option
    EXPECT_TRUE(icmp6_checks(out));
    // From :: it carries no option (RFC 4861 4.1).
    Bytes anon(128);
    anon.resize(ws::build_router_solicit(anon.data(), our_mac, 0));
    EXPECT_EQ(anon.size(), 14u + 40 + 8);
    EXPECT_TRUE(icmp6_checks(anon));
    // Parsed back: a well-formed ICMPv6 message we do not act on (an RS is for routers).
    ws::SourceAddresses sources;
    sources.add(ws::IpAddress::from_ipv6(our_ip6));
    ws::ReplyContext context{0, nullptr};
    context.sources = &sources;
    const ws::ParsedReply r = ws::parse_reply(out.data(), out.size(), context);
    EXPECT_EQ(r.kind, ws::ReplyKind::rejected);
    EXPECT_EQ(r.reject, ws::RejectReason::not_for_us);
}

TEST(Ndp, SolicitedNodeAndMulticastMac) {
    EXPECT_TRUE(ws::solicited_node(*ws::parse_ipv6("2001:db8::abcd:1234")) == *ws::parse_ipv6("ff02::1:ffcd:1234"));
    EXPECT_EQ(ws::multicast_mac(*ws::parse_ipv6("ff02::1:ffcd:1234")),
              (ws::MacAddress{0x33, 0x33, 0xff, 0xcd, 0x12, 0x34}));
}

} // namespace
