#include "wirespeed/reply.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "wirespeed/probe.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr ws::MacAddress our_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr ws::MacAddress gateway_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0xfe};
constexpr std::uint32_t our_ip = 0x0a000001;    // 10.0.0.1
constexpr std::uint32_t target_ip = 0xc0000205; // 192.0.2.5
constexpr std::uint32_t router_ip = 0xc6336401; // 198.51.100.1
constexpr ws::PortRange source_ports{40000, 40999};

std::uint16_t be16(const std::uint8_t* p) { return std::uint16_t((p[0] << 8) | p[1]); }
void put16(std::uint8_t* p, std::uint16_t v) {
    p[0] = std::uint8_t(v >> 8);
    p[1] = std::uint8_t(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
    put16(p, std::uint16_t(v >> 16));
    put16(p + 2, std::uint16_t(v));
}

class ReplyTest : public ::testing::Test {
protected:
    ws::CookieMaker cookies{ws::CookieKey{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull}, source_ports};
    ws::ReplyContext context{our_ip, &cookies};

    ws::Cookie cookie_for(std::uint32_t ip, std::uint16_t port) const { return cookies.make(ip, port, our_ip); }

    // A reply from target:port to the probe the cookie says we sent.
    ws::TcpSegment reply_segment(std::uint32_t ip, std::uint16_t port, std::uint8_t flags) const {
        const ws::Cookie c = cookie_for(ip, port);
        ws::TcpSegment s{};
        s.source_mac = gateway_mac;
        s.destination_mac = our_mac;
        s.source_ip = ip;
        s.destination_ip = our_ip;
        s.source_port = port;
        s.destination_port = c.source_port;
        s.sequence = 0xdeadbeef;
        s.acknowledgment = c.isn + 1;
        s.flags = flags;
        s.window = 29200;
        s.ttl = 57;
        s.ip_id = 0x0bcd;
        s.with_mss = flags == 0x12;
        return s;
    }

    static Bytes build(const ws::TcpSegment& s) {
        Bytes out(128);
        out.resize(ws::build_tcp_segment(out.data(), s));
        return out;
    }

    // The IPv4 part of the probe we would have sent to ip:port.
    Bytes probe_ip(std::uint32_t ip, std::uint16_t port) const {
        const ws::Cookie c = cookie_for(ip, port);
        ws::ProbeConfig config;
        config.source_mac = our_mac;
        config.destination_mac = gateway_mac;
        config.source_ip = our_ip;
        const ws::ProbeTemplate t(config);
        Bytes frame(t.size());
        t.write(frame.data(), ws::ProbeFields{ip, port, c.source_port, c.isn, c.ip_id});
        return Bytes(frame.begin() + 14, frame.end());
    }

    static Bytes icmp_quoting(const Bytes& quoted, std::uint8_t code, std::uint8_t type = 3) {
        Bytes out(128);
        out.resize(ws::build_icmp_unreachable(out.data(), gateway_mac, our_mac, router_ip, our_ip, code, quoted.data(),
                                              quoted.size()));
        out[34] = type;
        fix_icmp_checksum(out);
        return out;
    }

    static void fix_ip_checksum(Bytes& frame, std::size_t ip_at = 14) {
        const std::size_t ihl = std::size_t(frame[ip_at] & 0x0f) * 4;
        put16(&frame[ip_at + 10], 0);
        put16(&frame[ip_at + 10], ws::checksum_fold(ws::checksum_partial(&frame[ip_at], ihl)));
    }

    static void fix_icmp_checksum(Bytes& frame) {
        const std::size_t ihl = std::size_t(frame[14] & 0x0f) * 4;
        const std::size_t at = 14 + ihl;
        const std::size_t len = be16(&frame[16]) - ihl;
        put16(&frame[at + 2], 0);
        put16(&frame[at + 2], ws::checksum_fold(ws::checksum_partial(&frame[at], len)));
    }

    // Inserts IPv4 options (NOPs ending with EOL) so the header has `ihl` words.
    static Bytes with_ip_options(const Bytes& frame, unsigned ihl, std::size_t ip_at = 14) {
        const std::size_t extra = (ihl - 5) * 4;
        Bytes out(frame.begin(), frame.begin() + std::ptrdiff_t(ip_at + 20));
        for (std::size_t i = 0; i < extra; ++i)
            out.push_back(i + 1 == extra ? 0x00 : 0x01);
        out.insert(out.end(), frame.begin() + std::ptrdiff_t(ip_at + 20), frame.end());
        out[ip_at] = std::uint8_t(0x40 | ihl);
        put16(&out[ip_at + 2], std::uint16_t(be16(&out[ip_at + 2]) + extra));
        fix_ip_checksum(out, ip_at);
        return out;
    }

    static Bytes with_vlan(const Bytes& frame) {
        const std::uint8_t tag[4] = {0x81, 0x00, 0x00, 0x64}; // TPID, VLAN 100
        if (frame.size() < 14)
            return frame;
        Bytes out(frame.size() + sizeof tag);
        std::memcpy(out.data(), frame.data(), 12);
        std::memcpy(out.data() + 12, tag, sizeof tag);
        std::memcpy(out.data() + 16, frame.data() + 12, frame.size() - 12);
        return out;
    }

    // Parses from an exactly-sized heap copy so ASan flags any read past len.
    ws::ParsedReply parse(const Bytes& frame) const {
        auto copy = std::make_unique<std::uint8_t[]>(frame.size());
        if (!frame.empty())
            std::memcpy(copy.get(), frame.data(), frame.size());
        return ws::parse_reply(copy.get(), frame.size(), context);
    }

    void expect_rejected(const Bytes& frame, ws::RejectReason reason) const {
        const ws::ParsedReply r = parse(frame);
        ASSERT_EQ(r.kind, ws::ReplyKind::rejected);
        EXPECT_EQ(r.reject, reason) << "got " << ws::to_string(r.reject) << ", want " << ws::to_string(reason);
    }

    static ws::ResultRecord expected_record(std::uint32_t ip, std::uint16_t port, std::uint16_t window,
                                            std::uint8_t ttl, ws::PortState state, ws::Reason reason) {
        ws::ResultRecord r{};
        r.set_ipv4(ip);
        r.port = port;
        r.window = window;
        r.proto = ws::Proto::tcp;
        r.state = state;
        r.reason = reason;
        r.ttl = ttl;
        return r;
    }

    static void expect_record(const ws::ParsedReply& got, const ws::ResultRecord& want) {
        ASSERT_EQ(got.kind, ws::ReplyKind::result) << ws::to_string(got.reject);
        EXPECT_EQ(got.record.ipv4(), want.ipv4());
        EXPECT_EQ(got.record.port, want.port);
        EXPECT_EQ(got.record.window, want.window);
        EXPECT_EQ(got.record.state, want.state);
        EXPECT_EQ(got.record.reason, want.reason);
        EXPECT_EQ(got.record.ttl, want.ttl);
        EXPECT_EQ(got.record.elapsed_ms, 0u);
        // Every byte, reserved and address prefix included.
        EXPECT_EQ(std::memcmp(&got.record, &want, sizeof want), 0);
    }

    void expect_every_truncation_rejected(const Bytes& frame) const {
        for (std::size_t len = 0; len < frame.size(); ++len) {
            const ws::ParsedReply r = parse(Bytes(frame.begin(), frame.begin() + std::ptrdiff_t(len)));
            ASSERT_EQ(r.kind, ws::ReplyKind::rejected) << "len " << len;
            EXPECT_EQ(r.reject, ws::RejectReason::truncated) << "len " << len << ": " << ws::to_string(r.reject);
        }
    }
};

TEST_F(ReplyTest, SynAckIsOpen) {
    const Bytes frame = build(reply_segment(target_ip, 443, 0x12));
    const ws::ParsedReply r = parse(frame);
    expect_record(r, expected_record(target_ip, 443, 29200, 57, ws::PortState::open, ws::Reason::syn_ack));
    EXPECT_EQ(r.tcp_seq, 0xdeadbeefu);
    EXPECT_EQ(r.local_port, cookie_for(target_ip, 443).source_port);
}

TEST_F(ReplyTest, SynAckWithPushOrEceStillOpen) {
    // Extra flag bits (ECE, PSH) do not make a SYN-ACK something else.
    const Bytes frame = build(reply_segment(target_ip, 22, 0x12 | 0x40 | 0x08));
    expect_record(parse(frame), expected_record(target_ip, 22, 29200, 57, ws::PortState::open, ws::Reason::syn_ack));
}

TEST_F(ReplyTest, RstAckIsClosed) {
    ws::TcpSegment s = reply_segment(target_ip, 8080, 0x14);
    s.window = 0;
    s.sequence = 0;
    const ws::ParsedReply r = parse(build(s));
    expect_record(r, expected_record(target_ip, 8080, 0, 57, ws::PortState::closed, ws::Reason::reset));
    EXPECT_EQ(r.tcp_seq, 0u);
    EXPECT_EQ(r.local_port, s.destination_port);
}

TEST_F(ReplyTest, RstVariantsAcceptedLiberally) {
    const ws::Cookie c = cookie_for(target_ip, 25);
    const auto want = expected_record(target_ip, 25, 29200, 57, ws::PortState::closed, ws::Reason::reset);

    ws::TcpSegment bare = reply_segment(target_ip, 25, 0x04); // RST without ACK, seq = ISN + 1
    bare.acknowledgment = 0;
    bare.sequence = c.isn + 1;
    expect_record(parse(build(bare)), want);

    ws::TcpSegment ack_isn = reply_segment(target_ip, 25, 0x14); // acks the bare ISN
    ack_isn.acknowledgment = c.isn;
    expect_record(parse(build(ack_isn)), want);

    ws::TcpSegment off = reply_segment(target_ip, 25, 0x14); // neither ISN nor ISN + 1
    off.acknowledgment = c.isn + 2;
    expect_rejected(build(off), ws::RejectReason::bad_cookie);

    ws::TcpSegment seq_with_ack = reply_segment(target_ip, 25, 0x14); // seq match only counts without ACK
    seq_with_ack.acknowledgment = c.isn - 1;
    seq_with_ack.sequence = c.isn + 1;
    expect_rejected(build(seq_with_ack), ws::RejectReason::bad_cookie);

    ws::TcpSegment bare_wrong = reply_segment(target_ip, 25, 0x04);
    bare_wrong.acknowledgment = 0;
    bare_wrong.sequence = c.isn + 7;
    expect_rejected(build(bare_wrong), ws::RejectReason::bad_cookie);
}

TEST_F(ReplyTest, SynAckAckOffByOneIsBadCookie) {
    const ws::Cookie c = cookie_for(target_ip, 443);
    for (std::uint32_t ack : {c.isn, c.isn + 2, c.isn - 1, ~c.isn}) {
        ws::TcpSegment s = reply_segment(target_ip, 443, 0x12);
        s.acknowledgment = ack;
        expect_rejected(build(s), ws::RejectReason::bad_cookie);
    }
}

TEST_F(ReplyTest, ReplyFromOtherTargetIsBadCookie) {
    // The ack is right for 443 but the reply claims to come from 444.
    ws::TcpSegment s = reply_segment(target_ip, 443, 0x12);
    s.source_port = 444;
    const ws::Cookie c444 = cookie_for(target_ip, 444);
    if (c444.isn + 1 == s.acknowledgment && c444.source_port == s.destination_port)
        GTEST_SKIP() << "cookie collision";
    expect_rejected(build(s), ws::RejectReason::bad_cookie);
}

TEST_F(ReplyTest, PortInRangeButNotTheCookiesIsBadCookie) {
    ws::TcpSegment s = reply_segment(target_ip, 443, 0x12);
    s.destination_port = std::uint16_t(s.destination_port == source_ports.last ? source_ports.first
                                                                               : s.destination_port + 1);
    expect_rejected(build(s), ws::RejectReason::bad_cookie);
}

TEST_F(ReplyTest, WrongSourcePort) {
    for (std::uint16_t port : {std::uint16_t(source_ports.first - 1), std::uint16_t(source_ports.last + 1),
                               std::uint16_t(80), std::uint16_t(65535)}) {
        ws::TcpSegment s = reply_segment(target_ip, 443, 0x12);
        s.destination_port = port;
        expect_rejected(build(s), ws::RejectReason::wrong_source_port);
    }
}

TEST_F(ReplyTest, NotSynAckOrRst) {
    for (std::uint8_t flags : {0x10, 0x02, 0x18, 0x11, 0x00}) {
        expect_rejected(build(reply_segment(target_ip, 443, flags)), ws::RejectReason::not_syn_ack_or_rst);
    }
}

TEST_F(ReplyTest, VlanTaggedSynAck) {
    const Bytes frame = with_vlan(build(reply_segment(target_ip, 443, 0x12)));
    expect_record(parse(frame), expected_record(target_ip, 443, 29200, 57, ws::PortState::open, ws::Reason::syn_ack));
    expect_every_truncation_rejected(frame);
}

TEST_F(ReplyTest, DoubleVlanTagIsNotIpv4) {
    expect_rejected(with_vlan(with_vlan(build(reply_segment(target_ip, 443, 0x12)))), ws::RejectReason::not_ipv4);
}

TEST_F(ReplyTest, IpOptionsEveryIhl) {
    for (unsigned ihl = 6; ihl <= 15; ++ihl) {
        const Bytes frame = with_ip_options(build(reply_segment(target_ip, 443, 0x12)), ihl);
        expect_record(parse(frame),
                      expected_record(target_ip, 443, 29200, 57, ws::PortState::open, ws::Reason::syn_ack));
        const Bytes rst = with_ip_options(build(reply_segment(target_ip, 443, 0x14)), ihl);
        expect_record(parse(rst), expected_record(target_ip, 443, 29200, 57, ws::PortState::closed, ws::Reason::reset));
    }
    expect_every_truncation_rejected(with_ip_options(build(reply_segment(target_ip, 443, 0x12)), 15));
}

TEST_F(ReplyTest, EthernetPaddingIgnored) {
    Bytes frame = build(reply_segment(target_ip, 443, 0x14));
    ASSERT_EQ(frame.size(), 54u);
    frame.resize(60, 0x00); // what a switch delivers for a minimal RST
    expect_record(parse(frame), expected_record(target_ip, 443, 29200, 57, ws::PortState::closed, ws::Reason::reset));
    frame.resize(200, 0xee); // junk padding is still padding
    expect_record(parse(frame), expected_record(target_ip, 443, 29200, 57, ws::PortState::closed, ws::Reason::reset));
}

TEST_F(ReplyTest, TcpHeaderMustFitTotalLength) {
    Bytes frame = build(reply_segment(target_ip, 443, 0x14)); // 20-byte TCP header
    frame.resize(60, 0);
    put16(&frame[16], 20 + 19); // total length cuts the TCP header; the bytes are there as padding
    fix_ip_checksum(frame);
    expect_rejected(frame, ws::RejectReason::truncated);

    Bytes syn_ack = build(reply_segment(target_ip, 443, 0x12));
    syn_ack[46] = 0xf0; // data offset 15: 60 bytes of header in a 24-byte segment
    expect_rejected(syn_ack, ws::RejectReason::truncated);
    syn_ack[46] = 0x40; // data offset 4: below the fixed header
    expect_rejected(syn_ack, ws::RejectReason::truncated);
}

TEST_F(ReplyTest, TruncatedAtEveryLength) {
    expect_every_truncation_rejected(build(reply_segment(target_ip, 443, 0x12)));
    expect_every_truncation_rejected(build(reply_segment(target_ip, 443, 0x14)));
    expect_every_truncation_rejected(icmp_quoting(probe_ip(target_ip, 443), 3));
    Bytes arp(64);
    arp.resize(ws::build_arp(arp.data(), true, gateway_mac, 0x0a0000fe, our_mac, our_ip));
    expect_every_truncation_rejected(arp);
}

TEST_F(ReplyTest, Fragments) {
    for (std::uint16_t flags_offset : {0x2000, 0x0001, 0x1fff, 0x6000 | 0x0010}) {
        Bytes frame = build(reply_segment(target_ip, 443, 0x12));
        put16(&frame[20], flags_offset);
        fix_ip_checksum(frame);
        expect_rejected(frame, ws::RejectReason::fragment);
    }
}

TEST_F(ReplyTest, NotForUs) {
    ws::TcpSegment s = reply_segment(target_ip, 443, 0x12);
    s.destination_ip = our_ip + 1;
    expect_rejected(build(s), ws::RejectReason::not_for_us);
}

TEST_F(ReplyTest, NotIpv4) {
    Bytes frame = build(reply_segment(target_ip, 443, 0x12));
    put16(&frame[12], 0x86dd);
    expect_rejected(frame, ws::RejectReason::not_ipv4);
    put16(&frame[12], 0x88cc); // LLDP
    expect_rejected(frame, ws::RejectReason::not_ipv4);
}

TEST_F(ReplyTest, BadIpHeader) {
    const Bytes good = build(reply_segment(target_ip, 443, 0x12));
    Bytes v6 = good;
    v6[14] = 0x65;
    expect_rejected(v6, ws::RejectReason::bad_ip_header);
    Bytes short_ihl = good;
    short_ihl[14] = 0x44;
    expect_rejected(short_ihl, ws::RejectReason::bad_ip_header);
    Bytes short_total = good;
    put16(&short_total[16], 19);
    expect_rejected(short_total, ws::RejectReason::bad_ip_header);
    Bytes ihl_over_total = with_ip_options(good, 8);
    put16(&ihl_over_total[16], 28); // total length shorter than the 32-byte header
    expect_rejected(ihl_over_total, ws::RejectReason::bad_ip_header);
}

TEST_F(ReplyTest, TotalLengthBeyondFrameIsTruncated) {
    Bytes frame = build(reply_segment(target_ip, 443, 0x12));
    put16(&frame[16], std::uint16_t(be16(&frame[16]) + 1));
    expect_rejected(frame, ws::RejectReason::truncated);
}

TEST_F(ReplyTest, UnsupportedProtocol) {
    Bytes frame = build(reply_segment(target_ip, 443, 0x12));
    frame[23] = 17; // UDP
    fix_ip_checksum(frame);
    expect_rejected(frame, ws::RejectReason::unsupported_protocol);
}

TEST_F(ReplyTest, Oversized) {
    Bytes frame = build(reply_segment(target_ip, 443, 0x12));
    frame.resize(context.max_frame + 1, 0);
    expect_rejected(frame, ws::RejectReason::oversized);
    frame.resize(context.max_frame);
    EXPECT_EQ(parse(frame).kind, ws::ReplyKind::result); // the limit itself is fine
}

TEST_F(ReplyTest, IcmpUnreachableCodes) {
    const struct {
        std::uint8_t code;
        ws::Reason reason;
    } cases[] = {
        {0, ws::Reason::net_unreach},       {1, ws::Reason::host_unreach},     {2, ws::Reason::proto_unreach},
        {3, ws::Reason::port_unreach},      {9, ws::Reason::admin_prohibited}, {10, ws::Reason::admin_prohibited},
        {13, ws::Reason::admin_prohibited}, {4, ws::Reason::unreach_other},    {15, ws::Reason::unreach_other},
    };
    for (const auto& c : cases) {
        const ws::ParsedReply r = parse(icmp_quoting(probe_ip(target_ip, 3389), c.code));
        expect_record(r, expected_record(target_ip, 3389, 0, 64, ws::PortState::filtered, c.reason));
        EXPECT_EQ(r.local_port, cookie_for(target_ip, 3389).source_port);
    }
}

TEST_F(ReplyTest, IcmpMinimalQuoteAndQuotedOptions) {
    // RFC 792 routers quote the IP header and 8 bytes: ports and sequence only.
    Bytes quote = probe_ip(target_ip, 53);
    quote.resize(28);
    const auto want = expected_record(target_ip, 53, 0, 64, ws::PortState::filtered, ws::Reason::admin_prohibited);
    expect_record(parse(icmp_quoting(quote, 13)), want);
    Bytes shorter = quote;
    shorter.resize(27);
    expect_rejected(icmp_quoting(shorter, 13), ws::RejectReason::truncated);

    for (unsigned ihl = 6; ihl <= 15; ++ihl) {
        // Quoted header with options: build a frame around the probe, add options, quote its IP part.
        Bytes framed(14, 0);
        const Bytes probe = probe_ip(target_ip, 53);
        framed.insert(framed.end(), probe.begin(), probe.end());
        const Bytes with_opts = with_ip_options(framed, ihl);
        Bytes q(with_opts.begin() + 14, with_opts.begin() + 14 + std::ptrdiff_t(ihl * 4 + 8));
        expect_record(parse(icmp_quoting(q, 13)), want);
        // And the outer header with options too.
        expect_record(parse(with_ip_options(icmp_quoting(q, 13), ihl)), want);
    }
}

TEST_F(ReplyTest, IcmpRejects) {
    const Bytes probe = probe_ip(target_ip, 443);
    expect_rejected(icmp_quoting(probe, 0, 11), ws::RejectReason::icmp_not_unreach); // time exceeded
    expect_rejected(icmp_quoting(probe, 0, 0), ws::RejectReason::icmp_not_unreach);  // echo reply

    Bytes bad_seq = probe;
    put32(&bad_seq[24], cookie_for(target_ip, 443).isn + 1);
    expect_rejected(icmp_quoting(bad_seq, 3), ws::RejectReason::bad_cookie);

    Bytes bad_sport = probe;
    const std::uint16_t sport = be16(&bad_sport[20]);
    put16(&bad_sport[20], std::uint16_t(sport == source_ports.last ? source_ports.first : sport + 1));
    expect_rejected(icmp_quoting(bad_sport, 3), ws::RejectReason::bad_cookie);

    Bytes out_of_range = probe;
    put16(&out_of_range[20], 1234);
    expect_rejected(icmp_quoting(out_of_range, 3), ws::RejectReason::wrong_source_port);

    Bytes not_our_source = probe;
    put32(&not_our_source[12], our_ip + 1);
    expect_rejected(icmp_quoting(not_our_source, 3), ws::RejectReason::bad_cookie);

    Bytes udp = probe;
    udp[9] = 17;
    expect_rejected(icmp_quoting(udp, 3), ws::RejectReason::unsupported_protocol);

    Bytes other_target = probe; // quoted destination changed: cookie no longer matches
    put32(&other_target[16], target_ip + 1);
    expect_rejected(icmp_quoting(other_target, 3), ws::RejectReason::bad_cookie);

    Bytes not_ip = probe;
    not_ip[0] = 0x65;
    expect_rejected(icmp_quoting(not_ip, 3), ws::RejectReason::bad_cookie);

    Bytes tiny = probe;
    tiny.resize(8);
    expect_rejected(icmp_quoting(tiny, 3), ws::RejectReason::truncated);

    Bytes big_ihl = probe; // claims 60 header bytes, only 44 quoted
    big_ihl[0] = 0x4f;
    expect_rejected(icmp_quoting(big_ihl, 3), ws::RejectReason::truncated);
}

TEST_F(ReplyTest, IcmpToSomeoneElseIsNotForUs) {
    Bytes frame = icmp_quoting(probe_ip(target_ip, 443), 3);
    put32(&frame[30], our_ip + 5);
    fix_ip_checksum(frame);
    expect_rejected(frame, ws::RejectReason::not_for_us);
}

TEST_F(ReplyTest, BadArp) {
    Bytes arp(64);
    arp.resize(ws::build_arp(arp.data(), false, gateway_mac, 0x0a0000fe, ws::MacAddress{}, our_ip));
    const std::size_t field_offsets[] = {14, 16, 18, 19};
    for (std::size_t at : field_offsets) {
        Bytes bad = arp;
        bad[at + (at < 18 ? 1 : 0)] ^= 0x20;
        expect_rejected(bad, ws::RejectReason::bad_arp);
    }
    Bytes oper3 = arp;
    put16(&oper3[20], 3);
    expect_rejected(oper3, ws::RejectReason::bad_arp);
}

TEST_F(ReplyTest, RejectReasonNamesAreDistinct) {
    std::set<std::string> names;
    for (std::size_t i = 0; i < ws::reject_reason_count; ++i) {
        const std::string_view name = ws::to_string(ws::RejectReason(i));
        EXPECT_NE(name, "unknown");
        EXPECT_EQ(name.find(' '), std::string_view::npos);
        names.emplace(name);
    }
    EXPECT_EQ(names.size(), ws::reject_reason_count);
    EXPECT_EQ(ws::to_string(ws::RejectReason::bad_cookie), "bad_cookie");
}

class ArpParse : public ReplyTest {};

TEST_F(ArpParse, Request) {
    Bytes arp(64);
    arp.resize(ws::build_arp(arp.data(), false, gateway_mac, 0x0a0000fe, ws::MacAddress{}, our_ip));
    arp.resize(60, 0); // padded on the wire
    const ws::ParsedReply r = parse(arp);
    ASSERT_EQ(r.kind, ws::ReplyKind::arp_request);
    EXPECT_EQ(r.arp.sender_mac, gateway_mac);
    EXPECT_EQ(r.arp.sender_ip, 0x0a0000feu);
    EXPECT_EQ(r.arp.target_ip, our_ip);
}

TEST_F(ArpParse, ReplyVlanTagged) {
    Bytes arp(64);
    arp.resize(ws::build_arp(arp.data(), true, gateway_mac, 0x0a0000fe, our_mac, our_ip));
    const ws::ParsedReply r = parse(with_vlan(arp));
    ASSERT_EQ(r.kind, ws::ReplyKind::arp_reply);
    EXPECT_EQ(r.arp.sender_mac, gateway_mac);
    EXPECT_EQ(r.arp.sender_ip, 0x0a0000feu);
    EXPECT_EQ(r.arp.target_ip, our_ip);
    expect_every_truncation_rejected(with_vlan(arp));
}

} // namespace
