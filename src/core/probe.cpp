#include "wirespeed/probe.hpp"

#include <cstring>

namespace ws {
namespace {

// Frame layout of every IPv4 frame we build (no VLAN tag, IHL 5).
constexpr std::size_t eth_len = 14;
constexpr std::size_t ip_off = eth_len;
constexpr std::size_t ip_len = 20;
constexpr std::size_t tcp_off = ip_off + ip_len;
constexpr std::size_t tcp_len = 20;

// Offsets of the per-probe fields inside the frame.
constexpr std::size_t ip_id_at = ip_off + 4;
constexpr std::size_t ip_sum_at = ip_off + 10;
constexpr std::size_t ip_dst_at = ip_off + 16;
constexpr std::size_t tcp_sport_at = tcp_off + 0;
constexpr std::size_t tcp_dport_at = tcp_off + 2;
constexpr std::size_t tcp_seq_at = tcp_off + 4;
constexpr std::size_t tcp_sum_at = tcp_off + 16;

constexpr std::uint8_t proto_icmp = 1;
constexpr std::uint8_t proto_tcp = 6;
constexpr std::uint16_t ethertype_ipv4 = 0x0800;
constexpr std::uint16_t ethertype_arp = 0x0806;
constexpr std::uint16_t ip_flag_df = 0x4000;
constexpr std::uint16_t mss = 1460;
// A fixed, non-zero TSval: a zero TSval is itself unusual enough to fingerprint
// the scanner, and a per-probe clock would cost a checksum word for nothing.
constexpr std::uint32_t timestamp_value = 0x01020304;

// The ICMP quote is capped so the whole frame fits the documented 128 bytes.
constexpr std::size_t out_capacity = 128;
constexpr std::size_t icmp_header_len = 8;
constexpr std::size_t max_icmp_quote = out_capacity - eth_len - ip_len - icmp_header_len;

inline void put16(std::uint8_t* p, std::uint16_t v) noexcept {
    p[0] = std::uint8_t(v >> 8);
    p[1] = std::uint8_t(v);
}

inline void put32(std::uint8_t* p, std::uint32_t v) noexcept {
    p[0] = std::uint8_t(v >> 24);
    p[1] = std::uint8_t(v >> 16);
    p[2] = std::uint8_t(v >> 8);
    p[3] = std::uint8_t(v);
}

inline std::size_t put_ethernet(std::uint8_t* out, const MacAddress& destination, const MacAddress& source,
                                std::uint16_t ethertype) noexcept {
    std::memcpy(out, destination.data(), 6);
    std::memcpy(out + 6, source.data(), 6);
    put16(out + 12, ethertype);
    return eth_len;
}

// IPv4 header without options; the checksum field is left zero for the caller.
inline void put_ipv4(std::uint8_t* ip, std::uint16_t total_length, std::uint16_t id, std::uint16_t flags_fragment,
                     std::uint8_t ttl, std::uint8_t protocol, std::uint32_t source, std::uint32_t destination) noexcept {
    ip[0] = 0x45;
    ip[1] = 0; // tos
    put16(ip + 2, total_length);
    put16(ip + 4, id);
    put16(ip + 6, flags_fragment);
    ip[8] = ttl;
    ip[9] = protocol;
    put16(ip + 10, 0);
    put32(ip + 12, source);
    put32(ip + 16, destination);
}

inline std::uint32_t pseudo_header_sum(std::uint32_t source, std::uint32_t destination, std::uint8_t protocol,
                                       std::size_t l4_length) noexcept {
    return (source >> 16) + (source & 0xffff) + (destination >> 16) + (destination & 0xffff) + protocol +
           std::uint32_t(l4_length);
}

std::size_t write_tcp_options(std::uint8_t* p, TcpOptionsProfile profile) noexcept {
    p[0] = 2; // MSS
    p[1] = 4;
    put16(p + 2, mss);
    if (profile == TcpOptionsProfile::mss_only)
        return 4;
    p[4] = 4; // SACK permitted
    p[5] = 2;
    p[6] = 8; // timestamps
    p[7] = 10;
    put32(p + 8, timestamp_value);
    put32(p + 12, 0); // TSecr: nothing to echo on a SYN
    p[16] = 1;        // NOP keeps the window scale option where Linux puts it
    p[17] = 3;        // window scale
    p[18] = 3;
    p[19] = 7;
    return 20;
}

inline std::uint32_t fold16(std::uint32_t sum) noexcept {
    sum = (sum & 0xffff) + (sum >> 16);
    return (sum & 0xffff) + (sum >> 16);
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

ProbeTemplate::ProbeTemplate(const ProbeConfig& config) {
    std::uint8_t* f = frame_;
    put_ethernet(f, config.destination_mac, config.source_mac, ethertype_ipv4);

    std::uint8_t* tcp = f + tcp_off;
    const std::size_t options_len = write_tcp_options(tcp + tcp_len, config.options);
    const std::size_t segment_len = tcp_len + options_len;
    size_ = tcp_off + segment_len;

    // Per-probe fields stay zero in the template, so the partial sums below
    // cover exactly the constant words and patch() only adds the variable ones.
    put_ipv4(f + ip_off, std::uint16_t(ip_len + segment_len), 0, ip_flag_df, config.ttl, proto_tcp,
             config.source_ip, 0);

    put32(tcp + 8, 0); // ack
    tcp[12] = std::uint8_t((segment_len / 4) << 4);
    tcp[13] = 0x02; // SYN
    put16(tcp + 14, config.window);
    put16(tcp + 16, 0);
    put16(tcp + 18, 0);

    // Folded to 16 bits so patch() can add its words without any overflow check.
    ip_sum_base_ = fold16(checksum_partial(f + ip_off, ip_len));
    tcp_sum_base_ = fold16(
        checksum_partial(tcp, segment_len, pseudo_header_sum(config.source_ip, 0, proto_tcp, segment_len)));
    pseudo_sum_base_ = fold16(pseudo_header_sum(config.source_ip, 0, proto_tcp, segment_len));
}

void ProbeTemplate::write_for_offload(std::uint8_t* frame, const ProbeFields& fields) const noexcept {
    std::memcpy(frame, frame_, size_);
    patch_for_offload(frame, fields);
}

void ProbeTemplate::patch_for_offload(std::uint8_t* frame, const ProbeFields& fields) const noexcept {
    patch(frame, fields);
    const std::uint32_t dst = fields.destination_ip;
    put16(frame + ip_sum_at, 0);
    put16(frame + tcp_sum_at, std::uint16_t(fold16(pseudo_sum_base_ + (dst >> 16) + (dst & 0xffff))));
}

void ProbeTemplate::patch(std::uint8_t* frame, const ProbeFields& fields) const noexcept {
    const std::uint32_t dst = fields.destination_ip;
    const std::uint32_t dst_sum = (dst >> 16) + (dst & 0xffff);

    put16(frame + ip_id_at, fields.ip_id);
    put32(frame + ip_dst_at, dst);
    put16(frame + ip_sum_at, checksum_fold(ip_sum_base_ + fields.ip_id + dst_sum));

    put16(frame + tcp_sport_at, fields.source_port);
    put16(frame + tcp_dport_at, fields.destination_port);
    put32(frame + tcp_seq_at, fields.sequence);
    const std::uint32_t tcp_sum = tcp_sum_base_ + dst_sum + fields.source_port + fields.destination_port +
                                  (fields.sequence >> 16) + (fields.sequence & 0xffff);
    put16(frame + tcp_sum_at, checksum_fold(tcp_sum));
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
