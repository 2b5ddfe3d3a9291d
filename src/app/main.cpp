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
#include "options.hpp"
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
    ws::cli::ScanOptions scan_options;
    auto* scan = app.add_subcommand("scan", "send SYN probes and record the answers");
    ws::cli::add_scan_options(*scan, scan_options);

    // ---------------------------------------------------------------- reflect
    ReflectOptions reflect_options;
    ws::cli::PortOptions reflect_port;
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
    ws::cli::add_port_options(*reflect, reflect_port);

    auto* version = app.add_subcommand("version", "print the version");

    if (argc > 1 && argv[1][0] != '-') {
        const std::string command = argv[1];
        if (command != "scan" && command != "reflect" && command != "version") {
            fmt::print(stderr, "wirespeed: unknown command \"{}\": expected scan, reflect or version\n", command);
            return exit_usage;
        }
    }
    std::vector<std::string> args = ws::cli::normalize_args(argc, argv);
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
        if (reflect->parsed()) return run_reflect_command(reflect_options, ws::cli::to_port_spec(reflect_port, 0));

        ws::ScanConfig config = ws::cli::to_scan_config(scan_options);
        config.port = ws::cli::to_port_spec(scan_options.port, config.verbosity);
        if (config.no_db && config.list_output.empty() && config.verbosity >= 0)
            fmt::print(stderr, "wirespeed: --no-db without -oL: results appear in the summary counts only\n");
        return run_scan_command(config);
    } catch (const ws::Error& e) {
        fmt::print(stderr, "wirespeed: {}\n", e.what());
        return exit_usage;
    }
}
