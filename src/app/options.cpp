#include "options.hpp"

#include <fmt/format.h>

#include "cli.hpp"
#include "net_info.hpp"
#include "wirespeed/error.hpp"
#include "wirespeed/outputs.hpp"

namespace ws::cli {

void add_port_options(CLI::App& app, PortOptions& o) {
    const char* group = "Port";
    app.add_option("--interface,-i", o.interface, "Linux interface, driven through net_af_packet")->group(group);
    app.add_flag("--xdp", o.xdp, "use net_af_xdp instead of net_af_packet for --interface")->group(group);
    app.add_option("--pci", o.pci, "PCI address of a NIC bound to vfio-pci")->group(group);
    app.add_option("--vdev", o.vdevs, "DPDK virtual device, e.g. net_null0 or net_pcap0,tx_pcap=out.pcap")->group(group);
    app.add_option("--lcores", o.lcores, "EAL lcore map (default: main, TX, RX spread over the allowed CPUs)")->group(group);
    app.add_option("--eal", o.eal, "extra EAL arguments, space separated (escape hatch)")->group(group);
}

void add_scan_options(CLI::App& scan, ScanOptions& o) {
    scan.add_option("targets", o.targets, "addresses, CIDR blocks (198.19.0.0/16) or ranges (a.b.c.d-e.f.g.h)");
    scan.add_option("-p,--ports", o.ports, "ports: 80, 1-1024, 22,80,443, - for all")->group("Targets");
    scan.add_option("--input-file", o.input_files, "-iL FILE: targets, one spec per line, # comments")->group("Targets");
    scan.add_option("--exclude", o.excludes, "addresses to skip")->group("Targets");
    scan.add_option("--excludefile", o.exclude_files, "file of addresses to skip")->group("Targets");
    scan.add_option("--blocklist", o.blocklist, "replaces the default blocklist (an empty file means none)")->group("Targets");
    scan.add_option("--shard", o.shard, "I/N: scan share I (0-based) of N")->group("Targets");
    scan.add_option("--seed", o.seed, "permutation seed (default: random); the same seed gives the same order")->group("Targets");
    add_port_options(scan, o.port);
    scan.add_option("--tx-cores", o.tx_cores, "TX lcores (one TX queue each)")->group("Port")->check(CLI::Range(1, 64));
    scan.add_option("--rx-cores", o.rx_cores, "RX lcores (one RX queue each)")->group("Port")->check(CLI::Range(1, 64));
    scan.add_option("--source-ip", o.source_ip, "probe source address (default: the interface's address)")->group("Probe");
    scan.add_option("--source-port", o.source_port, "source port range A-B (default 40000-60999)")->group("Probe");
    scan.add_option("--gateway-ip", o.gateway_ip, "next hop (default: the interface's default route)")->group("Probe");
    scan.add_option("--gateway-mac", o.gateway_mac, "next hop MAC; skips ARP")->group("Probe");
    scan.add_option("--tcp-options", o.tcp_options, "mss (default) or os-like (MSS, SACK, timestamps, window scale)")->group("Probe");
    scan.add_flag("--send-reset", o.send_reset, "answer SYN-ACKs with RST")->group("Probe");
    scan.add_option("--rate", o.rate, "probes per second cap (k/M suffixes; 0 = as fast as the port takes)")->group("Timing");
    scan.add_option("--rate-mode", o.rate_mode, "adaptive (default: climb to --rate, back off on loss) or fixed")->group("Timing");
    scan.add_option("--wait", o.wait, "seconds to keep receiving after the last probe (default 8)")->group("Timing");
    scan.add_option("--retries", o.retries, "extra probes per target (default 0)")->group("Timing");
    scan.add_option("--retry-delay", o.retry_delay, "seconds between a target's probes (default 1)")->group("Timing");
    scan.add_option("--verify", o.verify, "non-responders probed again during the wait window to estimate recall (default 2000; 0 = none)")->group("Timing");
    scan.add_flag("--no-repair", o.no_repair, "do not re-send the scan when the recall estimate shows missed responders")->group("Timing");
    scan.add_option("--resume", o.resume, "continue the interrupted or killed scan recorded in DB (nothing else needed)")->group("Output");
    scan.add_option("--db", o.db, "SQLite database (default wirespeed.db)")->group("Output");
    scan.add_flag("--no-db", o.no_db, "do not write a database")->group("Output");
    scan.add_option("--show", o.show, "closed: also keep closed and filtered ports")->group("Output");
    scan.add_option("--output-list", o.output_list, "-oL FILE: masscan list output")->group("Output");
    scan.add_option("--output-json", o.output_json, "-oJ FILE: NDJSON, one object per result")->group("Output");
    scan.add_option("--output-csv", o.output_csv, "-oC FILE: CSV with a header")->group("Output");
    scan.add_option("--fields", o.fields, "CSV columns and order: ip,port,proto,state,reason,ttl,window,ts")->group("Output");
    scan.add_option("--output-xml", o.output_xml, "-oX FILE: nmap XML")->group("Output");
    scan.add_option("--output-grepable", o.output_grepable, "-oG FILE: nmap grepable")->group("Output");
    scan.add_option("--status-file", o.status_file, "append NDJSON status lines to FILE")->group("Output");
    scan.add_option("--max-runtime", o.max_runtime, "guard: stop sending after SEC seconds (exit 3)")->group("Guards");
    scan.add_option("--min-hitrate", o.min_hitrate, "guard: stop when open/sent falls below this fraction after 100000 probes (exit 3)")->group("Guards");
    scan.add_option("--max-results", o.max_results, "guard: stop after N kept results (exit 3)")->group("Guards");
    scan.add_option("--metadata", o.metadata, "write a JSON summary of the scan")->group("Output");
    scan.add_flag("--status-json", o.status_json, "NDJSON status lines on stderr even on a TTY")->group("Output");
    scan.add_flag("-v,--verbose", o.verbose, "more detail (repeat for EAL logs)")->group("Output");
    scan.add_flag("-q,--quiet", o.quiet, "no status lines")->group("Output");
    scan.add_option("--config", o.config, "TOML file of options: keys are the long option names (ports = \"80\"); flags win")
        ->type_name("FILE")
        ->group("Config");
    scan.add_flag("--echo", o.echo, "print the effective options as a TOML --config file and exit 0 (sends nothing)")
        ->group("Config");
}

void add_plan_options(CLI::App& plan, ScanOptions& o) {
    add_scan_options(plan, o);
    plan.add_option("--list", o.list, "print the first N ip:port pairs in send order (this shard), nothing else")
        ->type_name("N")
        ->group("Plan");
}

ws::PortSpec to_port_spec(const PortOptions& o, int verbosity) {
    ws::PortSpec spec;
    spec.interface = o.interface;
    spec.xdp = o.xdp;
    spec.pci = o.pci;
    spec.vdevs = o.vdevs;
    spec.lcores = o.lcores;
    spec.verbosity = verbosity;
    std::size_t start = 0;
    while (start < o.eal.size()) {
        const std::size_t end = o.eal.find(' ', start);
        const std::string word = o.eal.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (!word.empty()) spec.extra_eal.push_back(word);
        if (end == std::string::npos) break;
        start = end + 1;
    }
    const int sources = !spec.interface.empty() + !spec.pci.empty() + !spec.vdevs.empty();
    if (sources == 0) throw Error("no port: pass --interface IF, --pci BDF or --vdev SPEC");
    if (sources > 1) throw Error("pass only one of --interface, --pci and --vdev");
    if (spec.xdp && spec.interface.empty()) throw Error("--xdp needs --interface");
    if (!spec.interface.empty() && !ws::dp::interface_exists(spec.interface))
        throw Error(fmt::format("invalid --interface \"{}\": no such interface in this network namespace", spec.interface));
    return spec;
}

ws::ScanConfig to_scan_config(const ScanOptions& o) {
    ws::ScanConfig config;
    config.target_specs = o.targets;
    config.target_files = o.input_files;
    config.exclude_specs = o.excludes;
    config.exclude_files = o.exclude_files;
    config.blocklist_file = o.blocklist;
    if (o.ports.empty()) throw Error("no ports: pass -p/--ports (e.g. -p 80, -p 1-1024, -p -)");
    config.ports_spec = o.ports;
    config.tx_cores = o.tx_cores;
    config.rx_cores = o.rx_cores;
    config.verbosity = o.verbose - o.quiet;
    config.rate = rate_option(o.rate);
    if (o.rate_mode == "adaptive") config.rate_mode = RateMode::adaptive;
    else if (o.rate_mode == "fixed") config.rate_mode = RateMode::fixed;
    else throw Error(fmt::format("invalid --rate-mode \"{}\": expected fixed or adaptive", o.rate_mode));
    if (!o.shard.empty()) std::tie(config.shard_index, config.shard_count) = shard_option(o.shard);
    if (!o.seed.empty()) config.seed = uint_option("--seed", o.seed, UINT64_MAX);
    if (!o.source_ip.empty()) config.source_ip = ipv4_option("--source-ip", o.source_ip);
    if (!o.source_port.empty()) config.source_ports = parse_port_range(o.source_port);
    if (!o.gateway_ip.empty()) config.gateway_ip = ipv4_option("--gateway-ip", o.gateway_ip);
    if (!o.gateway_mac.empty()) config.gateway_mac = mac_option("--gateway-mac", o.gateway_mac);
    if (o.tcp_options == "mss") config.tcp_options = TcpOptionsProfile::mss_only;
    else if (o.tcp_options == "os-like") config.tcp_options = TcpOptionsProfile::os_like;
    else throw Error(fmt::format("invalid --tcp-options \"{}\": expected mss or os-like", o.tcp_options));
    config.send_reset = o.send_reset;
    config.wait_seconds = seconds_option("--wait", o.wait, 3600);
    config.retries = std::uint32_t(uint_option("--retries", o.retries, 100));
    config.retry_delay_seconds = seconds_option("--retry-delay", o.retry_delay, 3600);
    config.verify = uint_option("--verify", o.verify, 1'000'000);
    config.repair = !o.no_repair;
    if (!o.show.empty() && o.show != "closed") throw Error(fmt::format("invalid --show \"{}\": expected closed", o.show));
    config.show_closed = o.show == "closed";
    config.db_path = o.db;
    config.no_db = o.no_db;
    config.list_output = o.output_list;
    config.metadata_file = o.metadata;
    config.status_json = o.status_json;
    config.json_output = o.output_json;
    config.csv_output = o.output_csv;
    config.csv_fields = o.fields;
    if (!o.fields.empty()) parse_csv_fields(o.fields); // a bad --fields fails before anything starts
    config.xml_output = o.output_xml;
    config.grepable_output = o.output_grepable;
    config.status_file = o.status_file;
    if (!o.max_runtime.empty()) config.max_runtime_seconds = seconds_option("--max-runtime", o.max_runtime, 1e9);
    if (!o.min_hitrate.empty()) {
        config.min_hitrate = fraction_option("--min-hitrate", o.min_hitrate);
    }
    if (!o.max_results.empty()) config.max_results = uint_option("--max-results", o.max_results, UINT64_MAX);
    return config;
}

std::vector<std::string> normalize_args(int argc, char** argv) {
    std::vector<std::string> args;
    for (int i = argc - 1; i >= 1; --i) { // CLI11 wants them in reverse order
        std::string a = argv[i];
        if (a == "-iL") a = "--input-file";
        else if (a == "-oL") a = "--output-list";
        else if (a == "-oJ") a = "--output-json";
        else if (a == "-oC") a = "--output-csv";
        else if (a == "-oX") a = "--output-xml";
        else if (a == "-oG") a = "--output-grepable";
        args.push_back(std::move(a));
    }
    return args;
}

} // namespace ws::cli
