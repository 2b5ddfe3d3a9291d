#pragma once
// Reply parsing: Ethernet (optionally one 802.1Q tag) -> IPv4 (any IHL, no
// fragments) -> the probe module of the IP protocol (TCP SYN-ACK / RST, a UDP
// datagram, an ICMP echo reply), an ICMP destination unreachable quoting one
// of our probes (classified by the quoted probe's module), or ARP. Never reads past `len`; every rejection has a reason. The
// IPv4 header checksum, the TCP checksum (pseudo header included) and the
// ICMP checksum are verified before any field behind them is believed, in
// software unless the NIC already did (RxChecksums).
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
};

enum class RejectReason : std::uint8_t {
    truncated,        // shorter than the headers it claims
    oversized,        // longer than any frame we accept (jumbo guard)
    not_ipv4,         // ethertype neither IPv4 nor ARP (after at most one VLAN tag)
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
    bad_udp_checksum, // UDP checksum (when not 0) over pseudo header + datagram wrong
    count_            // number of reasons (array size)
};
constexpr std::size_t reject_reason_count = std::size_t(RejectReason::count_);
std::string_view to_string(RejectReason reason) noexcept;

struct ArpInfo {
    MacAddress sender_mac;
    std::uint32_t sender_ip; // host order
    std::uint32_t target_ip;
};

class SourceAddresses;

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
// taken from the IPv4 total length (never Ethernet padding).
struct L4Reply {
    const std::uint8_t* l4;
    std::size_t len;
    std::uint32_t source; // the replying address (host order)
    std::uint8_t ttl;
    ChecksumHint l4_hint; // the NIC's verdict on the L4 checksum (TCP/UDP)
};

// What a module's classify_quote() sees: an ICMP destination unreachable
// quoting a probe of the module's protocol (from our address, not a fragment).
struct QuotedProbe {
    std::uint32_t target;     // the quoted destination (host order)
    const std::uint8_t* ip;   // the quoted IPv4 header
    const std::uint8_t* l4;   // the quoted L4 header: at least 8 bytes
    std::size_t l4_len;
    std::uint8_t code;        // ICMP type 3 code
    std::uint8_t ttl;         // TTL of the ICMP message
    std::uint32_t from;       // the ICMP message's sender (host order): the target itself or a router
};

// Fills reply.record with a result (elapsed_ms left 0 for the RX lcore).
void fill_result(ParsedReply& reply, std::uint32_t address, Proto proto, std::uint16_t port, std::uint16_t window,
                 std::uint8_t ttl, PortState state, Reason reason) noexcept;
inline void reject(ParsedReply& reply, RejectReason reason) noexcept {
    reply.kind = ReplyKind::rejected;
    reply.reject = reason;
}
// ICMP type 3 code -> our reason words (nmap's).
Reason reason_from_unreach_code(std::uint8_t code) noexcept;
inline bool in_range(PortRange range, std::uint16_t port) noexcept { return port >= range.first && port <= range.last; }

ParsedReply parse_reply(const std::uint8_t* frame, std::size_t len, const ReplyContext& context) noexcept;
ParsedReply parse_reply(const std::uint8_t* frame, std::size_t len, const ReplyContext& context,
                        RxChecksums verified) noexcept;

} // namespace ws
