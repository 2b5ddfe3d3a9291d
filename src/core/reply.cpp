#include "wirespeed/reply.hpp"

#include <cstring>

#include "wirespeed/checksum.hpp"

namespace ws {
namespace {

constexpr std::uint16_t ethertype_ipv4 = 0x0800;
constexpr std::uint16_t ethertype_arp = 0x0806;
constexpr std::uint16_t ethertype_vlan = 0x8100;
constexpr std::uint8_t proto_icmp = 1;
constexpr std::uint8_t proto_tcp = 6;
constexpr std::uint8_t tcp_syn = 0x02;
constexpr std::uint8_t tcp_rst = 0x04;
constexpr std::uint8_t tcp_ack = 0x10;
constexpr std::size_t eth_len = 14;
constexpr std::size_t vlan_len = 4;
constexpr std::size_t ip_min_len = 20;
constexpr std::size_t tcp_min_len = 20;
constexpr std::size_t icmp_header_len = 8;
constexpr std::size_t quoted_l4_len = 8; // all RFC 792 promises: ports and sequence
constexpr std::size_t arp_len = 28;

inline std::uint16_t load16(const std::uint8_t* p) noexcept {
    return std::uint16_t((std::uint16_t{p[0]} << 8) | p[1]);
}

inline std::uint32_t load32(const std::uint8_t* p) noexcept {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// The helpers fill the caller's reply in place (void, so `return reject(...)`
// reads naturally) and parse_reply returns it once, keeping NRVO.
inline void reject(ParsedReply& reply, RejectReason reason) noexcept {
    reply.kind = ReplyKind::rejected;
    reply.reject = reason;
}

inline bool in_range(PortRange range, std::uint16_t port) noexcept {
    return port >= range.first && port <= range.last;
}

Reason reason_from_unreach_code(std::uint8_t code) noexcept {
    switch (code) {
    case 0: return Reason::net_unreach;
    case 1: return Reason::host_unreach;
    case 2: return Reason::proto_unreach;
    case 3: return Reason::port_unreach;
    case 9:
    case 10:
    case 13: return Reason::admin_prohibited;
    default: return Reason::unreach_other;
    }
}

void fill_record(ParsedReply& reply, std::uint32_t address, std::uint16_t port, std::uint16_t window,
                 std::uint8_t ttl, PortState state, Reason reason) noexcept {
    ResultRecord& r = reply.record;
    r.set_ipv4(address);
    r.elapsed_ms = 0;
    r.port = port;
    r.window = window;
    r.proto = Proto::tcp;
    r.state = state;
    r.reason = reason;
    r.ttl = ttl;
    std::memset(r.reserved, 0, sizeof r.reserved);
    reply.kind = ReplyKind::result;
}

void parse_arp(ParsedReply& reply, const std::uint8_t* arp, std::size_t len) noexcept {
    if (len < arp_len)
        return reject(reply, RejectReason::truncated);
    if (load16(arp) != 1 || load16(arp + 2) != ethertype_ipv4 || arp[4] != 6 || arp[5] != 4)
        return reject(reply, RejectReason::bad_arp);
    const std::uint16_t oper = load16(arp + 6);
    if (oper != 1 && oper != 2)
        return reject(reply, RejectReason::bad_arp);
    std::memcpy(reply.arp.sender_mac.data(), arp + 8, 6);
    reply.arp.sender_ip = load32(arp + 14);
    reply.arp.target_ip = load32(arp + 24);
    reply.kind = oper == 1 ? ReplyKind::arp_request : ReplyKind::arp_reply;
}

void parse_tcp(ParsedReply& reply, const std::uint8_t* tcp, std::size_t len, std::uint32_t source,
               std::uint8_t ttl, const ReplyContext& context, ChecksumHint hint) noexcept {
    if (len < tcp_min_len)
        return reject(reply, RejectReason::truncated);
    // A data offset below 5 claims a header shorter than the fixed part: treat
    // it like any other header that does not fit its own length.
    const std::size_t header_len = std::size_t(tcp[12] >> 4) * 4;
    if (header_len < tcp_min_len || header_len > len)
        return reject(reply, RejectReason::truncated);
    // The whole segment (header, options, payload; `len` comes from the IPv4
    // total length, never from Ethernet padding) under the pseudo header.
    // There is no "no checksum" zero in TCP: 0 is checked like any value.
    if (hint == ChecksumHint::bad ||
        (hint == ChecksumHint::unknown &&
         !checksum_ok(tcp, len, pseudo_header_sum(source, context.source_ip, proto_tcp, len))))
        return reject(reply, RejectReason::bad_tcp_checksum);

    const std::uint16_t sport = load16(tcp);
    const std::uint16_t dport = load16(tcp + 2);
    const std::uint32_t seq = load32(tcp + 4);
    const std::uint32_t ack = load32(tcp + 8);
    const std::uint8_t flags = tcp[13];
    const std::uint16_t window = load16(tcp + 14);

    // Cheap range check first: most stray traffic never pays for a PRF call.
    if (!in_range(context.cookies->source_ports(), dport))
        return reject(reply, RejectReason::wrong_source_port);
    const Cookie cookie = context.cookies->make(source, sport, context.source_ip);
    if (cookie.source_port != dport)
        return reject(reply, RejectReason::bad_cookie);

    const std::uint32_t isn = cookie.isn;
    const std::uint32_t isn1 = isn + 1;
    PortState state;
    Reason reason;
    if (flags & tcp_rst) {
        // Stacks disagree on what an RST to a SYN carries; accept either the
        // RFC 793 answer (ACK of ISN+1), an RST echoing ISN+1 as its sequence,
        // or an off-by-one ack of the bare ISN.
        const bool valid = ack == isn1 || (!(flags & tcp_ack) && seq == isn1) || ack == isn;
        if (!valid)
            return reject(reply, RejectReason::bad_cookie);
        state = PortState::closed;
        reason = Reason::reset;
    } else if ((flags & (tcp_syn | tcp_ack)) == (tcp_syn | tcp_ack)) {
        if (ack != isn1)
            return reject(reply, RejectReason::bad_cookie);
        state = PortState::open;
        reason = Reason::syn_ack;
    } else {
        return reject(reply, RejectReason::not_syn_ack_or_rst);
    }
    fill_record(reply, source, sport, window, ttl, state, reason);
    reply.tcp_seq = seq;
    reply.local_port = dport;
}

void parse_icmp(ParsedReply& reply, const std::uint8_t* icmp, std::size_t len, std::uint8_t ttl,
                       const ReplyContext& context) noexcept {
    if (len < icmp_header_len)
        return reject(reply, RejectReason::truncated);
    // Over the whole message, quote included: a bit flipped in the quoted
    // probe must not turn into a "filtered" record for someone else.
    if (!checksum_ok(icmp, len))
        return reject(reply, RejectReason::bad_icmp_checksum);
    if (icmp[0] != 3)
        return reject(reply, RejectReason::icmp_not_unreach);
    const std::uint8_t code = icmp[1];

    const std::uint8_t* quoted = icmp + icmp_header_len;
    const std::size_t quoted_len = len - icmp_header_len;
    if (quoted_len < ip_min_len)
        return reject(reply, RejectReason::truncated);
    const std::size_t quoted_ihl = std::size_t(quoted[0] & 0x0f) * 4;
    // A quote that is not an IPv4 header cannot be one of our probes.
    if ((quoted[0] >> 4) != 4 || quoted_ihl < ip_min_len)
        return reject(reply, RejectReason::bad_cookie);
    if (quoted_len < quoted_ihl + quoted_l4_len)
        return reject(reply, RejectReason::truncated);
    if (quoted[9] != proto_tcp)
        return reject(reply, RejectReason::unsupported_protocol);
    // Our probes are never fragmented: a quoted later fragment carries no TCP
    // header where the ports and sequence are read. (The quoted header's own
    // checksum is not checked: routers and NATs rewrite quotes; the cookie
    // authenticates it.)
    if (load16(quoted + 6) & 0x1fff)
        return reject(reply, RejectReason::fragment);
    if (load32(quoted + 12) != context.source_ip)
        return reject(reply, RejectReason::bad_cookie);

    const std::uint32_t target = load32(quoted + 16);
    const std::uint8_t* qtcp = quoted + quoted_ihl;
    const std::uint16_t sport = load16(qtcp);
    const std::uint16_t dport = load16(qtcp + 2);
    const std::uint32_t seq = load32(qtcp + 4);
    if (!in_range(context.cookies->source_ports(), sport))
        return reject(reply, RejectReason::wrong_source_port);
    const Cookie cookie = context.cookies->make(target, dport, context.source_ip);
    if (cookie.source_port != sport || cookie.isn != seq)
        return reject(reply, RejectReason::bad_cookie);

    fill_record(reply, target, dport, 0, ttl, PortState::filtered, reason_from_unreach_code(code));
    reply.tcp_seq = 0; // no segment from the target: nothing to reset
    reply.local_port = sport;
}

void parse_frame(ParsedReply& reply, const std::uint8_t* frame, std::size_t len, const ReplyContext& context,
                 RxChecksums verified) noexcept {
    if (len > context.max_frame)
        return reject(reply, RejectReason::oversized);
    if (len < eth_len)
        return reject(reply, RejectReason::truncated);

    std::size_t offset = eth_len;
    std::uint16_t ethertype = load16(frame + 12);
    if (ethertype == ethertype_vlan) {
        if (len < eth_len + vlan_len)
            return reject(reply, RejectReason::truncated);
        ethertype = load16(frame + 16);
        offset += vlan_len;
    }
    const std::uint8_t* l3 = frame + offset;
    const std::size_t l3_len = len - offset;
    if (ethertype == ethertype_arp)
        return parse_arp(reply, l3, l3_len);
    if (ethertype != ethertype_ipv4)
        return reject(reply, RejectReason::not_ipv4);

    if (l3_len < ip_min_len)
        return reject(reply, RejectReason::truncated);
    const std::size_t ihl = std::size_t(l3[0] & 0x0f) * 4;
    if ((l3[0] >> 4) != 4 || ihl < ip_min_len)
        return reject(reply, RejectReason::bad_ip_header);
    if (ihl > l3_len)
        return reject(reply, RejectReason::truncated);
    const std::size_t total_length = load16(l3 + 2);
    if (total_length < ihl)
        return reject(reply, RejectReason::bad_ip_header);
    // Anything past total_length is Ethernet padding (runt frames padded to 60).
    if (total_length > l3_len)
        return reject(reply, RejectReason::truncated);
    // Structure first (a header that does not fit cannot be summed), then the
    // checksum, then any field the checksum protects.
    if (verified.ip == ChecksumHint::bad || (verified.ip == ChecksumHint::unknown && !checksum_ok(l3, ihl)))
        return reject(reply, RejectReason::bad_ip_checksum);
    if (load16(l3 + 6) & 0x3fff)
        return reject(reply, RejectReason::fragment);
    if (load32(l3 + 16) != context.source_ip)
        return reject(reply, RejectReason::not_for_us);

    const std::uint8_t ttl = l3[8];
    const std::uint8_t* l4 = l3 + ihl;
    const std::size_t l4_len = total_length - ihl;
    switch (l3[9]) {
    case proto_tcp: return parse_tcp(reply, l4, l4_len, load32(l3 + 12), ttl, context, verified.l4);
    case proto_icmp: return parse_icmp(reply, l4, l4_len, ttl, context);
    default: return reject(reply, RejectReason::unsupported_protocol);
    }
}

} // namespace

std::string_view to_string(RejectReason reason) noexcept {
    switch (reason) {
    case RejectReason::truncated: return "truncated";
    case RejectReason::oversized: return "oversized";
    case RejectReason::not_ipv4: return "not_ipv4";
    case RejectReason::bad_ip_header: return "bad_ip_header";
    case RejectReason::fragment: return "fragment";
    case RejectReason::not_for_us: return "not_for_us";
    case RejectReason::unsupported_protocol: return "unsupported_protocol";
    case RejectReason::not_syn_ack_or_rst: return "not_syn_ack_or_rst";
    case RejectReason::bad_cookie: return "bad_cookie";
    case RejectReason::wrong_source_port: return "wrong_source_port";
    case RejectReason::icmp_not_unreach: return "icmp_not_unreach";
    case RejectReason::bad_arp: return "bad_arp";
    case RejectReason::bad_ip_checksum: return "bad_ip_checksum";
    case RejectReason::bad_tcp_checksum: return "bad_tcp_checksum";
    case RejectReason::bad_icmp_checksum: return "bad_icmp_checksum";
    case RejectReason::count_: break;
    }
    return "unknown";
}

ParsedReply parse_reply(const std::uint8_t* frame, std::size_t len, const ReplyContext& context,
                        RxChecksums verified) noexcept {
    ParsedReply reply{};
    parse_frame(reply, frame, len, context, verified);
    return reply;
}

ParsedReply parse_reply(const std::uint8_t* frame, std::size_t len, const ReplyContext& context) noexcept {
    return parse_reply(frame, len, context, RxChecksums{});
}

} // namespace ws
