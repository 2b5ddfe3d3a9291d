#pragma once
// Everything a scan needs, as plain data: filled by the CLI (and later config
// files), read by the engine. No DPDK types here.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "wirespeed/address.hpp"
#include "wirespeed/ports.hpp"
#include "wirespeed/sources.hpp"
#include "wirespeed/probe.hpp"

namespace ws {

enum class RateMode : std::uint8_t { fixed, adaptive };

// Where packets go: exactly one of interface / pci / vdevs, or ports that a
// test created in-process (net_ring pairs).
struct PortSpec {
    std::string interface;          // Linux interface via net_af_packet (or net_af_xdp with xdp)
    bool xdp = false;
    std::string pci;                // a NIC bound to vfio-pci
    std::vector<std::string> vdevs; // raw vdev specs; the first ethdev is used
    std::string lcores;             // EAL --lcores map; empty = the default layout
    std::vector<std::string> extra_eal; // --eal escape hatch, split on spaces
    int verbosity = 0;
};

struct ScanConfig {
    PortSpec port;
    std::vector<std::string> target_specs; // as given (for the scans table)
    std::vector<std::string> target_files; // -iL
    std::vector<std::string> exclude_specs;
    std::vector<std::string> exclude_files;
    std::optional<std::string> blocklist_file; // replaces the default blocklist
    std::uint64_t max_targets = std::uint64_t{1} << 32; // --max-targets: addresses a scan may enumerate
    std::string ports_spec;
    bool ping = false;                      // --ping: one ICMP echo probe per host
    std::string nmap_payloads = "/usr/share/nmap/nmap-payloads"; // --nmap-payloads FILE (UDP payload database)
    std::vector<std::string> udp_payloads;  // --udp-payload PORT:HEX (repeatable), validated later

    unsigned tx_cores = 1;
    unsigned rx_cores = 1;
    SourceAddresses sources; // --source-ip; empty: the interface's addresses
    PortRange source_ports{40000, 60999};
    std::optional<std::uint32_t> gateway_ip;  // --gateway-ip: one next hop per family
    std::optional<uint128> gateway_ip6;
    std::optional<MacAddress> gateway_mac;
    TcpOptionsProfile tcp_options = TcpOptionsProfile::mss_only;
    std::uint8_t ttl = 64;

    std::uint64_t rate = 1'000'000;    // probes/s cap; 0 = as fast as the port takes
    RateMode rate_mode = RateMode::adaptive;
    double wait_seconds = 8;
    std::uint32_t retries = 0;
    double retry_delay_seconds = 1;
    std::uint64_t verify = 2000; // --verify: non-responders probed again to estimate recall (0 = none)
    bool repair = true;          // --no-repair: do not re-send when the estimate shows misses
    std::optional<std::uint64_t> seed;
    std::uint32_t shard_index = 0;
    std::uint32_t shard_count = 1;

    std::string db_path = "wirespeed.db";
    bool no_db = false;
    bool show_closed = false;
    std::string list_output;
    std::string metadata_file;
    std::string json_output, csv_output, csv_fields, xml_output, grepable_output;
    bool status_json = false;
    std::string status_file;
    std::optional<double> max_runtime_seconds; // guards: stop sending, exit 3
    std::optional<double> min_hitrate;
    std::optional<std::uint64_t> max_results;
    bool send_reset = false;
    int verbosity = 0; // -v +1, -q -1

    // Service detection (scan --service / -sV; issue 12).
    bool service = false;
    std::string service_probes = "/usr/share/nmap/nmap-service-probes"; // nmap-common's, read at run time
    int version_intensity = 7;              // nmap's --version-intensity 0-9
    std::uint32_t banner_bytes = 4096;      // kept per connection
    unsigned service_parallel = 4;          // connections per port and lane at once
    PortRange service_ports{61000, 64999};  // our ports for those connections (disjoint from source_ports)
    std::uint32_t service_connections = 1024; // connections in flight (the RX lcore's table holds twice as many)
    double service_timeout_seconds = 60;    // after the scan's wait: ports still unnamed get what they have
};

} // namespace ws
