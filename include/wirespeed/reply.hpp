#pragma once
// Reply parsing: Ethernet (optionally one 802.1Q tag) -> IPv4 (any IHL, no
// fragments) or IPv6 (hop-by-hop, routing and destination options headers
// skipped, no fragments) -> the probe module of the IP protocol (TCP SYN-ACK
// / RST, a UDP datagram, an ICMP or ICMPv6 echo reply), an ICMP / ICMPv6
// destination unreachable quoting one of our probes (classified by the quoted
// probe's module), ARP, or NDP (NS, NA, RA). Never reads past `len`; every
// rejection has a reason. The IPv4 header checksum, the TCP and UDP checksums
// (pseudo header included) and the ICMP / ICMPv6 checksums are verified
// before any field behind them is believed, in software unless the NIC
// already did (RxChecksums; ICMP and ICMPv6 always in software).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "wirespeed/address.hpp"
#include "wirespeed/cookie.hpp"
#include "wirespeed/record.hpp"

namespace ws {

enum class ReplyKind : std::uint8_t {
    result,      // `record` is filled: a validated SYN-ACK, RST or ICMP
    arp_request, // `arp` is filled
    arp_reply,   // `arp` is filled
    rejected,    // see `reject`
    ndp_solicit,   // IPv6 Neighbor Solicitation: `ndp` is filled (target_ip may or may not be ours)
    ndp_advert,    // IPv6 Neighbor Advertisement: `ndp` is filled
    router_advert, // IPv6 Router Advertisement: `ndp` is filled (sender_ip = the router)
    stream_segment, // TCP to a service-detection port (ReplyContext::stream_ports): `segment` is filled
};

enum class RejectReason : std::uint8_t {
    truncated,        // shorter than the headers it claims
    oversized,        // longer than any frame we accept (jumbo guard)
    not_ipv4,         // ethertype neither IPv4, IPv6 nor ARP (after at most one VLAN tag)
    bad_ip_header,    // version != 4, IHL < 5, total length inconsistent
    fragment,         // MF set or non-zero offset
    not_for_us,       // destination is not our source IP
    unsupported_protocol, // neither TCP nor ICMP
    not_syn_ack_or_rst,   // a TCP segment that is neither
    bad_cookie,       // ack / seq / quoted probe does not validate
    wrong_source_port, // destination port outside our source-port range
    icmp_not_unreach, // an ICMP message that is not destination unreachable
    bad_arp,          // malformed ARP
    bad_ip_checksum,  // IPv4 header checksum wrong (or the NIC said so)
    bad_tcp_checksum, // TCP checksum over pseudo header + segment wrong (or the NIC said so)
    bad_icmp_checksum, // ICMP checksum over the message wrong
    bad_udp_checksum, // UDP checksum (when not 0) over pseudo header + datagram wrong; 0 over IPv6
    bad_ipv6_header,  // version != 6, payload length 0 (jumbogram) or too many extension headers
    bad_ndp,          // NDP message with hop limit != 255, code != 0, short body, bad option or target
    count_            // number of reasons (array size)
};
constexpr std::size_t reject_reason_count = std::size_t(RejectReason::count_);
std::string_view to_string(RejectReason reason) noexcept;

struct ArpInfo {
    MacAddress sender_mac;
    std::uint32_t sender_ip; // host order
    std::uint32_t target_ip;
};

// An NDP message (RFC 4861) the RX lcore acts on. NS: sender = the
// solicitor (:: for duplicate address detection), target = the address asked
// for; NA: sender = the advertiser's source address, target = the address
// advertised; RA: sender = the router, target = the RA's destination.
// sender_mac: from the source (NS, RA) or target (NA) link-layer address
// option, else the Ethernet source.
struct NdpInfo {
    MacAddress sender_mac;
    uint128 sender_ip;
    uint128 target_ip;
};

// A TCP segment of a service-detection connection (tcp_stream.hpp), its
// checksum verified; `payload` points into the frame.
struct StreamSegment {
    IpAddress peer, local;
    std::uint16_t peer_port, local_port;
    std::uint32_t sequence, acknowledgment;
    std::uint8_t flags;
    std::uint16_t window;
    std::uint16_t mss; // the MSS option of a SYN, else 0
    const std::uint8_t* payload;
    std::uint16_t payload_len;
};

class SourceAddresses;
namespace wire {
struct Ipv4;
struct Ipv6;
} // namespace wire

struct ReplyContext {
    std::uint32_t source_ip; // our probes' source address (host order), when `sources` is null
    const CookieMaker* cookies;
    std::size_t max_frame = 9018; // jumbo guard
    // UDP replies from port 53 must echo the DNS transaction ID our probe
    // carried (true unless a port-53 payload was too short to carry one).
    bool udp_dns_id = true;
    // Every source address of the scan, both families (--source-ip list);
    // null: IPv4 only, from source_ip.
    const SourceAddresses* sources = nullptr;
    // Local ports of service detection's connections (scan --service): TCP
    // to these is a stream_segment, whatever its flags. last == 0: none.
    PortRange stream_ports{0, 0};
};

struct ParsedReply {
    ReplyKind kind;
    RejectReason reject;   // when kind == rejected
    ResultRecord record;   // when kind == result (elapsed_ms left 0 for the caller)
    ArpInfo arp;           // when kind is arp_*
    std::uint32_t tcp_seq; // for --send-reset: the SYN-ACK's sequence number
    std::uint16_t local_port; // our source port the reply was sent to
    const std::uint8_t* data = nullptr; // UDP: the reply's payload (inside the frame), else null
    std::uint16_t data_len = 0;
    // Ours: the address the reply was sent to (for --send-reset: the RST's
    // source), when kind == result. For an ICMP error, where it was sent.
    IpAddress local_address{};
    NdpInfo ndp{}; // when kind is ndp_solicit, ndp_advert or router_advert
    StreamSegment segment{}; // when kind == stream_segment
};

// What the NIC's RX checksum offload already decided (DPDK's
// RTE_MBUF_F_RX_{IP,L4}_CKSUM_* flags, mapped at the DPDK boundary): `good`
// skips the software sum, `bad` rejects, `unknown` verifies in software. The
// l4 hint applies to TCP only; ICMP is always verified in software.
enum class ChecksumHint : std::uint8_t { unknown, good, bad };
struct RxChecksums {
    ChecksumHint ip = ChecksumHint::unknown;
    ChecksumHint l4 = ChecksumHint::unknown;
};

// What a module's classify() sees: an L4 segment addressed to us, its length
// taken from the IPv4 total length / IPv6 payload length (never Ethernet
// padding). F is the family (wire::Ipv4: host-order uint32_t addresses;
// wire::Ipv6: uint128), so each module's classify is written once.
template <class F>
struct L4ReplyOf {
    const std::uint8_t* l4;
    std::size_t len;
    typename F::Address source;      // the replying address
    typename F::Address destination; // ours: the address the reply was sent to (the cookie's source)
    std::uint8_t ttl;                // TTL / hop limit
    // The NIC's verdict on the L4 checksum (TCP/UDP). ICMPv6: `good`, since
    // parse_reply verified it (pseudo header included) before dispatching.
    ChecksumHint l4_hint;
};
using L4Reply = L4ReplyOf<wire::Ipv4>;
using L4Reply6 = L4ReplyOf<wire::Ipv6>;

// What a module's classify_quote() sees: an ICMP destination unreachable
// quoting a probe of the module's protocol (from one of our addresses, not a fragment).
template <class F>
struct QuotedProbeOf {
    typename F::Address target; // the quoted destination
    typename F::Address source; // the quoted source: ours, the cookie's source
    const std::uint8_t* ip;     // the quoted IP header
    const std::uint8_t* l4;     // the quoted L4 header: at least 8 bytes
    std::size_t l4_len;
    std::uint8_t code;          // ICMP type 3 / ICMPv6 type 1 code
    Reason reason;              // the code as our reason word (each family's codes mapped)
    std::uint8_t ttl;           // TTL / hop limit of the ICMP message
    typename F::Address from;   // the ICMP message's sender: the target itself or a router
};
using QuotedProbe = QuotedProbeOf<wire::Ipv4>;
using QuotedProbe6 = QuotedProbeOf<wire::Ipv6>;

// Fills reply.record with a result (elapsed_ms left 0 for the RX lcore).
void fill_result(ParsedReply& reply, std::uint32_t address, Proto proto, std::uint16_t port, std::uint16_t window,
                 std::uint8_t ttl, PortState state, Reason reason) noexcept;
// The same for an IPv6 address (or any IpAddress).
void fill_result(ParsedReply& reply, IpAddress address, Proto proto, std::uint16_t port, std::uint16_t window,
                 std::uint8_t ttl, PortState state, Reason reason) noexcept;
inline void fill_result(ParsedReply& reply, uint128 address, Proto proto, std::uint16_t port, std::uint16_t window,
                        std::uint8_t ttl, PortState state, Reason reason) noexcept {
    fill_result(reply, IpAddress::from_ipv6(address), proto, port, window, ttl, state, reason);
}
inline void reject(ParsedReply& reply, RejectReason reason) noexcept {
    reply.kind = ReplyKind::rejected;
    reply.reject = reason;
}
// ICMP type 3 code -> our reason words (nmap's).
Reason reason_from_unreach_code(std::uint8_t code) noexcept;
// ICMPv6 type 1 code -> the same words: 0 no route -> net-unreach, 1 admin
// prohibited -> admin-prohibited, 3 address unreachable -> host-unreach,
// 4 port unreachable -> port-unreach, others -> unreach-other.
Reason reason_from_unreach6_code(std::uint8_t code) noexcept;
inline bool in_range(PortRange range, std::uint16_t port) noexcept { return port >= range.first && port <= range.last; }

// --send-reset: the RST that closes the half-open connection of a SYN-ACK
// result (`reply` from parse_reply, kind result, proto tcp), from the address
// the SYN-ACK was sent to (reply.local_address) to the target, either
// family: sequence = our ISN + 1 from the cookie, IPv4 ID from the cookie,
// TTL / hop limit 64. Writes at most 74 bytes into `out`; returns the length.
std::size_t build_reset(std::uint8_t* out, const ParsedReply& reply, const MacAddress& our_mac,
                        const MacAddress& peer_mac, const CookieMaker& cookies) noexcept;

ParsedReply parse_reply(const std::uint8_t* frame, std::size_t len, const ReplyContext& context) noexcept;
ParsedReply parse_reply(const std::uint8_t* frame, std::size_t len, const ReplyContext& context,
                        RxChecksums verified) noexcept;

} // namespace ws
