#pragma once
// Every command-line option of `scan` (and `plan`, which shares them) as the
// user wrote it, the CLI11 definitions, and the conversion to ws::ScanConfig.
// Values stay strings until to_scan_config() so that every bad value gets a
// one-line ws::Error naming the option and the value.
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "wirespeed/scan_config.hpp"

namespace ws::cli {

struct PortOptions {
    std::string interface, pci, lcores, eal;
    std::vector<std::string> vdevs;
    bool xdp = false;
};

struct ScanOptions {
    std::vector<std::string> targets, input_files, excludes, exclude_files;
    std::optional<std::string> blocklist;
    std::string ports, shard, seed;
    PortOptions port;
    unsigned tx_cores = 1, rx_cores = 1;
    std::string source_ip, source_port, gateway_ip, gateway_mac, tcp_options = "mss";
    bool send_reset = false;
    std::string rate = "100000", rate_mode = "adaptive", wait = "8", retries = "0", retry_delay = "1";
    std::string db = "wirespeed.db", show, output_list, metadata;
    std::string output_json, output_csv, output_xml, output_grepable, fields;
    std::string status_file, max_runtime, min_hitrate, max_results;
    bool no_db = false, status_json = false, no_repair = false;
    std::string verify = "2000";
    int verbose = 0, quiet = 0;
    std::string resume;  // --resume DB: continue the interrupted scan recorded there
    std::string config;  // --config FILE (TOML; flags win over it)
    bool echo = false;   // --echo: print the effective options as TOML, exit 0
    std::string list;    // plan --list N: the first N ip:port pairs in send order
};

void add_port_options(CLI::App& command, PortOptions& options);
void add_scan_options(CLI::App& command, ScanOptions& options);
// The scan options plus plan's --list.
void add_plan_options(CLI::App& command, ScanOptions& options);

// Checks that exactly one port source is named and that an interface exists.
ws::PortSpec to_port_spec(const PortOptions& options, int verbosity);
// Everything but the port (plan needs no port).
ws::ScanConfig to_scan_config(const ScanOptions& options);

// -iL / -oL / -oJ / -oC / -oX / -oG -> long names CLI11 accepts (it takes one-letter short options only).
std::vector<std::string> normalize_args(int argc, char** argv);

} // namespace ws::cli
