#include "wirespeed/reply.hpp"

#include <cstring>

#include "wirespeed/checksum.hpp"
#include "wirespeed/probes/modules.hpp"

namespace ws {

void fill_result(ParsedReply& reply, std::uint32_t address, Proto proto, std::uint16_t port, std::uint16_t window,
                 std::uint8_t ttl, PortState state, Reason reason) noexcept {
    ResultRecord& r = reply.record;
    r.set_ipv4(address);
    r.elapsed_ms = 0;
    r.port = port;
    r.window = window;
    r.proto = proto;
    r.state = state;
    r.reason = reason;
    r.ttl = ttl;
    std::memset(r.reserved, 0, sizeof r.reserved);
    reply.kind = ReplyKind::result;
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

namespace {

using wire::load16;
using wire::load32;
constexpr std::uint16_t ethertype_vlan = 0x8100;
constexpr std::size_t eth_len = wire::eth_len;
constexpr std::size_t vlan_len = 4;
constexpr std::size_t ip_min_len = 20;
constexpr std::size_t icmp_header_len = 8;
constexpr std::size_t quoted_l4_len = 8; // all RFC 792 promises: ports and sequence (or echo id/seq)
constexpr std::size_t arp_len = 28;
constexpr std::uint8_t icmp_unreachable = 3;

void parse_arp(ParsedReply& reply, const std::uint8_t* arp, std::size_t len) noexcept {
    if (len < arp_len)
        return reject(reply, RejectReason::truncated);
    if (load16(arp) != 1 || load16(arp + 2) != wire::ethertype_ipv4 || arp[4] != 6 || arp[5] != 4)
        return reject(reply, RejectReason::bad_arp);
    const std::uint16_t oper = load16(arp + 6);
    if (oper != 1 && oper != 2)
        return reject(reply, RejectReason::bad_arp);
    std::memcpy(reply.arp.sender_mac.data(), arp + 8, 6);
    reply.arp.sender_ip = load32(arp + 14);
    reply.arp.target_ip = load32(arp + 24);
    reply.kind = oper == 1 ? ReplyKind::arp_request : ReplyKind::arp_reply;
}

// An ICMP destination unreachable: find the probe it quotes and let that
// probe's module classify it.
void parse_unreachable(ParsedReply& reply, const std::uint8_t* icmp, std::size_t len, std::uint8_t ttl,
                       std::uint32_t from, const ReplyContext& context) noexcept {
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
    // Our probes are never fragmented: a quoted later fragment carries no L4
    // header where the ports are read. (The quoted header's own checksum is
    // not checked: routers and NATs rewrite quotes; the cookie authenticates it.)
    if (load16(quoted + 6) & 0x1fff)
        return reject(reply, RejectReason::fragment);
    if (load32(quoted + 12) != context.source_ip)
        return reject(reply, RejectReason::bad_cookie);
    const QuotedProbe probe{load32(quoted + 16), quoted, quoted + quoted_ihl, quoted_len - quoted_ihl, icmp[1], ttl, from};
    if (!probes::Modules::with_ip_protocol(quoted[9], [&]<class M>() { M::classify_quote(reply, probe, context); }))
        reject(reply, RejectReason::unsupported_protocol);
}

void parse_icmp(ParsedReply& reply, const L4Reply& in, const ReplyContext& context) noexcept {
    if (in.len < icmp_header_len)
        return reject(reply, RejectReason::truncated);
    if (in.l4[0] != icmp_unreachable)
        return probes::IcmpEcho::classify(reply, in, context); // echo replies; anything else is rejected there
    // Over the whole message, quote included: a bit flipped in the quoted
    // probe must not turn into a "filtered" record for someone else.
    if (!checksum_ok(in.l4, in.len))
        return reject(reply, RejectReason::bad_icmp_checksum);
    parse_unreachable(reply, in.l4, in.len, in.ttl, in.source, context);
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
    if (ethertype == wire::ethertype_arp)
        return parse_arp(reply, l3, l3_len);
    if (ethertype != wire::ethertype_ipv4)
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

    const L4Reply l4{l3 + ihl, total_length - ihl, load32(l3 + 12), l3[8], verified.l4};
    if (l3[9] == wire::proto_icmp)
        return parse_icmp(reply, l4, context);
    if (!probes::Modules::with_ip_protocol(l3[9], [&]<class M>() { M::classify(reply, l4, context); }))
        reject(reply, RejectReason::unsupported_protocol);
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
    case RejectReason::bad_udp_checksum: return "bad_udp_checksum";
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
