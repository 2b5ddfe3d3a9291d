// wirespeed: a kernel-bypass SYN scanner on DPDK.
// main() parses the command line into plain config, builds the plan (pure),
// brings up EAL and the port, and hands over to the engine or the reflector.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include "cli.hpp"
#include "eal.hpp"
#include "engine.hpp"
#include "net_info.hpp"
#include "port.hpp"
#include "reflector.hpp"
#include "wirespeed/error.hpp"
#include "wirespeed/plan.hpp"
#include "wirespeed/reflect.hpp"

namespace {

constexpr int exit_usage = 1;
constexpr int exit_runtime = 2;

struct PortOptions {
    std::string interface, pci, lcores, eal;
    std::vector<std::string> vdevs;
    bool xdp = false;
};

void add_port_options(CLI::App& app, PortOptions& o) {
    const char* group = "Port";
    app.add_option("--interface,-i", o.interface, "Linux interface, driven through net_af_packet")->group(group);
    app.add_flag("--xdp", o.xdp, "use net_af_xdp instead of net_af_packet for --interface")->group(group);
    app.add_option("--pci", o.pci, "PCI address of a NIC bound to vfio-pci")->group(group);
    app.add_option("--vdev", o.vdevs, "DPDK virtual device, e.g. net_null0 or net_pcap0,tx_pcap=out.pcap")->group(group);
    app.add_option("--lcores", o.lcores, "EAL lcore map (default: main, TX, RX spread over the allowed CPUs)")->group(group);
    app.add_option("--eal", o.eal, "extra EAL arguments, space separated (escape hatch)")->group(group);
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
    if (sources == 0) throw ws::Error("no port: pass --interface IF, --pci BDF or --vdev SPEC");
    if (sources > 1) throw ws::Error("pass only one of --interface, --pci and --vdev");
    if (spec.xdp && spec.interface.empty()) throw ws::Error("--xdp needs --interface");
    if (!spec.interface.empty() && !ws::dp::interface_exists(spec.interface))
        throw ws::Error(fmt::format("invalid --interface \"{}\": no such interface in this network namespace", spec.interface));
    return spec;
}

struct DataPlane {
    std::vector<std::string> argv;
    std::unique_ptr<ws::dp::Eal> eal;
    std::uint16_t port_id = 0;
    std::vector<unsigned> workers;
};

DataPlane bring_up(const ws::PortSpec& spec, unsigned tx, unsigned rx) {
    DataPlane dp;
    dp.argv = ws::dp::build_eal_argv(spec, ws::dp::probe_eal_layout(tx, rx));
    if (spec.verbosity >= 1) fmt::print(stderr, "wirespeed: EAL argv: {}\n", fmt::join(dp.argv, " "));
    dp.eal = std::make_unique<ws::dp::Eal>(dp.argv);
    const std::uint16_t first = rte_eth_find_next_owned_by(0, RTE_ETH_DEV_NO_OWNER);
    if (first >= RTE_MAX_ETHPORTS) throw ws::Error("DPDK found no port: check --interface, --pci or --vdev");
    dp.port_id = first;
    unsigned lcore;
    RTE_LCORE_FOREACH_WORKER(lcore) dp.workers.push_back(lcore);
    if (dp.workers.size() < tx + rx)
        throw ws::Error(fmt::format("--lcores gives {} worker lcores; {} TX + {} RX need {}", dp.workers.size(), tx, rx, tx + rx));
    return dp;
}

int run_scan_command(ws::ScanConfig& config) {
    ws::ScanPlan plan = ws::build_plan(config); // usage errors surface before EAL starts
    if (plan.space->targets().count() > ws::near_full_scan_addresses && config.verbosity >= 0)
        fmt::print(stderr, "wirespeed: scanning {} addresses; the blocklist removed {}, exclusions {}\n",
                   plan.space->targets().count(), plan.blocklisted, plan.excluded);
    DataPlane dp;
    try {
        dp = bring_up(config.port, config.tx_cores, config.rx_cores);
    } catch (const ws::Error& e) {
        fmt::print(stderr, "wirespeed: {}\n", e.what());
        return exit_runtime;
    }
    ws::dp::EngineSetup setup;
    setup.port_id = dp.port_id;
    setup.tx_lcores.assign(dp.workers.begin(), dp.workers.begin() + config.tx_cores);
    setup.rx_lcores.assign(dp.workers.begin() + config.tx_cores, dp.workers.begin() + config.tx_cores + config.rx_cores);
    setup.eal_argv = dp.argv;
    ws::dp::install_signal_handlers();
    try {
        return ws::dp::run_scan(config, plan, setup).exit_code;
    } catch (const ws::Error& e) {
        fmt::print(stderr, "wirespeed: {}\n", e.what());
        return exit_runtime;
    }
}

struct ReflectOptions {
    std::string hosts = "198.19.0.0/16";
    std::string open_ports;
    std::uint32_t open_permille = 0, filtered_permille = 0;
    std::uint64_t seed = 1;
    std::string truth_ports;
    bool print_truth = false;
    double duration = 0;
    bool forge = false;
};

ws::ReflectRules make_rules(const ReflectOptions& o) {
    ws::ReflectRules rules;
    rules.hosts = ws::parse_targets(o.hosts);
    if (rules.hosts.empty()) throw ws::Error(fmt::format("invalid --hosts \"{}\": no addresses", o.hosts));
    if (!o.open_ports.empty()) rules.open_everywhere = ws::parse_ports(o.open_ports).ports();
    if (o.open_permille + o.filtered_permille > 1000)
        throw ws::Error("invalid --open-permille/--filtered-permille: together at most 1000");
    rules.open_permille = o.open_permille;
    rules.filtered_permille = o.filtered_permille;
    rules.seed = o.seed;
    rules.forge_bad_cookies = o.forge;
    return rules;
}

int run_reflect_command(const ReflectOptions& o, const ws::PortSpec& spec) {
    const ws::ReflectRules rules = make_rules(o);
    if (o.print_truth) {
        if (o.truth_ports.empty()) throw ws::Error("--print-truth needs --truth-ports SPEC");
        ws::write_ground_truth(rules, ws::parse_ports(o.truth_ports), stdout);
        return 0;
    }
    DataPlane dp;
    try {
        dp = bring_up(spec, 0, 1);
    } catch (const ws::Error& e) {
        fmt::print(stderr, "wirespeed: {}\n", e.what());
        return exit_runtime;
    }
    ws::dp::install_signal_handlers();
    ws::dp::Mempool pool("reflect", 8191, 256, int(rte_socket_id()));
    ws::dp::Port port(dp.port_id, 1, 1, pool.get(), spec.verbosity);
    std::atomic<bool> stop{false};
    ws::dp::Reflector reflector;
    reflector.port = port.id();
    reflector.pool = pool.get();
    reflector.mac = port.mac();
    reflector.rules = &rules;
    reflector.stop = &stop;
    rte_eal_remote_launch(ws::dp::reflector_main, &reflector, dp.workers[0]);
    fmt::print(stderr, "wirespeed: reflecting for {} on port {} ({}, mac {})\n", o.hosts, port.id(), port.caps().driver,
               ws::format_mac(port.mac()));
    const auto start = std::chrono::steady_clock::now();
    while (ws::dp::signals_received() == 0 &&
           (o.duration <= 0 || std::chrono::steady_clock::now() - start < std::chrono::duration<double>(o.duration)))
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    stop.store(true);
    rte_eal_wait_lcore(dp.workers[0]);
    fmt::print(stderr, "wirespeed: reflector: {} SYNs, {} SYN-ACKs, {} RSTs, {} unreachables, {} ARP replies, {} ignored\n",
               reflector.syns.get(), reflector.syn_acks.get(), reflector.resets.get(), reflector.unreachables.get(),
               reflector.arp_replies.get(), reflector.ignored.get());
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"wirespeed: a kernel-bypass SYN scanner on DPDK"};
    app.require_subcommand(1);
    app.set_help_all_flag("--help-all", "all subcommands' options");

    // ---------------------------------------------------------------- scan
    ws::ScanConfig config;
    PortOptions scan_port;
    std::string rate = "100000", rate_mode = "adaptive", shard, source_ip, source_ports, gateway_ip, gateway_mac;
    std::string wait = "8", retries = "0", retry_delay = "1", seed, show, tcp_options = "mss";
    int verbose = 0, quiet = 0;
    auto* scan = app.add_subcommand("scan", "send SYN probes and record the answers");
    scan->add_option("targets", config.target_specs, "addresses, CIDR blocks (198.19.0.0/16) or ranges (a.b.c.d-e.f.g.h)");
    scan->add_option("-p,--ports", config.ports_spec, "ports: 80, 1-1024, 22,80,443, - for all")->required()->group("Targets");
    scan->add_option("--input-file", config.target_files, "read targets from FILE (one spec per line, # comments)")->group("Targets");
    scan->add_option("--exclude", config.exclude_specs, "addresses to skip")->group("Targets");
    scan->add_option("--excludefile", config.exclude_files, "file of addresses to skip")->group("Targets");
    scan->add_option("--blocklist", config.blocklist_file, "replaces the default blocklist (an empty file means none)")->group("Targets");
    scan->add_option("--shard", shard, "I/N: scan share I (0-based) of N")->group("Targets");
    scan->add_option("--seed", seed, "permutation seed (default: random); the same seed gives the same order")->group("Targets");
    add_port_options(*scan, scan_port);
    scan->add_option("--tx-cores", config.tx_cores, "TX lcores (one TX queue each)")->group("Port")->check(CLI::Range(1, 64));
    scan->add_option("--rx-cores", config.rx_cores, "RX lcores (one RX queue each)")->group("Port")->check(CLI::Range(1, 64));
    scan->add_option("--source-ip", source_ip, "probe source address (default: the interface's address)")->group("Probe");
    scan->add_option("--source-port", source_ports, "source port range A-B (default 40000-60999)")->group("Probe");
    scan->add_option("--gateway-ip", gateway_ip, "next hop (default: the interface's default route)")->group("Probe");
    scan->add_option("--gateway-mac", gateway_mac, "next hop MAC; skips ARP")->group("Probe");
    scan->add_option("--tcp-options", tcp_options, "mss (default) or os-like (MSS, SACK, timestamps, window scale)")->group("Probe");
    scan->add_flag("--send-reset", config.send_reset, "answer SYN-ACKs with RST")->group("Probe");
    scan->add_option("--rate", rate, "probes per second cap (k/M suffixes; 0 = as fast as the port takes)")->group("Timing");
    scan->add_option("--rate-mode", rate_mode, "adaptive (default: climb to --rate, back off on loss) or fixed")->group("Timing");
    scan->add_option("--wait", wait, "seconds to keep receiving after the last probe (default 8)")->group("Timing");
    scan->add_option("--retries", retries, "extra probes per target (default 0)")->group("Timing");
    scan->add_option("--retry-delay", retry_delay, "seconds between a target's probes (default 1)")->group("Timing");
    scan->add_option("--db", config.db_path, "SQLite database (default wirespeed.db)")->group("Output");
    scan->add_flag("--no-db", config.no_db, "do not write a database")->group("Output");
    scan->add_option("--show", show, "closed: also keep closed and filtered ports")->group("Output");
    scan->add_option("--output-list", config.list_output, "-oL FILE: masscan list output")->group("Output");
    scan->add_option("--metadata", config.metadata_file, "write a JSON summary of the scan")->group("Output");
    scan->add_flag("--status-json", config.status_json, "NDJSON status lines on stderr even on a TTY")->group("Output");
    scan->add_flag("-v,--verbose", verbose, "more detail (repeat for EAL logs)")->group("Output");
    scan->add_flag("-q,--quiet", quiet, "no status lines")->group("Output");

    // ---------------------------------------------------------------- reflect
    ReflectOptions reflect_options;
    PortOptions reflect_port;
    auto* reflect = app.add_subcommand("reflect", "answer SYNs as a whole simulated network would (a lab target)");
    reflect->add_option("--hosts", reflect_options.hosts, "addresses to answer for (default 198.19.0.0/16)");
    reflect->add_option("--open-ports", reflect_options.open_ports, "ports open on every host");
    reflect->add_option("--open-permille", reflect_options.open_permille, "share of other pairs that are open (0-1000)");
    reflect->add_option("--filtered-permille", reflect_options.filtered_permille, "share answered with ICMP port unreachable");
    reflect->add_option("--seed", reflect_options.seed, "seed of the open/filtered choice");
    reflect->add_option("--truth-ports", reflect_options.truth_ports, "ports the ground truth covers");
    reflect->add_flag("--print-truth", reflect_options.print_truth, "print the open address:port pairs and exit");
    reflect->add_option("--duration", reflect_options.duration, "seconds to run (default: until SIGINT)");
    reflect->add_flag("--forge-bad-cookies", reflect_options.forge, "also send a SYN-ACK with a wrong ack per SYN");
    add_port_options(*reflect, reflect_port);

    auto* version = app.add_subcommand("version", "print the version");

    if (argc > 1 && argv[1][0] != '-') {
        const std::string command = argv[1];
        if (command != "scan" && command != "reflect" && command != "version") {
            fmt::print(stderr, "wirespeed: unknown command \"{}\": expected scan, reflect or version\n", command);
            return exit_usage;
        }
    }
    // CLI11 takes one-letter short options only; masscan/nmap users type -iL and -oL.
    std::vector<std::string> args;
    for (int i = argc - 1; i >= 1; --i) { // CLI11 wants them in reverse order
        std::string a = argv[i];
        if (a == "-iL") a = "--input-file";
        else if (a == "-oL") a = "--output-list";
        args.push_back(std::move(a));
    }
    try {
        app.parse(args);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        fmt::print(stderr, "wirespeed: {}\n", e.what());
        return exit_usage;
    }

    try {
        if (version->parsed()) {
            fmt::print("wirespeed 0.1.0\n");
            return 0;
        }
        if (reflect->parsed()) return run_reflect_command(reflect_options, to_port_spec(reflect_port, 0));

        config.verbosity = verbose - quiet;
        config.port = to_port_spec(scan_port, config.verbosity);
        config.rate = ws::cli::rate_option(rate);
        if (rate_mode == "adaptive") config.rate_mode = ws::RateMode::adaptive;
        else if (rate_mode == "fixed") config.rate_mode = ws::RateMode::fixed;
        else throw ws::Error(fmt::format("invalid --rate-mode \"{}\": expected fixed or adaptive", rate_mode));
        if (!shard.empty()) std::tie(config.shard_index, config.shard_count) = ws::cli::shard_option(shard);
        if (!seed.empty()) config.seed = ws::cli::uint_option("--seed", seed, UINT64_MAX);
        if (!source_ip.empty()) config.source_ip = ws::cli::ipv4_option("--source-ip", source_ip);
        if (!source_ports.empty()) config.source_ports = ws::parse_port_range(source_ports);
        if (!gateway_ip.empty()) config.gateway_ip = ws::cli::ipv4_option("--gateway-ip", gateway_ip);
        if (!gateway_mac.empty()) config.gateway_mac = ws::cli::mac_option("--gateway-mac", gateway_mac);
        if (tcp_options == "mss") config.tcp_options = ws::TcpOptionsProfile::mss_only;
        else if (tcp_options == "os-like") config.tcp_options = ws::TcpOptionsProfile::os_like;
        else throw ws::Error(fmt::format("invalid --tcp-options \"{}\": expected mss or os-like", tcp_options));
        config.wait_seconds = ws::cli::seconds_option("--wait", wait, 3600);
        config.retries = std::uint32_t(ws::cli::uint_option("--retries", retries, 100));
        config.retry_delay_seconds = ws::cli::seconds_option("--retry-delay", retry_delay, 3600);
        if (!show.empty() && show != "closed")
            throw ws::Error(fmt::format("invalid --show \"{}\": expected closed", show));
        config.show_closed = show == "closed";
        if (config.no_db && config.list_output.empty() && config.verbosity >= 0)
            fmt::print(stderr, "wirespeed: --no-db without -oL: results appear in the summary counts only\n");
        return run_scan_command(config);
    } catch (const ws::Error& e) {
        fmt::print(stderr, "wirespeed: {}\n", e.what());
        return exit_usage;
    }
}
