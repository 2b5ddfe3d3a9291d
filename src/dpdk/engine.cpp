#include "engine.hpp"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <deque>
#include <memory>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "collector.hpp"
#include "drop_counter.hpp"
#include "lcores.hpp"
#include "net_info.hpp"
#include "port.hpp"
#include "wirespeed/error.hpp"
#include "wirespeed/outputs.hpp"
#include "wirespeed/rate_control.hpp"

namespace ws::dp {

namespace {

std::atomic<int> g_signals{0};

extern "C" void on_signal(int) { g_signals.fetch_add(1, std::memory_order_relaxed); }

double unix_now() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

std::string format_rate(double pps) {
    if (pps >= 1e6) return fmt::format("{:.2f}M", pps / 1e6);
    if (pps >= 1e3) return fmt::format("{:.1f}k", pps / 1e3);
    return fmt::format("{:.0f}", pps);
}

std::string format_duration(double seconds) {
    if (seconds < 0 || seconds > 1e7) return "--:--:--";
    const auto s = std::uint64_t(seconds);
    return fmt::format("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
}

// Gateway MAC by ARP from the scanner itself, before any lcore runs: the main
// lcore owns TX queue 0 and RX queue 0 for the moment. Answers ARP requests
// for our source address meanwhile, so the far side can already reach us.
MacAddress resolve_mac(const Port& port, rte_mempool* pool, const MacAddress& our_mac, std::uint32_t source_ip,
                       std::uint32_t target_ip, const CookieMaker& cookies, int verbosity) {
    const ReplyContext context{source_ip, &cookies};
    constexpr int attempts = 5;
    for (int attempt = 0; attempt < attempts && signals_received() == 0; ++attempt) {
        if (rte_mbuf* m = rte_pktmbuf_alloc(pool)) {
            const std::size_t len = build_arp(rte_pktmbuf_mtod(m, std::uint8_t*), false, our_mac, source_ip, MacAddress{}, target_ip);
            m->data_len = std::uint16_t(len);
            m->pkt_len = std::uint32_t(len);
            if (rte_eth_tx_burst(port.id(), 0, &m, 1) != 1) rte_pktmbuf_free(m);
        }
        if (verbosity >= 1)
            fmt::print(stderr, "wirespeed: ARP who-has {} (attempt {}/{})\n", format_ipv4(target_ip), attempt + 1, attempts);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        while (std::chrono::steady_clock::now() < deadline) {
            rte_mbuf* frames[burst_size];
            const std::uint16_t n = rte_eth_rx_burst(port.id(), 0, frames, burst_size);
            std::optional<MacAddress> found;
            for (std::uint16_t i = 0; i < n; ++i) {
                const ParsedReply r = parse_reply(rte_pktmbuf_mtod(frames[i], const std::uint8_t*), frames[i]->data_len, context);
                if (r.kind == ReplyKind::arp_reply && r.arp.sender_ip == target_ip) found = r.arp.sender_mac;
                if (r.kind == ReplyKind::arp_request && r.arp.target_ip == source_ip) {
                    if (rte_mbuf* m = rte_pktmbuf_alloc(pool)) {
                        const std::size_t len = build_arp(rte_pktmbuf_mtod(m, std::uint8_t*), true, our_mac, source_ip,
                                                          r.arp.sender_mac, r.arp.sender_ip);
                        m->data_len = std::uint16_t(len);
                        m->pkt_len = std::uint32_t(len);
                        if (rte_eth_tx_burst(port.id(), 0, &m, 1) != 1) rte_pktmbuf_free(m);
                    }
                }
            }
            if (n) rte_pktmbuf_free_bulk(frames, n);
            if (found) return *found;
            if (n == 0) rte_delay_us_sleep(1000);
        }
    }
    throw Error(fmt::format("no ARP reply from gateway {} after {} attempts: check --gateway-ip or pass --gateway-mac",
                            format_ipv4(target_ip), attempts));
}

struct Totals {
    std::uint64_t sent = 0, short_bursts = 0, nombuf = 0, received = 0, results = 0, ring_full = 0;
    std::uint64_t arp = 0, resets = 0, slots = 0, resent = 0;
    std::array<std::uint64_t, reject_reason_count> rejected{};
    bool tx_done = true;
};

Totals gather(const std::vector<std::unique_ptr<TxLcore>>& txs, const std::vector<std::unique_ptr<RxLcore>>& rxs) {
    Totals t;
    for (const auto& tx : txs) {
        t.sent += tx->sent.get();
        t.short_bursts += tx->short_bursts.get();
        t.nombuf += tx->nombuf.get();
        t.slots += tx->next_slot.load(std::memory_order_relaxed);
        t.resent += tx->resent.get();
        t.tx_done = t.tx_done && tx->done.load(std::memory_order_acquire);
    }
    for (const auto& rx : rxs) {
        t.received += rx->received.get();
        t.results += rx->results_pushed.get();
        t.ring_full += rx->ring_full.get();
        t.arp += rx->arp_answered.get();
        t.resets += rx->resets_sent.get();
        for (std::size_t i = 0; i < reject_reason_count; ++i) t.rejected[i] += rx->rejected[i].get();
    }
    return t;
}

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", int(c));
            else out += c;
        }
    }
    return out + "\"";
}

void write_metadata(const std::string& path, const ScanConfig& config, const ScanPlan& plan, const EngineSetup& setup,
                    const Port& port, const ScanOutcome& outcome, double tx_pps, double send_duration, std::uint32_t source_ip,
                    const MacAddress& gateway_mac) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) throw Error(fmt::format("cannot write metadata file \"{}\"", path));
    const auto& c = outcome.counters;
    std::string rejected;
    for (std::size_t i = 0; i < reject_reason_count; ++i)
        rejected += fmt::format("{}\"{}\":{}", i ? "," : "", to_string(RejectReason(i)), outcome.rejected[i]);
    std::string argv, args;
    for (std::size_t i = 0; i < setup.eal_argv.size(); ++i) argv += fmt::format("{}{}", i ? "," : "", json_string(setup.eal_argv[i]));
    for (std::size_t i = 0; i < setup.args.size(); ++i) args += fmt::format("{}{}", i ? "," : "", json_string(setup.args[i]));
    fmt::print(f,
               "{{\"status\":\"{}\",\"seed\":{},\"sent\":{},\"tx_pps\":{:.1f},\"send_duration_s\":{:.3f},\"duration_s\":{:.3f},\"replies\":{},"
               "\"open\":{},\"closed\":{},\"filtered\":{},\"duplicates\":{},\"drops\":{},\"probes_planned\":{},"
               "\"targets\":{},\"ports\":{},\"shard\":\"{}/{}\",\"rate_cap\":{},\"rate_mode\":\"{}\",\"final_rate\":{},"
               "\"ring_full\":{},\"kernel_rx_dropped\":{},\"repairs\":{},\"resent\":{},\"retries\":{},\"source_ip\":\"{}\",\"gateway_mac\":\"{}\",\"rejected\":{{{}}},"
               "\"args\":[{}],\"config\":{},\"eal\":{{\"argv\":[{}],\"tx_lcores\":{},\"rx_lcores\":{}}},"
               "\"port\":{{\"driver\":\"{}\",\"mac\":\"{}\",\"rx_queues\":{},\"tx_queues\":{},\"rx_desc\":{},\"tx_desc\":{},\"rss\":{},\"tx_checksum_offload\":{}}}}}\n",
               c.status, plan.seed, c.sent, tx_pps, send_duration, c.duration_s, c.replies, c.open, c.closed, c.filtered, c.duplicates,
               c.drops, plan.shard.size() * (1 + config.retries), plan.space->targets().count(), plan.space->ports().count(),
               config.shard_index, config.shard_count, config.rate, config.rate_mode == RateMode::adaptive ? "adaptive" : "fixed",
               outcome.final_rate, outcome.ring_full, outcome.kernel_rx_dropped, outcome.repairs, outcome.resent, config.retries, format_ipv4(source_ip), format_mac(gateway_mac), rejected, args, json_string(setup.effective_config), argv,
               setup.tx_lcores.size(), setup.rx_lcores.size(), port.caps().driver, format_mac(port.mac()),
               setup.rx_lcores.size(), setup.tx_lcores.size(), port.rx_desc(), port.tx_desc(), port.rss(), port.tx_checksum_offload());
    std::fclose(f);
}

void add_outputs(ResultSink& sink, const ScanConfig& config, const ScanPlan& plan, double start_unix,
                 const std::vector<std::string>& args) {
    const ScanInfo info{fmt::format("wirespeed {}", fmt::join(args, " ")), start_unix, plan.space->ports().ports(), 0};
    if (!config.list_output.empty()) sink.add_output(make_list_writer(config.list_output));
    if (!config.json_output.empty()) sink.add_output(make_json_writer(config.json_output));
    if (!config.csv_output.empty()) sink.add_output(make_csv_writer(config.csv_output, config.csv_fields));
    if (!config.xml_output.empty()) sink.add_output(make_xml_writer(config.xml_output, info));
    if (!config.grepable_output.empty()) sink.add_output(make_grepable_writer(config.grepable_output, info));
}

} // namespace

void install_signal_handlers() {
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

int signals_received() noexcept { return g_signals.load(std::memory_order_relaxed); }
void reset_signals() noexcept { g_signals.store(0); }

ScanOutcome run_scan(const ScanConfig& config, const ScanPlan& plan, const EngineSetup& setup) {
    const unsigned tx_count = unsigned(setup.tx_lcores.size());
    const unsigned rx_count = unsigned(setup.rx_lcores.size());
    if (tx_count == 0 || rx_count == 0) throw Error("need at least one TX and one RX lcore");
    const int socket = rte_eth_dev_socket_id(setup.port_id) < 0 ? int(rte_socket_id()) : rte_eth_dev_socket_id(setup.port_id);
    const std::string tag = fmt::format("ws{}p{}", getpid(), setup.port_id);

    // ---- pools and port
    constexpr unsigned cache = 256;
    const unsigned pool_size = mempool_size(rx_count, default_rx_desc, tx_count, default_tx_desc, tx_count + rx_count + 1, cache, burst_size);
    Mempool rx_pool(tag + "rx", pool_size, cache, socket);
    std::vector<std::unique_ptr<Mempool>> tx_pools;
    for (unsigned i = 0; i < tx_count; ++i)
        tx_pools.push_back(std::make_unique<Mempool>(fmt::format("{}tx{}", tag, i), pool_size, cache, socket));
    Port port(setup.port_id, rx_count, tx_count, rx_pool.get(), config.verbosity);
    const MacAddress our_mac = port.mac();

    // ---- addresses
    std::uint32_t source_ip = 0;
    if (config.source_ip) source_ip = *config.source_ip;
    else if (auto ip = config.port.interface.empty() ? std::nullopt : interface_ipv4(config.port.interface)) source_ip = *ip;
    else throw Error("no source address: pass --source-ip (the interface has no IPv4 address)");

    if (setup.resume && setup.resume->slots.size() != tx_count)
        throw Error(fmt::format("cannot resume: the checkpoint has {} TX slices, this scan has {} TX cores",
                                setup.resume->slots.size(), tx_count));
    const CookieMaker cookies(setup.resume ? setup.resume->key : CookieKey::random(), config.source_ports,
                              CookieMaker::aesni_available() ? CookiePrf::aesni : CookiePrf::siphash);
    MacAddress gateway_mac{};
    if (config.gateway_mac) {
        gateway_mac = *config.gateway_mac;
    } else {
        std::optional<std::uint32_t> gateway = config.gateway_ip;
        if (!gateway && !config.port.interface.empty()) gateway = default_gateway(config.port.interface);
        if (!gateway && plan.space->targets().count() == 1) gateway = plan.space->targets().at(0); // on-link single host
        if (!gateway) throw Error("no gateway: the interface has no default route; pass --gateway-ip or --gateway-mac");
        gateway_mac = resolve_mac(port, rx_pool.get(), our_mac, source_ip, *gateway, cookies, config.verbosity);
    }
    if (config.verbosity >= 1)
        fmt::print(stderr, "wirespeed: port {} ({}) mac {} source {} gateway mac {}\n", port.id(), port.caps().driver,
                   format_mac(our_mac), format_ipv4(source_ip), format_mac(gateway_mac));

    const ProbeTemplate probe(ProbeConfig{our_mac, gateway_mac, source_ip, config.ttl, 1024, config.tcp_options});
    for (auto& pool : tx_pools) prefill_tx_pool(pool->get(), probe);

    // ---- sink and collector
    const double start_unix = unix_now();
    ResultSink sink(SinkOptions{.keep_closed = config.show_closed}, plan.space.get(), start_unix);
    if (!config.no_db) {
        ScanRecord record;
        record.seed = plan.seed;
        record.targets = fmt::format("{}", fmt::join(config.target_specs, ","));
        for (const auto& f : config.target_files) record.targets += (record.targets.empty() ? "-iL " : ",-iL ") + f;
        record.ports = config.ports_spec;
        record.shard = fmt::format("{}/{}", config.shard_index, config.shard_count);
        record.rate = config.rate;
        record.probes = plan.shard.size() * (1 + config.retries);
        record.config_json = encode_args(setup.args);
        sink.set_database(setup.resume ? std::make_unique<SqliteWriter>(config.db_path, setup.resume->scan_id)
                                       : std::make_unique<SqliteWriter>(config.db_path, record));
    }
    add_outputs(sink, config, plan, start_unix, setup.args);
    if (setup.resume) // the outputs are recreated: what the first run committed goes into them again
        for_each_result(config.db_path, setup.resume->scan_id,
                        [&](const ResultRecord& r, double seen_at) { sink.replay(r, seen_at); });

    // ---- per-lcore state
    RunFlags flags;
    const std::uint64_t tsc_hz = rte_get_tsc_hz();
    const std::uint64_t start_tsc = rte_rdtsc();
    std::vector<std::unique_ptr<ResultRing>> result_rings;
    std::vector<std::unique_ptr<FrameRing>> control_rings;
    std::vector<std::unique_ptr<RxLcore>> rxs;
    std::vector<std::unique_ptr<TxLcore>> txs;
    std::vector<std::unique_ptr<RetrySchedule>> schedules;
    RateController rate_control(RateControlOptions{.cap = config.rate, .adaptive = config.rate_mode == RateMode::adaptive});
    const std::uint64_t per_lcore_rate = (rate_control.rate() + tx_count - 1) / tx_count;
    const double spacing_rate = double(config.rate ? config.rate : 1'000'000) / tx_count;

    for (unsigned i = 0; i < tx_count; ++i) {
        auto tx = std::make_unique<TxLcore>();
        const IndexRange slice = split_range(plan.shard, i, tx_count);
        schedules.push_back(std::make_unique<RetrySchedule>(
            slice, config.retries,
            std::uint64_t(std::max(1.0, config.retry_delay_seconds * spacing_rate / (config.retries + 1)))));
        tx->port = port.id();
        tx->queue = std::uint16_t(i);
        tx->pool = tx_pools[i]->get();
        tx->space = plan.space.get();
        tx->schedule = schedules.back().get();
        tx->probe = &probe;
        tx->cookies = &cookies;
        tx->source_ip = source_ip;
        tx->checksum_offload = port.tx_checksum_offload();
        tx->flags = &flags;
        tx->tsc_hz = tsc_hz;
        tx->rate_pps.store(per_lcore_rate);
        if (setup.resume) tx->next_slot.store(std::min(setup.resume->slots[i], tx->schedule->slots()));
        txs.push_back(std::move(tx));
    }
    for (unsigned i = 0; i < rx_count; ++i) {
        // 2^20 records (32 MiB) absorb seconds of collector stalls (a WAL
        // checkpoint, a descheduled thread) at lab rates before any loss.
        result_rings.push_back(std::make_unique<ResultRing>(fmt::format("{}res{}", tag, i), 1u << 20, socket));
        control_rings.push_back(std::make_unique<FrameRing>(fmt::format("{}ctl{}", tag, i), 1024, socket));
        auto rx = std::make_unique<RxLcore>();
        rx->port = port.id();
        rx->queue = std::uint16_t(i);
        rx->pool = rx_pool.get();
        rx->results = result_rings.back()->get();
        rx->control = control_rings.back()->get();
        rx->context = ReplyContext{source_ip, &cookies};
        rx->our_mac = our_mac;
        rx->send_reset = config.send_reset;
        rx->start_tsc = start_tsc;
        rx->ms_per_tsc_q32 = (1000ull << 32) / tsc_hz;
        rx->flags = &flags;
        txs[i % tx_count]->control_rings.push_back(rx->control);
        rxs.push_back(std::move(rx));
    }

    std::vector<rte_ring*> rings;
    for (auto& r : result_rings) rings.push_back(r->get());
    Collector collector(rings, sink);
    if (!config.no_db) {
        CheckpointSource source;
        source.read_slots = [&txs] {
            std::vector<std::uint64_t> slots;
            for (const auto& tx : txs) slots.push_back(tx->next_slot.load(std::memory_order_relaxed));
            return slots;
        };
        source.wait_seconds = config.wait_seconds;
        source.fingerprint = plan_fingerprint(plan, config);
        source.seed = plan.seed;
        source.k0 = cookies.key().k0;
        source.k1 = cookies.key().k1;
        collector.enable_checkpoints(std::move(source));
    }
    collector.start();

    for (unsigned i = 0; i < rx_count; ++i) {
        const int rc = rte_eal_remote_launch(rx_lcore_main, rxs[i].get(), setup.rx_lcores[i]);
        if (rc != 0) throw Error(fmt::format("cannot launch RX lcore {}: {}", setup.rx_lcores[i], rte_strerror(-rc)));
    }
    for (unsigned i = 0; i < tx_count; ++i) {
        const int rc = rte_eal_remote_launch(tx_lcore_main, txs[i].get(), setup.tx_lcores[i]);
        if (rc != 0) throw Error(fmt::format("cannot launch TX lcore {}: {}", setup.tx_lcores[i], rte_strerror(-rc)));
    }

    // ---- control loop
    const bool tty = isatty(STDERR_FILENO) && !config.status_json;
    const bool show_status = config.verbosity >= 0;
    const std::uint64_t total_slots = [&] {
        std::uint64_t s = 0;
        for (auto& sch : schedules) s += sch->slots();
        return s;
    }();
    const auto t0 = std::chrono::steady_clock::now();
    auto seconds_since = [](std::chrono::steady_clock::time_point a) {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
    };
    Totals previous{};
    PortStats previous_port = port.stats();
    // af_packet / af_xdp: a full socket ring drops in the kernel, where no
    // ethdev counter sees it; our own sockets' statistics do (drop_counter.hpp,
    // disjoint from imissed). Not the interface's rx_dropped: anyone can raise it.
    DropCounter socket_drops(port.caps().driver, config.port.interface);
    const std::uint64_t kernel_drops_at_start = socket_drops.socket_drops();
    std::uint64_t previous_kernel_drops = kernel_drops_at_start;
    std::deque<std::pair<double, std::uint64_t>> history; // (time, sent) for the current pps
    // The wait window: `waiting` since `wait_since` (after the last probe, a
    // signal or a guard); a repair sends again and restarts it.
    bool waiting = false;
    std::chrono::steady_clock::time_point wait_since = t0;
    auto start_waiting = [&] {
        if (!waiting) wait_since = std::chrono::steady_clock::now();
        waiting = true;
    };
    int handled_signals = 0;
    double last_json = -1;
    bool interrupted = false;
    std::string guard; // which guard stopped the scan, if any
    std::uint64_t drops_total = 0;
    // Each TX lcore's progress at the last three ticks: a drop seen now hit
    // replies to probes sent since the oldest, which are re-sent (repaired).
    std::deque<std::vector<std::uint64_t>> slot_history;
    double send_end_s = -1; // elapsed time at the last tick still in the send phase
    std::uint64_t repairs = 0;
    std::FILE* status_file = nullptr;
    if (!config.status_file.empty()) {
        status_file = std::fopen(config.status_file.c_str(), "a");
        if (!status_file) throw Error(fmt::format("cannot open status file \"{}\"", config.status_file));
    }

    for (;;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        const double now = seconds_since(t0);
        const Totals t = gather(txs, rxs);
        const PortStats ps = port.stats();
        const std::uint64_t kernel_drops = socket_drops.socket_drops();
        const std::uint64_t drops = (ps.oerrors - previous_port.oerrors) +
                                    (ps.imissed - previous_port.imissed) + (kernel_drops - previous_kernel_drops) +
                                    (ps.rx_nombuf - previous_port.rx_nombuf) + (t.ring_full - previous.ring_full);
        previous_kernel_drops = kernel_drops;
        drops_total += drops;
        const std::uint64_t rate = rate_control.update(RateSample{t.sent - previous.sent, t.results - previous.results, drops,
                                                                  t.short_bursts - previous.short_bursts, collector.fullest_ring()});
        for (auto& tx : txs) tx->rate_pps.store((rate + tx_count - 1) / tx_count, std::memory_order_relaxed);
        std::vector<std::uint64_t> slots_now;
        for (const auto& tx : txs) slots_now.push_back(tx->next_slot.load(std::memory_order_relaxed));
        slot_history.push_back(slots_now);
        if (slot_history.size() > 3) slot_history.pop_front();
        // Lose no answer we know we lost: a drop on our side (NIC, kernel socket
        // ring, result ring) means some replies of the last ticks' probes are
        // gone, so those probes go out again; dedup absorbs the repeats.
        if (drops > 0 && !interrupted && guard.empty()) {
            for (unsigned i = 0; i < tx_count; ++i) {
                txs[i]->repair_begin.store(slot_history.front()[i], std::memory_order_relaxed);
                txs[i]->repair_end.store(slots_now[i], std::memory_order_relaxed);
                txs[i]->repair_generation.fetch_add(1, std::memory_order_release);
            }
            ++repairs;
            waiting = false; // the wait window restarts after the re-sent probes
        }
        previous = t;
        previous_port = ps;

        history.emplace_back(now, t.sent);
        while (history.size() > 11) history.pop_front();
        const double pps_now = history.size() > 1 ? double(history.back().second - history.front().second) /
                                                        std::max(1e-3, history.back().first - history.front().first)
                                                  : 0;
        const double pps_avg = now > 0 ? double(t.sent) / now : 0;
        const double done = total_slots ? double(t.slots) / double(total_slots) : 1;
        const double eta = waiting ? std::max(0.0, config.wait_seconds - seconds_since(wait_since))
                           : pps_now > 0 ? double(total_slots - t.slots) / pps_now + config.wait_seconds : -1;
        const std::uint64_t hits = collector.open();
        if (show_status) {
            if (tty) {
                fmt::print(stderr, "\r{} {:5.1f}% ETA {} sent {} ({}pps now, {}pps avg) replies {} open {} ({:.3f}%) drops {}{}\x1b[K",
                           format_duration(now), done * 100, format_duration(eta), t.sent, format_rate(pps_now),
                           format_rate(pps_avg), t.results, hits, t.sent ? 100.0 * double(hits) / double(t.sent) : 0.0,
                           drops_total, waiting ? " [waiting]" : "");
            }
        }
        if (now - last_json >= 1.0 && ((show_status && !tty) || status_file)) {
            last_json = now;
            const std::string line = fmt::format(
                "{{\"type\":\"status\",\"elapsed_s\":{:.1f},\"done_pct\":{:.2f},\"eta_s\":{:.1f},\"sent\":{},\"pps_now\":{:.0f},"
                "\"pps_avg\":{:.0f},\"rate\":{},\"replies\":{},\"open\":{},\"drops\":{},\"phase\":\"{}\"}}\n",
                now, done * 100, eta, t.sent, pps_now, pps_avg, rate, t.results, hits, drops_total,
                waiting ? "waiting" : "sending");
            if (show_status && !tty) std::fputs(line.c_str(), stderr);
            if (status_file) {
                std::fputs(line.c_str(), status_file);
                std::fflush(status_file);
            }
        }

        if (guard.empty() && !waiting) {
            if (config.max_runtime_seconds && now >= *config.max_runtime_seconds)
                guard = fmt::format("--max-runtime {} s reached", *config.max_runtime_seconds);
            else if (config.min_hitrate && t.sent >= 100'000 && double(hits) / double(t.sent) < *config.min_hitrate)
                guard = fmt::format("hit rate {:.6f} below --min-hitrate {}", double(hits) / double(t.sent), *config.min_hitrate);
            else if (config.max_results && collector.kept() >= *config.max_results)
                guard = fmt::format("--max-results {} reached", *config.max_results);
            if (!guard.empty()) {
                flags.stop_tx.store(true);
                start_waiting();
                if (config.verbosity >= 0) fmt::print(stderr, "{}wirespeed: stopping: {}\n", tty ? "\n" : "", guard);
            }
        }

        const int signals = signals_received();
        if (signals > handled_signals) {
            handled_signals = signals;
            interrupted = true;
            flags.stop_tx.store(true);
            start_waiting();
            if (signals >= 2) break; // second signal: skip the rest of the wait window
            if (show_status)
                fmt::print(stderr, "{}wirespeed: interrupted: stopped sending, collecting replies for {:.0f} s (again to skip)\n",
                           tty ? "\n" : "", config.wait_seconds);
        }
        if (collector.failed()) {
            flags.stop_tx.store(true);
            break;
        }
        if (!waiting) send_end_s = now;
        if (!waiting && t.tx_done) start_waiting();
        if (waiting && seconds_since(wait_since) >= config.wait_seconds) break;
    }
    if (show_status && tty) fmt::print(stderr, "\n");

    // ---- shutdown: RX stops, lcores join, the collector drains every ring and commits
    flags.stop_tx.store(true);
    flags.stop_rx.store(true);
    for (unsigned lcore : setup.tx_lcores) rte_eal_wait_lcore(lcore);
    for (unsigned lcore : setup.rx_lcores) rte_eal_wait_lcore(lcore);
    const double duration = seconds_since(t0);
    const double send_duration = send_end_s > 0 ? send_end_s : duration;

    ScanOutcome outcome;
    const Totals t = gather(txs, rxs);
    const PortStats ps = port.stats();
    outcome.rejected = t.rejected;
    outcome.ring_full = t.ring_full;
    outcome.arp_answered = t.arp;
    outcome.resets_sent = t.resets;
    outcome.final_rate = rate_control.rate();
    outcome.resent = t.resent;
    outcome.repairs = repairs;
    std::string failure;
    try {
        collector.stop_and_join(handled_signals < 2 && !collector.failed());
    } catch (const std::exception& e) {
        failure = e.what();
    }
    ScanCounters& c = outcome.counters;
    c.sent = t.sent;
    c.replies = t.results;
    outcome.kernel_rx_dropped = socket_drops.socket_drops() - kernel_drops_at_start;
    c.drops = ps.oerrors + ps.imissed + outcome.kernel_rx_dropped + ps.rx_nombuf + t.ring_full;
    c.duration_s = duration;
    c.status = !failure.empty() ? "failed" : interrupted ? "interrupted" : !guard.empty() ? "stopped" : "complete";
    try {
        sink.finish(c);
    } catch (const std::exception& e) {
        if (failure.empty()) failure = e.what();
    }
    c.open = sink.open();
    c.closed = sink.closed();
    c.filtered = sink.filtered();
    c.duplicates = sink.duplicates();
    outcome.exit_code = !failure.empty() ? 2 : interrupted ? 130 : !guard.empty() ? 3 : 0;
    if (status_file) std::fclose(status_file);
    if (!failure.empty()) fmt::print(stderr, "wirespeed: {}\n", failure);

    // The send phase's rate: the wait window is not part of it.
    const double tx_pps = send_duration > 0 ? double(c.sent) / send_duration : 0;
    if (config.verbosity >= 0) {
        std::uint64_t rejected = 0;
        for (auto r : t.rejected) rejected += r;
        fmt::print(stderr,
                   "wirespeed: {} in {:.2f} s: sent {} ({}pps), replies {}, open {}, closed {}, filtered {}, duplicates {}, "
                   "drops {} (re-sent {} probes), rejected {}{}\n",
                   c.status, duration, c.sent, format_rate(tx_pps), c.replies, c.open, c.closed, c.filtered, c.duplicates,
                   c.drops, t.resent, rejected, config.no_db ? "" : fmt::format(", database {}", config.db_path));
    }
    if (!config.metadata_file.empty())
        write_metadata(config.metadata_file, config, plan, setup, port, outcome, tx_pps, send_duration, source_ip, gateway_mac);
    return outcome;
}

} // namespace ws::dp
