#pragma once
// The fixed-size result record that RX lcores push through their SPSC rings
// and the collector turns into rows. 32 bytes: a 16-byte address leaves room
// for IPv6 targets without changing the ring element size.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "wirespeed/address.hpp"

namespace ws {

enum class Proto : std::uint8_t { tcp = 6, udp = 17, icmp = 1 };

// `up` is a host answering an ICMP echo (proto icmp, port 0).
// `open_filtered` is a UDP probe nothing answered (written at the end of a
// complete scan with --show closed, as nmap reports it).
enum class PortState : std::uint8_t { open = 1, closed = 2, filtered = 3, up = 4, open_filtered = 5 };

// Why we concluded the state; names follow nmap's <state reason="..."> words.
enum class Reason : std::uint8_t {
    syn_ack = 1,       // open
    reset = 2,         // closed
    port_unreach = 3,  // filtered: ICMP type 3 code 3
    host_unreach = 4,  // filtered: ICMP type 3 code 1
    net_unreach = 5,   // filtered: ICMP type 3 code 0
    proto_unreach = 6, // filtered: ICMP type 3 code 2
    admin_prohibited = 7, // filtered: ICMP type 3 code 9/10/13
    unreach_other = 8, // filtered: any other ICMP type 3 code
    udp_response = 9,  // open: a UDP datagram back from the probed port
    echo_reply = 10,   // up: ICMP echo reply
    no_response = 11,  // open|filtered: a UDP probe nothing answered
};

struct ResultRecord {
    // IPv4 lives in addr[12..15] (network order) with family ipv4, like an
    // IPv4-mapped IPv6 address; ipv4() / set_ipv4() hide the layout.
    std::uint8_t addr[16];
    std::uint32_t elapsed_ms; // since scan start, from the RX lcore's TSC
    std::uint16_t port;       // the target's port (host order)
    std::uint16_t window;     // TCP window of the reply (0 for UDP and ICMP)
    AddressFamily family;
    Proto proto;
    PortState state;
    Reason reason;
    std::uint8_t ttl;         // IP TTL of the reply
    std::uint8_t reserved[3];

    std::uint32_t ipv4() const noexcept {
        return (std::uint32_t{addr[12]} << 24) | (std::uint32_t{addr[13]} << 16) |
               (std::uint32_t{addr[14]} << 8) | std::uint32_t{addr[15]};
    }
    void set_ipv4(std::uint32_t ip) noexcept {
        std::memset(addr, 0, sizeof addr);
        addr[10] = 0xff;
        addr[11] = 0xff;
        addr[12] = std::uint8_t(ip >> 24);
        addr[13] = std::uint8_t(ip >> 16);
        addr[14] = std::uint8_t(ip >> 8);
        addr[15] = std::uint8_t(ip);
        family = AddressFamily::ipv4;
    }
    IpAddress address() const noexcept { return IpAddress::from_bytes(addr); }
    void set_address(IpAddress ip) noexcept {
        ip.to_bytes(addr);
        family = ip.family();
    }
};
static_assert(sizeof(ResultRecord) == 32, "ring element size is part of the contract");

// A result with the first bytes of the reply (a UDP answer is the finding:
// a DNS version, an NTP monlist size, an SNMP sysDescr). RX lcores push these
// through a second, smaller ring; the collector stores the bytes as a BLOB.
struct ResultWithData {
    static constexpr std::size_t max_data = 512;
    ResultRecord record;
    std::uint16_t data_len;
    std::uint8_t reserved[14];
    std::uint8_t data[max_data];
};
static_assert(sizeof(ResultWithData) == 560, "ring element size");

constexpr std::string_view to_string(PortState s) noexcept {
    switch (s) {
    case PortState::open: return "open";
    case PortState::closed: return "closed";
    case PortState::filtered: return "filtered";
    case PortState::up: return "up";
    case PortState::open_filtered: return "open|filtered";
    }
    return "unknown";
}

constexpr std::string_view to_string(Reason r) noexcept {
    switch (r) {
    case Reason::syn_ack: return "syn-ack";
    case Reason::reset: return "reset";
    case Reason::port_unreach: return "port-unreach";
    case Reason::host_unreach: return "host-unreach";
    case Reason::net_unreach: return "net-unreach";
    case Reason::proto_unreach: return "proto-unreach";
    case Reason::admin_prohibited: return "admin-prohibited";
    case Reason::unreach_other: return "unreach";
    case Reason::udp_response: return "udp-response";
    case Reason::echo_reply: return "echo-reply";
    case Reason::no_response: return "no-response";
    }
    return "unknown";
}

constexpr std::string_view to_string(Proto p) noexcept {
    switch (p) {
    case Proto::tcp: return "tcp";
    case Proto::udp: return "udp";
    case Proto::icmp: return "icmp";
    }
    return "unknown";
}

} // namespace ws
