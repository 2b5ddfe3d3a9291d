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
                             std::size_t payload_len) {
    probes::Modules::with_kind(probes::kind_of(slot.proto),
                               [&]<class M>() { M::build(*this, config, slot, payload, payload_len); });
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

std::size_t build_tcp_segment(std::uint8_t* out, const TcpSegment& segment) noexcept {
    put_ethernet(out, segment.destination_mac, segment.source_mac, ethertype_ipv4);
    const std::size_t segment_len = tcp_len + (segment.with_mss ? 4 : 0);

    std::uint8_t* ip = out + ip_off;
    put_ipv4(ip, std::uint16_t(ip_len + segment_len), segment.ip_id, ip_flag_df, segment.ttl, proto_tcp,
             segment.source_ip, segment.destination_ip);
    put16(ip + 10, checksum_fold(checksum_partial(ip, ip_len)));

    std::uint8_t* tcp = out + tcp_off;
    put16(tcp + 0, segment.source_port);
    put16(tcp + 2, segment.destination_port);
    put32(tcp + 4, segment.sequence);
    put32(tcp + 8, segment.acknowledgment);
    tcp[12] = std::uint8_t((segment_len / 4) << 4);
    tcp[13] = segment.flags;
    put16(tcp + 14, segment.window);
    put16(tcp + 16, 0);
    put16(tcp + 18, 0);
    if (segment.with_mss)
        write_tcp_options(tcp + tcp_len, TcpOptionsProfile::mss_only);
    const std::uint32_t pseudo =
        pseudo_header_sum(segment.source_ip, segment.destination_ip, proto_tcp, segment_len);
    put16(tcp + 16, checksum_fold(checksum_partial(tcp, segment_len, pseudo)));
    return tcp_off + segment_len;
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
