#include "engine.hpp"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <unordered_set>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "canaries.hpp"
#include "collector.hpp"
#include "drop_counter.hpp"
#include "eal.hpp"
#include "lcores.hpp"
#include "net_info.hpp"
#include "port.hpp"
#include "service_thread.hpp"
#include "wirespeed/error.hpp"
#include "wirespeed/outputs.hpp"
#include "wirespeed/rate_control.hpp"
#include "wirespeed/recall.hpp"
#include "wirespeed/service_detector.hpp"

namespace ws::dp {

namespace {

std::atomic<int> g_signals{0};
std::atomic<int> g_cap_up{0}, g_cap_down{0}; // SIGUSR1 / SIGUSR2: the cap +-10%

extern "C" void on_signal(int) { g_signals.fetch_add(1, std::memory_order_relaxed); }
extern "C" void on_cap_signal(int signal) { (signal == SIGUSR1 ? g_cap_up : g_cap_down).fetch_add(1, std::memory_order_relaxed); }

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

// One frame out of TX queue 0 of the port (bring-up only: no lcore runs yet).
void send_frame(const Port& port, rte_mempool* pool, const std::function<std::size_t(std::uint8_t*)>& build) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (!m) return;
    const std::size_t len = build(rte_pktmbuf_mtod(m, std::uint8_t*));
    m->data_len = std::uint16_t(len);
    m->pkt_len = std::uint32_t(len);
    if (rte_eth_tx_burst(port.id(), 0, &m, 1) != 1) rte_pktmbuf_free(m);
}

// Answers ARP and Neighbor Solicitations for our sources during bring-up, so
// the far side can already reach us while we resolve our own next hop.
void answer_neighbours(const Port& port, rte_mempool* pool, const MacAddress& our_mac, const SourceAddresses& sources,
                       const ParsedReply& r) {
    if (r.kind == ReplyKind::arp_request && sources.contains_ipv4(r.arp.target_ip))
        send_frame(port, pool, [&](std::uint8_t* out) {
            return build_arp(out, true, our_mac, r.arp.target_ip, r.arp.sender_mac, r.arp.sender_ip);
        });
    if (r.kind == ReplyKind::ndp_solicit && r.ndp.sender_ip != 0 && sources.contains_ipv6(r.ndp.target_ip))
        send_frame(port, pool, [&](std::uint8_t* out) {
            return build_neighbor_advert(out, our_mac, r.ndp.target_ip, r.ndp.sender_mac, r.ndp.sender_ip, true);
        });
}

// Polls every RX queue in turn for up to a second: with several (af_packet's
// fanout group, af_xdp on a multi-queue interface) a reply lands on any one.
// `match` returns the MAC once it has the answer.
std::optional<MacAddress> poll_for(const Port& port, const std::vector<QueueRef>& rx_queues, rte_mempool* pool,
                                   const MacAddress& our_mac, const SourceAddresses& sources, const ReplyContext& context,
                                   const std::function<std::optional<MacAddress>(const ParsedReply&)>& match) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    unsigned polls = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        rte_mbuf* frames[burst_size];
        const QueueRef queue = rx_queues[polls++ % rx_queues.size()];
        const std::uint16_t n = rte_eth_rx_burst(queue.port, queue.queue, frames, burst_size);
        std::optional<MacAddress> found;
        for (std::uint16_t i = 0; i < n; ++i) {
            const ParsedReply r = parse_reply(rte_pktmbuf_mtod(frames[i], const std::uint8_t*), frames[i]->data_len, context);
            if (auto mac = match(r)) found = mac;
            answer_neighbours(port, pool, our_mac, sources, r);
        }
        if (n) rte_pktmbuf_free_bulk(frames, n);
        if (found) return found;
        if (n == 0) rte_delay_us_sleep(1000);
    }
    return std::nullopt;
}

// Gateway MAC by ARP from the scanner itself, before any lcore runs: the main
// lcore owns TX queue 0 and RX queue 0 for the moment.
MacAddress resolve_mac(const Port& port, const std::vector<QueueRef>& rx_queues, rte_mempool* pool, const MacAddress& our_mac,
                       const SourceAddresses& sources, std::uint32_t target_ip, const CookieMaker& cookies, int verbosity) {
    ReplyContext context{sources.ipv4(0), &cookies};
    context.sources = &sources;
    constexpr int attempts = 5;
    for (int attempt = 0; attempt < attempts && signals_received() == 0; ++attempt) {
        send_frame(port, pool, [&](std::uint8_t* out) {
            return build_arp(out, false, our_mac, sources.ipv4(0), MacAddress{}, target_ip);
        });
        if (verbosity >= 1)
            fmt::print(stderr, "wirespeed: ARP who-has {} (attempt {}/{})\n", format_ipv4(target_ip), attempt + 1, attempts);
        const auto found = poll_for(port, rx_queues, pool, our_mac, sources, context, [&](const ParsedReply& r) -> std::optional<MacAddress> {
            if (r.kind == ReplyKind::arp_reply && r.arp.sender_ip == target_ip) return r.arp.sender_mac;
            return std::nullopt;
        });
        if (found) return *found;
    }
    throw Error(fmt::format("no ARP reply from gateway {} after {} attempts: check --gateway-ip or pass --gateway-mac",
                            format_ipv4(target_ip), attempts));
}

// The IPv6 next hop's MAC by Neighbor Solicitation; with no gateway known (no
// IPv6 default route on the interface), a Router Solicitation: the first
// router that advertises itself is the next hop.
MacAddress resolve_mac6(const Port& port, const std::vector<QueueRef>& rx_queues, rte_mempool* pool, const MacAddress& our_mac,
                        const SourceAddresses& sources, std::optional<uint128> gateway, const CookieMaker& cookies,
                        int verbosity) {
    ReplyContext context{sources.ipv4_count() ? sources.ipv4(0) : 0, &cookies};
    context.sources = &sources;
    const uint128 source = sources.ipv6(0);
    constexpr int attempts = 5;
    for (int attempt = 0; attempt < attempts && signals_received() == 0; ++attempt) {
        send_frame(port, pool, [&](std::uint8_t* out) {
            return gateway ? build_neighbor_solicit(out, our_mac, source, *gateway) : build_router_solicit(out, our_mac, source);
        });
        if (verbosity >= 1)
            fmt::print(stderr, "wirespeed: {} (attempt {}/{})\n",
                       gateway ? "neighbor solicitation for " + format_ipv6(*gateway) : std::string("router solicitation"),
                       attempt + 1, attempts);
        const auto found = poll_for(port, rx_queues, pool, our_mac, sources, context, [&](const ParsedReply& r) -> std::optional<MacAddress> {
            if (gateway && r.kind == ReplyKind::ndp_advert && r.ndp.target_ip == *gateway) return r.ndp.sender_mac;
            if (!gateway && r.kind == ReplyKind::router_advert) return r.ndp.sender_mac;
            return std::nullopt;
        });
        if (found) return *found;
    }
    if (gateway)
        throw Error(fmt::format("no neighbor advertisement from IPv6 gateway {} after {} attempts: check --gateway-ip or pass --gateway-mac",
                                format_ipv6(*gateway), attempts));
    throw Error(fmt::format("no IPv6 gateway: the interface has no IPv6 default route and no router answered {} router "
                            "solicitations; pass --gateway-ip or --gateway-mac", attempts));
}

// Neighbor Solicitations for our IPv6 sources go to their solicited-node
// multicast MACs. A promiscuous port (the usual case: Port enables it) sees
// them anyway; otherwise it is told to accept them, or all multicast when it
// takes no address list.
void accept_solicited_nodes(std::uint16_t port_id, const SourceAddresses& sources) {
    if (sources.ipv6_count() == 0 || rte_eth_promiscuous_get(port_id) == 1) return;
    std::vector<rte_ether_addr> macs;
    for (const uint128 source : sources.ipv6_list()) {
        const MacAddress mac = multicast_mac(solicited_node(source));
        rte_ether_addr address;
        std::memcpy(address.addr_bytes, mac.data(), 6);
        macs.push_back(address);
    }
    if (rte_eth_dev_set_mc_addr_list(port_id, macs.data(), std::uint32_t(macs.size())) != 0)
        rte_eth_allmulticast_enable(port_id);
}

std::string format_sources(const SourceAddresses& sources) {
    std::string out;
    for (const std::uint32_t a : sources.ipv4_list()) out += (out.empty() ? "" : ",") + format_ipv4(a);
    for (const uint128 a : sources.ipv6_list()) out += (out.empty() ? "" : ",") + format_ipv6(a);
    return out;
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

// JSON numbers with the precision the metadata and status lines had when
// they were formatted by hand ("%.3f"): the value rounded to that many
// decimals, printed by nlohmann::json as the shortest text that reads back
// ("1.5", not "1.500").
double rounded(double value, int decimals) {
    if (!std::isfinite(value)) return 0;
    const double scale = std::pow(10.0, decimals);
    return std::round(value * scale) / scale;
}

// The metadata and status files are written through nlohmann::json: text
// from the command line and the environment (arguments, EAL argv, driver
// names) is escaped by the library; bytes that are not UTF-8 become U+FFFD.
std::string dump_line(const nlohmann::ordered_json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

nlohmann::ordered_json recall_json(const ScanOutcome& o) {
    const RecallEstimate& r = o.recall;
    nlohmann::ordered_json j;
    if (!r.valid) {
        j["estimated"] = false;
        j["all_answered"] = o.all_answered;
        j["canaries_sent"] = o.canaries_sent;
        j["canaries_answered"] = o.canaries_answered;
        return j;
    }
    j["canaries_sent"] = o.canaries_sent;
    j["canaries_answered"] = o.canaries_answered;
    j["all_answered"] = o.all_answered;
    j["estimated"] = true;
    j["sampled"] = r.sampled;
    j["answered"] = r.answered;
    j["non_responders"] = r.non_responders;
    j["found"] = r.found;
    j["missed"] = rounded(r.missed, 1);
    j["missed_low"] = rounded(r.missed_low, 1);
    j["missed_high"] = rounded(r.missed_high, 1);
    j["recall"] = rounded(r.recall(), 6);
    j["recall_low"] = rounded(r.recall_low(), 6);
    j["recall_high"] = rounded(r.recall_high(), 6);
    j["delivery_sampled"] = r.delivery_sampled;
    j["delivery_answered"] = r.delivery_answered;
    j["delivery"] = rounded(r.delivery, 6);
    j["repair_passes"] = o.repair_passes;
    return j;
}

// The metadata file is opened in bring-up (so a bad path fails before the
// first packet) and written once at the end; close() reports any write error.
void write_metadata(OutputFile& file, const ScanConfig& config, const ScanPlan& plan, const EngineSetup& setup,
                    const Port& port, const ScanOutcome& outcome, double tx_pps, double send_duration, const std::string& sources,
                    const MacAddress& gateway_mac, nlohmann::ordered_json phases) {
    const auto& c = outcome.counters;
    nlohmann::ordered_json rejected = nlohmann::ordered_json::object();
    for (std::size_t i = 0; i < reject_reason_count; ++i) rejected[std::string(to_string(RejectReason(i)))] = outcome.rejected[i];
    nlohmann::ordered_json m;
    m["status"] = c.status;
    m["seed"] = plan.seed;
    m["sent"] = c.sent;
    m["tx_pps"] = rounded(tx_pps, 1);
    m["send_duration_s"] = rounded(send_duration, 3);
    m["duration_s"] = rounded(c.duration_s, 3);
    m["replies"] = c.replies;
    m["open"] = c.open;
    m["closed"] = c.closed;
    m["filtered"] = c.filtered;
    m["up"] = outcome.up;
    m["open_filtered"] = outcome.open_filtered;
    m["duplicates"] = c.duplicates;
    m["drops"] = c.drops;
    m["probes_planned"] = plan.shard.size() * (1 + config.retries);
    m["targets"] = plan.space->targets().count();
    m["ports"] = plan.space->slots().key_count();
    m["shard"] = fmt::format("{}/{}", config.shard_index, config.shard_count);
    m["rate_cap"] = config.rate;
    m["rate_mode"] = config.rate_mode == RateMode::adaptive ? "adaptive" : "fixed";
    m["final_rate"] = outcome.final_rate;
    m["ring_full"] = outcome.ring_full;
    m["kernel_rx_dropped"] = outcome.kernel_rx_dropped;
    m["repairs"] = outcome.repairs;
    m["resent"] = outcome.resent;
    m["retries"] = config.retries;
    m["simd_path"] = std::string(to_string(plan.space->simd_path()));
    m["source_ip"] = sources;
    m["gateway_mac"] = format_mac(gateway_mac);
    m["rejected"] = std::move(rejected);
    m["args"] = setup.args;
    m["config"] = setup.effective_config;
    nlohmann::ordered_json eal;
    eal["argv"] = setup.eal_argv;
    eal["tx_lcores"] = setup.tx_lcores.size();
    eal["rx_lcores"] = setup.rx_lcores.size();
    eal["tx_sent"] = outcome.tx_sent;
    eal["rx_received"] = outcome.rx_received;
    m["eal"] = std::move(eal);
    m["phases"] = std::move(phases);
    m["all_answered"] = outcome.all_answered;
    m["recall"] = recall_json(outcome);
    nlohmann::ordered_json p;
    p["driver"] = std::string(port.caps().driver);
    p["mac"] = format_mac(port.mac());
    p["rx_queues"] = outcome.rx_queues;
    p["tx_queues"] = outcome.tx_queues;
    p["rx_desc"] = port.rx_desc();
    p["tx_desc"] = port.tx_desc();
    p["rss"] = port.rss();
    p["tx_checksum_offload"] = port.tx_checksum_offload();
    m["port"] = std::move(p);
    file.write(dump_line(m));
    file.close();
}

void add_outputs(ResultSink& sink, const ScanConfig& config, const ScanPlan& plan, double start_unix,
                 const std::vector<std::string>& args) {
    ScanInfo info{fmt::format("wirespeed {}", fmt::join(args, " ")), start_unix, plan.space->slots().ports(Proto::tcp), 0};
    info.udp_ports = plan.space->slots().ports(Proto::udp);
    info.ping = plan.space->slots().key_index(Proto::icmp, 0) != UINT32_MAX;
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
    sa.sa_handler = on_cap_signal;
    sigaction(SIGUSR1, &sa, nullptr);
    sigaction(SIGUSR2, &sa, nullptr);
}

int signals_received() noexcept { return g_signals.load(std::memory_order_relaxed); }
void reset_signals() noexcept { g_signals.store(0); }

namespace {

// --status-file: NDJSON lines appended once a second. Opened in bring-up; a
// failed write is kept (and ends the scan as failed), never ignored.
class StatusFile {
public:
    explicit StatusFile(const std::string& path) : path_(path) {
        if (path.empty()) return;
        file_ = std::fopen(path.c_str(), "a");
        if (!file_) throw Error(fmt::format("cannot open status file \"{}\": {}", path, std::strerror(errno)));
    }
    ~StatusFile() {
        if (file_) std::fclose(file_);
    }
    StatusFile(const StatusFile&) = delete;
    StatusFile& operator=(const StatusFile&) = delete;
    bool is_open() const noexcept { return file_ != nullptr; }
    void append(const std::string& line) {
        if (!file_ || !error_.empty()) return;
        if (std::fputs(line.c_str(), file_) < 0 || std::fflush(file_) != 0) fail(errno);
    }
    void close() {
        if (!file_) return;
        const bool failed = std::fclose(file_) != 0;
        file_ = nullptr;
        if (failed) fail(errno);
    }
    const std::string& error() const noexcept { return error_; }

private:
    void fail(int err) {
        if (error_.empty()) error_ = fmt::format("cannot write status file \"{}\": {}", path_, std::strerror(err ? err : EIO));
    }
    std::string path_;
    std::FILE* file_ = nullptr;
    std::string error_;
};

// Everything one scan owns, in bring-up order, so that it is destroyed in
// reverse: the collector before the sink it writes to, the lcore structs and
// rings before the pools and the port. The lcores themselves are joined by
// LaunchGuard before any of this goes away.
struct ScanState {
    std::string tag;
    int socket = 0;
    std::unique_ptr<Mempool> rx_pool;
    std::vector<std::unique_ptr<Mempool>> tx_pools;
    std::unique_ptr<Port> port;
    std::vector<std::unique_ptr<Port>> queue_ports; // setup.queue_ports: one more queue pair each
    std::vector<QueueRef> rx_queues, tx_queues; // every queue in order: the port's own, then queue_ports' queue 0
    std::unique_ptr<DropCounter> socket_drops; // our af_packet / af_xdp sockets' own drop counters
    // Port counters summed over the port and queue_ports.
    PortStats stats() const {
        PortStats sum = port->stats();
        for (const auto& p : queue_ports) {
            const PortStats ps = p->stats();
            sum.opackets += ps.opackets;
            sum.oerrors += ps.oerrors;
            sum.ipackets += ps.ipackets;
            sum.ierrors += ps.ierrors;
            sum.imissed += ps.imissed;
            sum.rx_nombuf += ps.rx_nombuf;
        }
        return sum;
    }
    std::unique_ptr<ResultSink> sink;
    std::unique_ptr<StatusFile> status;
    std::unique_ptr<OutputFile> metadata;
    double start_unix = 0;
    SourceAddresses sources;   // --source-ip, or the interface's addresses
    std::uint32_t source_ip = 0; // the first IPv4 source (ARP, the single-source fast path)
    std::unique_ptr<CookieMaker> cookies;
    MacAddress gateway_mac{};  // IPv4 next hop
    MacAddress gateway_mac6{}; // IPv6 next hop
    std::unique_ptr<ProbeSet> probes; // the first source's templates (the fast path's only ones)
    // IPv6 targets or several sources: every source's templates, and the
    // general TX loop that picks one per probe.
    std::unique_ptr<SourceProbeSets> source_sets;
    int template_tag = -1; // mbuf dynfield offset (multi-template scans), see TxLcore
    RunFlags flags;
    std::vector<std::unique_ptr<ResultRing>> result_rings;
    std::vector<std::unique_ptr<ResultRing>> data_rings; // UDP answers with their bytes, one per RX lcore
    std::vector<std::unique_ptr<FrameRing>> control_rings;
    std::unique_ptr<FrameRing> inject_ring; // main lcore -> TX lcore 0: verify probes
    std::vector<std::unique_ptr<RxLcore>> rxs;
    std::vector<std::unique_ptr<TxLcore>> txs;
    std::vector<std::unique_ptr<RetrySchedule>> schedules;
    std::unique_ptr<RateController> rate_control;
    std::unique_ptr<Collector> collector;
    // Service detection (--service): after the collector, so the service
    // thread (which posts to it) is joined and destroyed first.
    std::unique_ptr<ServiceMatcher> service_matcher;
    std::unique_ptr<TlsContext> tls_context;
    std::unique_ptr<StreamTable> streams; // RX lcore 0's
    std::vector<std::unique_ptr<ResultRing>> stream_event_rings; // one per RX lcore
    std::unique_ptr<ResultRing> stream_command_ring;             // to RX lcore 0
    std::vector<std::unique_ptr<FrameRing>> stream_handoff_rings; // RX lcores 1..n -> 0
    std::unique_ptr<ServiceThread> service;
    // --resume --service: open TCP ports the interrupted run found but never
    // named; the service thread takes them up first.
    std::set<std::pair<IpAddress, std::uint16_t>> resumed_open;
    Canaries canaries; // far-side delivery: the control loop sends, the collector reports
    // Start-up phases: name, seconds since the process started at its end.
    std::vector<std::pair<const char*, double>> phases;
    void phase_done(const char* name, const EngineSetup& setup) {
        phases.emplace_back(name, std::chrono::duration<double>(std::chrono::steady_clock::now() - setup.process_start).count());
    }
};

std::string format_phases(const ScanState& s, const EngineSetup& setup) {
    std::string out = fmt::format("eal {:.3f} s", setup.eal_seconds);
    double previous = 0;
    for (const auto& [name, at] : s.phases) {
        if (std::string_view(name) == "eal") {
            previous = at;
            continue;
        }
        out += fmt::format(", {} {:.3f} s", name, at - previous);
        previous = at;
    }
    if (!s.phases.empty()) out += fmt::format("; first probe {:.3f} s after start", s.phases.back().second);
    return out;
}

// The metadata's "phases": seconds per start-up phase, then when the first probe went.
nlohmann::ordered_json phases_json(const ScanState& s, const EngineSetup& setup) {
    nlohmann::ordered_json out;
    out["eal_s"] = rounded(setup.eal_seconds, 4);
    double previous = 0;
    for (const auto& [name, at] : s.phases) {
        if (std::string_view(name) == "eal") {
            previous = at;
            continue;
        }
        out[fmt::format("{}_s", name)] = rounded(at - previous, 4);
        previous = at;
    }
    if (!s.phases.empty()) out["first_probe_at_s"] = rounded(s.phases.back().second, 4);
    return out;
}

// Every lcore launched is joined when the scan ends, however it ends: an
// exception after rte_eal_remote_launch unwinds through this guard, which
// stops and waits for the lcores before the pools and rings they use go.
class LaunchGuard {
public:
    explicit LaunchGuard(RunFlags& flags) : flags_(flags) {}
    ~LaunchGuard() { join(); }
    LaunchGuard(const LaunchGuard&) = delete;
    LaunchGuard& operator=(const LaunchGuard&) = delete;
    void launch(lcore_function_t* fn, void* arg, unsigned lcore, const char* what) {
        const int rc = rte_eal_remote_launch(fn, arg, lcore);
        if (rc != 0) throw Error(fmt::format("cannot launch {} lcore {}: {}", what, lcore, rte_strerror(-rc)));
        launched_.push_back(lcore);
    }
    void join() noexcept {
        flags_.stop_tx.store(true);
        flags_.stop_rx.store(true);
        for (unsigned lcore : launched_) rte_eal_wait_lcore(lcore);
        launched_.clear();
    }

private:
    RunFlags& flags_;
    std::vector<unsigned> launched_;
};

// The largest frame a slot of the plan sends (sizes the TX pools' mbufs
// before the templates exist: they need the gateway's MAC).
std::size_t largest_probe(const ScanPlan& plan) {
    std::size_t largest = 14 + 20 + 40; // a SYN with every TCP option
    for (const ProbeSlot& slot : plan.space->slots().slots())
        if (slot.proto == Proto::udp) largest = std::max(largest, 14 + 20 + 8 + plan.payload(slot).size());
    return largest;
}

// Replies from port 53 must echo the DNS ID unless some port-53 payload is
// too short to carry one.
bool dns_ids_everywhere(const ScanPlan& plan) {
    for (const ProbeSlot& slot : plan.space->slots().slots())
        if (slot.proto == Proto::udp && slot.port == probes::Udp::dns_port &&
            !probes::Udp::carries_dns_id(slot.port, plan.payload(slot).size()))
            return false;
    return true;
}

// ---- bring-up, stage 1: pools and the port (nothing is sent yet)
void bring_up_port(ScanState& s, const ScanConfig& config, const ScanPlan& plan, const EngineSetup& setup) {
    const unsigned tx_count = unsigned(setup.tx_lcores.size());
    const unsigned rx_count = unsigned(setup.rx_lcores.size());
    s.socket = rte_eth_dev_socket_id(setup.port_id) < 0 ? int(rte_socket_id()) : rte_eth_dev_socket_id(setup.port_id);
    s.tag = fmt::format("ws{}p{}", getpid(), setup.port_id);
    constexpr unsigned cache = 256;
    // An --interface port opens as many queue pairs as the busier side has
    // lcores (eal.cpp); every RX queue then has a poller (an RX lcore polls
    // several when the TX side is the busier one).
    // With setup.queue_ports (af_xdp on veth), the port and each of them
    // carry one pair.
    const unsigned queues = config.port.interface.empty() ? 0 : interface_queues(tx_count, rx_count);
    const unsigned extra = unsigned(setup.queue_ports.size());
    const unsigned rx_queues = std::max(rx_count, queues) - extra, tx_queues = std::max(tx_count, queues) - extra;
    if (extra && (rx_queues != 1 || tx_queues != 1))
        throw Error(fmt::format("{} queue ports for {} TX and {} RX lcores: expected {}", extra, tx_count, rx_count, queues - 1));
    const unsigned pool_size = mempool_size(rx_queues + extra, default_rx_desc, tx_queues + extra, default_tx_desc,
                                            tx_count + rx_count + 1, cache, burst_size);
    s.rx_pool = std::make_unique<Mempool>(s.tag + "rx", pool_size, cache, s.socket);
    for (unsigned i = 0; i < tx_count; ++i)
        s.tx_pools.push_back(std::make_unique<Mempool>(fmt::format("{}tx{}", s.tag, i), pool_size, cache, s.socket,
                                                       tx_data_room(largest_probe(plan))));
    s.port = std::make_unique<Port>(setup.port_id, rx_queues, tx_queues, s.rx_pool->get(), config.verbosity);
    for (unsigned q = 0; q < rx_queues; ++q) s.rx_queues.push_back({s.port->id(), std::uint16_t(q)});
    for (unsigned q = 0; q < tx_queues; ++q) s.tx_queues.push_back({s.port->id(), std::uint16_t(q)});
    for (const std::uint16_t id : setup.queue_ports) {
        s.queue_ports.push_back(std::make_unique<Port>(id, 1, 1, s.rx_pool->get(), config.verbosity));
        s.rx_queues.push_back({id, 0});
        s.tx_queues.push_back({id, 0});
    }
    s.socket_drops = std::make_unique<DropCounter>(s.port->caps().driver, config.port.interface);
}

// ---- bring-up, stage 2: every file the scan writes, before the first packet
// (ARP included), so a bad path or a full directory fails here, not mid-scan.
void open_files(ScanState& s, const ScanConfig& config, const ScanPlan& plan, const EngineSetup& setup) {
    s.start_unix = unix_now();
    s.sink = std::make_unique<ResultSink>(SinkOptions{.keep_closed = config.show_closed}, plan.space.get(), s.start_unix);
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
        s.sink->set_database(setup.resume ? std::make_unique<SqliteWriter>(config.db_path, setup.resume->scan_id)
                                          : std::make_unique<SqliteWriter>(config.db_path, record));
        if (setup.resume) s.sink->database()->record_arguments(record.config_json);
    }
    add_outputs(*s.sink, config, plan, s.start_unix, setup.args);
    s.status = std::make_unique<StatusFile>(config.status_file);
    if (!config.metadata_file.empty())
        s.metadata = std::make_unique<OutputFile>(config.metadata_file, OutputMode::replace, "metadata file");
    if (setup.resume) // the outputs are recreated: what the first run committed goes into them again
        for_each_result(config.db_path, setup.resume->scan_id,
                        [&](const ResultRecord& r, double seen_at, std::span<const std::uint8_t> data) {
                            s.sink->replay(r, seen_at, data);
                            if (config.service && r.proto == Proto::tcp && r.state == PortState::open)
                                s.resumed_open.emplace(record_address(r), r.port);
                        },
                        [&](const ServiceResult& service) {
                            s.sink->replay_service(service);
                            s.resumed_open.erase({service.address, service.port});
                        });
}

// ---- bring-up, stage 3: addresses, cookie key, gateway MAC (ARP), template
void resolve_addresses(ScanState& s, const ScanConfig& config, const ScanPlan& plan, const EngineSetup& setup) {
    const unsigned tx_count = unsigned(setup.tx_lcores.size());
    const TargetSet& targets = plan.space->targets();
    s.sources = config.sources;
    if (s.sources.empty() && !config.port.interface.empty()) {
        if (auto ip = interface_ipv4(config.port.interface)) s.sources.add(IpAddress::from_ipv4(*ip));
        if (auto ip = interface_ipv6(config.port.interface)) s.sources.add(IpAddress::from_ipv6(*ip));
    }
    if (targets.ipv4_count() && s.sources.ipv4_count() == 0)
        throw Error("IPv4 targets but no IPv4 source address: pass --source-ip (the interface has no IPv4 address)");
    if (targets.has_ipv6() && s.sources.ipv6_count() == 0)
        throw Error("IPv6 targets but no IPv6 source address: pass --source-ip with an IPv6 address "
                    "(the interface has no global IPv6 address)");
    s.source_ip = s.sources.ipv4_count() ? s.sources.ipv4(0) : 0;
    if (setup.resume && setup.resume->slots.size() != tx_count)
        throw Error(fmt::format("cannot resume: the checkpoint has {} TX slices, this scan has {} TX cores",
                                setup.resume->slots.size(), tx_count));
    // The TX kernels' SIMD path (simd.hpp) was fixed when the scan space and
    // the cookie maker were built; this validates a forced WIRESPEED_SIMD.
    const SimdPath simd = simd_path_from_environment();
    s.cookies = std::make_unique<CookieMaker>(setup.resume ? setup.resume->key : CookieKey::random(), config.source_ports,
                                              CookieMaker::aesni_available() ? CookiePrf::aesni : CookiePrf::siphash);
    if (config.verbosity >= 1)
        fmt::print(stderr, "wirespeed: SIMD path {} (permutation {}, cookies {} with {}; best on this CPU: {})\n",
                   to_string(simd), to_string(plan.space->simd_path()), to_string(s.cookies->simd_path()),
                   s.cookies->prf() == CookiePrf::aesni ? "AES" : "SipHash, scalar", to_string(best_simd_path()));
    // A resumed scan's key picks the same source for every target again.
    s.sources.set_key(s.cookies->key().k1 ^ 0x736f75726365ULL);
    const MacAddress our_mac = s.port->mac();
    const std::string& iface = config.port.interface;
    if (targets.ipv4_count()) {
        if (config.gateway_mac) {
            s.gateway_mac = *config.gateway_mac;
        } else {
            std::optional<std::uint32_t> gateway = config.gateway_ip;
            if (!gateway && !iface.empty()) gateway = default_gateway(iface);
            if (!gateway && targets.count() == 1) gateway = targets.at(0); // on-link single host
            if (!gateway) throw Error("no gateway: the interface has no default route; pass --gateway-ip or --gateway-mac");
            s.gateway_mac = resolve_mac(*s.port, s.rx_queues, s.rx_pool->get(), our_mac, s.sources, *gateway, *s.cookies, config.verbosity);
        }
    }
    if (targets.has_ipv6()) {
        accept_solicited_nodes(s.port->id(), s.sources);
        for (const auto& p : s.queue_ports) accept_solicited_nodes(p->id(), s.sources);
        if (config.gateway_mac) {
            s.gateway_mac6 = *config.gateway_mac;
        } else {
            std::optional<uint128> gateway = config.gateway_ip6;
            if (!gateway && !iface.empty()) gateway = default_gateway6(iface);
            if (!gateway && targets.count() == 1) gateway = targets.at_ipv6(0); // on-link single host
            // No route: ask the link's routers (Router Solicitation).
            s.gateway_mac6 = resolve_mac6(*s.port, s.rx_queues, s.rx_pool->get(), our_mac, s.sources, gateway, *s.cookies,
                                          config.verbosity);
        }
    }
    if (config.verbosity >= 1)
        fmt::print(stderr, "wirespeed: port {} ({}) mac {} sources {} gateway mac {} (IPv6 {})\n", s.port->id(),
                   s.port->caps().driver, format_mac(our_mac), format_sources(s.sources), format_mac(s.gateway_mac),
                   format_mac(s.gateway_mac6));
    const auto payload_of = [&plan](const ProbeSlot& slot) { return plan.payload(slot); };
    ProbeConfig probe_config{our_mac, s.gateway_mac, s.source_ip, config.ttl, 1024, config.tcp_options};
    const bool general = targets.has_ipv6() || s.sources.ipv4_count() > 1;
    if (!general) {
        s.probes = std::make_unique<ProbeSet>(probe_config, plan.space->slots(), payload_of);
        // Pre-fill the pools with the most used template and patch probes in
        // place; with several templates (UDP payloads) each mbuf's tag says which
        // one it holds, and a probe copies its own only when the tag differs.
        s.template_tag = s.probes->single_template() ? -1 : template_tag_field();
        for (auto& pool : s.tx_pools) prefill_tx_pool(pool->get(), *s.probes, s.template_tag);
        return;
    }
    // One ProbeSet per source; tags number the templates of all sets in turn.
    auto sets = std::make_unique<SourceProbeSets>();
    sets->space = plan.space.get();
    sets->sources = &s.sources;
    sets->cookies = s.cookies.get();
    std::uint32_t tag = 0;
    if (targets.ipv4_count())
        for (const std::uint32_t source : s.sources.ipv4_list()) {
            probe_config.source_ip = source;
            sets->ipv4.emplace_back(probe_config, plan.space->slots(), payload_of);
            sets->ipv4_tag.push_back(tag);
            tag += std::uint32_t(sets->ipv4.back().template_count());
        }
    probe_config.destination_mac = s.gateway_mac6;
    for (const uint128 source : s.sources.ipv6_list()) {
        probe_config.source_ip6 = source;
        sets->ipv6.emplace_back(probe_config, plan.space->slots(), payload_of, AddressFamily::ipv6);
        sets->ipv6_tag.push_back(tag);
        tag += std::uint32_t(sets->ipv6.back().template_count());
    }
    // The first set's own copy: the pools are pre-filled from it, and its tag
    // numbers are the first set's (base 0), so an mbuf's tag stays truthful.
    s.probes = std::make_unique<ProbeSet>(!sets->ipv4.empty() ? sets->ipv4.front() : sets->ipv6.front());
    s.template_tag = template_tag_field();
    for (auto& pool : s.tx_pools) prefill_tx_pool(pool->get(), *s.probes, s.template_tag);
    s.source_sets = std::move(sets);
}

// ---- bring-up, stage 4: per-lcore state, rings, collector (with a first
// checkpoint committed now, so even a scan killed in its first second resumes)
void build_lcores(ScanState& s, const ScanConfig& config, const ScanPlan& plan, const EngineSetup& setup) {
    const unsigned tx_count = unsigned(setup.tx_lcores.size());
    const unsigned rx_count = unsigned(setup.rx_lcores.size());
    const std::uint64_t tsc_hz = rte_get_tsc_hz();
    const std::uint64_t start_tsc = rte_rdtsc();
    s.rate_control = std::make_unique<RateController>(
        RateControlOptions{.cap = config.rate, .adaptive = config.rate_mode == RateMode::adaptive,
                           .planned = plan.shard.size() * (1 + config.retries)});
    const std::uint64_t per_lcore_rate = (s.rate_control->rate() + tx_count - 1) / tx_count;
    const double spacing_rate = double(config.rate ? config.rate : 1'000'000) / tx_count;
    for (unsigned i = 0; i < tx_count; ++i) {
        auto tx = std::make_unique<TxLcore>();
        const IndexRange slice = split_range(plan.shard, i, tx_count);
        s.schedules.push_back(std::make_unique<RetrySchedule>(
            slice, config.retries,
            std::uint64_t(std::max(1.0, config.retry_delay_seconds * spacing_rate / (config.retries + 1)))));
        tx->port = s.tx_queues[i].port;
        tx->queue = s.tx_queues[i].queue;
        tx->pool = s.tx_pools[i]->get();
        tx->space = plan.space.get();
        tx->schedule = s.schedules.back().get();
        tx->probes = s.probes.get();
        tx->template_tag = s.template_tag;
        tx->cookies = s.cookies.get();
        tx->source_ip = s.source_ip;
        tx->source_sets = s.source_sets.get();
        // IPv6 probes finish their own checksums (no per-family offload setup yet).
        tx->checksum_offload = !plan.space->has_ipv6() && s.port->tx_checksum_offload(s.probes->has(ProbeKind::udp));
        tx->flags = &s.flags;
        tx->tsc_hz = tsc_hz;
        tx->answered_bits = s.sink->answered_bitmap();
        tx->rate_pps.store(per_lcore_rate);
        if (setup.resume) tx->next_slot.store(std::min(setup.resume->slots[i], tx->schedule->slots()));
        s.txs.push_back(std::move(tx));
    }
    for (unsigned i = 0; i < rx_count; ++i) {
        // Up to 2^20 records (32 MiB) absorb seconds of collector stalls (a WAL
        // checkpoint, a descheduled thread) at lab rates before any loss.
        s.result_rings.push_back(std::make_unique<ResultRing>(
            fmt::format("{}res{}", s.tag, i), result_ring_count(plan.shard.size() * (1 + config.retries)), s.socket));
        s.control_rings.push_back(std::make_unique<FrameRing>(fmt::format("{}ctl{}", s.tag, i), 1024, s.socket));
        // UDP answers: 8192 x 560 bytes (4.4 MiB) per RX lcore, only when UDP is scanned.
        const bool udp = s.probes->has(ProbeKind::udp);
        s.data_rings.push_back(std::make_unique<ResultRing>(fmt::format("{}dat{}", s.tag, i), udp ? 8192 : 64, s.socket,
                                                            unsigned(sizeof(ResultWithData))));
        auto rx = std::make_unique<RxLcore>();
        // RX queues i, i + rx_count, ...: every queue has exactly one poller.
        rx->source_count = 0;
        for (std::size_t q = i; q < s.rx_queues.size() && rx->source_count < RxLcore::max_sources; q += rx_count)
            rx->sources[rx->source_count++] = s.rx_queues[q];
        if ((s.rx_queues.size() - i + rx_count - 1) / rx_count > RxLcore::max_sources)
            throw Error(fmt::format("{} RX queues for {} RX lcores: at most {} each; add --rx-cores", s.rx_queues.size(), rx_count,
                                    RxLcore::max_sources));
        rx->pool = s.rx_pool->get();
        rx->results = s.result_rings.back()->get();
        rx->data_results = s.data_rings.back()->get();
        rx->control = s.control_rings.back()->get();
        rx->context = ReplyContext{s.source_ip, s.cookies.get()};
        rx->context.sources = &s.sources;
        rx->context.udp_dns_id = dns_ids_everywhere(plan);
        rx->our_mac = s.port->mac();
        // --service: the scan's own half-open connections are reset, or every
        // SYN-ACK comes back retransmitted while the service connections run.
        rx->send_reset = config.send_reset || config.service;
        rx->start_tsc = start_tsc;
        rx->ms_per_tsc_q32 = (1000ull << 32) / tsc_hz;
        rx->flags = &s.flags;
        s.txs[i % tx_count]->control_rings.push_back(rx->control);
        s.rxs.push_back(std::move(rx));
    }

    s.inject_ring = std::make_unique<FrameRing>(fmt::format("{}inj", s.tag), 1024, s.socket);
    s.txs[0]->control_rings.push_back(s.inject_ring->get());

    std::vector<rte_ring*> rings, data_rings;
    for (auto& r : s.result_rings) rings.push_back(r->get());
    for (auto& r : s.data_rings) data_rings.push_back(r->get());
    s.collector = std::make_unique<Collector>(rings, *s.sink, std::chrono::milliseconds(100), data_rings);
    // Canaries (adaptive mode) and the verify pass's delivery sample (both modes) draw on responders.
    if (config.rate_mode == RateMode::adaptive || config.verify > 0)
        s.sink->set_reply_hook([&canaries = s.canaries](const ResultRecord& r, bool first) {
            if (r.family == AddressFamily::ipv4) canaries.on_reply(r.ipv4(), Canaries::service_of(r.proto, r.port), first);
        });
    if (SqliteWriter* db = s.sink->database()) {
        CheckpointSource source;
        source.read_slots = [&s] {
            std::vector<std::uint64_t> slots;
            for (const auto& tx : s.txs) slots.push_back(tx->next_slot.load(std::memory_order_relaxed));
            return slots;
        };
        source.wait_seconds = config.wait_seconds;
        source.fingerprint = plan_fingerprint(plan, config);
        source.seed = plan.seed;
        source.k0 = s.cookies->key().k0;
        source.k1 = s.cookies->key().k1;
        db->checkpoint(source.fingerprint, source.seed, source.k0, source.k1, encode_slots(source.read_slots()), unix_now());
        db->commit();
        s.collector->enable_checkpoints(std::move(source));
    }
}

// ---- bring-up, stage 5 (--service only): nmap's probe database compiled,
// the user-mode TCP on RX lcore 0, the rings between the RX lcores and the
// service thread.
constexpr unsigned stream_ring_count = 4096; // StreamEvent / StreamCommand elements (6 MiB each ring)

void prepare_services(ScanState& s, const ScanConfig& config, const ScanPlan& plan) {
    const PortRange ours = config.service_ports, scan = config.source_ports;
    if (!(ours.last < scan.first || scan.last < ours.first))
        throw Error(fmt::format("--service-ports {}-{} overlaps --source-port {}-{}: the two must be apart", ours.first,
                                ours.last, scan.first, scan.last));
    // A kernel that owns the source address answers our connections' SYN-ACKs
    // with RSTs (it never opened them): af_packet gives the kernel every frame.
    if (s.port->caps().driver == std::string("net_af_packet") && !config.port.interface.empty()) {
        const auto v4 = interface_ipv4(config.port.interface);
        const auto v6 = interface_ipv6(config.port.interface);
        for (std::size_t i = 0; i < s.sources.ipv4_count(); ++i)
            if (v4 && s.sources.ipv4(i) == *v4)
                throw Error(fmt::format("--service over af_packet needs a source address the kernel of {} does not own "
                                        "({} is its own: it would reset every connection); pass --source-ip with a free "
                                        "address of the link (wirespeed answers ARP for it), or use --xdp or --pci",
                                        config.port.interface, format_ip(IpAddress::from_ipv4(*v4))));
        for (std::size_t i = 0; i < s.sources.ipv6_count(); ++i)
            if (v6 && s.sources.ipv6(i) == *v6)
                throw Error(fmt::format("--service over af_packet needs a source address the kernel of {} does not own "
                                        "({} is its own: it would reset every connection); pass --source-ip with a free "
                                        "address of the link (wirespeed answers NDP for it), or use --xdp or --pci",
                                        config.port.interface, format_ip(IpAddress::from_ipv6(*v6))));
    }
    const auto compile_start = std::chrono::steady_clock::now();
    // Compiled Hyperscan databases cached in ~/.cache/wirespeed: ~12 s of
    // compile on the first scan only.
    s.service_matcher =
        std::make_unique<ServiceMatcher>(load_service_probes(config.service_probes), default_service_cache_dir());
    s.tls_context = std::make_unique<TlsContext>();
    if (config.verbosity >= 1)
        fmt::print(stderr, "wirespeed: service probes {} ({} probes) ready in {:.2f} s{}\n", config.service_probes,
                   s.service_matcher->probes().probes.size(),
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - compile_start).count(),
                   s.service_matcher->stats().cache_hits ? " (cached)" : "");

    StreamConfig sc;
    sc.our_mac = s.port->mac();
    sc.gateway_mac = s.gateway_mac;
    sc.gateway_mac6 = s.gateway_mac6;
    sc.local_ports = config.service_ports;
    sc.capacity = config.service_connections * 2; // room for connections whose close is still on its way
    sc.isn_key = s.cookies->key().k0 ^ 0x69736e6b6579ull;
    sc.ttl = config.ttl;
    s.streams = std::make_unique<StreamTable>(sc);
    s.stream_command_ring = std::make_unique<ResultRing>(fmt::format("{}scmd", s.tag), stream_ring_count, s.socket,
                                                         unsigned(sizeof(StreamCommand)));
    std::vector<rte_ring*> events;
    for (std::size_t i = 0; i < s.rxs.size(); ++i) {
        RxLcore& rx = *s.rxs[i];
        s.stream_event_rings.push_back(std::make_unique<ResultRing>(fmt::format("{}sev{}", s.tag, i), stream_ring_count,
                                                                    s.socket, unsigned(sizeof(StreamEvent))));
        rx.stream_events = s.stream_event_rings.back()->get();
        rx.context.stream_ports = config.service_ports;
        events.push_back(rx.stream_events);
        if (i == 0) {
            rx.streams = s.streams.get();
            rx.stream_commands = s.stream_command_ring->get();
        } else {
            if (i > s.rxs[0]->handoffs_in.size()) throw Error("--service: at most 17 RX lcores");
            s.stream_handoff_rings.push_back(std::make_unique<FrameRing>(fmt::format("{}sho{}", s.tag, i), 1024, s.socket));
            rx.stream_handoff = s.stream_handoff_rings.back()->get();
            s.rxs[0]->handoffs_in[s.rxs[0]->handoff_count++] = rx.stream_handoff;
        }
    }
    ServiceOptions options;
    options.intensity = config.version_intensity;
    options.banner_bytes = config.banner_bytes;
    options.parallel = config.service_parallel;
    options.max_sessions = config.service_connections;
    s.service = std::make_unique<ServiceThread>(
        *s.service_matcher, s.tls_context.get(), options,
        [&sources = s.sources](IpAddress target) { return sources.source_for(target); }, events,
        s.stream_command_ring->get(),
        [&collector = *s.collector](std::vector<ServiceResult>&& results) { collector.post_services(std::move(results)); });
    // The collector thread drains what the service thread posts into the
    // sink: the services and tls tables in its batches, and the outputs.
    s.collector->set_service_sink([&sink = *s.sink](const ServiceResult& r) { sink.add_service(r); });
    if (!s.resumed_open.empty()) {
        if (config.verbosity >= 0)
            fmt::print(stderr, "wirespeed: resume: {} open ports found before the interruption still to be named\n",
                       s.resumed_open.size());
        s.service->add_open_ports({s.resumed_open.begin(), s.resumed_open.end()});
    }
    (void)plan;
}

// What the control loop decided, for the shutdown.
struct LoopResult {
    bool interrupted = false;
    std::string guard;      // which guard stopped the scan, if any
    int handled_signals = 0;
    std::uint64_t repairs = 0;
    double send_end_s = -1; // elapsed time at the last tick still in the send phase
    std::uint64_t kernel_drops_at_start = 0;
    bool all_answered = false; // ended early: every pair answered
    RecallEstimate recall;     // the last verify sample's estimate
    unsigned repair_passes = 0; // whole-scan re-sends the estimate asked for
    std::chrono::steady_clock::time_point t0;
};

// After the scan's own wait: the ports still being identified get up to
// --service-timeout more (a signal ends it; each port keeps what it has).
void wait_for_services(ScanState& s, const ScanConfig& config, const LoopResult& loop) {
    const auto start = std::chrono::steady_clock::now();
    const bool tty = isatty(STDERR_FILENO) && config.verbosity >= 0 && !config.status_json;
    int idle_streak = 0;
    auto last_print = start;
    while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < config.service_timeout_seconds) {
        if (signals_received() > loop.handled_signals) break;
        // Idle three times 20 ms apart: an open port RX lcore 0 still holds in
        // its staging is reported within one of its turns.
        if (s.service->idle()) {
            if (++idle_streak >= 3) break;
        } else {
            idle_streak = 0;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const auto now = std::chrono::steady_clock::now();
        if (tty && now - last_print >= std::chrono::seconds(1)) {
            fmt::print(stderr, "\rwirespeed: services: {} identified, {} ports in progress   ", s.service->identified(),
                       s.service->pending_ports());
            last_print = now;
        }
    }
    if (tty && last_print != start) fmt::print(stderr, "\n");
}

// ---- canaries and verify: probes for chosen targets, crafted on the main
// lcore exactly as TX lcores craft them (an mbuf of TX lcore 0's pool, which
// holds the template; only the per-probe fields patched) and handed to TX
// lcore 0 through the inject ring, paced at `rate` probes per second (0: a
// handful, no pacing). Never from the RX pool: on af_xdp that is the UMEM.
void inject_probes(ScanState& s, const std::vector<Target>& targets, std::uint64_t rate) {
    const auto start = std::chrono::steady_clock::now();
    const bool offload = s.txs[0]->checksum_offload;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        if (signals_received()) return;
        if (rate) {
            const auto due = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                         std::chrono::duration<double>(double(i) / double(rate)));
            std::this_thread::sleep_until(due);
        }
        rte_mbuf* m = rte_pktmbuf_alloc(s.tx_pools[0]->get());
        if (!m) continue; // a sample that cannot answer: only ever pessimistic
        const Target& t = targets[i];
        if (s.source_sets) {
            write_any_target(m, *s.source_sets, s.template_tag, offload, t);
        } else {
            const Cookie cookie = s.cookies->make(t.address, t.port, s.source_ip, t.proto);
            const ProbeFields fields{t.address, t.port, cookie.source_port, cookie.isn, cookie.ip_id};
            write_any_probe(m, *s.probes, t.slot, offload, s.template_tag, fields);
        }
        while (rte_ring_sp_enqueue(s.inject_ring->get(), m) != 0) {
            if (signals_received()) {
                rte_pktmbuf_free(m);
                return;
            }
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
    }
}

// A random sample of this shard's pairs that have not answered, drawn on the
// collector thread (which owns the dedup structure).
std::vector<Target> sample_non_responders(ScanState& s, const ScanPlan& plan, std::uint64_t want, std::uint64_t seed) {
    std::vector<Target> sample;
    s.collector->call([&](ResultSink& sink) {
        const std::uint64_t size = plan.shard.size();
        std::mt19937_64 rng(seed);
        std::unordered_set<std::uint64_t> taken;
        for (std::uint64_t attempt = 0; attempt < want * 20 && sample.size() < want && size; ++attempt) {
            const std::uint64_t position = plan.shard.begin + rng() % size;
            const Target t = plan.space->at(position);
            if (!sink.answered(plan.space->address_of(t), t.proto, t.port) && taken.insert(position).second) sample.push_back(t);
        }
    });
    return sample;
}

// A responder the canaries know as (address, service), probed in the first
// slot of its (protocol, port); nullopt when that pair is not in this scan.
std::optional<Target> target_of(const ScanPlan& plan, std::uint32_t address, std::uint32_t service) {
    const Proto proto = Proto(service >> 16);
    const auto port = std::uint16_t(service);
    const std::uint32_t key = plan.space->slots().key_index(proto, port);
    if (key == UINT32_MAX) return std::nullopt;
    return Target{address, port, proto, 0, plan.space->slots().first_slot_of(key)};
}

// A random sample of this shard's pairs that did answer (the verify pass's
// delivery sample), topped up from the canaries' reservoir when responders
// are too sparse for random positions to find enough.
std::vector<Target> sample_responders(ScanState& s, const ScanPlan& plan, std::uint64_t want, std::uint64_t seed) {
    std::vector<Target> sample;
    std::unordered_set<std::uint64_t> keys; // (address, service), as the canaries key them
    // IPv6 targets (t.v6, address = an index) get bit 56, apart from IPv4 addresses.
    auto key = [](const Target& t) {
        return (std::uint64_t{t.v6} << 56) | (std::uint64_t{t.address} << 24) | Canaries::service_of(t.proto, t.port);
    };
    s.collector->call([&](ResultSink& sink) {
        const std::uint64_t size = plan.shard.size();
        std::mt19937_64 rng(seed);
        for (std::uint64_t attempt = 0; attempt < want * 64 && sample.size() < want && size; ++attempt) {
            const Target t = plan.space->at(plan.shard.begin + rng() % size);
            if (sink.answered(plan.space->address_of(t), t.proto, t.port) && keys.insert(key(t)).second)
                sample.push_back(t);
        }
    });
    for (const auto& [address, service] : s.canaries.sample_reservoir(want - sample.size()))
        if (const auto t = target_of(plan, address, service); t && keys.insert(key(*t)).second)
            sample.push_back(*t);
    // The canaries follow IPv4 pairs (their reservoir and delivery group are keyed by IPv4 address).
    std::vector<std::pair<std::uint32_t, std::uint32_t>> group;
    for (const Target& t : sample)
        if (!t.v6) group.emplace_back(t.address, Canaries::service_of(t.proto, t.port));
    s.canaries.set_delivery_group(group);
    return sample;
}

std::uint64_t count_answered(ScanState& s, const std::vector<Target>& sample) {
    std::uint64_t answered = 0;
    s.collector->call([&](ResultSink& sink) {
        const ScanSpace& space = *s.txs.front()->space;
        for (const Target& t : sample) answered += sink.answered(space.address_of(t), t.proto, t.port);
    });
    return answered;
}

// How many distinct (address, protocol, port) results this shard can give:
// its positions when each key has one slot; with several UDP payloads per
// port, the whole space's keys when unsharded; 0 (unknown) otherwise, which
// turns off the early exit rather than ending a scan too soon.
std::uint64_t distinct_results(const ScanPlan& plan) {
    if (plan.space->slots().one_slot_per_key()) return plan.shard.size();
    if (plan.shard.size() == plan.space->size()) return plan.space->keys();
    return 0;
}

// ---- the control loop (main lcore, every 100 ms): counters, rate, repairs,
// status, guards, signals, and the end of the wait window.
LoopResult control_loop(ScanState& s, const ScanConfig& config, const ScanPlan& plan) {
    const std::uint64_t pairs = distinct_results(plan);
    const unsigned tx_count = unsigned(s.txs.size());
    auto& txs = s.txs;
    LoopResult out;
    const bool tty = isatty(STDERR_FILENO) && !config.status_json;
    const bool show_status = config.verbosity >= 0;
    const std::uint64_t total_slots = [&] {
        std::uint64_t total = 0;
        for (auto& sch : s.schedules) total += sch->slots();
        return total;
    }();
    out.t0 = std::chrono::steady_clock::now();
    const auto t0 = out.t0;
    auto seconds_since = [](std::chrono::steady_clock::time_point a) {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
    };
    Totals previous{};
    PortStats previous_port = s.stats();
    // af_packet / af_xdp: a full socket ring drops in the kernel, where no
    // ethdev counter sees it; our own sockets' statistics do (drop_counter.hpp,
    // disjoint from imissed). Not the interface's rx_dropped: anyone can raise it.
    out.kernel_drops_at_start = s.socket_drops->socket_drops();
    std::uint64_t previous_kernel_drops = out.kernel_drops_at_start;
    std::deque<std::pair<double, std::uint64_t>> history; // (time, sent) for the current pps
    // The wait window: `waiting` since `wait_since` (after the last probe, a
    // signal or a guard); a repair sends again and restarts it.
    bool waiting = false;
    std::chrono::steady_clock::time_point wait_since = t0;
    auto start_waiting = [&] {
        if (!waiting) wait_since = std::chrono::steady_clock::now();
        waiting = true;
    };
    double last_json = -1;
    std::uint64_t drops_total = 0;
    // Each TX lcore's progress over the last seconds, from launch on: a loss
    // seen now hit replies to probes sent since some point back, whose
    // non-responders are re-sent (repaired).
    std::deque<std::pair<double, std::vector<std::uint64_t>>> slot_history;
    slot_history.emplace_back(0.0, [&] {
        std::vector<std::uint64_t> at_launch;
        for (const auto& tx : txs) at_launch.push_back(tx->next_slot.load(std::memory_order_relaxed));
        return at_launch;
    }());
    // The progress `back` seconds ago (the oldest kept when the history is shorter).
    auto slots_back = [&](double now, double back) -> const std::vector<std::uint64_t>& {
        for (auto it = slot_history.rbegin(); it != slot_history.rend(); ++it)
            if (it->first <= now - back) return it->second;
        return slot_history.front().second;
    };
    DeliveryWindow delivery_window;
    double delivery = -1; // measured far-side delivery ratio, -1 = no canary resolved yet
    double sending_pps = 0; // the send rate measured at the last tick of the send phase
    int cap_ups = 0, cap_downs = 0;
    // Verify: a sample of non-responders, probed again once the late replies
    // of the pass are in (a second into the wait window, or half of it), and
    // counted when the window ends.
    const bool verify = config.verify > 0 && config.wait_seconds > 0;
    const double verify_after = std::min(1.0, config.wait_seconds / 2);
    std::vector<Target> verify_sample;
    bool verify_sent = false;
    std::uint64_t answered_before_verify = 0;

    // The tick is 100 ms, but the end of a scan is noticed within 10 ms: every
    // pair answered, a signal, or the wait window over (a small scan must not
    // pay a whole tick for its last reply).
    auto tick_ends_early = [&] {
        if (signals_received() > out.handled_signals) return true;
        if (pairs && s.collector->answered() >= pairs) return true;
        if (!waiting) {
            if (config.wait_seconds > 0) return false;
            for (const auto& tx : txs)
                if (!tx->done.load(std::memory_order_acquire)) return false;
            return true;
        }
        return seconds_since(wait_since) >= config.wait_seconds;
    };

    auto as_targets = [&](const std::vector<std::pair<std::uint32_t, std::uint32_t>>& picked) {
        std::vector<Target> targets;
        for (const auto& [address, service] : picked)
            if (const auto t = target_of(plan, address, service)) targets.push_back(*t);
        return targets;
    };

    for (;;) {
        for (int slice = 0; slice < 10; ++slice) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            if (tick_ends_early()) break;
        }
        const double now = seconds_since(t0);
        const Totals t = gather(txs, s.rxs);
        const PortStats ps = s.stats();
        const std::uint64_t kernel_drops = s.socket_drops->socket_drops();
        const std::uint64_t drops = (ps.oerrors - previous_port.oerrors) +
                                    (ps.imissed - previous_port.imissed) + (kernel_drops - previous_kernel_drops) +
                                    (ps.rx_nombuf - previous_port.rx_nombuf) + (t.ring_full - previous.ring_full);
        previous_kernel_drops = kernel_drops;
        drops_total += drops;
        // Live control: SIGUSR1 raises the cap by 10%, SIGUSR2 lowers it (from
        // the current rate when there is no cap yet).
        for (const int ups = g_cap_up.load(); cap_ups < ups; ++cap_ups)
            if (const std::uint64_t cap = s.rate_control->cap()) s.rate_control->set_cap(cap + std::max<std::uint64_t>(1, cap / 10));
        for (const int downs = g_cap_down.load(); cap_downs < downs; ++cap_downs) {
            const std::uint64_t base = s.rate_control->cap() ? s.rate_control->cap() : std::max<std::uint64_t>(previous.sent ? t.sent - previous.sent : 0, 1) * 10;
            s.rate_control->set_cap(std::max<std::uint64_t>(1, base - base / 10));
        }
        // Far-side delivery: canaries resolved this tick (answered, or silent
        // past the round-trip bound), over a window of the last ticks; below
        // 99% with at least 3 misses is saturation the sender cannot see.
        const DeliverySample delivered = s.canaries.resolve();
        const bool far_loss = delivery_window.push(delivered.answered, delivered.missed);
        delivery = delivery_window.delivery();
        const std::uint64_t rate = s.rate_control->update(RateSample{t.sent - previous.sent, t.results - previous.results, drops,
                                                                     t.short_bursts - previous.short_bursts, s.collector->fullest_ring(),
                                                                     far_loss});
        // About 1% of this tick's probes, as canaries (adaptive mode, while sending).
        if (config.rate_mode == RateMode::adaptive && !waiting && !out.interrupted && out.guard.empty()) {
            const std::uint64_t n = std::min<std::uint64_t>((t.sent - previous.sent) / 100, 1000);
            if (n) inject_probes(s, as_targets(s.canaries.pick(n)), 0);
        }
        for (auto& tx : txs) tx->rate_pps.store((rate + tx_count - 1) / tx_count, std::memory_order_relaxed);
        std::vector<std::uint64_t> slots_now;
        for (const auto& tx : txs) slots_now.push_back(tx->next_slot.load(std::memory_order_relaxed));
        slot_history.emplace_back(now, slots_now);
        while (slot_history.size() > 2 && slot_history[1].first < now - 5.0) slot_history.pop_front();
        // Lose no answer we know we lost. A drop on our side (NIC, kernel
        // socket ring, result ring) lost replies to probes of the last round
        // trip; far-side loss seen by canaries lost replies over the canary
        // window. The non-responders sent since then go out again (TX lcores
        // skip pairs the dedup bitmap has), and dedup absorbs the repeats.
        const double rtt = std::max(0.1, delivered.rtt_s);
        const double repair_back = std::max(drops > 0 ? std::max(0.3, rtt) : 0.0,
                                            far_loss ? 0.5 + rtt : 0.0); // the delivery window and its round trip
        if (repair_back > 0 && !out.interrupted && out.guard.empty()) {
            const std::vector<std::uint64_t>& from = slots_back(now, repair_back);
            for (unsigned i = 0; i < tx_count; ++i) {
                txs[i]->repair_begin.store(from[i], std::memory_order_relaxed);
                txs[i]->repair_end.store(slots_now[i], std::memory_order_relaxed);
                txs[i]->repair_generation.fetch_add(1, std::memory_order_release);
            }
            ++out.repairs;
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
        const std::uint64_t hits = s.collector->open();
        const std::uint64_t cap = s.rate_control->cap();
        const char* backoff = s.rate_control->last_backoff();
        if (show_status && tty)
            fmt::print(stderr, "\r{} {:5.1f}% ETA {} sent {} ({}pps now, {}pps avg, rate {}/{}{}) replies {} open {} ({:.3f}%) drops {}{}\x1b[K",
                       format_duration(now), done * 100, format_duration(eta), t.sent, format_rate(pps_now),
                       format_rate(pps_avg), rate ? format_rate(double(rate)) : "max", cap ? format_rate(double(cap)) : "no cap",
                       fmt::format("{}{}", delivery >= 0 ? fmt::format(", delivery {:.1f}%", 100 * delivery) : "",
                                   *backoff ? fmt::format(", backed off: {}", backoff) : ""), t.results, hits,
                       t.sent ? 100.0 * double(hits) / double(t.sent) : 0.0, drops_total, waiting ? " [waiting]" : "");
        if (now - last_json >= 1.0 && ((show_status && !tty) || s.status->is_open())) {
            last_json = now;
            nlohmann::ordered_json status;
            status["type"] = "status";
            status["elapsed_s"] = rounded(now, 1);
            status["done_pct"] = rounded(done * 100, 2);
            status["eta_s"] = rounded(eta, 1);
            status["sent"] = t.sent;
            status["pps_now"] = std::llround(std::isfinite(pps_now) ? pps_now : 0);
            status["pps_avg"] = std::llround(std::isfinite(pps_avg) ? pps_avg : 0);
            status["rate"] = rate;
            status["cap"] = cap;
            status["backoff"] = backoff;
            status["delivery"] = rounded(delivery, 4);
            status["replies"] = t.results;
            status["open"] = hits;
            status["answered"] = s.collector->answered();
            status["drops"] = drops_total;
            status["phase"] = waiting ? "waiting" : "sending";
            const std::string line = dump_line(status);
            if (show_status && !tty) std::fputs(line.c_str(), stderr);
            s.status->append(line);
        }

        if (out.guard.empty() && !waiting) {
            if (config.max_runtime_seconds && now >= *config.max_runtime_seconds)
                out.guard = fmt::format("--max-runtime {} s reached", *config.max_runtime_seconds);
            else if (config.min_hitrate && t.sent >= 100'000 && double(hits) / double(t.sent) < *config.min_hitrate)
                out.guard = fmt::format("hit rate {:.6f} below --min-hitrate {}", double(hits) / double(t.sent), *config.min_hitrate);
            else if (config.max_results && s.collector->kept() >= *config.max_results)
                out.guard = fmt::format("--max-results {} reached", *config.max_results);
            if (!out.guard.empty()) {
                s.flags.stop_tx.store(true);
                start_waiting();
                if (config.verbosity >= 0) fmt::print(stderr, "{}wirespeed: stopping: {}\n", tty ? "\n" : "", out.guard);
            }
        }

        const int signals = signals_received();
        if (signals > out.handled_signals) {
            out.handled_signals = signals;
            out.interrupted = true;
            s.flags.stop_tx.store(true);
            start_waiting();
            if (signals >= 2) break; // second signal: skip the rest of the wait window
            if (show_status)
                fmt::print(stderr, "{}wirespeed: interrupted: stopped sending, collecting replies for {:.0f} s (again to skip)\n",
                           tty ? "\n" : "", config.wait_seconds);
        }
        // A failed writer (database, an output, the status file) ends the scan:
        // what was committed stays, and --resume continues it once fixed.
        if (s.collector->failed() || !s.status->error().empty()) {
            s.flags.stop_tx.store(true);
            break;
        }
        if (!waiting) {
            out.send_end_s = now;
            if (pps_now > 0) sending_pps = pps_now; // what this pass really sent at
        }
        // Early exit: every pair of this scan has answered (the collector's
        // dedup counts distinct pairs), so neither retries nor the rest of the
        // wait window can add anything. --wait stays the upper bound.
        if (pairs && s.collector->answered() >= pairs) {
            s.flags.stop_tx.store(true);
            out.all_answered = true;
            out.recall = estimate_recall(pairs, 0, 0, 0); // exact: nothing left to miss
            break;
        }
        if (!waiting && t.tx_done) start_waiting();
        const bool stopping = out.interrupted || !out.guard.empty();
        if (verify && waiting && !verify_sent && !stopping && seconds_since(wait_since) >= verify_after) {
            verify_sent = true;
            answered_before_verify = s.collector->answered();
            verify_sample = sample_non_responders(s, plan, config.verify, plan.seed ^ (out.repair_passes + 1));
            // Beside the sample, responders asked again, mixed in at random:
            // the share of them that answers is this pass's own delivery.
            std::vector<Target> asked = verify_sample;
            for (const Target& t : sample_responders(s, plan, std::max<std::uint64_t>(100, config.verify / 4),
                                                     plan.seed ^ 0xde11ull ^ out.repair_passes))
                asked.push_back(t);
            std::shuffle(asked.begin(), asked.end(), std::mt19937_64(plan.seed ^ 0x7e51f1ull ^ out.repair_passes));
            // At most 10k probes/s and never faster than the pass: a sample
            // lost to our own burst would read as missed responders.
            inject_probes(s, asked, std::min<std::uint64_t>(rate ? rate : 10'000, 10'000));
        }
        if (waiting && seconds_since(wait_since) >= config.wait_seconds) {
            if (verify_sent && !stopping) {
                const auto [delivery_asked, delivery_answered] = s.canaries.delivery_group();
                out.recall = estimate_recall(answered_before_verify, pairs - std::min(pairs, answered_before_verify),
                                             verify_sample.size(), count_answered(s, verify_sample), delivery_asked,
                                             delivery_answered);
                if (config.verbosity >= 0)
                    fmt::print(stderr, "{}wirespeed: recall estimate: {} of {} re-probed non-responders answered, "
                                       "{} of {} responders asked beside them; about {:.0f} responders missed (95% CI {:.0f}-{:.0f})\n",
                               tty ? "\n" : "", out.recall.answered, out.recall.sampled, out.recall.delivery_answered,
                               out.recall.delivery_sampled, out.recall.missed, out.recall.missed_low, out.recall.missed_high);
                // Misses: re-send the whole scan (dedup keeps the answers we
                // have) at a rate the path delivered: the pass's own send rate
                // times the share of responders it found (a path that
                // delivered 2% of the replies at 1 Mpps carries ~20 kpps), at
                // most half of it, with a 20% margin; then estimate again. At
                // most 4 passes.
                if (out.recall.answered > 0 && config.repair && out.repair_passes < 4) {
                    const double base = double(rate ? rate : 100'000);
                    const double sent_at = sending_pps > 0 ? std::min(base, sending_pps) : base;
                    const std::uint64_t slower = std::max<std::uint64_t>(
                        std::min<std::uint64_t>(1000, std::uint64_t(base)),
                        std::uint64_t(std::min(sent_at / 2, sent_at * out.recall.recall() * 0.8)));
                    s.rate_control->set_cap(slower);
                    for (auto& tx : txs) {
                        tx->rate_pps.store((slower + tx_count - 1) / tx_count, std::memory_order_relaxed);
                        tx->repair_begin.store(0, std::memory_order_relaxed);
                        tx->repair_end.store(tx->next_slot.load(std::memory_order_relaxed), std::memory_order_relaxed);
                        tx->repair_generation.fetch_add(1, std::memory_order_release);
                    }
                    ++out.repair_passes;
                    if (config.verbosity >= 0)
                        fmt::print(stderr, "wirespeed: repair pass {}: re-sending the scan at {} pps\n", out.repair_passes, slower);
                    verify_sent = false;
                    waiting = false; // the pass sends again; its own wait window follows
                    continue;
                }
            }
            break;
        }
    }
    if (show_status && tty) fmt::print(stderr, "\n");
    return out;
}

// ---- shutdown: lcores join, the collector drains every ring and commits,
// the outputs and the metadata are finished, then the scans row gets its
// counters and final status (failed if any write failed on the way).
ScanOutcome shut_down(ScanState& s, LaunchGuard& lcores, const LoopResult& loop, const ScanConfig& config,
                      const ScanPlan& plan, const EngineSetup& setup) {
    lcores.join();
    const double duration = std::chrono::duration<double>(std::chrono::steady_clock::now() - loop.t0).count();
    const double send_duration = loop.send_end_s > 0 ? loop.send_end_s : duration;

    ScanOutcome outcome;
    const Totals t = gather(s.txs, s.rxs);
    const PortStats ps = s.stats();
    outcome.rejected = t.rejected;
    outcome.ring_full = t.ring_full;
    outcome.arp_answered = t.arp;
    outcome.resets_sent = t.resets;
    outcome.final_rate = s.rate_control->rate();
    outcome.resent = t.resent;
    outcome.repairs = loop.repairs;
    outcome.all_answered = loop.all_answered;
    outcome.recall = loop.recall;
    outcome.canaries_sent = s.canaries.sent_total();
    outcome.canaries_answered = s.canaries.answered_total();
    outcome.repair_passes = loop.repair_passes;
    outcome.rx_queues = unsigned(s.rx_queues.size());
    outcome.tx_queues = unsigned(s.tx_queues.size());
    for (const auto& tx : s.txs) outcome.tx_sent.push_back(tx->sent.get());
    for (const auto& rx : s.rxs) outcome.rx_received.push_back(rx->received.get());
    std::vector<std::string> failures;
    auto attempt = [&](auto&& step) {
        try {
            step();
        } catch (const std::exception& e) {
            failures.emplace_back(e.what());
        }
    };
    if (s.service) {
        attempt([&] { s.service->finish_and_join(); });
        const ServiceCounters sc = s.service->counters();
        const StreamCounters& tc = s.streams->counters();
        outcome.services = sc;
        outcome.streams = tc;
        if (config.verbosity >= 0)
            fmt::print(stderr,
                       "wirespeed: services: {} open ports, {} named by a match, {} by a softmatch, {} tcpwrapped, {} by the "
                       "port table; {} connections ({} refused, {} timed out, {} without room), {} TLS handshakes\n",
                       sc.ports, sc.identified, sc.soft_only, sc.tcpwrapped, sc.table_only, sc.sessions, sc.refused,
                       sc.timeouts, sc.no_room, sc.tls_handshakes);
        if (config.verbosity >= 1)
            fmt::print(stderr,
                       "wirespeed: service TCP: {} segments in, {} out, {} retransmitted, {} out of order, {} forged, "
                       "{} events lost, {} frames lost, {} cut for too much data\n",
                       tc.segments_in, tc.segments_out, tc.retransmits, tc.out_of_order, tc.forged, tc.events_lost,
                       tc.frames_lost, tc.too_much_data);
    }
    attempt([&] { s.collector->stop_and_join(loop.handled_signals < 2 && !s.collector->failed()); });
    // UDP probes nothing answered are open|filtered, as nmap says; only a
    // complete scan knows (an interrupted one has not sent them all).
    if (config.show_closed && !loop.interrupted && loop.guard.empty() && s.probes->has(ProbeKind::udp))
        attempt([&] { s.sink->add_unanswered_udp(plan.shard, unix_now()); });
    s.status->close();
    if (!s.status->error().empty()) failures.push_back(s.status->error());
    attempt([&] { s.sink->finish_outputs(); });

    ScanCounters& c = outcome.counters;
    outcome.up = s.sink->up();
    outcome.open_filtered = s.sink->open_filtered();
    c.sent = t.sent;
    c.replies = t.results;
    outcome.kernel_rx_dropped = s.socket_drops->socket_drops() - loop.kernel_drops_at_start;
    c.drops = ps.oerrors + ps.imissed + outcome.kernel_rx_dropped + ps.rx_nombuf + t.ring_full;
    c.duration_s = duration;
    c.open = s.sink->open();
    c.closed = s.sink->closed();
    c.filtered = s.sink->filtered();
    c.duplicates = s.sink->duplicates();
    auto status = [&] {
        return !failures.empty() ? "failed" : loop.interrupted ? "interrupted" : !loop.guard.empty() ? "stopped" : "complete";
    };
    // The send phase's rate: the wait window is not part of it.
    const double tx_pps = send_duration > 0 ? double(c.sent) / send_duration : 0;
    if (s.metadata) {
        c.status = status();
        attempt([&] {
            write_metadata(*s.metadata, config, plan, setup, *s.port, outcome, tx_pps, send_duration, format_sources(s.sources), s.gateway_mac,
                           phases_json(s, setup));
        });
    }
    c.status = status();
    attempt([&] { s.sink->finish(c); });
    c.status = status();
    outcome.exit_code = !failures.empty() ? 2 : loop.interrupted ? 130 : !loop.guard.empty() ? 3 : 0;
    // The first failure is the cause; later ones are its echoes (an output
    // that failed mid-scan fails again at its trailer).
    if (!failures.empty()) fmt::print(stderr, "wirespeed: {}\n", failures.front());

    if (config.verbosity >= 0) {
        std::uint64_t rejected = 0;
        for (auto r : t.rejected) rejected += r;
        fmt::print(stderr,
                   "wirespeed: {} in {:.2f} s: sent {} ({}pps), replies {}, open {}, closed {}, filtered {}{}, duplicates {}, "
                   "drops {} (re-sent {} probes), rejected {}{}{}\n",
                   c.status, duration, c.sent, format_rate(tx_pps), c.replies, c.open, c.closed, c.filtered,
                   (s.sink->up() ? fmt::format(", up {}", s.sink->up()) : std::string()) +
                       (s.sink->open_filtered() ? fmt::format(", open|filtered {}", s.sink->open_filtered()) : std::string()),
                   c.duplicates,
                   c.drops, t.resent, rejected,
                   loop.all_answered ? fmt::format(", every pair answered{}", loop.repair_passes ? fmt::format(" after {} repair passes", loop.repair_passes) : "")
                   : loop.recall.valid ? fmt::format(", recall {:.2f}% (95% CI {:.2f}-{:.2f}%, {} re-probed{})", 100 * loop.recall.recall(),
                                                     100 * loop.recall.recall_low(), 100 * loop.recall.recall_high(), loop.recall.sampled,
                                                     loop.repair_passes ? fmt::format(", {} repair passes", loop.repair_passes) : "")
                                       : "",
                   config.no_db ? "" : fmt::format(", database {}", config.db_path));
    }
    return outcome;
}

// A scan that fails after its scans row exists says so in the row (and stays
// resumable from its last checkpoint) instead of being left `running`.
void mark_failed(ScanState& s) noexcept {
    try {
        if (s.collector) s.collector->stop_and_join(false);
    } catch (...) {
    }
    try {
        if (s.sink && s.sink->database()) {
            ScanCounters c;
            c.status = "failed";
            s.sink->database()->finish(c);
        }
    } catch (...) {
    }
}

} // namespace

unsigned result_ring_count(std::uint64_t planned_probes) noexcept {
    constexpr std::uint64_t smallest = 1u << 12, largest = 1u << 20;
    return unsigned(std::bit_ceil(std::clamp(planned_probes, smallest, largest)));
}

unsigned scan_memory_mb(unsigned tx_lcores, unsigned rx_lcores, std::uint64_t planned_probes, bool service) noexcept {
    constexpr std::uint64_t overhead = 384; // the mbuf, the headroom and the mempool's object header, rounded up
    constexpr std::uint64_t eal_own = 48ull << 20; // EAL heap, ethdev and PMD structures, malloc slack
    const std::uint64_t mbufs =
        mempool_size(rx_lcores, default_rx_desc, tx_lcores, default_tx_desc, tx_lcores + rx_lcores + 1, 256, burst_size);
    const std::uint64_t pools = mbufs * (RTE_MBUF_DEFAULT_DATAROOM + overhead) + tx_lcores * mbufs * (max_probe_frame + overhead);
    const std::uint64_t rings = std::uint64_t(rx_lcores) * (result_ring_count(planned_probes) * sizeof(ResultRecord) + (64u << 10));
    // --service: an event ring per RX lcore, the command ring, the hand-off rings.
    const std::uint64_t stream_rings =
        service ? (std::uint64_t(rx_lcores) + 1) * stream_ring_count * sizeof(StreamEvent) + rx_lcores * (16u << 10) : 0;
    const std::uint64_t bytes = (pools + rings + stream_rings) * 5 / 4 + eal_own;
    return unsigned(((bytes >> 20) + 15) / 16 * 16);
}

ScanOutcome run_scan(const ScanConfig& config, const ScanPlan& plan, const EngineSetup& setup) {
    if (setup.tx_lcores.empty() || setup.rx_lcores.empty()) throw Error("need at least one TX and one RX lcore");
    ScanState s;
    try {
        s.phase_done("eal", setup);
        bring_up_port(s, config, plan, setup);
        s.phase_done("port", setup);
        open_files(s, config, plan, setup);
        s.phase_done("files", setup);
        resolve_addresses(s, config, plan, setup);
        s.phase_done("arp", setup);
        build_lcores(s, config, plan, setup);
        s.phase_done("lcores", setup);
        if (config.service) {
            prepare_services(s, config, plan);
            s.phase_done("services", setup);
        }
    } catch (...) {
        mark_failed(s);
        throw;
    }
    // Declared after `s`, so it is destroyed (and joins every lcore) first.
    LaunchGuard lcores(s.flags);
    LoopResult loop;
    try {
        s.collector->start();
        if (s.service) s.service->start();
        for (unsigned i = 0; i < s.rxs.size(); ++i) lcores.launch(rx_lcore_main, s.rxs[i].get(), setup.rx_lcores[i], "RX");
        lcore_function_t* tx_main = tx_lcore_function(*s.probes, s.source_sets != nullptr); // the probe module's loop, chosen once
        for (unsigned i = 0; i < s.txs.size(); ++i) lcores.launch(tx_main, s.txs[i].get(), setup.tx_lcores[i], "TX");
        s.phase_done("launch", setup);
        if (config.verbosity >= 1) fmt::print(stderr, "wirespeed: start-up: {}\n", format_phases(s, setup));
        loop = control_loop(s, config, plan);
        if (s.service) wait_for_services(s, config, loop);
    } catch (...) {
        lcores.join();
        mark_failed(s);
        throw;
    }
    return shut_down(s, lcores, loop, config, plan, setup);
}

} // namespace ws::dp
