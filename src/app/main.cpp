// wirespeed: a kernel-bypass SYN scanner on DPDK.
// main() parses the command line into plain config, builds the plan (pure),
// brings up EAL and the port, and hands over to the engine or the reflector.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <random>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include "cli.hpp"
#include "config_file.hpp"
#include "options.hpp"
#include "eal.hpp"
#include "engine.hpp"
#include "net_info.hpp"
#include "port.hpp"
#include "reflector.hpp"
#include "wirespeed/db_lock.hpp"
#include "wirespeed/error.hpp"
#include "wirespeed/export.hpp"
#include "wirespeed/paths.hpp"
#include "wirespeed/plan.hpp"
#include "wirespeed/resume.hpp"
#include "wirespeed/reflect.hpp"

namespace {

// Exit codes (docs/USAGE.md, docs/wirespeed.1, the --help footer). 3 (a guard
// stopped the scan) and 130 (SIGINT/SIGTERM) come from the engine.
const auto g_process_start = std::chrono::steady_clock::now(); // start-up phases are measured from here
constexpr int exit_usage = 1;
constexpr int exit_runtime = 2;
constexpr const char* exit_codes_footer =
    "Exit codes: 0 done, 1 usage or config error, 2 runtime error (EAL, port, ARP, database, output files),\n"
    "3 stopped by a guard (--max-runtime, --min-hitrate, --max-results), 130 interrupted (SIGINT/SIGTERM).\n"
    "Every option is also a --config key: the long name without the dashes. See wirespeed(1).";

struct DataPlane {
    std::vector<std::string> argv;
    std::unique_ptr<ws::dp::Eal> eal;
    std::uint16_t port_id = 0;
    std::vector<std::uint16_t> queue_ports; // af_xdp: one port per further queue pair
    std::vector<unsigned> workers;
    double eal_seconds = 0;
};

DataPlane bring_up(const ws::PortSpec& spec, unsigned tx, unsigned rx, unsigned memory_mb) {
    DataPlane dp;
    ws::dp::EalLayout layout = ws::dp::probe_eal_layout(tx, rx);
    layout.memory_mb = memory_mb;
    dp.argv = ws::dp::build_eal_argv(spec, layout);
    if (spec.verbosity >= 1) fmt::print(stderr, "wirespeed: EAL argv: {}\n", fmt::join(dp.argv, " "));
    const auto eal_start = std::chrono::steady_clock::now();
    dp.eal = std::make_unique<ws::dp::Eal>(dp.argv);
    dp.eal_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - eal_start).count();
    const std::uint16_t first = rte_eth_find_next_owned_by(0, RTE_ETH_DEV_NO_OWNER);
    if (first >= RTE_MAX_ETHPORTS) throw ws::Error("DPDK found no port: check --interface, --pci or --vdev");
    dp.port_id = first;
    // af_xdp with several queues: one vdev per queue (eal.cpp), the ports after the first.
    if (spec.xdp && !spec.interface.empty())
        for (unsigned q = 1, previous = first; q < ws::dp::interface_queues(tx, rx); ++q) {
            const std::uint16_t next = rte_eth_find_next_owned_by(std::uint16_t(previous + 1), RTE_ETH_DEV_NO_OWNER);
            if (next >= RTE_MAX_ETHPORTS) throw ws::Error(fmt::format("DPDK found no af_xdp port for queue {} of {}", q, spec.interface));
            dp.queue_ports.push_back(next);
            previous = next;
        }
    unsigned lcore;
    RTE_LCORE_FOREACH_WORKER(lcore) dp.workers.push_back(lcore);
    if (dp.workers.size() < tx + rx)
        throw ws::Error(fmt::format("--lcores gives {} worker lcores; {} TX + {} RX need {}", dp.workers.size(), tx, rx, tx + rx));
    return dp;
}

// Every file a scan reads or writes, for ws::check_path_collisions.
std::vector<ws::PathUse> scan_paths(const ws::ScanConfig& config, const std::string& config_file, bool resume) {
    using ws::PathRole;
    std::vector<ws::PathUse> uses;
    if (!config.no_db) uses.push_back({resume ? "--resume" : "--db", config.db_path, PathRole::database_output});
    uses.push_back({"-oL", config.list_output, PathRole::output});
    uses.push_back({"-oJ", config.json_output, PathRole::output});
    uses.push_back({"-oC", config.csv_output, PathRole::output});
    uses.push_back({"-oX", config.xml_output, PathRole::output});
    uses.push_back({"-oG", config.grepable_output, PathRole::output});
    uses.push_back({"--metadata", config.metadata_file, PathRole::output});
    uses.push_back({"--status-file", config.status_file, PathRole::output});
    for (const auto& f : config.target_files) uses.push_back({"-iL", f, PathRole::input});
    for (const auto& f : config.exclude_files) uses.push_back({"--excludefile", f, PathRole::input});
    if (config.blocklist_file) uses.push_back({"--blocklist", *config.blocklist_file, PathRole::input});
    uses.push_back({"--config", config_file, PathRole::input});
    return uses;
}

int run_scan_command(ws::ScanConfig& config, const std::vector<std::string>& args, const ws::ResumePoint* resume,
                     const std::string& effective_config, const std::string& config_file) {
    // Before anything is opened or created, and before EAL starts.
    ws::check_path_collisions(scan_paths(config, config_file, resume != nullptr));
    ws::ScanPlan plan = ws::build_plan(config); // usage errors surface before EAL starts
    // One scan per database, for the scan's whole life (--resume took it already).
    std::optional<ws::DatabaseLock> db_lock;
    if (!config.no_db && !resume) {
        try {
            db_lock.emplace(config.db_path, "--db");
        } catch (const ws::Error& e) {
            fmt::print(stderr, "wirespeed: {}\n", e.what());
            return exit_runtime;
        }
    }
    if (resume) {
        const std::string difference = ws::fingerprint_difference(resume->fingerprint, ws::plan_fingerprint(plan, config));
        if (!difference.empty()) throw ws::Error(fmt::format("cannot resume \"{}\": {}", config.db_path, difference));
    }
    if (plan.space->targets().count() > ws::near_full_scan_addresses && config.verbosity >= 0)
        fmt::print(stderr, "wirespeed: scanning {} addresses; the blocklist removed {}, exclusions {}\n",
                   plan.space->targets().count(), plan.blocklisted, plan.excluded);
    DataPlane dp;
    try {
        dp = bring_up(config.port, config.tx_cores, config.rx_cores,
                      ws::dp::scan_memory_mb(config.tx_cores, config.rx_cores, plan.shard.size() * (1 + config.retries), config.service));
    } catch (const ws::Error& e) {
        fmt::print(stderr, "wirespeed: {}\n", e.what());
        return exit_runtime;
    }
    ws::dp::EngineSetup setup;
    setup.port_id = dp.port_id;
    setup.queue_ports = dp.queue_ports;
    setup.tx_lcores.assign(dp.workers.begin(), dp.workers.begin() + config.tx_cores);
    setup.rx_lcores.assign(dp.workers.begin() + config.tx_cores, dp.workers.begin() + config.tx_cores + config.rx_cores);
    setup.eal_argv = dp.argv;
    setup.args = args;
    setup.resume = resume;
    setup.effective_config = effective_config;
    setup.process_start = g_process_start;
    setup.eal_seconds = dp.eal_seconds;
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
    std::uint32_t open_permille = 0, filtered_permille = 0, drop_permille = 0;
    std::uint64_t seed = 1;
    std::string truth_ports;
    bool truth_ping = false;
    bool print_truth = false;
    double duration = 0;
    bool forge = false;
    unsigned queues = 1;
    std::vector<std::string> banners, banner_answers, banner_faults; // banner mode: PORT:TEXT, PORT:TEXT, PORT:FAULT
};

constexpr std::size_t max_reflect_ranges6 = 64;
// --print-truth writes a line per open pair of every host: 2^24 IPv6 hosts
// is already far more than a test compares (a /64 would never end).
constexpr ws::uint128 max_truth_ipv6 = ws::uint128{1} << 24;

ws::ReflectRules make_rules(const ReflectOptions& o) {
    ws::ReflectRules rules;
    // Either family, as scan targets are written ("198.19.0.0/16,2001:db8:1::/120").
    const ws::TargetSet hosts = ws::parse_targets(o.hosts);
    // answers_for walks the IPv6 ranges one by one, per probe: a lab's handful.
    if (hosts.ipv6_intervals().size() > max_reflect_ranges6)
        throw ws::Error(fmt::format("invalid --hosts \"{}\": more than {} IPv6 ranges", o.hosts, max_reflect_ranges6));
    rules.set_hosts(hosts);
    if (hosts.empty()) throw ws::Error(fmt::format("invalid --hosts \"{}\": no addresses", o.hosts));
    if (!o.open_ports.empty()) rules.open_everywhere = ws::parse_protocol_ports(o.open_ports);
    if (std::uint64_t{o.open_permille} + o.filtered_permille > 1000)
        throw ws::Error("invalid --open-permille/--filtered-permille: together at most 1000");
    if (o.drop_permille > 1000)
        throw ws::Error(fmt::format("invalid --drop-permille \"{}\": at most 1000", o.drop_permille));
    rules.open_permille = o.open_permille;
    rules.filtered_permille = o.filtered_permille;
    rules.drop_permille = o.drop_permille;
    rules.seed = o.seed;
    rules.forge_bad_cookies = o.forge;
    for (const std::string& spec : o.banners) {
        auto [port, text] = ws::parse_banner_spec(spec, "--banner");
        rules.banner_port(port).greeting = std::move(text);
    }
    for (const std::string& spec : o.banner_answers) {
        auto [port, text] = ws::parse_banner_spec(spec, "--banner-answer");
        rules.banner_port(port).answer = std::move(text);
    }
    for (const std::string& spec : o.banner_faults) {
        const auto [port, fault] = ws::parse_banner_fault(spec);
        rules.banner_port(port).fault = fault;
    }
    return rules;
}

int run_reflect_command(const ReflectOptions& o, const ws::PortSpec& spec) {
    const ws::ReflectRules rules = make_rules(o);
    if (o.print_truth) {
        if (o.truth_ports.empty() && !o.truth_ping) throw ws::Error("--print-truth needs --truth-ports SPEC or --truth-ping");
        ws::uint128 hosts6 = 0;
        for (const ws::Ipv6Range& range : rules.hosts6) {
            const ws::uint128 n = range.size(); // 0: ::/0
            if (n == 0 || n > max_truth_ipv6 - hosts6) // no overflow: hosts6 <= max_truth_ipv6
                throw ws::Error(fmt::format("--print-truth: --hosts \"{}\" holds more than 2^24 IPv6 addresses", o.hosts));
            hosts6 += n;
        }
        const ws::ProtocolPorts ports = o.truth_ports.empty() ? ws::ProtocolPorts{} : ws::parse_protocol_ports(o.truth_ports);
        ws::write_ground_truth(rules, ports, o.truth_ping, stdout);
        return 0;
    }
    if (o.queues < 1 || o.queues > ws::dp::Reflector::max_queues)
        throw ws::Error(fmt::format("invalid --queues \"{}\": 1 to {}", o.queues, ws::dp::Reflector::max_queues));
    DataPlane dp;
    try {
        // One lcore polls every queue pair (an --interface port opens --queues pairs).
        dp = bring_up(spec, 0, o.queues, 256);
    } catch (const ws::Error& e) {
        fmt::print(stderr, "wirespeed: {}\n", e.what());
        return exit_runtime;
    }
    ws::dp::install_signal_handlers();
    ws::dp::Mempool pool("reflect", 8191, 256, int(rte_socket_id()));
    ws::dp::Port port(dp.port_id, o.queues, o.queues, pool.get(), spec.verbosity);
    std::atomic<bool> stop{false};
    ws::dp::Reflector reflector;
    reflector.port = port.id();
    reflector.pool = pool.get();
    reflector.mac = port.mac();
    reflector.rules = &rules;
    reflector.stop = &stop;
    reflector.queue_count = std::uint16_t(o.queues);
    rte_eal_remote_launch(ws::dp::reflector_main, &reflector, dp.workers[0]);
    fmt::print(stderr, "wirespeed: reflecting for {} on port {} ({}, mac {}, {} queue pair{})\n", o.hosts, port.id(),
               port.caps().driver, ws::format_mac(port.mac()), o.queues, o.queues == 1 ? "" : "s");
    const auto start = std::chrono::steady_clock::now();
    // The port's counters are read as it goes: memif resets them when its
    // peer disconnects (the scan ends before the reflector does).
    ws::dp::PortStats ps = port.stats();
    auto read_stats = [&] {
        const ws::dp::PortStats now = port.stats();
        if (now.ipackets >= ps.ipackets && now.opackets >= ps.opackets) ps = now;
    };
    while (ws::dp::signals_received() == 0 &&
           (o.duration <= 0 || std::chrono::steady_clock::now() - start < std::chrono::duration<double>(o.duration))) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        read_stats();
    }
    stop.store(true);
    rte_eal_wait_lcore(dp.workers[0]);
    read_stats();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // Every counter, on one line: what a lossy run lost is named here (the
    // reflector's own losses are nombuf and tx_dropped; both stay 0 with
    // back-pressure unless the pool runs dry or it is stopped mid-flight).
    fmt::print(stderr,
               "wirespeed: reflector: {} SYNs, {} UDP probes, {} echo requests ({} over IPv6); answered {} open, {} closed, {} filtered; "
               "{} dropped (--drop-permille), {} ARP replies, {} neighbor adverts, {} ignored; frames in {}, out {}; "
               "tx_full {} (back-pressure), "
               "nombuf {}, tx_dropped {}; port ipackets {}, opackets {}, imissed {}, ierrors {}, oerrors {}, rx_nombuf {}; "
               "{:.1f} s\n",
               reflector.syns.get(), reflector.udp_probes.get(), reflector.echo_requests.get(), reflector.ipv6_probes.get(),
               reflector.open_answers.get(),
               reflector.closed_answers.get(), reflector.filtered_answers.get(), reflector.dropped.get(),
               reflector.arp_replies.get(), reflector.ndp_replies.get(), reflector.ignored.get(), reflector.received.get(), reflector.sent.get(),
               reflector.tx_full.get(), reflector.nombuf.get(), reflector.tx_dropped.get(), ps.ipackets, ps.opackets,
               ps.imissed, ps.ierrors, ps.oerrors, ps.rx_nombuf, seconds);
    if (!rules.banners.empty()) {
        const ws::BannerCounters& b = reflector.banner;
        fmt::print(stderr,
                   "wirespeed: reflector banner mode: {} SYN-ACKs, {} segments, {} greetings, {} answers, {} window updates, "
                   "{} resent, {} probe segments lost, {} forgeries, {} resets, {} ignored\n",
                   b.syn_acks, b.segments, b.greetings, b.answers, b.window_updates, b.resent, b.lost, b.forged, b.resets,
                   b.ignored);
    }
    return 0;
}

// ---------------------------------------------------------------- plan

std::string format_ports(const std::vector<std::uint16_t>& list) {
    std::string out;
    for (std::size_t i = 0; i < list.size();) {
        std::size_t j = i;
        while (j + 1 < list.size() && list[j + 1] == list[j] + 1) ++j;
        if (!out.empty()) out += ',';
        out += j == i ? fmt::format("{}", list[i]) : fmt::format("{}-{}", list[i], list[j]);
        i = j + 1;
    }
    return out;
}

std::string format_duration(double seconds) {
    if (seconds < 120) return fmt::format("{:.1f} s", seconds);
    const auto total = std::uint64_t(seconds + 0.5);
    if (total < 86400) return fmt::format("{:.0f} s ({}h {:02}m {:02}s)", seconds, total / 3600, total / 60 % 60, total % 60);
    return fmt::format("{:.0f} s ({}d {:02}h {:02}m)", seconds, total / 86400, total / 3600 % 24, total / 60 % 60);
}

// A failed write to stdout is an IoError (exit 2) with the cause.
void write_stdout(const std::string& text) {
    errno = 0;
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
        throw ws::IoError(fmt::format("cannot write standard output: {}", std::strerror(errno ? errno : EIO)));
}

// What a scan would probe, without DPDK: the plan's numbers, or with --list N
// the first N ip:port pairs of this shard in send order (and nothing else).
int run_plan_command(const ws::ScanConfig& config, const std::string& list) {
    std::optional<std::uint64_t> count;
    if (!list.empty()) count = ws::cli::uint_option("--list", list, UINT64_MAX);
    const ws::ScanPlan plan = ws::build_plan(config);
    if (count) {
        const std::uint64_t n = std::min(*count, plan.shard.size());
        std::string out;
        char ip[ws::max_ip_text];
        for (std::uint64_t i = 0; i < n; ++i) {
            const ws::Target t = plan.space->at(plan.shard.begin + i);
            out += ws::to_string(t.proto);
            out += ':';
            if (t.v6) { // [2001:db8::1]:80, as in a URL
                out += '[';
                out.append(ip, ws::format_ip(plan.space->address_of(t), ip));
                out += ']';
            } else {
                out.append(ip, ws::format_ipv4(t.address, ip));
            }
            fmt::format_to(std::back_inserter(out), ":{}\n", t.port);
            if (out.size() >= (1u << 20)) {
                write_stdout(out);
                out.clear();
            }
        }
        write_stdout(out);
        return 0;
    }
    const ws::TargetSet& targets = plan.space->targets();
    const ws::ProbeSlots& slots = plan.space->slots();
    const std::uint64_t attempts = std::uint64_t{config.retries} + 1;
    const std::uint64_t probes = plan.shard.size() * attempts;
    const std::size_t blocks = targets.intervals().size() + targets.ipv6_intervals().size();
    fmt::print("targets   {} addresses in {} block{} ({} requested, {} removed by the {}, {} excluded)\n",
               targets.count(), blocks, blocks == 1 ? "" : "s", plan.requested,
               plan.blocklisted, config.blocklist_file ? fmt::format("blocklist {}", *config.blocklist_file) : "default blocklist",
               plan.excluded);
    std::string what;
    const auto tcp = slots.ports(ws::Proto::tcp), udp = slots.ports(ws::Proto::udp);
    if (!tcp.empty()) what += fmt::format("tcp {}: {}", tcp.size(), format_ports(tcp));
    if (!udp.empty())
        what += fmt::format("{}udp {}: {} ({} probe{} with nmap's payloads)", what.empty() ? "" : "; ", udp.size(),
                            format_ports(udp), slots.count(ws::Proto::udp), slots.count(ws::Proto::udp) == 1 ? "" : "s");
    if (slots.key_index(ws::Proto::icmp, 0) != UINT32_MAX) what += fmt::format("{}icmp echo", what.empty() ? "" : "; ");
    fmt::print("ports     {}\n", what);
    fmt::print("probes    {} ({} address x probe pairs in this shard x {} attempt{})\n", probes, plan.shard.size(), attempts,
               attempts == 1 ? "" : "s");
    if (config.rate == 0) {
        fmt::print("rate      unbounded (0: as fast as the port takes), {}\n",
                   config.rate_mode == ws::RateMode::fixed ? "fixed" : "adaptive");
        fmt::print("duration  unbounded rate: sending time depends on the port, then {} wait\n",
                   format_duration(config.wait_seconds));
    } else {
        fmt::print("rate      {} probes/s cap, {}\n", config.rate,
                   config.rate_mode == ws::RateMode::fixed ? "fixed" : "adaptive (starts at a quarter of the cap)");
        const double sending = std::max(double(probes) / double(config.rate), config.retries * config.retry_delay_seconds);
        fmt::print("duration  about {} at the cap: {} sending + {} wait\n", format_duration(sending + config.wait_seconds),
                   format_duration(sending), format_duration(config.wait_seconds));
    }
    fmt::print("shard     {}/{}: positions {}-{} of {} ({:.2f}%)\n", config.shard_index, config.shard_count, plan.shard.begin,
               plan.shard.size() ? plan.shard.end - 1 : plan.shard.begin, plan.space->size(),
               plan.space->size() ? 100.0 * double(plan.shard.size()) / double(plan.space->size()) : 0.0);
    fmt::print("seed      {}{}\n", plan.seed, config.seed ? "" : " (random: pass --seed to repeat this order)");
    return 0;
}

std::uint64_t draw_seed() {
    std::random_device device;
    return (std::uint64_t{device()} << 32) ^ device();
}

// --resume: the interrupted scan's own arguments (as recorded in its scans
// row). Options that only say how to run (rate, wait, outputs, status,
// guards, the port) may be given again: they apply, and are recorded for a
// later resume. Options that say which probes to send, or how, would make it
// another scan: given with a different value, they are refused by name. Which
// is which is the `resume` column of the option table.
namespace resume_rules {

// The recorded values, with the given options applied; throws naming the
// first option (in table order) that would make it another scan. Returns the
// names (as CLI11 knows them) of the options applied.
std::vector<std::string> merge(ws::cli::OptionValues& stored, const ws::cli::OptionValues& now, const CLI::App& given) {
    using ws::cli::OnResume;
    std::vector<std::string> replaced;
    for (const ws::cli::OptionSpec& spec : ws::cli::option_table()) {
        if (spec.resume == OnResume::ignore) continue;
        const CLI::Option* opt = given.get_option_no_throw(spec.cli_name());
        if (!opt || opt->count() == 0) continue;
        const auto& value = now[spec.key()];
        if (spec.resume == OnResume::apply) {
            stored[spec.key()] = value;
            replaced.push_back(opt->get_name());
        } else if (ws::cli::show_value(value) != ws::cli::show_value(stored[spec.key()])) {
            throw ws::Error(fmt::format("cannot resume \"{}\": {} \"{}\" would make it another scan (recorded: \"{}\"); "
                                        "only the rate, wait, outputs, status, guards and port may change",
                                        now.text("resume"), spec.cli_name(), ws::cli::show_value(value),
                                        ws::cli::show_value(stored[spec.key()])));
        }
    }
    return replaced;
}

// The recorded arguments without every occurrence of `names` (and their values).
std::vector<std::string> without(const std::vector<std::string>& args, CLI::App& scan, const std::vector<std::string>& names) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string a = args[i];
        if (a.size() < 2 || a[0] != '-') {
            out.push_back(a);
            continue;
        }
        const CLI::Option* opt = scan.get_option_no_throw(ws::cli::long_name(a.substr(0, a.find('='))));
        const bool drop = opt && std::find(names.begin(), names.end(), opt->get_name()) != names.end();
        const bool takes_value = opt && opt->get_expected_min() > 0 && a.find('=') == std::string::npos;
        if (!drop) {
            out.push_back(a);
            if (takes_value && i + 1 < args.size()) out.push_back(args[++i]);
        } else if (takes_value) {
            ++i;
        }
    }
    return out;
}

} // namespace resume_rules

ws::ScanConfig resume_config(const ws::cli::OptionValues& now, CLI::App& given, const std::vector<std::string>& given_args,
                             const ws::ResumePoint& point, std::vector<std::string>& args) {
    const std::string& db = now.text("resume");
    try {
        args = ws::decode_args(point.config);
    } catch (const ws::Error& e) {
        throw ws::Error(fmt::format("cannot resume \"{}\": {}", db, e.what()));
    }
    if (args.empty() || args.front() != "scan")
        throw ws::Error(fmt::format("cannot resume \"{}\": the scan's arguments were not recorded", db));
    std::vector<char*> argv_view = {const_cast<char*>("wirespeed")};
    for (auto& a : args) argv_view.push_back(a.data());
    CLI::App app;
    ws::cli::OptionValues stored;
    auto* scan = app.add_subcommand("scan");
    ws::cli::add_options(*scan, stored, ws::cli::scan_command);
    try {
        app.parse(ws::cli::normalize_args(int(argv_view.size()), argv_view.data()));
    } catch (const CLI::Error& e) {
        throw ws::Error(fmt::format("cannot resume \"{}\": its recorded arguments no longer parse: {}", db, e.what()));
    }
    if (!stored.text("config").empty()) ws::cli::apply_config_file(*scan, stored.text("config"));
    const std::vector<std::string> replaced = resume_rules::merge(stored, now, given);
    if (!replaced.empty()) { // recorded, so that a later --resume keeps them
        args = resume_rules::without(args, *scan, replaced);
        for (std::size_t i = 0; i < given_args.size(); ++i) {
            if (given_args[i] == "--resume") {
                ++i;
                continue;
            }
            if (given_args[i].rfind("--resume=", 0) == 0) continue;
            args.push_back(given_args[i]);
        }
    }
    ws::ScanConfig config = ws::cli::to_scan_config(stored);
    if (now.text("seed").empty()) config.seed = point.seed; // a random seed was drawn once: the checkpoint has it
    config.db_path = db;
    config.no_db = false;
    config.port = ws::cli::to_port_spec(stored, config.verbosity);
    return config;
}

} // namespace

static int run_main(int argc, char** argv) {
    CLI::App app{"wirespeed: a kernel-bypass SYN scanner on DPDK", "wirespeed"}; // named: "Usage: wirespeed scan ..."
    app.require_subcommand(1);
    app.set_help_all_flag("--help-all", "all subcommands' options");
    app.footer(exit_codes_footer);

    // ---------------------------------------------------------------- scan
    ws::cli::OptionValues scan_options;
    auto* scan = app.add_subcommand("scan", "send SYN probes and record the answers");
    ws::cli::add_options(*scan, scan_options, ws::cli::scan_command);
    scan->footer(exit_codes_footer);

    // ---------------------------------------------------------------- plan
    ws::cli::OptionValues plan_options;
    auto* plan = app.add_subcommand("plan", "show what a scan with these options would probe (no DPDK, sends nothing)");
    ws::cli::add_options(*plan, plan_options, ws::cli::plan_command);
    plan->footer(exit_codes_footer);

    // ---------------------------------------------------------------- reflect
    ReflectOptions reflect_options;
    ws::cli::OptionValues reflect_port; // only the port options are bound
    auto* reflect = app.add_subcommand("reflect", "answer TCP SYN, UDP and ping probes as a whole simulated network would (a lab target)");
    reflect->add_option("--hosts", reflect_options.hosts, "addresses to answer for, either family, as scan targets are written (default 198.19.0.0/16)");
    reflect->add_option("--open-ports", reflect_options.open_ports, "ports open on every host (T:/U: prefixes like -p)");
    reflect->add_option("--open-permille", reflect_options.open_permille, "share of other TCP and UDP pairs that are open (0-1000)");
    reflect->add_option("--filtered-permille", reflect_options.filtered_permille,
                        "share of pairs answered with an ICMP unreachable, and of hosts whose ping is");
    reflect->add_option("--drop-permille", reflect_options.drop_permille, "share of probes whose answers are lost (0-1000)");
    reflect->add_option("--seed", reflect_options.seed, "seed of the open/filtered/drop choices");
    reflect->add_option("--truth-ports", reflect_options.truth_ports, "ports the ground truth covers (T:/U: prefixes like -p)");
    reflect->add_flag("--truth-ping", reflect_options.truth_ping, "the ground truth covers ping too (icmp:ip:0 for up hosts)");
    reflect->add_flag("--print-truth", reflect_options.print_truth, "print the open proto:ip:port triples and exit");
    reflect->add_option("--duration", reflect_options.duration, "seconds to run (default: until SIGINT)");
    reflect->add_flag("--forge-bad-cookies", reflect_options.forge, "also send an open answer with a wrong cookie per probe");
    reflect->add_option("--queues", reflect_options.queues, "queue pairs to answer on, all polled by one lcore (default 1; as many as the scanner has TX or RX lcores)");
    reflect->add_option("--banner", reflect_options.banners,
                        "banner mode: PORT:TEXT, a TCP server on open PORT greeting with TEXT (escapes \\r \\n \\t \\\\ \\xHH); repeatable");
    reflect->add_option("--banner-answer", reflect_options.banner_answers,
                        "banner mode: PORT:TEXT, what PORT answers to a probe (data); repeatable");
    reflect->add_option("--banner-fault", reflect_options.banner_faults,
                        "banner mode: PORT:FAULT (lose-first, out-of-order, reset-mid, zero-window, silent, forge); repeatable");
    ws::cli::add_options(*reflect, reflect_port, ws::cli::reflect_command);
    reflect->footer(exit_codes_footer);

    // ---------------------------------------------------------------- export / merge
    std::string export_db, export_out, export_format = "json", export_fields, export_scan;
    auto* export_cmd = app.add_subcommand("export", "convert a stored scan to json, csv, list, xml or grepable");
    export_cmd->add_option("database", export_db, "the scan database")->required();
    export_cmd->add_option("-o,--output", export_out, "output file")->required();
    export_cmd->add_option("--format", export_format, "json (default), csv, list, xml or grepable");
    export_cmd->add_option("--fields", export_fields, "CSV columns and order: ip,port,proto,state,reason,ttl,window,ts,data and the service columns (service,product,version,...; see USAGE.md)");
    export_cmd->add_option("--scan", export_scan, "only this scan id (default: every scan in the database)");
    export_cmd->footer(exit_codes_footer);
    std::vector<std::string> merge_inputs;
    std::string merge_out;
    auto* merge_cmd = app.add_subcommand("merge", "combine shard databases into one (duplicates collapse)");
    merge_cmd->add_option("databases", merge_inputs, "the databases to combine")->required();
    merge_cmd->add_option("-o,--output", merge_out, "the combined database")->required();
    merge_cmd->footer(exit_codes_footer);

    auto* version = app.add_subcommand("version", "print the version");

    if (argc > 1 && argv[1][0] != '-') {
        const std::string command = argv[1];
        if (command != "scan" && command != "plan" && command != "reflect" && command != "export" &&
            command != "merge" && command != "version") {
            fmt::print(stderr, "wirespeed: unknown command \"{}\": expected scan, plan, reflect, export, merge or version\n", command);
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
    } catch (const CLI::Error& e) { // every parse error is a usage error, whatever CLI11's own code
        fmt::print(stderr, "wirespeed: {}\n", e.what());
        return exit_usage;
    }

    CLI::App* command = plan->parsed() ? plan : scan;
    ws::cli::OptionValues& options = plan->parsed() ? plan_options : scan_options;
    ws::cli::ConfigOrigin origin;
    try {
        if (version->parsed()) {
            fmt::print("wirespeed 0.1.0\n");
            return 0;
        }
        if (reflect->parsed()) return run_reflect_command(reflect_options, ws::cli::to_port_spec(reflect_port, 0));
        if (export_cmd->parsed()) {
            std::optional<std::int64_t> scan_id;
            if (!export_scan.empty()) scan_id = std::int64_t(ws::cli::uint_option("--scan", export_scan, INT64_MAX));
            ws::check_path_collisions({{"the database", export_db, ws::PathRole::database_input},
                                       {"-o", export_out, ws::PathRole::output}});
            ws::export_database(export_db, export_out, export_format, export_fields, scan_id);
            return 0;
        }
        if (merge_cmd->parsed()) {
            std::vector<ws::PathUse> uses;
            for (const auto& input : merge_inputs) uses.push_back({"an input database", input, ws::PathRole::database_input});
            uses.push_back({"-o", merge_out, ws::PathRole::database_output});
            ws::check_path_collisions(uses);
            ws::merge_databases(merge_inputs, merge_out);
            return 0;
        }

        if ((scan->parsed() || plan->parsed()) && options.flag("list-options")) {
            write_stdout(ws::cli::list_options(plan->parsed() ? ws::cli::plan_command : ws::cli::scan_command));
            return 0;
        }
        if (!options.text("config").empty()) origin = ws::cli::apply_config_file(*command, options.text("config"));
        if (scan->parsed() && !options.text("resume").empty()) {
            std::vector<std::string> recorded_args;
            std::optional<ws::DatabaseLock> db_lock;
            db_lock.emplace(options.text("resume"), "--resume", false); // IoError (in use): exit 2; missing: exit 1
            const std::vector<std::string> given_args(argv + 2, argv + argc); // after "scan"
            // --resume DB --service also takes a complete scan: it sends
            // nothing and names the open ports that have no service yet.
            const bool naming = std::find_if(given_args.begin(), given_args.end(), [](const std::string& a) {
                                    return a == "--service" || a == "-sV" || a.rfind("--service=", 0) == 0;
                                }) != given_args.end();
            const ws::ResumePoint point = ws::load_resume_point(options.text("resume"), naming);
            ws::ScanConfig resumed = resume_config(options, *scan, given_args, point, recorded_args);
            if (point.status == "complete") {
                resumed.verify = 0;       // every probe was sent and waited for: no pass to estimate
                resumed.wait_seconds = 0; // nothing is sent, so nothing is waited for
            }
            if (resumed.verbosity >= 0)
                fmt::print(stderr, "wirespeed: {} scan {} of \"{}\" ({})\n",
                           point.status == "complete" ? "naming the services of" : "resuming", point.scan_id,
                           options.text("resume"), point.status == "running" ? "killed" : point.status);
            return run_scan_command(resumed, recorded_args, &point, "", "");
        }
        ws::ScanConfig config = ws::cli::to_scan_config(options);
        if (options.flag("echo")) {
            if (options.text("seed").empty()) options.text("seed") = std::to_string(draw_seed()); // echo -> --config repeats the order
            fmt::print("{}", ws::cli::render_config(options));
            return 0;
        }
        if (plan->parsed()) return run_plan_command(config, options.text("list"));

        std::vector<std::string> recorded_args(argv + 1, argv + argc);
        config.port = ws::cli::to_port_spec(options, config.verbosity);
        if (config.no_db && config.list_output.empty() && config.verbosity >= 0)
            fmt::print(stderr, "wirespeed: --no-db without -oL: results appear in the summary counts only\n");
        return run_scan_command(config, recorded_args, nullptr, ws::cli::render_config(options), options.text("config"));
    } catch (const ws::IoError& e) { // a file that was accepted could not be read or written
        fmt::print(stderr, "wirespeed: {}\n", e.what());
        return exit_runtime;
    } catch (const ws::Error& e) {
        fmt::print(stderr, "wirespeed: {}\n", ws::cli::locate_error(origin, *command, e.what()));
        return exit_usage;
    } catch (const CLI::Error& e) {
        fmt::print(stderr, "wirespeed: {}\n", e.what());
        return exit_usage;
    } catch (const std::exception& e) {
        fmt::print(stderr, "wirespeed: {}\n", e.what());
        return exit_runtime;
    }
}

// stdout (plan, --echo, --print-truth, export -o /dev/stdout ...) is an output
// like any other: a write error there is exit 2 with a line saying so.
int main(int argc, char** argv) {
    int rc = run_main(argc, argv);
    errno = 0;
    if (rc == 0 && (std::fflush(stdout) != 0 || std::ferror(stdout))) {
        fmt::print(stderr, "wirespeed: cannot write standard output: {}\n", std::strerror(errno ? errno : EIO));
        rc = exit_runtime;
    }
    return rc;
}
