#pragma once
// The reflector's pure side: which (address, port) pairs a simulated network
// declares open, closed or filtered, parsing of the SYN probes it answers,
// and the ground truth it prints. The DPDK lcore that runs it is in src/dpdk.
#include <cstdint>
#include <cstdio>
#include <vector>

#include "wirespeed/address.hpp"
#include "wirespeed/ports.hpp"
#include "wirespeed/targets.hpp"

namespace ws {

enum class Verdict : std::uint8_t { open, closed, filtered };

struct ReflectRules {
    TargetSet hosts;                      // addresses it answers for (SYNs and ARP)
    std::vector<std::uint16_t> open_everywhere; // open on every host
    std::uint32_t open_permille = 0;      // plus a seeded share of all pairs
    std::uint32_t filtered_permille = 0;  // answered with ICMP port unreachable
    std::uint64_t seed = 0;
    bool forge_bad_cookies = false;       // tests: also answer each SYN with a SYN-ACK whose ack is wrong
    bool forge_bad_checksums = false;     // tests: also answer each SYN with two SYN-ACKs whose ack is right
                                          // but whose TCP, resp. IPv4 header, checksum is wrong

    Verdict verdict(std::uint32_t address, std::uint16_t port) const noexcept;
};

// Writes "a.b.c.d:port" for every open pair of hosts x ports, in address then port order.
std::uint64_t write_ground_truth(const ReflectRules& rules, const PortSet& ports, std::FILE* out);

struct SynProbe {
    MacAddress source_mac;
    std::uint32_t source_ip, destination_ip; // host order
    std::uint16_t source_port, destination_port;
    std::uint32_t sequence;
    const std::uint8_t* ip_header; // for ICMP quoting
    std::size_t ip_length;         // IP header + TCP header bytes available
};

// A TCP SYN (no ACK) in Ethernet + IPv4; false for anything else. Bounds-checked.
bool parse_syn(const std::uint8_t* frame, std::size_t len, SynProbe& out) noexcept;

} // namespace ws
