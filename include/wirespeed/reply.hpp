#pragma once
// Reply parsing: Ethernet (optionally one 802.1Q tag) -> IPv4 (any IHL, no
// fragments) -> TCP SYN-ACK / RST, ICMP destination unreachable quoting our
// probe, or ARP. Never reads past `len`; every rejection has a reason. The
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
    count_            // number of reasons (array size)
};
constexpr std::size_t reject_reason_count = std::size_t(RejectReason::count_);
std::string_view to_string(RejectReason reason) noexcept;

struct ArpInfo {
    MacAddress sender_mac;
    std::uint32_t sender_ip; // host order
    std::uint32_t target_ip;
};

struct ReplyContext {
    std::uint32_t source_ip; // our probes' source address (host order)
    const CookieMaker* cookies;
    std::size_t max_frame = 9018; // jumbo guard
};

struct ParsedReply {
    ReplyKind kind;
    RejectReason reject;   // when kind == rejected
    ResultRecord record;   // when kind == result (elapsed_ms left 0 for the caller)
    ArpInfo arp;           // when kind is arp_*
    std::uint32_t tcp_seq; // for --send-reset: the SYN-ACK's sequence number
    std::uint16_t local_port; // our source port the reply was sent to
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

ParsedReply parse_reply(const std::uint8_t* frame, std::size_t len, const ReplyContext& context) noexcept;
ParsedReply parse_reply(const std::uint8_t* frame, std::size_t len, const ReplyContext& context,
                        RxChecksums verified) noexcept;

} // namespace ws
