#pragma once
// Probe frames: a template built once per slot by its probe module, then
// patched per probe. Checksums are finished from precomputed partial sums of
// the template, so a probe costs a few adds, not a pass over the header.
#include <cstddef>
#include <cstdint>

#include "wirespeed/address.hpp"
#include "wirespeed/probe_slots.hpp"

namespace ws {

enum class TcpOptionsProfile : std::uint8_t {
    mss_only, // MSS 1460 (4 option bytes): the default, smallest probe
    os_like,  // MSS, SACK-permitted, timestamps, NOP, window scale (20 bytes), like Linux
};

struct ProbeConfig {
    MacAddress source_mac{};
    MacAddress destination_mac{}; // gateway (or on-link target)
    std::uint32_t source_ip = 0;  // host order
    std::uint8_t ttl = 64;
    std::uint16_t window = 1024;
    TcpOptionsProfile options = TcpOptionsProfile::mss_only;
    uint128 source_ip6 = 0;       // the source of IPv6 templates
};

// The per-probe values, from the cookie. Each probe module decides where they
// go: TCP SYN (source port, sequence, IP ID), UDP (source port, the DNS
// transaction ID from the low 16 bits of `sequence`, IP ID), ICMP echo
// (identifier and sequence number from `sequence`, IP ID).
struct ProbeFields {
    std::uint32_t destination_ip; // host order
    std::uint16_t destination_port;
    std::uint16_t source_port;
    std::uint32_t sequence;
    std::uint16_t ip_id;
};

// The same for an IPv6 probe. IPv6 has no IP ID: `ip_id` goes into the low 16
// bits of the flow label (a one-packet flow, so any label is valid; RFC 6437
// asks for a pseudo-random one, and a cookie-derived label is that). An ICMPv6
// error quotes it, so a quoted UDP probe validates on 16 more bits than its
// source port, as the quoted IPv4 ID does. It is in no checksum: free.
struct ProbeFields6 {
    uint128 destination_ip;
    std::uint16_t destination_port;
    std::uint16_t source_port;
    std::uint32_t sequence;
    std::uint16_t ip_id; // the flow label's low 16 bits
};

// The probe types; each is one file in include/wirespeed/probes/ and one
// entry of the module list in probes/modules.hpp.
enum class ProbeKind : std::uint8_t { tcp_syn, udp, icmp_echo };

// Which L4 checksum a NIC may finish (TX offload): the module says.
enum class L4Checksum : std::uint8_t { none, tcp, udp };

// One probe frame (Ethernet + IPv4 or IPv6 + L4 + payload) built once per
// slot and address family by its module, with the partial checksums of its
// constant words; the module's patch() (IPv4) or patch6() (IPv6) adds the
// per-probe words. The data members are the modules' to fill.
class ProbeTemplate {
public:
    static constexpr std::size_t max_payload = 1400;             // UDP payload bytes (fits a 1500 MTU, either family)
    static constexpr std::size_t max_frame_ipv4 = 14 + 20 + 8 + max_payload;
    static constexpr std::size_t max_frame = 14 + 40 + 8 + max_payload; // either family (IPv6 headers are 20 bytes longer)
    static constexpr std::size_t l3_offset = 14;
    static constexpr std::size_t l4_offset = 14 + 20;  // IPv4
    static constexpr std::size_t l4_offset6 = 14 + 40; // IPv6

    ProbeTemplate() = default;
    explicit ProbeTemplate(const ProbeConfig& config); // TCP SYN (the classic scan)
    // The template of any slot: `payload` is the UDP payload (ignored by
    // others; cut to max_payload). IPv4 from config.source_ip.
    ProbeTemplate(const ProbeConfig& config, const ProbeSlot& slot, const std::uint8_t* payload, std::size_t payload_len);
    // Either family: ipv6 builds an IPv6 frame from config.source_ip6 (ICMP
    // echo becomes ICMPv6 echo), patched with patch6()/write6().
    ProbeTemplate(const ProbeConfig& config, const ProbeSlot& slot, const std::uint8_t* payload, std::size_t payload_len,
                  AddressFamily family);

    std::size_t size() const noexcept { return size_; } // frame length without FCS
    const std::uint8_t* bytes() const noexcept { return frame_; }
    ProbeKind kind() const noexcept { return kind_; }
    AddressFamily family() const noexcept { return family_; }
    std::size_t l3_len() const noexcept { return family_ == AddressFamily::ipv6 ? 40 : 20; } // IP header bytes
    std::size_t l4_off() const noexcept { return l3_offset + l3_len(); }
    L4Checksum l4_checksum() const noexcept { return l4_checksum_; }
    // Control-plane conveniences (tests, canaries): dispatch on kind() to the
    // module. The TX lcores call the module's patch directly instead.
    // Copies the template into frame (size() bytes) and patches the fields.
    void write(std::uint8_t* frame, const ProbeFields& fields) const noexcept;
    // Patches only the per-probe fields of a frame that already holds the template.
    void patch(std::uint8_t* frame, const ProbeFields& fields) const noexcept;
    // For a NIC that finishes checksums (TX offload): the IPv4 checksum left 0
    // and the L4 checksum field holding the folded pseudo-header sum, which is
    // what DPDK's rte_ipv4_phdr_cksum() gives and what the NIC expects
    // (modules without L4 offload finish their own checksum).
    void write_for_offload(std::uint8_t* frame, const ProbeFields& fields) const noexcept;
    void patch_for_offload(std::uint8_t* frame, const ProbeFields& fields) const noexcept;
    // The same for an IPv6 template (family() == ipv6). Offload: the L4
    // checksum field holds the folded IPv6 pseudo-header sum
    // (rte_ipv6_phdr_cksum()); there is no IP header checksum.
    void write6(std::uint8_t* frame, const ProbeFields6& fields) const noexcept;
    void patch6(std::uint8_t* frame, const ProbeFields6& fields) const noexcept;
    void write6_for_offload(std::uint8_t* frame, const ProbeFields6& fields) const noexcept;
    void patch6_for_offload(std::uint8_t* frame, const ProbeFields6& fields) const noexcept;

    // --- filled by the module's build()
    alignas(64) std::uint8_t frame_[max_frame] = {};
    std::size_t size_ = 0;
    ProbeKind kind_ = ProbeKind::tcp_syn;
    AddressFamily family_ = AddressFamily::ipv4;
    L4Checksum l4_checksum_ = L4Checksum::none;
    std::int16_t app_id_at_ = -1;       // UDP: frame offset of a 16-bit application ID (DNS), or -1
    std::uint32_t ip_sum_base_ = 0;     // one's complement sum of the IP header w/o per-probe words
    std::uint32_t l4_sum_base_ = 0;     // pseudo header + L4 header + payload w/o per-probe words
    std::uint32_t pseudo_sum_base_ = 0; // pseudo header w/o the destination address
};

// Internet checksum helpers (RFC 1071), used by tests and the reply side.
std::uint32_t checksum_partial(const void* data, std::size_t len, std::uint32_t sum = 0) noexcept;
std::uint16_t checksum_fold(std::uint32_t sum) noexcept; // returns ~folded (ready to store, host order)

// An RST to close a half-open connection after a SYN-ACK (--send-reset), and
// the frames the reflector answers with. All write into `out` (>= 128 bytes
// plus payload_len) and return the frame length.
struct TcpSegment {
    MacAddress source_mac, destination_mac;
    std::uint32_t source_ip, destination_ip; // host order
    std::uint16_t source_port, destination_port;
    std::uint32_t sequence, acknowledgment;
    std::uint8_t flags; // TCP flag bits (0x02 SYN, 0x10 ACK, 0x04 RST, 0x12 SYN-ACK)
    std::uint16_t window;
    std::uint8_t ttl;
    std::uint16_t ip_id;
    bool with_mss; // appends MSS 1460
    // Data after the header (service detection's probes); len bytes are copied.
    const std::uint8_t* payload = nullptr;
    std::uint16_t payload_len = 0;
};
std::size_t build_tcp_segment(std::uint8_t* out, const TcpSegment& segment) noexcept;

// The same over IPv6 (hop limit `hop_limit`, flow label 0). Writes at most
// 14 + 40 + 24 bytes plus payload_len.
struct TcpSegment6 {
    MacAddress source_mac, destination_mac;
    uint128 source_ip, destination_ip;
    std::uint16_t source_port, destination_port;
    std::uint32_t sequence, acknowledgment;
    std::uint8_t flags;
    std::uint16_t window;
    std::uint8_t hop_limit;
    bool with_mss;
    const std::uint8_t* payload = nullptr;
    std::uint16_t payload_len = 0;
};
std::size_t build_tcp_segment6(std::uint8_t* out, const TcpSegment6& segment) noexcept;

// Either family, by the addresses' (both the same family): build_tcp_segment
// (IPv4 ID = the sequence number's low bits) or build_tcp_segment6, TTL /
// hop limit `ttl`. The user-mode TCP of service detection and the
// reflector's banner server send with it.
struct TcpSegmentAny {
    MacAddress source_mac, destination_mac;
    IpAddress source_ip, destination_ip;
    std::uint16_t source_port, destination_port;
    std::uint32_t sequence, acknowledgment;
    std::uint8_t flags;
    std::uint16_t window;
    std::uint8_t ttl;
    bool with_mss;
    const std::uint8_t* payload = nullptr;
    std::uint16_t payload_len = 0;
};
std::size_t build_tcp_segment_any(std::uint8_t* out, const TcpSegmentAny& segment) noexcept;

// ICMPv6 destination unreachable (type 1, `code`: 0 no route, 1 admin
// prohibited, 3 address unreachable, 4 port unreachable) quoting the first
// bytes of `quoted_ip` (an IPv6 packet), the whole frame at most 128 bytes.
std::size_t build_icmp6_unreachable(std::uint8_t* out, const MacAddress& source_mac, const MacAddress& destination_mac,
                                    uint128 source_ip, uint128 destination_ip, std::uint8_t code,
                                    const std::uint8_t* quoted_ip, std::size_t quoted_len) noexcept;

// NDP (RFC 4861), hop limit 255, ICMPv6 checksum finished. `out` >= 128 bytes.
// Neighbor Solicitation for target_ip to its solicited-node multicast group
// (ff02::1:ffXX:XXXX, MAC 33:33:ff:XX:XX:XX) with our link-layer address.
std::size_t build_neighbor_solicit(std::uint8_t* out, const MacAddress& our_mac, uint128 our_ip,
                                   uint128 target_ip) noexcept;
// Neighbor Advertisement for our_ip (the target) to (to_mac, to_ip), with our
// link-layer address, Override set, Solicited as asked. A solicitation from
// the unspecified address (duplicate address detection) is answered to
// all-nodes (ff02::1) with Solicited clear, as RFC 4861 7.2.4 says.
std::size_t build_neighbor_advert(std::uint8_t* out, const MacAddress& our_mac, uint128 our_ip, const MacAddress& to_mac,
                                  uint128 to_ip, bool solicited) noexcept;
// Router Solicitation to all-routers (ff02::2) with our link-layer address
// (left out when our_ip is the unspecified address, RFC 4861 4.1).
std::size_t build_router_solicit(std::uint8_t* out, const MacAddress& our_mac, uint128 our_ip) noexcept;
// The solicited-node multicast address of `ip` and the MAC of an IPv6 multicast group.
constexpr uint128 solicited_node(uint128 ip) noexcept {
    return (uint128{0xff02000000000000ull} << 64) | (uint128{0x00000001ff000000ull}) | (ip & 0xffffff);
}
MacAddress multicast_mac(uint128 group) noexcept;

// ICMP destination unreachable (type 3, `code`) quoting the first 28+ bytes of `quoted_ip` packet.
std::size_t build_icmp_unreachable(std::uint8_t* out, const MacAddress& source_mac, const MacAddress& destination_mac,
                                   std::uint32_t source_ip, std::uint32_t destination_ip, std::uint8_t code,
                                   const std::uint8_t* quoted_ip, std::size_t quoted_len) noexcept;

// ARP request (target_mac zero) or reply.
std::size_t build_arp(std::uint8_t* out, bool is_reply, const MacAddress& sender_mac, std::uint32_t sender_ip,
                      const MacAddress& target_mac, std::uint32_t target_ip) noexcept;

} // namespace ws
