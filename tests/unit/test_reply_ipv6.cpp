// parse_reply over IPv6: TCP SYN-ACK / RST, UDP, ICMPv6 echo replies and
// destination unreachables quoting our probes, with several source addresses
// (each reply validates against the cookie of the address it was sent to);
// the extension-header walk; malformed headers; NDP (NS, NA, RA) and its
// validity checks. Also IPv4 with several sources. Frames are written here,
// checksums with this file's own sum.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "wirespeed/probe.hpp"
#include "wirespeed/probe_slots.hpp"
#include "wirespeed/reply.hpp"
#include "wirespeed/sources.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;
using ws::IpAddress;
using ws::uint128;

constexpr ws::MacAddress our_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr ws::MacAddress gateway_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0xfe};
constexpr ws::MacAddress router_lla_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x77};
const uint128 src1 = *ws::parse_ipv6("2001:db8::1");
const uint128 src2 = *ws::parse_ipv6("2001:db8::7"); // not next to src1: the sorted-set lookup
const uint128 not_ours = *ws::parse_ipv6("2001:db8::99");
const uint128 target = *ws::parse_ipv6("2001:db8:5::5");
const uint128 router = *ws::parse_ipv6("2001:db8:ff::1");
const uint128 router_ll = *ws::parse_ipv6("fe80::1");
constexpr std::uint32_t v4_src1 = 0xc6120001; // 198.18.0.1
constexpr std::uint32_t v4_src2 = 0xc6120009; // 198.18.0.9
constexpr std::uint32_t v4_target = 0xc6130005; // 198.19.0.5
constexpr ws::PortRange source_ports{40000, 40999};

void put16(std::uint8_t* p, std::uint16_t v) {
    p[0] = std::uint8_t(v >> 8);
    p[1] = std::uint8_t(v);
}
void push16(Bytes& b, std::uint16_t v) {
    b.push_back(std::uint8_t(v >> 8));
    b.push_back(std::uint8_t(v));
}
void push32(Bytes& b, std::uint32_t v) {
    push16(b, std::uint16_t(v >> 16));
    push16(b, std::uint16_t(v));
}
void push128(Bytes& b, uint128 v) {
    for (int i = 15; i >= 0; --i) b.push_back(std::uint8_t(v >> (8 * i)));
}
uint128 load128(const std::uint8_t* p) {
    uint128 v = 0;
    for (int i = 0; i < 16; ++i) v = (v << 8) | p[i];
    return v;
}

// This file's own ones' complement sum (not the library's).
std::uint16_t folded_sum(const std::uint8_t* p, std::size_t len, std::uint64_t sum = 0) {
    for (std::size_t i = 0; i < len; i += 2) sum += p[i] * 256u + (i + 1 < len ? p[i + 1] : 0u);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
    return std::uint16_t(sum);
}
std::uint64_t pseudo6(uint128 s, uint128 d, std::uint8_t nh, std::size_t len) {
    Bytes p;
    push128(p, s);
    push128(p, d);
    push32(p, std::uint32_t(len));
    p.insert(p.end(), {0, 0, 0, nh});
    return folded_sum(p.data(), p.size());
}
// Fills the L4 checksum at `sum_at` (offset inside l4) under the IPv6 pseudo header.
void checksum_l4(Bytes& l4, std::size_t sum_at, uint128 s, uint128 d, std::uint8_t nh) {
    put16(&l4[sum_at], 0);
    put16(&l4[sum_at], std::uint16_t(~folded_sum(l4.data(), l4.size(), pseudo6(s, d, nh, l4.size()))));
}

// Ethernet + IPv6 (+ extension headers, each (type, total bytes)) + l4.
Bytes frame6(uint128 s, uint128 d, std::uint8_t nh, const Bytes& l4, std::uint8_t hop = 57,
             const std::vector<std::pair<std::uint8_t, std::size_t>>& ext = {}) {
    Bytes b(our_mac.begin(), our_mac.end());
    b.insert(b.end(), gateway_mac.begin(), gateway_mac.end());
    push16(b, 0x86dd);
    std::size_t ext_len = 0;
    for (const auto& e : ext) ext_len += e.second;
    push32(b, 0x60000000);
    push16(b, std::uint16_t(ext_len + l4.size()));
    b.push_back(ext.empty() ? nh : ext.front().first);
    b.push_back(hop);
    push128(b, s);
    push128(b, d);
    for (std::size_t i = 0; i < ext.size(); ++i) {
        Bytes h(ext[i].second, 0);
        h[0] = i + 1 < ext.size() ? ext[i + 1].first : nh;
        h[1] = std::uint8_t(ext[i].second / 8 - 1);
        if (ext[i].first == 44) h[1] = 0; // a fragment header is 8 bytes, its second byte reserved
        b.insert(b.end(), h.begin(), h.end());
    }
    b.insert(b.end(), l4.begin(), l4.end());
    return b;
}

Bytes with_vlan(const Bytes& f) {
    Bytes out(f.begin(), f.begin() + 12);
    out.insert(out.end(), {0x81, 0x00, 0x00, 0x2a});
    out.insert(out.end(), f.begin() + 12, f.end());
    return out;
}

class Ipv6Reply : public ::testing::Test {
protected:
    ws::CookieMaker cookies{ws::CookieKey{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull}, source_ports};
    ws::SourceAddresses sources;
    ws::ReplyContext context{0, &cookies};

    void SetUp() override {
        sources.add(IpAddress::from_ipv6(src1));
        sources.add(IpAddress::from_ipv6(src2));
        sources.add(IpAddress::from_ipv4(v4_src1));
        sources.add(IpAddress::from_ipv4(v4_src2));
        context.sources = &sources;
    }

    ws::Cookie cookie(uint128 t, std::uint16_t port, uint128 s, ws::Proto proto) const {
        return cookies.make(IpAddress::from_ipv6(t), port, IpAddress::from_ipv6(s), proto);
    }

    // A TCP answer from target:port to `to`, valid for the probe `cookie_source` sent.
    Bytes tcp_reply(uint128 to, std::uint8_t flags, uint128 cookie_source, std::uint16_t port = 443) const {
        const ws::Cookie c = cookie(target, port, cookie_source, ws::Proto::tcp);
        ws::TcpSegment6 s{};
        s.source_mac = gateway_mac;
        s.destination_mac = our_mac;
        s.source_ip = target;
        s.destination_ip = to;
        s.source_port = port;
        s.destination_port = c.source_port;
        s.sequence = 0xdeadbeef;
        s.acknowledgment = c.isn + 1;
        s.flags = flags;
        s.window = 29200;
        s.hop_limit = 57;
        Bytes out(128);
        out.resize(ws::build_tcp_segment6(out.data(), s));
        return out;
    }

    Bytes udp_reply(uint128 to, std::uint16_t port, Bytes payload, bool zero_checksum = false) const {
        const ws::Cookie c = cookie(target, port, to, ws::Proto::udp);
        Bytes udp;
        push16(udp, port);
        push16(udp, c.source_port);
        push16(udp, std::uint16_t(8 + payload.size()));
        push16(udp, 0);
        udp.insert(udp.end(), payload.begin(), payload.end());
        if (!zero_checksum) checksum_l4(udp, 6, target, to, 17);
        return frame6(target, to, 17, udp);
    }

    Bytes echo_reply(uint128 to, std::uint8_t type = 129) const {
        const ws::Cookie c = cookie(target, 0, to, ws::Proto::icmp);
        Bytes icmp{type, 0, 0, 0};
        push32(icmp, c.isn);
        icmp.insert(icmp.end(), {1, 2, 3});
        checksum_l4(icmp, 2, target, to, 58);
        return frame6(target, to, 58, icmp);
    }

    // Our probe as the TX lcore sends it from `from`, then an ICMPv6
    // unreachable about it from `sender`.
    Bytes probe(ws::ProbeSlot slot, uint128 from, const Bytes& payload = {}) const {
        ws::ProbeConfig config;
        config.source_mac = our_mac;
        config.destination_mac = gateway_mac;
        config.source_ip6 = from;
        const ws::ProbeTemplate t(config, slot, payload.data(), payload.size(), ws::AddressFamily::ipv6);
        const ws::Cookie c = cookie(target, slot.port, from, slot.proto);
        Bytes frame(t.size());
        t.write6(frame.data(), ws::ProbeFields6{target, slot.port, c.source_port, c.isn, c.ip_id});
        return frame;
    }
    static Bytes unreachable(const Bytes& probe_frame, uint128 sender, uint128 to, std::uint8_t code,
                             std::size_t quote = 1000) {
        Bytes out(128);
        const std::size_t n = std::min(quote, probe_frame.size() - 14);
        out.resize(ws::build_icmp6_unreachable(out.data(), gateway_mac, our_mac, sender, to, code, probe_frame.data() + 14, n));
        return out;
    }

    ws::ParsedReply parse(const Bytes& f) const { return ws::parse_reply(f.data(), f.size(), context); }
    void expect_rejected(const Bytes& f, ws::RejectReason reason) const {
        const ws::ParsedReply r = parse(f);
        EXPECT_EQ(r.kind, ws::ReplyKind::rejected);
        EXPECT_EQ(r.reject, reason) << "got " << ws::to_string(r.reject) << ", want " << ws::to_string(reason);
    }
    void expect_result(const Bytes& f, ws::Proto proto, std::uint16_t port, ws::PortState state, ws::Reason reason,
                       uint128 local) const {
        const ws::ParsedReply r = parse(f);
        ASSERT_EQ(r.kind, ws::ReplyKind::result) << ws::to_string(r.reject);
        EXPECT_EQ(r.record.family, ws::AddressFamily::ipv6);
        EXPECT_TRUE(r.record.address() == IpAddress::from_ipv6(target));
        EXPECT_EQ(r.record.proto, proto);
        EXPECT_EQ(r.record.port, port);
        EXPECT_EQ(r.record.state, state);
        EXPECT_EQ(r.record.reason, reason);
        EXPECT_TRUE(r.local_address == IpAddress::from_ipv6(local));
    }
};

TEST_F(Ipv6Reply, SynAckAndRstToEitherSourceValidateWithThatSourcesCookie) {
    for (uint128 s : {src1, src2}) {
        const Bytes f = tcp_reply(s, 0x12, s);
        expect_result(f, ws::Proto::tcp, 443, ws::PortState::open, ws::Reason::syn_ack, s);
        const ws::ParsedReply r = parse(f);
        EXPECT_EQ(r.record.ttl, 57);
        EXPECT_EQ(r.record.window, 29200);
        EXPECT_EQ(r.tcp_seq, 0xdeadbeefu);
        EXPECT_EQ(r.local_port, cookie(target, 443, s, ws::Proto::tcp).source_port);
        expect_result(tcp_reply(s, 0x14, s), ws::Proto::tcp, 443, ws::PortState::closed, ws::Reason::reset, s);
        expect_result(with_vlan(f), ws::Proto::tcp, 443, ws::PortState::open, ws::Reason::syn_ack, s);
    }
}

TEST_F(Ipv6Reply, TheCookieIsTheAddressTheReplyWasSentTo) {
    // Valid for a probe from src1, but delivered to src2: not ours.
    const Bytes f = tcp_reply(src2, 0x12, src1);
    const ws::ParsedReply r = parse(f);
    EXPECT_EQ(r.kind, ws::ReplyKind::rejected);
    EXPECT_TRUE(r.reject == ws::RejectReason::bad_cookie || r.reject == ws::RejectReason::wrong_source_port);
    expect_rejected(tcp_reply(not_ours, 0x12, not_ours), ws::RejectReason::not_for_us);
}

TEST_F(Ipv6Reply, WithoutSourcesIpv6IsNotForUs) {
    const ws::ReplyContext v4_only{v4_src1, &cookies};
    const Bytes f = tcp_reply(src1, 0x12, src1);
    const ws::ParsedReply r = ws::parse_reply(f.data(), f.size(), v4_only);
    EXPECT_EQ(r.kind, ws::ReplyKind::rejected);
    EXPECT_EQ(r.reject, ws::RejectReason::not_for_us);
}

TEST_F(Ipv6Reply, TcpChecksumCoversThePseudoHeader) {
    Bytes f = tcp_reply(src1, 0x12, src1);
    f[14 + 8 + 15] ^= 0x01; // the source address: the segment itself is untouched
    expect_rejected(f, ws::RejectReason::bad_tcp_checksum);
    const Bytes good = tcp_reply(src1, 0x12, src1);
    const ws::ParsedReply hinted = ws::parse_reply(good.data(), good.size(), context, {ws::ChecksumHint::unknown, ws::ChecksumHint::bad});
    EXPECT_EQ(hinted.reject, ws::RejectReason::bad_tcp_checksum);
}

TEST_F(Ipv6Reply, UdpAnswersWithDnsIdAndChecksumRules) {
    const ws::Cookie c = cookie(target, 53, src2, ws::Proto::udp);
    Bytes dns = {0, 0, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0};
    put16(dns.data(), std::uint16_t(c.isn));
    const Bytes f = udp_reply(src2, 53, dns);
    expect_result(f, ws::Proto::udp, 53, ws::PortState::open, ws::Reason::udp_response, src2);
    const ws::ParsedReply r = parse(f);
    ASSERT_EQ(r.data_len, dns.size());
    EXPECT_EQ(0, std::memcmp(r.data, dns.data(), dns.size()));

    Bytes wrong_id = dns;
    wrong_id[1] ^= 1;
    expect_rejected(udp_reply(src2, 53, wrong_id), ws::RejectReason::bad_cookie);
    // RFC 8200 8.1: a zero UDP checksum is not "none" over IPv6.
    expect_rejected(udp_reply(src2, 53, dns, true), ws::RejectReason::bad_udp_checksum);
    Bytes bad = udp_reply(src1, 161, {0x30, 0x01});
    bad.back() ^= 0x40;
    expect_rejected(bad, ws::RejectReason::bad_udp_checksum);
    expect_result(udp_reply(src1, 161, {0x30, 0x01}), ws::Proto::udp, 161, ws::PortState::open,
                  ws::Reason::udp_response, src1);
}

TEST_F(Ipv6Reply, Icmpv6EchoReplyIsUp) {
    for (uint128 s : {src1, src2})
        expect_result(echo_reply(s), ws::Proto::icmp, 0, ws::PortState::up, ws::Reason::echo_reply, s);
    Bytes bad = echo_reply(src1);
    bad[14 + 40 + 4] ^= 0x80; // identifier; checksum now wrong
    expect_rejected(bad, ws::RejectReason::bad_icmp_checksum);
    // An echo request to us, or the pseudo header's destination changed, is not an answer.
    expect_rejected(echo_reply(src1, 128), ws::RejectReason::icmp_not_unreach);
    Bytes moved = echo_reply(src1);
    moved[14 + 39] ^= 0x06; // src1 -> src2 (::1 -> ::7) without fixing the checksum
    expect_rejected(moved, ws::RejectReason::bad_icmp_checksum);
}

TEST_F(Ipv6Reply, UnreachablesQuotingOurProbesAreClassifiedByTheirModule) {
    const Bytes udp_probe = probe({ws::Proto::udp, 161, 0}, src2, {0x30, 0x26});
    const Bytes syn = probe({ws::Proto::tcp, 443, 0}, src1);
    const Bytes echo = probe({ws::Proto::icmp, 0, 0}, src2);
    // Port unreachable from the target itself: closed; from a router: filtered.
    expect_result(unreachable(udp_probe, target, src2, 4), ws::Proto::udp, 161, ws::PortState::closed,
                  ws::Reason::port_unreach, src2);
    expect_result(unreachable(udp_probe, router, src2, 4), ws::Proto::udp, 161, ws::PortState::filtered,
                  ws::Reason::port_unreach, src2);
    expect_result(unreachable(udp_probe, router, src2, 1), ws::Proto::udp, 161, ws::PortState::filtered,
                  ws::Reason::admin_prohibited, src2);
    expect_result(unreachable(syn, router, src1, 1), ws::Proto::tcp, 443, ws::PortState::filtered,
                  ws::Reason::admin_prohibited, src1);
    expect_result(unreachable(syn, router, src1, 0), ws::Proto::tcp, 443, ws::PortState::filtered,
                  ws::Reason::net_unreach, src1);
    expect_result(unreachable(syn, router, src1, 5), ws::Proto::tcp, 443, ws::PortState::filtered,
                  ws::Reason::unreach_other, src1);
    expect_result(unreachable(echo, router, src2, 3), ws::Proto::icmp, 0, ws::PortState::filtered,
                  ws::Reason::host_unreach, src2);
    const ws::ParsedReply r = parse(unreachable(syn, router, src1, 1));
    EXPECT_EQ(r.tcp_seq, 0u); // nothing to reset
}

TEST_F(Ipv6Reply, ForgedOrForeignQuotesAreRejected) {
    const Bytes udp_probe = probe({ws::Proto::udp, 161, 0}, src2, {0x30, 0x26});
    // The flow label carries the cookie's IP ID: a quote with another is not ours.
    Bytes relabelled = udp_probe;
    relabelled[14 + 3] ^= 1;
    expect_rejected(unreachable(relabelled, router, src2, 4), ws::RejectReason::bad_cookie);
    // A probe from an address that is not ours.
    expect_rejected(unreachable(probe({ws::Proto::tcp, 443, 0}, not_ours), router, src1, 1),
                    ws::RejectReason::bad_cookie);
    // Too short a quote to hold the ports, and one flipped bit in the quote.
    expect_rejected(unreachable(udp_probe, router, src2, 4, 40 + 7), ws::RejectReason::truncated);
    Bytes flipped = unreachable(udp_probe, router, src2, 4);
    flipped[14 + 40 + 8 + 40 + 1] ^= 1;
    expect_rejected(flipped, ws::RejectReason::bad_icmp_checksum);
    // To an address not ours.
    expect_rejected(unreachable(udp_probe, router, not_ours, 4), ws::RejectReason::not_for_us);
}

TEST_F(Ipv6Reply, ExtensionHeadersAreWalked) {
    const ws::Cookie c = cookie(target, 443, src1, ws::Proto::tcp);
    Bytes tcp;
    push16(tcp, 443);
    push16(tcp, c.source_port);
    push32(tcp, 1);
    push32(tcp, c.isn + 1);
    tcp.insert(tcp.end(), {0x50, 0x12, 0x10, 0x00, 0, 0, 0, 0});
    checksum_l4(tcp, 16, target, src1, 6);
    // Hop-by-hop, routing (segments left 0), destination options: skipped.
    const Bytes walked = frame6(target, src1, 6, tcp, 57, {{0, 8}, {43, 24}, {60, 16}});
    expect_result(walked, ws::Proto::tcp, 443, ws::PortState::open, ws::Reason::syn_ack, src1);
    // Up to 8 are walked; a ninth is not a reply of ours.
    std::vector<std::pair<std::uint8_t, std::size_t>> eight(8, {60, 8}), nine(9, {60, 8});
    expect_result(frame6(target, src1, 6, tcp, 57, eight), ws::Proto::tcp, 443, ws::PortState::open,
                  ws::Reason::syn_ack, src1);
    expect_rejected(frame6(target, src1, 6, tcp, 57, nine), ws::RejectReason::bad_ipv6_header);
    // A fragment header anywhere in the chain.
    expect_rejected(frame6(target, src1, 6, tcp, 57, {{44, 8}}), ws::RejectReason::fragment);
    expect_rejected(frame6(target, src1, 6, tcp, 57, {{0, 8}, {44, 8}}), ws::RejectReason::fragment);
    // An extension header claiming more than the payload holds.
    Bytes overlong = frame6(target, src1, 6, tcp, 57, {{60, 8}});
    overlong[14 + 40 + 1] = 200;
    expect_rejected(overlong, ws::RejectReason::truncated);
}

TEST_F(Ipv6Reply, MalformedHeadersAndEveryTruncation) {
    const Bytes good = tcp_reply(src1, 0x12, src1);
    Bytes v4 = good;
    v4[14] = 0x45;
    expect_rejected(v4, ws::RejectReason::bad_ipv6_header);
    Bytes jumbo = good;
    put16(&jumbo[14 + 4], 0);
    expect_rejected(jumbo, ws::RejectReason::bad_ipv6_header);
    Bytes longer = good;
    put16(&longer[14 + 4], std::uint16_t(good.size() - 14 - 40 + 1));
    expect_rejected(longer, ws::RejectReason::truncated);
    // Ethernet padding after the payload is ignored.
    Bytes padded = good;
    padded.resize(good.size() + 6, 0);
    EXPECT_EQ(parse(padded).kind, ws::ReplyKind::result);
    // Every cut, each in a buffer of exactly that size (ASan sees any over-read).
    for (const Bytes& f : {good, unreachable(probe({ws::Proto::udp, 53, 0}, src1), router, src1, 4), echo_reply(src2)})
        for (std::size_t len = 0; len < f.size(); ++len) {
            const Bytes cut(f.begin(), f.begin() + long(len));
            EXPECT_EQ(parse(cut).kind, ws::ReplyKind::rejected) << len;
        }
}

// ---- NDP

// Recomputes the ICMPv6 checksum of an NDP frame after a test changed it.
void refresh_icmp6(Bytes& f) {
    Bytes l4(f.begin() + 54, f.end());
    checksum_l4(l4, 2, load128(&f[22]), load128(&f[38]), 58);
    std::copy(l4.begin(), l4.end(), f.begin() + 54);
}

// A Router Advertisement from `from` to all-nodes, with a source link-layer option and a prefix option.
Bytes router_advert(uint128 from, bool with_lla = true) {
    Bytes ra{134, 0, 0, 0, 64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0};
    if (with_lla) {
        ra.insert(ra.end(), {1, 1});
        ra.insert(ra.end(), router_lla_mac.begin(), router_lla_mac.end());
    }
    Bytes prefix(32, 0); // prefix information option
    prefix[0] = 3;
    prefix[1] = 4;
    prefix[2] = 64;
    ra.insert(ra.end(), prefix.begin(), prefix.end());
    const uint128 all_nodes = *ws::parse_ipv6("ff02::1");
    checksum_l4(ra, 2, from, all_nodes, 58);
    return frame6(from, all_nodes, 58, ra, 255);
}

TEST_F(Ipv6Reply, NdpMessagesAreParsedWithoutTheForUsCheck) {
    Bytes ns(128);
    ns.resize(ws::build_neighbor_solicit(ns.data(), gateway_mac, router, src2));
    ws::ParsedReply r = parse(ns);
    ASSERT_EQ(r.kind, ws::ReplyKind::ndp_solicit) << ws::to_string(r.reject);
    EXPECT_EQ(r.ndp.sender_mac, gateway_mac);
    EXPECT_TRUE(r.ndp.sender_ip == router);
    EXPECT_TRUE(r.ndp.target_ip == src2);
    // Not one of our addresses: still an NS (the RX lcore decides), and without any source set.
    const ws::ReplyContext none{0, nullptr};
    ns.resize(128);
    ns.resize(ws::build_neighbor_solicit(ns.data(), gateway_mac, router, not_ours));
    EXPECT_EQ(ws::parse_reply(ns.data(), ns.size(), none).kind, ws::ReplyKind::ndp_solicit);
    EXPECT_EQ(parse(with_vlan(ns)).kind, ws::ReplyKind::ndp_solicit);

    Bytes na(128);
    na.resize(ws::build_neighbor_advert(na.data(), gateway_mac, router, our_mac, src1, true));
    r = parse(na);
    ASSERT_EQ(r.kind, ws::ReplyKind::ndp_advert) << ws::to_string(r.reject);
    EXPECT_EQ(r.ndp.sender_mac, gateway_mac);
    EXPECT_TRUE(r.ndp.target_ip == router);
    // Without the target link-layer option: the Ethernet source.
    Bytes bare = na;
    bare.resize(na.size() - 8);
    put16(&bare[14 + 4], 24);
    std::memcpy(&bare[6], router_lla_mac.data(), 6);
    refresh_icmp6(bare);
    r = parse(bare);
    ASSERT_EQ(r.kind, ws::ReplyKind::ndp_advert) << ws::to_string(r.reject);
    EXPECT_EQ(r.ndp.sender_mac, router_lla_mac);

    r = parse(router_advert(router_ll));
    ASSERT_EQ(r.kind, ws::ReplyKind::router_advert) << ws::to_string(r.reject);
    EXPECT_TRUE(r.ndp.sender_ip == router_ll);
    EXPECT_EQ(r.ndp.sender_mac, router_lla_mac);
    r = parse(router_advert(router_ll, false));
    ASSERT_EQ(r.kind, ws::ReplyKind::router_advert);
    EXPECT_EQ(r.ndp.sender_mac, gateway_mac); // frame6's Ethernet source
}

TEST_F(Ipv6Reply, MalformedNdpIsRejected) {
    Bytes ns(128);
    ns.resize(ws::build_neighbor_solicit(ns.data(), gateway_mac, router, src2));
    auto mutated = [&](auto change) {
        Bytes f = ns;
        change(f);
        refresh_icmp6(f);
        return f;
    };
    expect_rejected(mutated([](Bytes& f) { f[21] = 254; }), ws::RejectReason::bad_ndp); // forwarded: off-link
    expect_rejected(mutated([](Bytes& f) { f[55] = 1; }), ws::RejectReason::bad_ndp);   // code
    expect_rejected(mutated([](Bytes& f) { f[79] = 0; }), ws::RejectReason::bad_ndp);   // option length 0
    expect_rejected(mutated([](Bytes& f) { f[79] = 2; }), ws::RejectReason::bad_ndp);   // option past the end
    expect_rejected(mutated([](Bytes& f) { f[62] = 0xff; }), ws::RejectReason::bad_ndp); // multicast target
    expect_rejected(mutated([](Bytes& f) { // duplicate address detection with a link-layer option
                        std::memset(&f[22], 0, 16);
                    }),
                    ws::RejectReason::bad_ndp);
    expect_rejected(mutated([](Bytes& f) { // body shorter than the target
                        f.resize(54 + 20);
                        put16(&f[18], 20);
                    }),
                    ws::RejectReason::bad_ndp);
    Bytes bad_sum = ns;
    bad_sum[70] ^= 1;
    expect_rejected(bad_sum, ws::RejectReason::bad_icmp_checksum);
    // An RA must come from a link-local address.
    expect_rejected(router_advert(router), ws::RejectReason::bad_ndp);
    Bytes short_ra = router_advert(router_ll, false);
    short_ra.resize(54 + 12);
    put16(&short_ra[18], 12);
    refresh_icmp6(short_ra);
    expect_rejected(short_ra, ws::RejectReason::bad_ndp);
}

// --send-reset: the RST leaves from the address the SYN-ACK came to.
TEST_F(Ipv6Reply, ResetLeavesFromTheAddressTheSynAckCameTo) {
    const ws::ParsedReply r = parse(tcp_reply(src2, 0x12, src2));
    ASSERT_EQ(r.kind, ws::ReplyKind::result);
    Bytes rst(128);
    rst.resize(ws::build_reset(rst.data(), r, our_mac, gateway_mac, cookies));
    ASSERT_EQ(rst.size(), 14u + 40 + 20);
    const ws::Cookie c = cookie(target, 443, src2, ws::Proto::tcp);
    ws::TcpSegment6 want{};
    want.source_mac = our_mac;
    want.destination_mac = gateway_mac;
    want.source_ip = src2;
    want.destination_ip = target;
    want.source_port = c.source_port;
    want.destination_port = 443;
    want.sequence = c.isn + 1;
    want.flags = 0x04;
    want.hop_limit = 64;
    Bytes expected(128);
    expected.resize(ws::build_tcp_segment6(expected.data(), want));
    EXPECT_EQ(rst, expected);
    EXPECT_EQ(folded_sum(&rst[54], 20, pseudo6(src2, target, 6, 20)), 0xffff);

    // IPv4: what the RX lcore built before many sources, from the source the SYN-ACK reached.
    const ws::Cookie c4 = cookies.make(v4_target, 80, v4_src2);
    ws::TcpSegment s{};
    s.source_mac = gateway_mac;
    s.destination_mac = our_mac;
    s.source_ip = v4_target;
    s.destination_ip = v4_src2;
    s.source_port = 80;
    s.destination_port = c4.source_port;
    s.acknowledgment = c4.isn + 1;
    s.flags = 0x12;
    s.ttl = 50;
    Bytes syn_ack(128);
    syn_ack.resize(ws::build_tcp_segment(syn_ack.data(), s));
    const ws::ParsedReply r4 = parse(syn_ack);
    ASSERT_EQ(r4.kind, ws::ReplyKind::result);
    Bytes rst4(128);
    rst4.resize(ws::build_reset(rst4.data(), r4, our_mac, gateway_mac, cookies));
    ws::TcpSegment want4{};
    want4.source_mac = our_mac;
    want4.destination_mac = gateway_mac;
    want4.source_ip = v4_src2;
    want4.destination_ip = v4_target;
    want4.source_port = c4.source_port;
    want4.destination_port = 80;
    want4.sequence = c4.isn + 1;
    want4.flags = 0x04;
    want4.ttl = 64;
    want4.ip_id = c4.ip_id;
    Bytes expected4(128);
    expected4.resize(ws::build_tcp_segment(expected4.data(), want4));
    EXPECT_EQ(rst4, expected4);
}

// ---- IPv4 with several sources

TEST_F(Ipv6Reply, Ipv4RepliesValidateAgainstTheSourceTheyWereSentTo) {
    auto syn_ack = [&](std::uint32_t to, std::uint32_t cookie_source) {
        const ws::Cookie c = cookies.make(v4_target, 80, cookie_source);
        ws::TcpSegment s{};
        s.source_mac = gateway_mac;
        s.destination_mac = our_mac;
        s.source_ip = v4_target;
        s.destination_ip = to;
        s.source_port = 80;
        s.destination_port = c.source_port;
        s.acknowledgment = c.isn + 1;
        s.flags = 0x12;
        s.ttl = 50;
        Bytes out(128);
        out.resize(ws::build_tcp_segment(out.data(), s));
        return out;
    };
    for (std::uint32_t s : {v4_src1, v4_src2}) {
        const ws::ParsedReply r = parse(syn_ack(s, s));
        ASSERT_EQ(r.kind, ws::ReplyKind::result) << ws::to_string(r.reject);
        EXPECT_EQ(r.record.family, ws::AddressFamily::ipv4);
        EXPECT_EQ(r.record.ipv4(), v4_target);
        EXPECT_TRUE(r.local_address == IpAddress::from_ipv4(s));
    }
    const ws::ParsedReply crossed = parse(syn_ack(v4_src2, v4_src1));
    EXPECT_EQ(crossed.kind, ws::ReplyKind::rejected);
    expect_rejected(syn_ack(0xc6120005, 0xc6120005), ws::RejectReason::not_for_us); // between the two
    // Without a source set, the single source_ip as before; local_address is it.
    const ws::ReplyContext single{v4_src1, &cookies};
    const Bytes f = syn_ack(v4_src1, v4_src1);
    const ws::ParsedReply r = ws::parse_reply(f.data(), f.size(), single);
    ASSERT_EQ(r.kind, ws::ReplyKind::result);
    EXPECT_TRUE(r.local_address == IpAddress::from_ipv4(v4_src1));
}

} // namespace
