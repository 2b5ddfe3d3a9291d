#include "wirespeed/reply.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "wirespeed/checksum.hpp"
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

    // The reference (byte-wise checksum_partial) computation, independent of
    // the parser's fast sum: the TCP checksum of the segment at 14 + IHL.
    static void fix_tcp_checksum(Bytes& frame) {
        const std::size_t ihl = std::size_t(frame[14] & 0x0f) * 4;
        const std::size_t at = 14 + ihl;
        const std::size_t len = be16(&frame[16]) - ihl;
        const std::uint32_t src = (std::uint32_t(be16(&frame[26])) << 16) | be16(&frame[28]);
        const std::uint32_t dst = (std::uint32_t(be16(&frame[30])) << 16) | be16(&frame[32]);
        const std::uint32_t pseudo = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 + std::uint32_t(len);
        put16(&frame[at + 16], 0);
        put16(&frame[at + 16], ws::checksum_fold(ws::checksum_partial(&frame[at], len, pseudo)));
    }

    // Appends `payload` bytes of data to a TCP frame, all checksums fixed.
    static Bytes with_payload(Bytes frame, std::size_t payload, std::uint8_t fill = 0xa5) {
        for (std::size_t i = 0; i < payload; ++i)
            frame.push_back(std::uint8_t(fill + i));
        put16(&frame[16], std::uint16_t(be16(&frame[16]) + payload));
        fix_ip_checksum(frame);
        fix_tcp_checksum(frame);
        return frame;
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
    // An IPv4 packet under the IPv6 ethertype is a bad IPv6 header, not silently IPv4.
    put16(&frame[12], 0x86dd);
    expect_rejected(frame, ws::RejectReason::bad_ipv6_header);
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
    frame[23] = 47; // GRE: no probe module has it
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
    // An echo reply whose identifier and sequence are not our cookie's: the ICMP echo module rejects it.
    expect_rejected(icmp_quoting(probe, 0, 0), ws::RejectReason::bad_cookie);

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

    Bytes udp = probe; // a TCP probe relabelled UDP: the UDP module's cookie does not match
    udp[9] = 17;
    expect_rejected(icmp_quoting(udp, 3), ws::RejectReason::bad_cookie);
    Bytes gre = probe;
    gre[9] = 47;
    expect_rejected(icmp_quoting(gre, 3), ws::RejectReason::unsupported_protocol);

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

// The fast RX sum equals the byte-wise reference for every length (odd ones
// pad with a zero byte), every alignment and the all-ones / all-zero extremes.
TEST(OnesSum, MatchesReferenceEveryLengthAndAlignment) {
    std::mt19937 rng(7);
    std::vector<std::uint8_t> buffer(256 + 8);
    for (int fill = 0; fill < 3; ++fill) {
        for (auto& b : buffer)
            b = fill == 0 ? std::uint8_t(rng()) : fill == 1 ? 0xff : 0x00;
        for (std::size_t align = 0; align < 8; ++align)
            for (std::size_t len = 0; len <= 256; ++len)
                for (std::uint32_t initial : {0u, 1u, 0xffffu, 0x2fffdu}) {
                    const std::uint8_t* p = buffer.data() + align;
                    const std::uint16_t want = std::uint16_t(~ws::checksum_fold(ws::checksum_partial(p, len, initial)));
                    const std::uint16_t got = ws::ones_sum(p, len, initial);
                    // 0x0000 and 0xffff are the same ones' complement number;
                    // the fast sum only yields 0 when every word is zero.
                    if (want == 0xffff || want == 0)
                        ASSERT_TRUE(got == 0xffff || got == 0) << "len " << len << " align " << align;
                    else
                        ASSERT_EQ(got, want) << "len " << len << " align " << align << " fill " << fill;
                }
    }
}

TEST(OnesSum, ZeroDataNeverChecks) {
    const std::uint8_t zeros[20] = {};
    EXPECT_FALSE(ws::checksum_ok(zeros, sizeof zeros)); // a header of zeros needs 0xffff in its checksum field
    EXPECT_EQ(ws::ones_sum(zeros, 0), 0);
    const std::uint8_t ones[2] = {0xff, 0xff};
    EXPECT_TRUE(ws::checksum_ok(ones, sizeof ones));
    const std::uint8_t odd[3] = {0x12, 0x34, 0x56}; // 0x1234 + 0x5600
    EXPECT_EQ(ws::ones_sum(odd, 3), 0x6834);
}

// Every corruption class the wire can deliver, one table: each row must be
// rejected for exactly its reason, and its uncorrupted twin must still parse.
TEST_F(ReplyTest, CorruptionTable) {
    const Bytes syn_ack = build(reply_segment(target_ip, 443, 0x12));
    const Bytes rst = build(reply_segment(target_ip, 443, 0x14));
    const Bytes icmp = icmp_quoting(probe_ip(target_ip, 443), 3);
    const Bytes odd_syn_ack = with_payload(syn_ack, 7);
    const Bytes optioned = with_ip_options(syn_ack, 9);
    for (const Bytes* good : {&syn_ack, &rst, &icmp, &odd_syn_ack, &optioned})
        ASSERT_EQ(parse(*good).kind, ws::ReplyKind::result) << ws::to_string(parse(*good).reject);

    using Edit = std::function<void(Bytes&)>;
    const struct Row {
        const char* name;
        const Bytes* base;
        Edit edit;
        ws::RejectReason reason;
    } rows[] = {
        {"ip csum byte flipped", &syn_ack, [](Bytes& f) { f[24] ^= 0x01; }, ws::RejectReason::bad_ip_checksum},
        {"ip csum zeroed", &syn_ack, [](Bytes& f) { put16(&f[24], 0); }, ws::RejectReason::bad_ip_checksum},
        {"ip ttl changed, csum stale", &syn_ack, [](Bytes& f) { f[22] ^= 0x40; }, ws::RejectReason::bad_ip_checksum},
        {"ip source changed, csum stale", &syn_ack, [](Bytes& f) { f[29] ^= 0x01; }, ws::RejectReason::bad_ip_checksum},
        {"ip id changed, csum stale", &rst, [](Bytes& f) { f[18] ^= 0x80; }, ws::RejectReason::bad_ip_checksum},
        {"ip option byte changed", &optioned, [](Bytes& f) { f[34] ^= 0x02; }, ws::RejectReason::bad_ip_checksum},
        {"icmp outer ip csum", &icmp, [](Bytes& f) { f[25] ^= 0x10; }, ws::RejectReason::bad_ip_checksum},
        {"tcp csum byte flipped", &syn_ack, [](Bytes& f) { f[50] ^= 0x01; }, ws::RejectReason::bad_tcp_checksum},
        {"tcp csum zeroed", &syn_ack, [](Bytes& f) { put16(&f[50], 0); }, ws::RejectReason::bad_tcp_checksum},
        {"rst csum flipped", &rst, [](Bytes& f) { f[51] ^= 0x80; }, ws::RejectReason::bad_tcp_checksum},
        {"tcp window changed", &syn_ack, [](Bytes& f) { f[48] ^= 0x01; }, ws::RejectReason::bad_tcp_checksum},
        {"tcp option changed", &syn_ack, [](Bytes& f) { f[57] ^= 0x01; }, ws::RejectReason::bad_tcp_checksum},
        {"odd payload last byte", &odd_syn_ack, [](Bytes& f) { f.back() ^= 0x01; }, ws::RejectReason::bad_tcp_checksum},
        {"odd payload, total length one short", &odd_syn_ack,
         [](Bytes& f) {
             put16(&f[16], std::uint16_t(be16(&f[16]) - 1)); // IP consistent, segment now misses a byte
             fix_ip_checksum(f);
         },
         ws::RejectReason::bad_tcp_checksum},
        {"tcp csum over another destination", &syn_ack,
         [](Bytes& f) {
             put32(&f[30], our_ip + 1); // sum for someone else, then the header says us
             fix_ip_checksum(f);
             fix_tcp_checksum(f);
             put32(&f[30], our_ip);
             fix_ip_checksum(f);
         },
         ws::RejectReason::bad_tcp_checksum},
        {"icmp csum flipped", &icmp, [](Bytes& f) { f[36] ^= 0x01; }, ws::RejectReason::bad_icmp_checksum},
        {"icmp csum zeroed", &icmp, [](Bytes& f) { put16(&f[36], 0); }, ws::RejectReason::bad_icmp_checksum},
        {"icmp quote changed", &icmp, [](Bytes& f) { f[42 + 16] ^= 0x01; }, ws::RejectReason::bad_icmp_checksum},
        {"icmp code changed", &icmp, [](Bytes& f) { f[35] = 13; }, ws::RejectReason::bad_icmp_checksum},
        {"icmp quoted later fragment", &icmp,
         [](Bytes& f) {
             put16(&f[42 + 6], 0x0010);
             fix_icmp_checksum(f);
         },
         ws::RejectReason::fragment},
    };
    for (const auto& row : rows) {
        SCOPED_TRACE(row.name);
        Bytes frame = *row.base;
        row.edit(frame);
        expect_rejected(frame, row.reason);
        // Padded to a runt minimum and VLAN-tagged, the verdict is the same.
        Bytes padded = frame;
        if (padded.size() < 60)
            padded.resize(60, 0xee);
        expect_rejected(padded, row.reason);
        expect_rejected(with_vlan(frame), row.reason);
    }
}

// A single flipped bit anywhere in the IPv4 packet is never a result: the
// checksums catch whatever the structural checks do not.
TEST_F(ReplyTest, EverySingleBitFlipRejected) {
    const Bytes frames[] = {
        build(reply_segment(target_ip, 443, 0x12)),
        build(reply_segment(target_ip, 8080, 0x14)),
        with_payload(build(reply_segment(target_ip, 22, 0x12)), 5),
        icmp_quoting(probe_ip(target_ip, 3389), 3),
        with_ip_options(build(reply_segment(target_ip, 443, 0x12)), 7),
    };
    for (const Bytes& good : frames) {
        ASSERT_EQ(parse(good).kind, ws::ReplyKind::result);
        for (std::size_t at = 14; at < good.size(); ++at)
            for (int bit = 0; bit < 8; ++bit) {
                Bytes frame = good;
                frame[at] ^= std::uint8_t(1u << bit);
                const ws::ParsedReply r = parse(frame);
                ASSERT_EQ(r.kind, ws::ReplyKind::rejected) << "byte " << at << " bit " << bit;
            }
    }
}

// The two ones' complement zeros: a header whose checksum works out to 0x0000
// checks, and so does the same header carrying 0xffff; TCP has no "checksum
// absent" zero, so a zeroed field on any other segment is rejected (above).
TEST_F(ReplyTest, ChecksumZeroAndAllOnesAreBothZero) {
    // TCP: tune the urgent pointer (not otherwise read) so the sum of
    // everything else is 0xffff, making the correct checksum 0x0000.
    Bytes tcp = build(reply_segment(target_ip, 443, 0x12));
    put16(&tcp[50], 0);
    put16(&tcp[52], 0);
    fix_tcp_checksum(tcp);
    const std::uint16_t c = be16(&tcp[50]); // ~sum; set urgent = c so the new checksum is 0
    put16(&tcp[52], c);
    fix_tcp_checksum(tcp);
    ASSERT_EQ(be16(&tcp[50]), 0);
    EXPECT_EQ(parse(tcp).kind, ws::ReplyKind::result) << ws::to_string(parse(tcp).reject);
    put16(&tcp[50], 0xffff);
    EXPECT_EQ(parse(tcp).kind, ws::ReplyKind::result) << ws::to_string(parse(tcp).reject);

    // IPv4 header: tune the identification the same way.
    Bytes ip = build(reply_segment(target_ip, 443, 0x14));
    put16(&ip[18], 0);
    fix_ip_checksum(ip);
    put16(&ip[18], be16(&ip[24]));
    fix_ip_checksum(ip);
    ASSERT_EQ(be16(&ip[24]), 0);
    EXPECT_EQ(parse(ip).kind, ws::ReplyKind::result) << ws::to_string(parse(ip).reject);
    put16(&ip[24], 0xffff);
    EXPECT_EQ(parse(ip).kind, ws::ReplyKind::result) << ws::to_string(parse(ip).reject);

    // ICMP: tune the unused word.
    Bytes icmp = icmp_quoting(probe_ip(target_ip, 443), 3);
    fix_icmp_checksum(icmp);
    put16(&icmp[40], be16(&icmp[36]));
    fix_icmp_checksum(icmp);
    ASSERT_EQ(be16(&icmp[36]), 0);
    EXPECT_EQ(parse(icmp).kind, ws::ReplyKind::result) << ws::to_string(parse(icmp).reject);
    put16(&icmp[36], 0xffff);
    EXPECT_EQ(parse(icmp).kind, ws::ReplyKind::result) << ws::to_string(parse(icmp).reject);
}

// Segments of every length up to 64 payload bytes, odd ones included: correct
// ones parse, the last byte flipped does not; Ethernet padding is never summed.
TEST_F(ReplyTest, OddAndEvenSegmentLengths) {
    for (std::size_t payload = 0; payload <= 64; ++payload) {
        SCOPED_TRACE(payload);
        const Bytes frame = with_payload(build(reply_segment(target_ip, 443, 0x12)), payload);
        expect_record(parse(frame), expected_record(target_ip, 443, 29200, 57, ws::PortState::open, ws::Reason::syn_ack));
        Bytes padded = frame;
        padded.resize(frame.size() + 9, 0xff);
        expect_record(parse(padded), expected_record(target_ip, 443, 29200, 57, ws::PortState::open, ws::Reason::syn_ack));
        if (payload) {
            Bytes bad = frame;
            bad.back() ^= 0x80;
            expect_rejected(bad, ws::RejectReason::bad_tcp_checksum);
        }
    }
}

// What the NIC decided is taken as is: good skips the sum, bad rejects.
TEST_F(ReplyTest, NicChecksumHints) {
    using H = ws::ChecksumHint;
    const Bytes good = build(reply_segment(target_ip, 443, 0x12));
    Bytes bad_tcp = good;
    bad_tcp[50] ^= 0x01;
    Bytes bad_ip = good;
    bad_ip[24] ^= 0x01;
    auto parse_hinted = [&](const Bytes& f, H ip, H l4) {
        return ws::parse_reply(f.data(), f.size(), context, ws::RxChecksums{ip, l4});
    };
    EXPECT_EQ(parse_hinted(good, H::good, H::good).kind, ws::ReplyKind::result);
    EXPECT_EQ(parse_hinted(good, H::unknown, H::unknown).kind, ws::ReplyKind::result);
    EXPECT_EQ(parse_hinted(bad_tcp, H::good, H::good).kind, ws::ReplyKind::result); // the NIC's word
    EXPECT_EQ(parse_hinted(bad_ip, H::good, H::unknown).kind, ws::ReplyKind::result);
    EXPECT_EQ(parse_hinted(bad_tcp, H::good, H::unknown).reject, ws::RejectReason::bad_tcp_checksum);
    EXPECT_EQ(parse_hinted(bad_ip, H::unknown, H::good).reject, ws::RejectReason::bad_ip_checksum);
    EXPECT_EQ(parse_hinted(good, H::bad, H::good).reject, ws::RejectReason::bad_ip_checksum);
    EXPECT_EQ(parse_hinted(good, H::good, H::bad).reject, ws::RejectReason::bad_tcp_checksum);
    // ICMP is always summed in software, whatever an L4 flag says.
    Bytes icmp = icmp_quoting(probe_ip(target_ip, 443), 3);
    EXPECT_EQ(parse_hinted(icmp, H::good, H::bad).kind, ws::ReplyKind::result);
    icmp[36] ^= 0x01;
    EXPECT_EQ(parse_hinted(icmp, H::good, H::good).reject, ws::RejectReason::bad_icmp_checksum);
}

TEST_F(ReplyTest, ChecksumReasonNames) {
    EXPECT_EQ(ws::to_string(ws::RejectReason::bad_ip_checksum), "bad_ip_checksum");
    EXPECT_EQ(ws::to_string(ws::RejectReason::bad_tcp_checksum), "bad_tcp_checksum");
    EXPECT_EQ(ws::to_string(ws::RejectReason::bad_icmp_checksum), "bad_icmp_checksum");
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
