#include "wirespeed/probe.hpp"

#include <cstring>

#include "wirespeed/probes/modules.hpp"

namespace ws {
namespace {

using namespace wire;
constexpr std::size_t tcp_off = l4_off;
constexpr std::size_t tcp_len = probes::TcpSyn::tcp_len;

// The ICMP quote is capped so the whole frame fits the documented 128 bytes.
constexpr std::size_t out_capacity = 128;
constexpr std::size_t icmp_header_len = 8;
constexpr std::size_t max_icmp_quote = out_capacity - eth_len - ip_len - icmp_header_len;

std::size_t write_tcp_options(std::uint8_t* p, TcpOptionsProfile profile) noexcept {
    return probes::TcpSyn::write_options(p, profile);
}

} // namespace

std::uint32_t checksum_partial(const void* data, std::size_t len, std::uint32_t sum) noexcept {
    const auto* p = static_cast<const std::uint8_t*>(data);
    // 64-bit accumulator: no overflow for any realistic buffer, folded once at the end.
    std::uint64_t acc = sum;
    while (len >= 2) {
        acc += (std::uint32_t{p[0]} << 8) | p[1];
        p += 2;
        len -= 2;
    }
    if (len)
        acc += std::uint32_t{p[0]} << 8; // RFC 1071: pad the odd byte with zero
    while (acc >> 32)
        acc = (acc & 0xffffffffu) + (acc >> 32);
    return std::uint32_t(acc);
}

std::uint16_t checksum_fold(std::uint32_t sum) noexcept {
    return std::uint16_t(~fold16(sum));
}

ProbeTemplate::ProbeTemplate(const ProbeConfig& config) : ProbeTemplate(config, ProbeSlot{Proto::tcp, 0, 0}, nullptr, 0) {}

ProbeTemplate::ProbeTemplate(const ProbeConfig& config, const ProbeSlot& slot, const std::uint8_t* payload,
                             std::size_t payload_len)
    : ProbeTemplate(config, slot, payload, payload_len, AddressFamily::ipv4) {}

ProbeTemplate::ProbeTemplate(const ProbeConfig& config, const ProbeSlot& slot, const std::uint8_t* payload,
                             std::size_t payload_len, AddressFamily family) {
    probes::Modules::with_kind(probes::kind_of(slot.proto), [&]<class M>() {
        if (family == AddressFamily::ipv6)
            M::template build<wire::Ipv6>(*this, config, slot, payload, payload_len);
        else
            M::template build<wire::Ipv4>(*this, config, slot, payload, payload_len);
    });
}

void ProbeTemplate::write6(std::uint8_t* frame, const ProbeFields6& fields) const noexcept {
    std::memcpy(frame, frame_, size_);
    patch6(frame, fields);
}

void ProbeTemplate::patch6(std::uint8_t* frame, const ProbeFields6& fields) const noexcept {
    probes::Modules::with_kind(kind_, [&]<class M>() { M::template patch6<false>(frame, *this, fields); });
}

void ProbeTemplate::write6_for_offload(std::uint8_t* frame, const ProbeFields6& fields) const noexcept {
    std::memcpy(frame, frame_, size_);
    patch6_for_offload(frame, fields);
}

void ProbeTemplate::patch6_for_offload(std::uint8_t* frame, const ProbeFields6& fields) const noexcept {
    probes::Modules::with_kind(kind_, [&]<class M>() { M::template patch6<true>(frame, *this, fields); });
}

void ProbeTemplate::write_for_offload(std::uint8_t* frame, const ProbeFields& fields) const noexcept {
    std::memcpy(frame, frame_, size_);
    patch_for_offload(frame, fields);
}

void ProbeTemplate::patch_for_offload(std::uint8_t* frame, const ProbeFields& fields) const noexcept {
    probes::Modules::with_kind(kind_, [&]<class M>() { M::template patch<true>(frame, *this, fields); });
}

void ProbeTemplate::patch(std::uint8_t* frame, const ProbeFields& fields) const noexcept {
    probes::Modules::with_kind(kind_, [&]<class M>() { M::template patch<false>(frame, *this, fields); });
}

void ProbeTemplate::write(std::uint8_t* frame, const ProbeFields& fields) const noexcept {
    std::memcpy(frame, frame_, size_);
    patch(frame, fields);
}

namespace {

// The TCP header of a segment of either family (TcpSegment or TcpSegment6),
// checksum left zero, MSS appended when asked.
template <class Segment>
void put_tcp_header(std::uint8_t* tcp, const Segment& segment, std::size_t header_len) noexcept {
    put16(tcp + 0, segment.source_port);
    put16(tcp + 2, segment.destination_port);
    put32(tcp + 4, segment.sequence);
    put32(tcp + 8, segment.acknowledgment);
    tcp[12] = std::uint8_t((header_len / 4) << 4);
    tcp[13] = segment.flags;
    put16(tcp + 14, segment.window);
    put16(tcp + 16, 0);
    put16(tcp + 18, 0);
    if (segment.with_mss) write_tcp_options(tcp + tcp_len, TcpOptionsProfile::mss_only);
    if (segment.payload_len) std::memcpy(tcp + header_len, segment.payload, segment.payload_len);
}

} // namespace

std::size_t build_tcp_segment(std::uint8_t* out, const TcpSegment& segment) noexcept {
    put_ethernet(out, segment.destination_mac, segment.source_mac, ethertype_ipv4);
    const std::size_t header_len = tcp_len + (segment.with_mss ? 4 : 0);
    const std::size_t segment_len = header_len + segment.payload_len;

    std::uint8_t* ip = out + ip_off;
    put_ipv4(ip, std::uint16_t(ip_len + segment_len), segment.ip_id, ip_flag_df, segment.ttl, proto_tcp,
             segment.source_ip, segment.destination_ip);
    put16(ip + 10, checksum_fold(checksum_partial(ip, ip_len)));

    std::uint8_t* tcp = out + tcp_off;
    put_tcp_header(tcp, segment, header_len);
    const std::uint32_t pseudo =
        pseudo_header_sum(segment.source_ip, segment.destination_ip, proto_tcp, segment_len);
    put16(tcp + 16, checksum_fold(checksum_partial(tcp, segment_len, pseudo)));
    return tcp_off + segment_len;
}

std::size_t build_tcp_segment6(std::uint8_t* out, const TcpSegment6& segment) noexcept {
    put_ethernet(out, segment.destination_mac, segment.source_mac, ethertype_ipv6);
    const std::size_t header_len = tcp_len + (segment.with_mss ? 4 : 0);
    const std::size_t segment_len = header_len + segment.payload_len;
    put_ipv6(out + ip_off, std::uint16_t(segment_len), proto_tcp, segment.hop_limit, segment.source_ip,
             segment.destination_ip);
    std::uint8_t* tcp = out + l4_off6;
    put_tcp_header(tcp, segment, header_len);
    const std::uint32_t pseudo = pseudo_header_sum6(segment.source_ip, segment.destination_ip, proto_tcp, segment_len);
    put16(tcp + 16, checksum_fold(checksum_partial(tcp, segment_len, pseudo)));
    return l4_off6 + segment_len;
}

std::size_t build_tcp_segment_any(std::uint8_t* out, const TcpSegmentAny& a) noexcept {
    if (a.source_ip.is_ipv4()) {
        const TcpSegment s{a.source_mac,   a.destination_mac,     a.source_ip.ipv4(), a.destination_ip.ipv4(),
                           a.source_port,  a.destination_port,    a.sequence,         a.acknowledgment,
                           a.flags,        a.window,              a.ttl,              std::uint16_t(a.sequence),
                           a.with_mss,     a.payload,             a.payload_len};
        return build_tcp_segment(out, s);
    }
    const TcpSegment6 s{a.source_mac,  a.destination_mac, a.source_ip.bits, a.destination_ip.bits, a.source_port,
                        a.destination_port, a.sequence,  a.acknowledgment, a.flags, a.window, a.ttl, a.with_mss,
                        a.payload,     a.payload_len};
    return build_tcp_segment6(out, s);
}

namespace {

constexpr std::size_t max_icmp6_quote = out_capacity - eth_len - ip6_len - icmp_header_len;
constexpr std::uint8_t ndp_hop_limit = 255; // RFC 4861: receivers drop NDP with any other

// An ICMPv6 message of `message_len` bytes already at out + l4_off6: the
// Ethernet and IPv6 headers before it and its checksum (pseudo header
// included). Returns the frame length.
std::size_t finish_icmp6(std::uint8_t* out, const MacAddress& source_mac, const MacAddress& destination_mac,
                         uint128 source_ip, uint128 destination_ip, std::uint8_t hop_limit,
                         std::size_t message_len) noexcept {
    put_ethernet(out, destination_mac, source_mac, ethertype_ipv6);
    put_ipv6(out + ip_off, std::uint16_t(message_len), proto_icmpv6, hop_limit, source_ip, destination_ip);
    std::uint8_t* icmp = out + l4_off6;
    put16(icmp + 2, 0);
    const std::uint32_t pseudo = pseudo_header_sum6(source_ip, destination_ip, proto_icmpv6, message_len);
    put16(icmp + 2, checksum_fold(checksum_partial(icmp, message_len, pseudo)));
    return l4_off6 + message_len;
}

// A link-layer address option (RFC 4861 4.6.1): type, length 1 (8 bytes), MAC.
void put_lla_option(std::uint8_t* p, std::uint8_t type, const MacAddress& mac) noexcept {
    p[0] = type;
    p[1] = 1;
    std::memcpy(p + 2, mac.data(), 6);
}

constexpr uint128 all_nodes = (uint128{0xff02000000000000ull} << 64) | 1;
constexpr uint128 all_routers = (uint128{0xff02000000000000ull} << 64) | 2;

} // namespace

MacAddress multicast_mac(uint128 group) noexcept {
    // RFC 2464 7: 33:33 and the group's low 32 bits.
    return MacAddress{0x33, 0x33, std::uint8_t(group >> 24), std::uint8_t(group >> 16), std::uint8_t(group >> 8),
                      std::uint8_t(group)};
}

std::size_t build_icmp6_unreachable(std::uint8_t* out, const MacAddress& source_mac, const MacAddress& destination_mac,
                                    uint128 source_ip, uint128 destination_ip, std::uint8_t code,
                                    const std::uint8_t* quoted_ip, std::size_t quoted_len) noexcept {
    const std::size_t quote = quoted_len < max_icmp6_quote ? quoted_len : max_icmp6_quote;
    std::uint8_t* icmp = out + l4_off6;
    icmp[0] = 1; // destination unreachable
    icmp[1] = code;
    put32(icmp + 4, 0); // unused
    if (quote)
        std::memcpy(icmp + icmp_header_len, quoted_ip, quote);
    return finish_icmp6(out, source_mac, destination_mac, source_ip, destination_ip, 64, icmp_header_len + quote);
}

std::size_t build_neighbor_solicit(std::uint8_t* out, const MacAddress& our_mac, uint128 our_ip,
                                   uint128 target_ip) noexcept {
    const uint128 group = solicited_node(target_ip);
    std::uint8_t* icmp = out + l4_off6;
    icmp[0] = 135;
    icmp[1] = 0;
    put32(icmp + 4, 0); // reserved
    put128(icmp + 8, target_ip);
    put_lla_option(icmp + 24, 1, our_mac); // source link-layer address
    return finish_icmp6(out, our_mac, multicast_mac(group), our_ip, group, ndp_hop_limit, 32);
}

std::size_t build_neighbor_advert(std::uint8_t* out, const MacAddress& our_mac, uint128 our_ip, const MacAddress& to_mac,
                                  uint128 to_ip, bool solicited) noexcept {
    constexpr std::uint32_t flag_solicited = 0x40000000u, flag_override = 0x20000000u;
    // Duplicate address detection (a solicitation from ::) is answered to all-nodes, unsolicited.
    const bool dad = to_ip == 0;
    std::uint8_t* icmp = out + l4_off6;
    icmp[0] = 136;
    icmp[1] = 0;
    put32(icmp + 4, flag_override | (solicited && !dad ? flag_solicited : 0));
    put128(icmp + 8, our_ip);
    put_lla_option(icmp + 24, 2, our_mac); // target link-layer address
    return finish_icmp6(out, our_mac, dad ? multicast_mac(all_nodes) : to_mac, our_ip, dad ? all_nodes : to_ip,
                        ndp_hop_limit, 32);
}

std::size_t build_router_solicit(std::uint8_t* out, const MacAddress& our_mac, uint128 our_ip) noexcept {
    std::uint8_t* icmp = out + l4_off6;
    icmp[0] = 133;
    icmp[1] = 0;
    put32(icmp + 4, 0); // reserved
    std::size_t len = 8;
    if (our_ip != 0) { // RFC 4861 4.1: no source link-layer option from ::
        put_lla_option(icmp + 8, 1, our_mac);
        len += 8;
    }
    return finish_icmp6(out, our_mac, multicast_mac(all_routers), our_ip, all_routers, ndp_hop_limit, len);
}

std::size_t build_icmp_unreachable(std::uint8_t* out, const MacAddress& source_mac, const MacAddress& destination_mac,
                                   std::uint32_t source_ip, std::uint32_t destination_ip, std::uint8_t code,
                                   const std::uint8_t* quoted_ip, std::size_t quoted_len) noexcept {
    const std::size_t quote = quoted_len < max_icmp_quote ? quoted_len : max_icmp_quote;
    const std::size_t icmp_len = icmp_header_len + quote;

    put_ethernet(out, destination_mac, source_mac, ethertype_ipv4);
    std::uint8_t* ip = out + ip_off;
    // No DF: routers generating ICMP errors commonly leave it clear.
    put_ipv4(ip, std::uint16_t(ip_len + icmp_len), 0, 0, 64, proto_icmp, source_ip, destination_ip);
    put16(ip + 10, checksum_fold(checksum_partial(ip, ip_len)));

    std::uint8_t* icmp = ip + ip_len;
    icmp[0] = 3; // destination unreachable
    icmp[1] = code;
    put16(icmp + 2, 0);
    put32(icmp + 4, 0); // unused (next-hop MTU only for code 4)
    if (quote)
        std::memcpy(icmp + icmp_header_len, quoted_ip, quote);
    put16(icmp + 2, checksum_fold(checksum_partial(icmp, icmp_len)));
    return eth_len + ip_len + icmp_len;
}

std::size_t build_arp(std::uint8_t* out, bool is_reply, const MacAddress& sender_mac, std::uint32_t sender_ip,
                      const MacAddress& target_mac, std::uint32_t target_ip) noexcept {
    static constexpr MacAddress broadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    put_ethernet(out, is_reply ? target_mac : broadcast, sender_mac, ethertype_arp);
    std::uint8_t* arp = out + eth_len;
    put16(arp + 0, 1); // Ethernet
    put16(arp + 2, ethertype_ipv4);
    arp[4] = 6;
    arp[5] = 4;
    put16(arp + 6, is_reply ? 2 : 1);
    std::memcpy(arp + 8, sender_mac.data(), 6);
    put32(arp + 14, sender_ip);
    std::memcpy(arp + 18, target_mac.data(), 6);
    put32(arp + 24, target_ip);
    return eth_len + 28;
}

} // namespace ws
