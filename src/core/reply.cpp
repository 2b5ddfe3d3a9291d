#include "wirespeed/reply.hpp"

#include <cstring>

#include "wirespeed/checksum.hpp"
#include "wirespeed/probes/modules.hpp"
#include "wirespeed/sources.hpp"

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

void fill_result(ParsedReply& reply, IpAddress address, Proto proto, std::uint16_t port, std::uint16_t window,
                 std::uint8_t ttl, PortState state, Reason reason) noexcept {
    fill_result(reply, std::uint32_t(0), proto, port, window, ttl, state, reason);
    reply.record.set_address(address);
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

Reason reason_from_unreach6_code(std::uint8_t code) noexcept {
    switch (code) {
    case 0: return Reason::net_unreach;
    case 1: return Reason::admin_prohibited;
    case 3: return Reason::host_unreach;
    case 4: return Reason::port_unreach;
    default: return Reason::unreach_other;
    }
}

namespace {

using wire::load16;
using wire::load32;
using wire::load128;
constexpr std::uint16_t ethertype_vlan = 0x8100;
constexpr std::size_t eth_len = wire::eth_len;
constexpr std::size_t vlan_len = 4;
constexpr std::size_t ip_min_len = 20;
constexpr std::size_t ip6_len = wire::ip6_len;
constexpr std::size_t icmp_header_len = 8;
constexpr std::size_t quoted_l4_len = 8; // all RFC 792 promises: ports and sequence (or echo id/seq)
constexpr std::size_t arp_len = 28;
constexpr std::uint8_t icmp_unreachable = 3;

// IPv6 next-header values the parser knows.
constexpr std::uint8_t ext_hop_by_hop = 0, ext_routing = 43, ext_fragment = 44, ext_destination = 60;
// A reply carries few extension headers; a chain longer than this is not one
// of our answers, and the bound keeps the walk's cost fixed.
constexpr int max_extension_headers = 8;

// ICMPv6 types (RFC 4443, RFC 4861).
constexpr std::uint8_t icmp6_unreachable = 1;
constexpr std::uint8_t ndp_router_advert = 134, ndp_neighbor_solicit = 135, ndp_neighbor_advert = 136;
constexpr std::uint8_t ndp_option_source_lla = 1, ndp_option_target_lla = 2;
constexpr std::size_t ndp_ns_na_len = 24; // ICMPv6 header, flags/reserved, target
constexpr std::size_t ndp_ra_len = 16;    // ICMPv6 header, hop limit, flags, lifetime, reachable, retrans

// "For us": the reply's destination is one of our source addresses. IPv4
// with no source set is one compare, as before many sources existed.
bool ours_ipv4(std::uint32_t address, const ReplyContext& context) noexcept {
    return context.sources ? context.sources->contains_ipv4(address) : address == context.source_ip;
}
bool ours_ipv6(uint128 address, const ReplyContext& context) noexcept {
    return context.sources && context.sources->contains_ipv6(address);
}

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

// ---- IPv4

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
    const std::uint32_t source = load32(quoted + 12);
    if (!ours_ipv4(source, context))
        return reject(reply, RejectReason::bad_cookie);
    const QuotedProbe probe{load32(quoted + 16), source, quoted, quoted + quoted_ihl, quoted_len - quoted_ihl,
                            icmp[1], reason_from_unreach_code(icmp[1]), ttl, from};
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

void parse_ipv4(ParsedReply& reply, const std::uint8_t* l3, std::size_t l3_len, const ReplyContext& context,
                RxChecksums verified) noexcept {
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
    const std::uint32_t destination = load32(l3 + 16);
    if (!ours_ipv4(destination, context))
        return reject(reply, RejectReason::not_for_us);
    reply.local_address = IpAddress::from_ipv4(destination);

    const L4Reply l4{l3 + ihl, total_length - ihl, load32(l3 + 12), destination, l3[8], verified.l4};
    if (l3[9] == wire::proto_icmp)
        return parse_icmp(reply, l4, context);
    if (!probes::Modules::with_ip_protocol(l3[9], [&]<class M>() { M::classify(reply, l4, context); }))
        reject(reply, RejectReason::unsupported_protocol);
}

// ---- IPv6

// An ICMPv6 destination unreachable (checksum already verified): the quoted
// probe's module classifies it. Our probes carry no extension header, so the
// quoted L4 header follows the fixed one.
void parse_unreachable6(ParsedReply& reply, const L4Reply6& in, const ReplyContext& context) noexcept {
    if (in.len < icmp_header_len)
        return reject(reply, RejectReason::truncated);
    const std::uint8_t* quoted = in.l4 + icmp_header_len;
    const std::size_t quoted_len = in.len - icmp_header_len;
    if (quoted_len < ip6_len)
        return reject(reply, RejectReason::truncated);
    if ((quoted[0] >> 4) != 6)
        return reject(reply, RejectReason::bad_cookie);
    if (quoted[6] == ext_fragment)
        return reject(reply, RejectReason::fragment);
    if (quoted_len < ip6_len + quoted_l4_len)
        return reject(reply, RejectReason::truncated);
    const uint128 source = load128(quoted + 8);
    if (!ours_ipv6(source, context))
        return reject(reply, RejectReason::bad_cookie);
    const std::uint8_t code = in.l4[1];
    const QuotedProbe6 probe{load128(quoted + 24), source, quoted, quoted + ip6_len, quoted_len - ip6_len,
                             code, reason_from_unreach6_code(code), in.ttl, in.source};
    if (!probes::Modules::with_ip_protocol6(quoted[6], [&]<class M>() { M::classify_quote(reply, probe, context); }))
        reject(reply, RejectReason::unsupported_protocol);
}

// The link-layer address option `wanted` among the NDP options in
// [options, end), into `mac`. Every option must have a non-zero length that
// stays inside the message (RFC 4861 4.6); false otherwise. Each step
// advances at least 8 bytes: the walk is bounded by the frame.
bool ndp_options(const std::uint8_t* options, std::size_t len, std::uint8_t wanted, MacAddress& mac,
                 bool& found) noexcept {
    std::size_t at = 0;
    while (at < len) {
        if (len - at < 2) return false;
        const std::size_t option_len = std::size_t(options[at + 1]) * 8;
        if (option_len == 0 || option_len > len - at) return false;
        if (options[at] == wanted && option_len >= 8) {
            std::memcpy(mac.data(), options + at + 2, 6);
            found = true;
        }
        at += option_len;
    }
    return true;
}

constexpr bool is_multicast6(uint128 a) noexcept { return (a >> 120) == 0xff; }
constexpr bool is_link_local6(uint128 a) noexcept { return (a >> 118) == (uint128{0xfe80} >> 6); }

// NS, NA or RA (checksum already verified), before any "for us" check: an NS
// goes to a solicited-node group, an RA to all-nodes. RFC 4861's validity
// checks: hop limit 255 (so it came from the link), code 0, the fixed body
// present, options well formed, a unicast target (NS, NA), a link-local
// router (RA).
void parse_ndp(ParsedReply& reply, const std::uint8_t* frame, const L4Reply6& in) noexcept {
    const std::uint8_t type = in.l4[0];
    const std::size_t body = type == ndp_router_advert ? ndp_ra_len : ndp_ns_na_len;
    if (in.ttl != 255 || in.l4[1] != 0 || in.len < body)
        return reject(reply, RejectReason::bad_ndp);
    NdpInfo& ndp = reply.ndp;
    std::memcpy(ndp.sender_mac.data(), frame + 6, 6); // the Ethernet source unless an option says
    ndp.sender_ip = in.source;
    bool option = false;
    const std::uint8_t wanted = type == ndp_neighbor_advert ? ndp_option_target_lla : ndp_option_source_lla;
    if (!ndp_options(in.l4 + body, in.len - body, wanted, ndp.sender_mac, option))
        return reject(reply, RejectReason::bad_ndp);
    if (type == ndp_router_advert) {
        if (!is_link_local6(in.source))
            return reject(reply, RejectReason::bad_ndp);
        ndp.target_ip = in.destination;
        reply.kind = ReplyKind::router_advert;
        return;
    }
    ndp.target_ip = load128(in.l4 + 8);
    if (is_multicast6(ndp.target_ip))
        return reject(reply, RejectReason::bad_ndp);
    // Duplicate address detection solicits from :: and must not carry a
    // source link-layer address (RFC 4861 7.1.1).
    if (type == ndp_neighbor_solicit && in.source == 0 && option)
        return reject(reply, RejectReason::bad_ndp);
    reply.kind = type == ndp_neighbor_solicit ? ReplyKind::ndp_solicit : ReplyKind::ndp_advert;
}

void parse_ipv6(ParsedReply& reply, const std::uint8_t* frame, const std::uint8_t* l3, std::size_t l3_len,
                const ReplyContext& context, RxChecksums verified) noexcept {
    if (l3_len < ip6_len)
        return reject(reply, RejectReason::truncated);
    // Payload length 0 is a jumbogram (or nothing): never an answer of ours.
    const std::size_t payload_len = load16(l3 + 4);
    if ((l3[0] >> 4) != 6 || payload_len == 0)
        return reject(reply, RejectReason::bad_ipv6_header);
    // Anything past the payload is Ethernet padding.
    if (payload_len > l3_len - ip6_len)
        return reject(reply, RejectReason::truncated);
    const std::size_t end = ip6_len + payload_len;

    // The extension headers a reply may carry are skipped; a fragment is
    // refused like an IPv4 one (our answers are single small packets).
    std::uint8_t next = l3[6];
    std::size_t at = ip6_len;
    for (int n = 0;; ++n) {
        if (next == ext_fragment)
            return reject(reply, RejectReason::fragment);
        if (next != ext_hop_by_hop && next != ext_routing && next != ext_destination)
            break;
        if (n == max_extension_headers)
            return reject(reply, RejectReason::bad_ipv6_header);
        if (end - at < 8)
            return reject(reply, RejectReason::truncated);
        const std::size_t header_len = (std::size_t(l3[at + 1]) + 1) * 8;
        if (header_len > end - at)
            return reject(reply, RejectReason::truncated);
        next = l3[at];
        at += header_len;
    }

    const uint128 source = load128(l3 + 8), destination = load128(l3 + 24);
    L4Reply6 l4{l3 + at, end - at, source, destination, l3[7], verified.l4};
    if (next == wire::proto_icmpv6) {
        if (l4.len < 4)
            return reject(reply, RejectReason::truncated);
        // Always in software, over the pseudo header and the whole message
        // (an unreachable's quote included), before the type is believed.
        if (!checksum_ok(l4.l4, l4.len, wire::pseudo_header_sum6(source, destination, next, l4.len)))
            return reject(reply, RejectReason::bad_icmp_checksum);
        l4.l4_hint = ChecksumHint::good;
        const std::uint8_t type = l4.l4[0];
        if (type == ndp_neighbor_solicit || type == ndp_neighbor_advert || type == ndp_router_advert)
            return parse_ndp(reply, frame, l4);
    }
    if (!ours_ipv6(destination, context))
        return reject(reply, RejectReason::not_for_us);
    reply.local_address = IpAddress::from_ipv6(destination);

    if (next == wire::proto_icmpv6) {
        if (l4.l4[0] == icmp6_unreachable)
            return parse_unreachable6(reply, l4, context);
        return probes::IcmpEcho::classify(reply, l4, context); // echo replies; anything else is rejected there
    }
    if (!probes::Modules::with_ip_protocol6(next, [&]<class M>() { M::classify(reply, l4, context); }))
        reject(reply, RejectReason::unsupported_protocol);
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
    if (ethertype == wire::ethertype_ipv4)
        return parse_ipv4(reply, l3, l3_len, context, verified);
    if (ethertype == wire::ethertype_ipv6)
        return parse_ipv6(reply, frame, l3, l3_len, context, verified);
    if (ethertype == wire::ethertype_arp)
        return parse_arp(reply, l3, l3_len);
    reject(reply, RejectReason::not_ipv4);
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
    case RejectReason::bad_ipv6_header: return "bad_ipv6_header";
    case RejectReason::bad_ndp: return "bad_ndp";
    case RejectReason::count_: break;
    }
    return "unknown";
}

std::size_t build_reset(std::uint8_t* out, const ParsedReply& reply, const MacAddress& our_mac,
                        const MacAddress& peer_mac, const CookieMaker& cookies) noexcept {
    const IpAddress target = reply.record.address();
    const Cookie cookie = cookies.make(target, reply.record.port, reply.local_address, Proto::tcp);
    if (target.is_ipv4()) {
        TcpSegment rst{};
        rst.source_mac = our_mac;
        rst.destination_mac = peer_mac;
        rst.source_ip = reply.local_address.ipv4();
        rst.destination_ip = target.ipv4();
        rst.source_port = reply.local_port;
        rst.destination_port = reply.record.port;
        rst.sequence = cookie.isn + 1; // what the peer acknowledged
        rst.flags = 0x04;
        rst.ttl = 64;
        rst.ip_id = cookie.ip_id;
        return build_tcp_segment(out, rst);
    }
    TcpSegment6 rst{};
    rst.source_mac = our_mac;
    rst.destination_mac = peer_mac;
    rst.source_ip = reply.local_address.bits;
    rst.destination_ip = target.bits;
    rst.source_port = reply.local_port;
    rst.destination_port = reply.record.port;
    rst.sequence = cookie.isn + 1;
    rst.flags = 0x04;
    rst.hop_limit = 64;
    return build_tcp_segment6(out, rst);
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
