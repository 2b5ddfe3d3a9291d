#include <algorithm>
// Scanner and reflector on an in-process net_ring pair: the scanner's TX ring
// is the reflector's RX ring and back. Every expected record is computed from
// the reflector's rules, and the database must hold exactly those.
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include "eal.hpp"
#include "engine.hpp"
#include "port.hpp"
#include "reflector.hpp"
#include "wirespeed/plan.hpp"

namespace ws::dp {
namespace {

constexpr unsigned tx_lcore = 1, rx_lcore = 2, reflector_lcore = 3;

using Row = std::tuple<std::string, std::string, int, std::string, std::string>; // proto, ip, port, state, reason

std::set<Row> read_rows(const std::string& path) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT proto, ip, port, state, reason FROM results", -1, &st, nullptr), SQLITE_OK);
    std::set<Row> rows;
    auto text = [&](int column) { return std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, column))); };
    while (sqlite3_step(st) == SQLITE_ROW) rows.emplace(text(0), text(1), sqlite3_column_int(st, 2), text(3), text(4));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rows;
}

// What the scanner must record for a pair the reflector judged `verdict`
// (nothing for ping's closed, which is silence).
// `ip`: the target's address as the database writes it (format_ip).
std::optional<Row> expected_row(const Target& t, const std::string& ip, Verdict verdict) {
    const std::string proto(to_string(t.proto));
    auto row = [&](const char* state, const char* reason) { return Row{proto, ip, t.port, state, reason}; };
    switch (t.proto) {
    case Proto::tcp:
        return verdict == Verdict::open     ? row("open", "syn-ack")
               : verdict == Verdict::closed ? row("closed", "reset")
                                            : row("filtered", "port-unreach");
    case Proto::udp:
        return verdict == Verdict::open     ? row("open", "udp-response")
               : verdict == Verdict::closed ? row("closed", "port-unreach")
                                            : row("filtered", "admin-prohibited");
    case Proto::icmp:
        if (verdict == Verdict::closed) return std::nullopt;
        return verdict == Verdict::open ? row("up", "echo-reply") : row("filtered", "host-unreach");
    }
    return std::nullopt;
}

std::set<Row> expected_rows(const ReflectRules& rules, const ScanPlan& plan, bool keep_closed) {
    std::set<Row> rows;
    for (std::uint64_t p = plan.shard.begin; p < plan.shard.end; ++p) {
        const Target t = plan.space->at(p);
        const IpAddress address = plan.space->address_of(t); // either family
        if (!rules.answers_for(address)) continue;           // a host the reflector does not play: silence
        char ip[max_ip_text];
        const std::string text(ip, format_ip(address, ip));
        const std::optional<Row> row = expected_row(t, text, rules.verdict(address, t.proto, t.port));
        if (row && (keep_closed || std::get<3>(*row) == "open" || std::get<3>(*row) == "up")) rows.insert(*row);
    }
    return rows;
}

// A net_ring pair plus the reflector lcore answering on its side.
class RingLab {
public:
    // reply_slots: the reflector -> scanner ring (a small one fills at once: back-pressure).
    explicit RingLab(const ReflectRules& rules, unsigned reply_slots = 4096) : rules_(rules) {
        static int serial = 0;
        const std::string name = fmt::format("hl{}", serial++);
        to_reflector_ = rte_ring_create((name + "a").c_str(), 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
        to_scanner_ = rte_ring_create((name + "b").c_str(), reply_slots, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
        scanner_port_ = std::uint16_t(rte_eth_from_rings((name + "s").c_str(), &to_scanner_, 1, &to_reflector_, 1, SOCKET_ID_ANY));
        reflector_port_id_ = std::uint16_t(rte_eth_from_rings((name + "r").c_str(), &to_reflector_, 1, &to_scanner_, 1, SOCKET_ID_ANY));
        pool_ = std::make_unique<Mempool>(name + "pool", 16383, 256, SOCKET_ID_ANY);
        reflector_port_ = std::make_unique<Port>(reflector_port_id_, 1, 1, pool_->get(), 0);
        reflector_.port = reflector_port_id_;
        reflector_.pool = pool_->get();
        reflector_.mac = {0x02, 0, 0, 0, 0, 0x42};
        reflector_.rules = &rules_;
        reflector_.stop = &stop_;
        reflector_.by_source = &sources_;
        rte_eal_remote_launch(reflector_main, &reflector_, reflector_lcore);
    }
    ~RingLab() {
        stop_reflector();
        reflector_port_.reset();
        rte_ring_free(to_reflector_);
        rte_ring_free(to_scanner_);
    }
    // Stops the reflector's lcore (its banner counters are published then); idempotent.
    void stop_reflector() {
        if (stop_.exchange(true)) return;
        rte_eal_wait_lcore(reflector_lcore);
    }
    std::uint16_t scanner_port() const { return scanner_port_; }
    const Reflector& reflector() const { return reflector_; }
    // Probes the reflector saw (and answered, to that address) by source.
    std::map<IpAddress, std::uint64_t> probes_by_source() const {
        std::map<IpAddress, std::uint64_t> out;
        const unsigned n = sources_.used.load(std::memory_order_acquire);
        for (unsigned i = 0; i < n; ++i) out[sources_.address[i]] = sources_.probes[i].get();
        EXPECT_EQ(sources_.others.get(), 0u);
        return out;
    }

private:
    ReflectRules rules_;
    rte_ring* to_reflector_;
    rte_ring* to_scanner_;
    std::uint16_t scanner_port_, reflector_port_id_;
    std::unique_ptr<Mempool> pool_;
    std::unique_ptr<Port> reflector_port_;
    Reflector reflector_;
    SourceTally sources_;
    std::atomic<bool> stop_{false};
};

struct TempDb {
    std::string path = fmt::format("/tmp/ws-hermetic-{}-{}.db", getpid(), counter++);
    ~TempDb() {
        for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
    }
    static inline int counter = 0;
};

ScanConfig base_config(const std::string& db) {
    ScanConfig config;
    config.target_specs = {"198.19.0.0/24"};
    config.ports_spec = "1-100";
    config.blocklist_file = "/dev/null";
    config.sources = SourceAddresses::parse("198.18.0.100");
    config.gateway_ip = 0xc6130001; // resolved by ARP: the reflector answers for its hosts
    config.rate = 200'000;
    config.rate_mode = RateMode::fixed;
    config.wait_seconds = 1;
    config.seed = 42;
    config.db_path = db;
    config.verbosity = -1;
    return config;
}

ReflectRules base_rules() {
    ReflectRules rules;
    rules.hosts = parse_targets("198.19.0.0/24");
    rules.open_everywhere = parse_protocol_ports("22,80");
    rules.open_permille = 20;
    rules.filtered_permille = 10;
    rules.seed = 7;
    return rules;
}

EngineSetup setup_for(std::uint16_t port) { return EngineSetup{port, {tx_lcore}, {rx_lcore}, {}}; }

TEST(Hermetic, ExactRecordsReachSqliteAndForgedRepliesAreRejected) {
    ReflectRules rules = base_rules();
    rules.forge_bad_cookies = true;
    RingLab lab(rules);
    TempDb db;
    ScanConfig config = base_config(db.path);
    config.show_closed = true;
    const ScanPlan plan = build_plan(config);
    const ScanOutcome outcome = run_scan(config, plan, setup_for(lab.scanner_port()));

    EXPECT_EQ(outcome.exit_code, 0);
    EXPECT_EQ(outcome.counters.sent, 256u * 100u);
    EXPECT_EQ(outcome.counters.status, "complete");
    const std::set<Row> expected = expected_rows(rules, plan, true);
    EXPECT_EQ(expected.size(), 256u * 100u);
    EXPECT_EQ(read_rows(db.path), expected);
    // Every probe drew one forged SYN-ACK acknowledging the wrong ISN: each one rejected, none recorded.
    EXPECT_EQ(outcome.rejected[std::size_t(RejectReason::bad_cookie)], 256u * 100u);
    EXPECT_EQ(lab.reflector().syns.get(), 256u * 100u);
    EXPECT_EQ(outcome.counters.duplicates, 0u);
}

// Defect 5 end to end: every probe also draws a SYN-ACK with the right ack but
// a broken TCP checksum and one with a broken IPv4 header checksum. On a
// closed or filtered pair either would read as "open" if believed; each is
// rejected for its reason and the database holds exactly the reflector's truth.
TEST(Hermetic, RightAckWrongChecksumIsRejected) {
    ReflectRules rules = base_rules();
    rules.forge_bad_checksums = true;
    RingLab lab(rules);
    TempDb db;
    ScanConfig config = base_config(db.path);
    config.show_closed = true;
    config.rate = 50'000; // three answers per probe through 4096-slot rings
    const ScanPlan plan = build_plan(config);
    const ScanOutcome outcome = run_scan(config, plan, setup_for(lab.scanner_port()));

    EXPECT_EQ(outcome.exit_code, 0);
    EXPECT_EQ(read_rows(db.path), expected_rows(rules, plan, true));
    const std::uint64_t syns = lab.reflector().syns.get();
    EXPECT_GE(syns, 256u * 100u);
    EXPECT_EQ(lab.reflector().tx_dropped.get(), 0u);
    EXPECT_EQ(outcome.rejected[std::size_t(RejectReason::bad_tcp_checksum)], syns);
    EXPECT_EQ(outcome.rejected[std::size_t(RejectReason::bad_ip_checksum)], syns);
    EXPECT_EQ(outcome.rejected[std::size_t(RejectReason::bad_cookie)], 0u);
}

// The DPDK-to-DPDK lab's loss, in miniature: three answers per probe at
// full speed into a 64-slot reply ring. The reflector used to drop what the
// ring refused (tx_dropped); now it holds the answers and reads no probe
// until they are out, so the scan is exact and the waits are counted.
TEST(Hermetic, ReflectorBackPressureLosesNothing) {
    ReflectRules rules = base_rules();
    rules.forge_bad_checksums = true;
    RingLab lab(rules, 64);
    TempDb db;
    ScanConfig config = base_config(db.path);
    config.show_closed = true;
    config.rate = 0; // fixed mode, no cap
    const ScanPlan plan = build_plan(config);
    const ScanOutcome outcome = run_scan(config, plan, setup_for(lab.scanner_port()));

    EXPECT_EQ(outcome.exit_code, 0);
    EXPECT_EQ(read_rows(db.path), expected_rows(rules, plan, true));
    EXPECT_EQ(outcome.counters.drops, 0u);
    EXPECT_EQ(lab.reflector().tx_dropped.get(), 0u);
    EXPECT_EQ(lab.reflector().nombuf.get(), 0u);
    EXPECT_GT(lab.reflector().tx_full.get(), 0u); // the small ring did fill: back-pressure was exercised
    // Every answer went out: three per probe, one per ARP request.
    EXPECT_EQ(lab.reflector().sent.get(), 3 * lab.reflector().syns.get() + lab.reflector().arp_replies.get());
}

TEST(Hermetic, OpenOnlyByDefault) {
    const ReflectRules rules = base_rules();
    RingLab lab(rules);
    TempDb db;
    ScanConfig config = base_config(db.path);
    const ScanPlan plan = build_plan(config);
    const ScanOutcome outcome = run_scan(config, plan, setup_for(lab.scanner_port()));
    EXPECT_EQ(outcome.exit_code, 0);
    const std::set<Row> expected = expected_rows(rules, plan, false);
    EXPECT_GT(expected.size(), 512u); // ports 22 and 80 on every host, plus the seeded share
    EXPECT_EQ(read_rows(db.path), expected);
    EXPECT_EQ(outcome.counters.open, expected.size());
}

TEST(Hermetic, SendResetAnswersEverySynAckWithARst) {
    const ReflectRules rules = base_rules();
    RingLab lab(rules);
    TempDb db;
    ScanConfig config = base_config(db.path);
    config.send_reset = true;
    const ScanPlan plan = build_plan(config);
    const ScanOutcome outcome = run_scan(config, plan, setup_for(lab.scanner_port()));
    EXPECT_EQ(outcome.exit_code, 0);
    const std::uint64_t open = expected_rows(rules, plan, false).size();
    EXPECT_EQ(outcome.resets_sent, open);
    // The reflector sees each RST as a non-SYN frame it ignores (ARP aside: none after resolution).
    EXPECT_EQ(lab.reflector().ignored.get(), open);
}

TEST(Hermetic, RetriesSendExactlyNExtraProbesAndDuplicatesCollapse) {
    const ReflectRules rules = base_rules();
    RingLab lab(rules);
    TempDb db;
    ScanConfig config = base_config(db.path);
    // 198.19.1.0 is outside the reflector's hosts: its pairs never answer, so
    // the scan cannot end early ("every pair answered") before the last
    // retries' answers are in, and the counts below do not depend on timing.
    config.target_specs = {"198.19.0.0/26", "198.19.1.0"};
    config.ports_spec = "20-29";
    config.retries = 2;
    config.retry_delay_seconds = 0.01;
    config.verify = 0;
    config.show_closed = true;
    const ScanPlan plan = build_plan(config);
    const ScanOutcome outcome = run_scan(config, plan, setup_for(lab.scanner_port()));
    EXPECT_EQ(outcome.exit_code, 0);
    EXPECT_FALSE(outcome.all_answered);
    EXPECT_EQ(outcome.counters.sent, 65u * 10u * 3u);
    EXPECT_EQ(lab.reflector().syns.get(), 64u * 10u * 3u); // the silent host's probes reach no one
    EXPECT_EQ(outcome.counters.duplicates, 64u * 10u * 2u);
    EXPECT_EQ(read_rows(db.path), expected_rows(rules, plan, true));
}

TEST(Hermetic, ShardsAreDisjointAndTogetherComplete) {
    const ReflectRules rules = base_rules();
    std::set<Row> all, unsharded;
    {
        RingLab lab(rules);
        TempDb db;
        ScanConfig config = base_config(db.path);
        config.show_closed = true;
        run_scan(config, build_plan(config), setup_for(lab.scanner_port()));
        unsharded = read_rows(db.path);
    }
    for (std::uint32_t shard = 0; shard < 3; ++shard) {
        RingLab lab(rules);
        TempDb db;
        ScanConfig config = base_config(db.path);
        config.show_closed = true;
        config.shard_index = shard;
        config.shard_count = 3;
        run_scan(config, build_plan(config), setup_for(lab.scanner_port()));
        for (const Row& row : read_rows(db.path)) EXPECT_TRUE(all.insert(row).second) << "overlap: " << std::get<1>(row);
    }
    EXPECT_EQ(all, unsharded);
    EXPECT_EQ(all.size(), 256u * 100u);
}


// ---- UDP and ping next to TCP

using Bytes = std::vector<std::uint8_t>;

struct TempFile {
    std::string path = fmt::format("/tmp/ws-hermetic-{}-{}.txt", getpid(), TempDb::counter++);
    explicit TempFile(const std::string& text) { std::ofstream(path) << text; }
    ~TempFile() { std::filesystem::remove(path); }
};

// (proto, ip, port) -> the data column (nullopt for NULL) of every row.
std::map<std::tuple<std::string, std::string, int>, std::optional<Bytes>> read_data(const std::string& path) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT proto, ip, port, data FROM results", -1, &st, nullptr), SQLITE_OK);
    std::map<std::tuple<std::string, std::string, int>, std::optional<Bytes>> out;
    while (sqlite3_step(st) == SQLITE_ROW) {
        std::optional<Bytes> data;
        if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
            const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(st, 3));
            data = Bytes(p, p + sqlite3_column_bytes(st, 3));
        }
        out[{reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), reinterpret_cast<const char*>(sqlite3_column_text(st, 1)),
             sqlite3_column_int(st, 2)}] = data;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

std::string hex(const Bytes& bytes) {
    std::string out;
    for (std::uint8_t b : bytes) out += fmt::format("{:02x}", b);
    return out;
}

// A DNS query for version.bind (CH TXT), its ID (the first two bytes) zero:
// the scanner writes the cookie's there, and the reflector echoes it.
const Bytes dns_version_query = {0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 'v', 'e',
                                 'r',  's',  'i',  'o',  'n',  0x04, 'b',  'i',  'n',  'd',  0x00, 0x00, 0x10, 0x00, 0x03};
const Bytes snmp_payload = {0x30, 0x0b, 0x02, 0x01, 0x01, 0x04, 0x06, 'p', 'u', 'b', 'l', 'i', 'c'};

// TCP ports, UDP ports (payloads from a small nmap-payloads file, one from
// --udp-payload, one port with none) and ping in one scan: the database holds
// exactly the reflector's truth, each UDP answer's bytes in `data`, and every
// forged answer (a wrong cookie, a wrong L4 or IPv4 checksum, each claiming
// open or up) is rejected for its reason, never a row.
TEST(Hermetic, MixedTcpUdpPingExactWithDataAndForgeriesRejected) {
    ReflectRules rules = base_rules();
    rules.open_everywhere = parse_protocol_ports("22,U:53");
    rules.open_permille = 100;
    rules.filtered_permille = 50;
    rules.forge_bad_cookies = true;
    rules.forge_bad_checksums = true;
    RingLab lab(rules);
    TempDb db;
    const TempFile payloads("# hermetic test payloads\nudp 161 \"\\x30\\x0b\\x02\\x01\\x01\\x04\\x06public\"\n"
                            "udp 7 \"the echo service\"\n");
    ScanConfig config = base_config(db.path);
    config.ports_spec = "20-29,U:7,53,123,161";
    config.ping = true;
    config.nmap_payloads = payloads.path;
    config.udp_payloads = {"53:" + hex(dns_version_query)};
    config.show_closed = true;
    config.rate = 20'000; // four answers per probe through 4096-slot rings
    const ScanPlan plan = build_plan(config);
    ASSERT_EQ(plan.space->slots().count(), 10u + 4u + 1u);
    ASSERT_TRUE(plan.space->slots().one_slot_per_key());
    const ScanOutcome outcome = run_scan(config, plan, setup_for(lab.scanner_port()));

    constexpr std::uint64_t hosts = 256, tcp = hosts * 10, udp = hosts * 4, icmp = hosts;
    EXPECT_EQ(outcome.exit_code, 0);
    EXPECT_EQ(outcome.counters.sent, tcp + udp + icmp);
    const std::set<Row> expected = expected_rows(rules, plan, true);
    EXPECT_EQ(expected.size(), tcp + udp + icmp); // every pair answers (no host's ping is silent here)
    EXPECT_EQ(read_rows(db.path), expected);
    std::map<std::string, unsigned> states;
    for (const Row& row : expected) ++states[std::get<0>(row) + " " + std::get<3>(row)];
    for (const char* kind : {"tcp open", "tcp closed", "tcp filtered", "udp open", "udp closed", "udp filtered", "icmp up",
                             "icmp filtered"})
        EXPECT_GT(states[kind], 0u) << kind; // every answer of every module was exercised

    EXPECT_EQ(lab.reflector().syns.get(), tcp);
    EXPECT_EQ(lab.reflector().udp_probes.get(), udp);
    EXPECT_EQ(lab.reflector().echo_requests.get(), icmp);
    EXPECT_EQ(lab.reflector().tx_dropped.get(), 0u);
    EXPECT_EQ(outcome.ring_full, 0u);
    EXPECT_EQ(outcome.rejected[std::size_t(RejectReason::bad_cookie)], tcp + udp + icmp);
    EXPECT_EQ(outcome.rejected[std::size_t(RejectReason::bad_ip_checksum)], tcp + udp + icmp);
    EXPECT_EQ(outcome.rejected[std::size_t(RejectReason::bad_tcp_checksum)], tcp);
    EXPECT_EQ(outcome.rejected[std::size_t(RejectReason::bad_udp_checksum)], udp);
    EXPECT_EQ(outcome.rejected[std::size_t(RejectReason::bad_icmp_checksum)], icmp);
    EXPECT_EQ(outcome.counters.duplicates, 0u);

    // The echoed payloads in the data column: DNS with the probe's own ID.
    const auto data = read_data(db.path);
    unsigned udp_open = 0;
    for (const auto& [key, bytes] : data) {
        const auto& [proto, ip, port] = key;
        const bool udp_answer = proto == "udp" && expected.count(Row{proto, ip, port, "open", "udp-response"});
        if (!udp_answer || port == 123) { // no payload for 123: an empty answer, stored as NULL
            EXPECT_FALSE(bytes) << proto << ":" << ip << ":" << port;
            continue;
        }
        ++udp_open;
        ASSERT_TRUE(bytes) << ip << ":" << port;
        if (port == 53) {
            ASSERT_EQ(bytes->size(), dns_version_query.size());
            EXPECT_EQ(Bytes(bytes->begin() + 2, bytes->end()), Bytes(dns_version_query.begin() + 2, dns_version_query.end()));
        } else if (port == 161) {
            EXPECT_EQ(*bytes, snmp_payload);
        } else {
            EXPECT_EQ(*bytes, Bytes({'t', 'h', 'e', ' ', 'e', 'c', 'h', 'o', ' ', 's', 'e', 'r', 'v', 'i', 'c', 'e'}));
        }
    }
    EXPECT_GE(udp_open, hosts); // port 53 everywhere, plus the seeded share
}

// ---------------------------------------------------------------- IPv6

const char* const hosts6 = "2001:db8:1::/120"; // 256 IPv6 hosts, beside base_rules()' 256 IPv4 ones

// The reflector of base_rules() answering for `hosts` (either family).
ReflectRules rules_for(const std::string& hosts) {
    ReflectRules rules = base_rules();
    rules.set_hosts(parse_targets(hosts));
    rules.open_everywhere = parse_protocol_ports("22,U:53");
    rules.open_permille = 100;
    rules.filtered_permille = 50;
    return rules;
}

// A scan of `targets` from `sources`, each family's next hop a host of the
// reflector's (so the MACs come from its ARP and NDP answers, none given):
// TCP 20-24 and 80, UDP 53 (the DNS query) and 123 (empty), ping; closed
// pairs kept.
ScanConfig config_for(const std::string& db, std::vector<std::string> targets, const char* sources,
                      const TempFile& no_payloads) {
    ScanConfig config = base_config(db);
    config.target_specs = std::move(targets);
    config.sources = SourceAddresses::parse(sources);
    const bool has_ipv4 = config.sources.ipv4_count() > 0;
    config.gateway_ip = has_ipv4 ? std::optional<std::uint32_t>(0xc6130001) : std::nullopt;
    config.gateway_ip6 = *parse_ipv6("2001:db8:1::1");
    config.ports_spec = "20-24,80,U:53,123";
    config.ping = true;
    config.nmap_payloads = no_payloads.path;
    config.udp_payloads = {"53:" + hex(dns_version_query)};
    config.show_closed = true;
    config.rate = 20'000;
    return config;
}

// No answer the scanner got was refused: every reply to every source
// validated (a reply to a source the probe did not leave from, or with the
// cookie of another source, would be not_for_us or bad_cookie).
void expect_no_rejects(const ScanOutcome& outcome) {
    for (std::size_t reason = 0; reason < reject_reason_count; ++reason)
        EXPECT_EQ(outcome.rejected[reason], 0u) << to_string(RejectReason(reason));
}

// An IPv6-only scan: TCP, UDP and ICMPv6 echo to 256 hosts of one /120 from
// one IPv6 source, the next hop's MAC from the reflector's Neighbor
// Advertisement. The database holds exactly the reflector's truth, every
// kind of answer (SYN-ACK, RST, ICMPv6 unreachables, UDP, echo reply) seen.
TEST(Hermetic6, Ipv6OnlyScanExactAndResolvedByNdp) {
    const ReflectRules rules = rules_for(hosts6);
    RingLab lab(rules);
    TempDb db;
    const TempFile no_payloads("# none\n");
    ScanConfig config = config_for(db.path, {hosts6}, "2001:db8::100", no_payloads);
    const ScanPlan plan = build_plan(config);
    ASSERT_EQ(plan.space->slots().count(), 6u + 2u + 1u);
    const ScanOutcome outcome = run_scan(config, plan, setup_for(lab.scanner_port()));

    constexpr std::uint64_t hosts = 256, tcp = hosts * 6, udp = hosts * 2, icmp = hosts;
    EXPECT_EQ(outcome.exit_code, 0);
    EXPECT_EQ(outcome.counters.sent, tcp + udp + icmp);
    const std::set<Row> expected = expected_rows(rules, plan, true);
    EXPECT_EQ(expected.size(), tcp + udp + icmp); // every pair answers
    EXPECT_EQ(read_rows(db.path), expected);
    std::map<std::string, unsigned> states;
    for (const Row& row : expected) ++states[std::get<0>(row) + " " + std::get<3>(row)];
    for (const char* kind : {"tcp open", "tcp closed", "tcp filtered", "udp open", "udp closed", "udp filtered", "icmp up",
                             "icmp filtered"})
        EXPECT_GT(states[kind], 0u) << kind;

    EXPECT_EQ(lab.reflector().syns.get(), tcp);
    EXPECT_EQ(lab.reflector().udp_probes.get(), udp);
    EXPECT_EQ(lab.reflector().echo_requests.get(), icmp);
    EXPECT_EQ(lab.reflector().ipv6_probes.get(), tcp + udp + icmp);
    EXPECT_GE(lab.reflector().ndp_replies.get(), 1u); // the gateway's MAC came from NDP
    EXPECT_EQ(lab.reflector().arp_replies.get(), 0u);
    EXPECT_EQ(lab.reflector().tx_dropped.get(), 0u);
    expect_no_rejects(outcome);
    EXPECT_EQ(outcome.counters.duplicates, 0u);
    const auto by_source = lab.probes_by_source();
    ASSERT_EQ(by_source.size(), 1u);
    EXPECT_EQ(by_source.begin()->first, IpAddress::from_ipv6(*parse_ipv6("2001:db8::100")));
}

// Forged answers over IPv6 (a wrong cookie; the right cookie with a wrong
// TCP, UDP or ICMPv6 checksum, each claiming open or up): every one is
// rejected for its reason, never a row. IPv6 has no header checksum, so the
// IPv4-header forgery has no IPv6 counterpart.
TEST(Hermetic6, Ipv6ForgeriesAreRejected) {
    ReflectRules rules = rules_for(hosts6);
    rules.forge_bad_cookies = true;
    rules.forge_bad_checksums = true;
    RingLab lab(rules);
    TempDb db;
    const TempFile no_payloads("# none\n");
    ScanConfig config = config_for(db.path, {hosts6}, "2001:db8::100,2001:db8::101", no_payloads);
    const ScanPlan plan = build_plan(config);
    const ScanOutcome outcome = run_scan(config, plan, setup_for(lab.scanner_port()));

    constexpr std::uint64_t hosts = 256, tcp = hosts * 6, udp = hosts * 2, icmp = hosts;
    EXPECT_EQ(outcome.exit_code, 0);
    EXPECT_EQ(read_rows(db.path), expected_rows(rules, plan, true));
    EXPECT_EQ(outcome.rejected[std::size_t(RejectReason::bad_cookie)], tcp + udp + icmp);
    EXPECT_EQ(outcome.rejected[std::size_t(RejectReason::bad_ip_checksum)], 0u);
    EXPECT_EQ(outcome.rejected[std::size_t(RejectReason::bad_tcp_checksum)], tcp);
    EXPECT_EQ(outcome.rejected[std::size_t(RejectReason::bad_udp_checksum)], udp);
    EXPECT_EQ(outcome.rejected[std::size_t(RejectReason::bad_icmp_checksum)], icmp);
    EXPECT_EQ(outcome.rejected[std::size_t(RejectReason::not_for_us)], 0u);
    EXPECT_EQ(outcome.counters.duplicates, 0u);
    EXPECT_EQ(lab.reflector().tx_dropped.get(), 0u);
}

// Both families in one scan, from three IPv4 and two IPv6 sources: each
// target is probed from one source of its family (a keyed hash), the
// reflector answers to that source, and the database holds exactly the
// truth of both families. Every source was used and its replies validated.
TEST(Hermetic6, MixedFamiliesFromSeveralSourcesExact) {
    const std::string hosts = std::string("198.19.0.0/24,") + hosts6;
    const ReflectRules rules = rules_for(hosts);
    RingLab lab(rules);
    TempDb db;
    const TempFile no_payloads("# none\n");
    ScanConfig config =
        config_for(db.path, {"198.19.0.0/24", hosts6}, "198.18.0.100,198.18.0.101,198.18.0.102,2001:db8::100,2001:db8::101",
                   no_payloads);
    const ScanPlan plan = build_plan(config);
    const ScanOutcome outcome = run_scan(config, plan, setup_for(lab.scanner_port()));

    constexpr std::uint64_t per_family = 256 * (6 + 2 + 1);
    EXPECT_EQ(outcome.exit_code, 0);
    EXPECT_EQ(outcome.counters.sent, 2 * per_family);
    const std::set<Row> expected = expected_rows(rules, plan, true);
    EXPECT_EQ(expected.size(), 2 * per_family);
    EXPECT_EQ(read_rows(db.path), expected);
    unsigned v6_rows = 0;
    for (const Row& row : expected) v6_rows += std::get<1>(row).find(':') != std::string::npos;
    EXPECT_EQ(v6_rows, per_family);

    EXPECT_EQ(lab.reflector().probes(), 2 * per_family);
    EXPECT_EQ(lab.reflector().ipv6_probes.get(), per_family);
    EXPECT_GE(lab.reflector().ndp_replies.get(), 1u);
    EXPECT_GE(lab.reflector().arp_replies.get(), 1u);
    expect_no_rejects(outcome);
    EXPECT_EQ(outcome.counters.duplicates, 0u);
    // Every source probed (256 targets per family over 3 resp. 2 sources:
    // none left out), and the families' probes add up.
    const auto by_source = lab.probes_by_source();
    std::uint64_t v4 = 0, v6 = 0;
    for (const IpAddress source : {IpAddress::from_ipv4(0xc6120064), IpAddress::from_ipv4(0xc6120065),
                                   IpAddress::from_ipv4(0xc6120066), IpAddress::from_ipv6(*parse_ipv6("2001:db8::100")),
                                   IpAddress::from_ipv6(*parse_ipv6("2001:db8::101"))}) {
        const auto it = by_source.find(source);
        ASSERT_NE(it, by_source.end());
        EXPECT_GT(it->second, per_family / 10);
        (source.is_ipv4() ? v4 : v6) += it->second;
    }
    EXPECT_EQ(by_source.size(), 5u);
    EXPECT_EQ(v4, per_family);
    EXPECT_EQ(v6, per_family);
}

// Far-side loss over IPv6: the reflector loses the answers to 2% of the
// probes; the adaptive mode's canaries and verify sample find it, the
// repairs re-send (from each target's own source), and the database ends up
// exactly the truth of both families.
TEST(Hermetic6, FarSideLossIsRepairedForIpv6Targets) {
    const std::string hosts = std::string("198.19.0.0/24,") + hosts6;
    ReflectRules rules = rules_for(hosts);
    rules.drop_permille = 20;
    RingLab lab(rules);
    TempDb db;
    const TempFile no_payloads("# none\n");
    ScanConfig config = config_for(db.path, {"198.19.0.0/24", hosts6}, "198.18.0.100,198.18.0.101,2001:db8::100,2001:db8::101",
                                   no_payloads);
    config.ports_spec = "1-20";
    config.ping = false;
    config.udp_payloads.clear();
    config.rate_mode = RateMode::adaptive;
    config.wait_seconds = 0.6;
    const ScanPlan plan = build_plan(config);
    const ScanOutcome outcome = run_scan(config, plan, setup_for(lab.scanner_port()));

    constexpr std::uint64_t pairs = 2 * 256 * 20;
    EXPECT_EQ(outcome.exit_code, 0);
    EXPECT_GT(lab.reflector().dropped.get(), pairs / 100);
    const std::set<Row> expected = expected_rows(rules, plan, true);
    EXPECT_EQ(expected.size(), pairs);
    EXPECT_EQ(read_rows(db.path), expected);
    EXPECT_TRUE(outcome.all_answered);
    EXPECT_GT(outcome.repairs + outcome.resent, 0u);
    EXPECT_TRUE(outcome.recall.valid);
    EXPECT_EQ(outcome.recall.found, pairs);
}

// Far-side loss: the reflector loses the answers to 2% of the probes, where
// no counter of ours can see it. In the default adaptive mode the canaries
// and the verify sample see it, the repair pass re-sends, and the database
// still ends up exactly the truth; the recall estimate agrees.
TEST(Hermetic, FarSideLossIsRepairedInAdaptiveMode) {
    ReflectRules rules = base_rules();
    rules.drop_permille = 20;
    RingLab lab(rules);
    TempDb db;
    ScanConfig config = base_config(db.path);
    config.ports_spec = "1-20";
    config.rate_mode = RateMode::adaptive;
    config.show_closed = true;
    // A cap the send phase lasts a few control ticks at (so a repair pass
    // runs at a measured rate, not the floor), and a short wait window.
    config.rate = 20'000;
    config.wait_seconds = 0.6;
    const ScanPlan plan = build_plan(config);
    const ScanOutcome outcome = run_scan(config, plan, setup_for(lab.scanner_port()));

    constexpr std::uint64_t pairs = 256u * 20u;
    EXPECT_EQ(outcome.exit_code, 0);
    EXPECT_GT(lab.reflector().dropped.get(), pairs / 100); // about 2% of every probe the reflector saw
    EXPECT_LT(lab.reflector().dropped.get(), lab.reflector().syns.get() / 25);
    const std::set<Row> expected = expected_rows(rules, plan, true);
    EXPECT_EQ(expected.size(), pairs);
    EXPECT_EQ(read_rows(db.path), expected);
    // Exact in the end: every pair answered (the lost ones to the verify
    // sample's re-probes and the repair passes it called for), so the
    // estimate is exact too.
    EXPECT_TRUE(outcome.all_answered);
    EXPECT_TRUE(outcome.recall.valid);
    EXPECT_EQ(outcome.recall.found, pairs);
    EXPECT_DOUBLE_EQ(outcome.recall.recall(), 1.0);
    EXPECT_LE(outcome.recall.recall_low(), outcome.recall.recall());
    EXPECT_GE(outcome.recall.recall_high(), outcome.recall.recall());
    EXPECT_GT(outcome.canaries_sent, 0u);
}

// The recall estimate without repairs: the reflector loses the answers to
// 10% of all probes, the verify probes' included, and --no-repair leaves the
// misses in place. Every pair answers (closed and filtered too), so after the
// main pass the non-responders are exactly the lost ones and the verify
// sample covers all of them: the case where a share of re-probes that
// answered, taken as it is, said "nothing missed". The responders asked
// beside the sample measure the verify pass's own delivery (about 90%) and
// the estimate counts the re-probes it lost.
TEST(Hermetic, RecallEstimateCountsRepliesTheVerifyPassLostToo) {
    ReflectRules rules = base_rules();
    rules.drop_permille = 100;
    RingLab lab(rules);
    TempDb db;
    ScanConfig config = base_config(db.path);
    config.ports_spec = "1-20";
    config.show_closed = true;
    config.rate = 20'000;
    config.repair = false;
    config.verify = 4000;
    const ScanPlan plan = build_plan(config);
    const ScanOutcome outcome = run_scan(config, plan, setup_for(lab.scanner_port()));

    const std::set<Row> expected = expected_rows(rules, plan, true);
    const std::set<Row> found = read_rows(db.path);
    ASSERT_EQ(expected.size(), 256u * 20u);
    ASSERT_TRUE(std::includes(expected.begin(), expected.end(), found.begin(), found.end()));
    const double truly_missed = double(expected.size() - found.size());
    EXPECT_EQ(outcome.exit_code, 0);
    ASSERT_TRUE(outcome.recall.valid);
    EXPECT_EQ(outcome.recall.sampled, outcome.recall.non_responders); // the whole population
    EXPECT_EQ(outcome.recall.found, found.size());
    EXPECT_GE(outcome.recall.delivery_sampled, 500u);
    EXPECT_NEAR(outcome.recall.delivery, 0.9, 0.05);
    EXPECT_GT(truly_missed, 20); // ~10% of the ~10% lost in the main pass
    EXPECT_GT(outcome.recall.missed, 0);
    // 95% intervals; the slack keeps a 1-in-20 draw from failing the suite.
    EXPECT_NEAR(outcome.recall.missed, truly_missed, 40);
    EXPECT_LE(outcome.recall.missed_low, truly_missed + 15);
    EXPECT_GE(outcome.recall.missed_high, truly_missed - 15);
}

// ---- scan --service against the reflector's banner mode: the user-mode
// TCP (StreamTable) and the service detector end to end, one fault per port.

// A small probe file (the full nmap-service-probes compiles for ~25 s): NULL
// names the greeting services, GetRequest (rarity 9: sent only to the ports
// it lists, at --version-intensity 0) the one that answers a request. The
// http line needs the whole answer, so half of it never matches.
constexpr const char* service_probes_text = R"(Probe TCP NULL q||
totalwaitms 1000
tcpwrappedms 300
match ssh m|^SSH-([\d.]+)-OpenSSH_([\w._-]+) Debian-(\S*)\r\n| p/OpenSSH/ v/$2 Debian $3/ i/protocol $1/
match ftp m|^220 \(vsFTPd ([-.\w]+)\)\r\n| p/vsftpd/ v/$1/

Probe TCP GetRequest q|GET / HTTP/1.0\r\n\r\n|
rarity 9
ports 80,8080-8084
match http m|^HTTP/1\.0 200 OK\r\nServer: nginx/([\d.]+)\r\nContent-Length: 0\r\n\r\n$| p/nginx/ v/$1/
)";

constexpr const char* ssh_greeting = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n";
constexpr const char* ftp_greeting = "220 (vsFTPd 3.0.3)\r\n";
std::string nginx_answer(const char* version) {
    return fmt::format("HTTP/1.0 200 OK\r\nServer: nginx/{}\r\nContent-Length: 0\r\n\r\n", version);
}

// ip, port, name, product, version, info, method, probe, banner
using ServiceRow = std::tuple<std::string, int, std::string, std::string, std::string, std::string, std::string,
                              std::string, std::string>;

std::set<ServiceRow> read_services(const std::string& path) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db,
                                 "SELECT ip, port, name, coalesce(product, ''), coalesce(version, ''), coalesce(info, ''), "
                                 "method, coalesce(probe, ''), coalesce(banner, x'') FROM services WHERE proto = 'tcp'",
                                 -1, &st, nullptr),
              SQLITE_OK);
    std::set<ServiceRow> rows;
    auto text = [&](int column) {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_blob(st, column));
        return p ? std::string(p, std::size_t(sqlite3_column_bytes(st, column))) : std::string();
    };
    while (sqlite3_step(st) == SQLITE_ROW)
        rows.emplace(text(0), sqlite3_column_int(st, 1), text(2), text(3), text(4), text(5), text(6), text(7), text(8));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rows;
}

struct ServiceScan {
    ScanOutcome outcome;
    std::set<ServiceRow> rows;
    std::set<Row> results;
    BannerCounters banner;
};

// One host (198.19.0.1) whose `ports` are open and served by `banners`; the
// scan probes exactly those ports with --service.
ServiceScan run_service_scan(const std::string& ports, const std::vector<BannerPort>& banners) {
    ReflectRules rules;
    rules.hosts = parse_targets("198.19.0.1");
    rules.open_everywhere = parse_protocol_ports(ports);
    rules.seed = 11;
    rules.banners = banners;
    RingLab lab(rules);
    TempDb db;
    const std::filesystem::path probes = fmt::format("/tmp/ws-hermetic-probes-{}-{}", getpid(), TempDb::counter++);
    std::ofstream(probes) << service_probes_text;
    ScanConfig config = base_config(db.path);
    config.target_specs = {"198.19.0.1"};
    config.ports_spec = ports;
    config.service = true;
    config.service_probes = probes.string();
    config.version_intensity = 0;
    config.service_timeout_seconds = 30; // far above what a port needs (a silent NULL: 1 + 3 s)
    const ScanPlan plan = build_plan(config);
    ServiceScan out;
    out.outcome = run_scan(config, plan, setup_for(lab.scanner_port()));
    lab.stop_reflector();
    out.banner = lab.reflector().banner;
    out.rows = read_services(db.path);
    out.results = read_rows(db.path);
    std::filesystem::remove(probes);
    return out;
}

ServiceRow probed(int port, const char* name, const char* product, const std::string& version, const char* info,
                  const char* probe, const std::string& banner) {
    return ServiceRow{"198.19.0.1", port, name, product, version, info, "probed", probe, banner};
}

// Every open port is in the results table as the scan saw it.
std::set<Row> open_rows(std::initializer_list<int> ports) {
    std::set<Row> rows;
    for (int p : ports) rows.emplace("tcp", "198.19.0.1", p, "open", "syn-ack");
    return rows;
}

void expect_clean_tcp(const StreamCounters& c) {
    EXPECT_EQ(c.refused, 0u);
    EXPECT_EQ(c.no_room, 0u);
    EXPECT_EQ(c.events_lost, 0u);
    EXPECT_EQ(c.frames_lost, 0u);
    EXPECT_EQ(c.send_overflow, 0u);
    EXPECT_EQ(c.too_much_data, 0u);
}

TEST(HermeticService, GreetingAndRequestAnswerServicesExact) {
    const std::string answer = nginx_answer("1.22.1");
    const ServiceScan r = run_service_scan(
        "21,22,80", {BannerPort{21, ftp_greeting, "", BannerFault::none}, BannerPort{22, ssh_greeting, "", BannerFault::none},
                     BannerPort{80, "", answer, BannerFault::none}});
    EXPECT_EQ(r.outcome.exit_code, 0);
    EXPECT_EQ(r.results, open_rows({21, 22, 80}));
    EXPECT_EQ(r.rows, (std::set<ServiceRow>{
                          probed(21, "ftp", "vsftpd", "3.0.3", "", "NULL", ftp_greeting),
                          probed(22, "ssh", "OpenSSH", "9.2p1 Debian 2+deb12u3", "protocol 2.0", "NULL", ssh_greeting),
                          probed(80, "http", "nginx", "1.22.1", "", "GetRequest", answer),
                      }));
    EXPECT_EQ(r.outcome.services.ports, 3u);
    EXPECT_EQ(r.outcome.services.identified, 3u);
    EXPECT_EQ(r.outcome.services.table_only, 0u);
    const StreamCounters& c = r.outcome.streams;
    expect_clean_tcp(c);
    // NULL on each port, GetRequest on 80.
    EXPECT_EQ(c.connects, 4u);
    EXPECT_EQ(c.established, 4u);
    EXPECT_EQ(c.retransmits, 0u);
    EXPECT_EQ(c.out_of_order, 0u);
    EXPECT_EQ(c.forged, 0u);
    EXPECT_EQ(c.resets_in, 0u);
    EXPECT_EQ(c.timeouts, 0u);
    EXPECT_EQ(r.banner.greetings, 2u);
    EXPECT_EQ(r.banner.answers, 1u);
}

TEST(HermeticService, LostProbeSegmentIsRetransmittedOnce) {
    const std::string answer = nginx_answer("1.22.2");
    const ServiceScan r = run_service_scan("8080", {BannerPort{8080, "", answer, BannerFault::lose_first}});
    EXPECT_EQ(r.results, open_rows({8080}));
    EXPECT_EQ(r.rows, (std::set<ServiceRow>{probed(8080, "http", "nginx", "1.22.2", "", "GetRequest", answer)}));
    expect_clean_tcp(r.outcome.streams);
    EXPECT_EQ(r.banner.lost, 1u);
    EXPECT_EQ(r.outcome.streams.retransmits, 1u);
    EXPECT_EQ(r.outcome.streams.out_of_order, 0u);
    EXPECT_EQ(r.outcome.streams.forged, 0u);
}

TEST(HermeticService, OutOfOrderAnswerIsTakenInOrder) {
    const std::string answer = nginx_answer("1.22.3");
    const ServiceScan r = run_service_scan("8081", {BannerPort{8081, "", answer, BannerFault::out_of_order}});
    EXPECT_EQ(r.results, open_rows({8081}));
    EXPECT_EQ(r.rows, (std::set<ServiceRow>{probed(8081, "http", "nginx", "1.22.3", "", "GetRequest", answer)}));
    expect_clean_tcp(r.outcome.streams);
    // The second half first: dropped and counted, the duplicate ACK ignored;
    // the first half's ACK draws the second half again.
    EXPECT_EQ(r.outcome.streams.out_of_order, 1u);
    EXPECT_EQ(r.banner.resent, 1u);
    EXPECT_EQ(r.outcome.streams.retransmits, 0u);
    EXPECT_EQ(r.outcome.streams.forged, 0u);
}

TEST(HermeticService, ResetMidStreamKeepsThePartialAnswerAsTheBanner) {
    const std::string answer = nginx_answer("1.22.4");
    const ServiceScan r = run_service_scan("8082", {BannerPort{8082, "", answer, BannerFault::reset_mid}});
    EXPECT_EQ(r.results, open_rows({8082}));
    // Half an answer matches nothing: the port table names it, the half is the banner.
    const std::string half = answer.substr(0, answer.size() / 2);
    // The database keeps a table result's name empty (the outputs name it from nmap-services).
    EXPECT_EQ(r.rows, (std::set<ServiceRow>{ServiceRow{"198.19.0.1", 8082, "", "", "", "", "table", "", half}}));
    expect_clean_tcp(r.outcome.streams);
    EXPECT_EQ(r.banner.resets, 1u);
    EXPECT_EQ(r.outcome.streams.resets_in, 1u);
    EXPECT_EQ(r.outcome.streams.timeouts, 1u); // NULL: silent till its end
    EXPECT_EQ(r.outcome.streams.forged, 0u);
    EXPECT_EQ(r.outcome.services.table_only, 1u);
}

TEST(HermeticService, ZeroWindowOpensOnTheNextSegment) {
    const std::string answer = nginx_answer("1.22.5");
    const ServiceScan r = run_service_scan("8083", {BannerPort{8083, "", answer, BannerFault::zero_window}});
    EXPECT_EQ(r.results, open_rows({8083}));
    EXPECT_EQ(r.rows, (std::set<ServiceRow>{probed(8083, "http", "nginx", "1.22.5", "", "GetRequest", answer)}));
    expect_clean_tcp(r.outcome.streams);
    // Both connections (NULL, GetRequest) ACK the zero-window SYN-ACK and get a window update.
    EXPECT_EQ(r.banner.window_updates, 2u);
    EXPECT_EQ(r.outcome.streams.forged, 0u);
    EXPECT_EQ(r.outcome.streams.out_of_order, 0u);
}

TEST(HermeticService, SilentPeerTimesOutToThePortTable) {
    const ServiceScan r = run_service_scan("23", {BannerPort{23, "", "", BannerFault::silent}});
    EXPECT_EQ(r.results, open_rows({23}));
    EXPECT_EQ(r.rows, (std::set<ServiceRow>{ServiceRow{"198.19.0.1", 23, "", "", "", "", "table", "", ""}}));
    expect_clean_tcp(r.outcome.streams);
    EXPECT_EQ(r.outcome.streams.established, 1u);
    EXPECT_EQ(r.outcome.streams.timeouts, 1u);
    EXPECT_EQ(r.outcome.services.table_only, 1u);
    EXPECT_EQ(r.outcome.services.timeouts, 1u);
}

TEST(HermeticService, ForgedSegmentsAreCountedAndNeverStored) {
    const std::string answer = nginx_answer("1.22.6");
    const ServiceScan r = run_service_scan("8084", {BannerPort{8084, "", answer, BannerFault::forge}});
    EXPECT_EQ(r.results, open_rows({8084}));
    // The forgeries' "Server: forged/6.6.6" is nowhere: the banner is the real answer.
    EXPECT_EQ(r.rows, (std::set<ServiceRow>{probed(8084, "http", "nginx", "1.22.6", "", "GetRequest", answer)}));
    expect_clean_tcp(r.outcome.streams);
    EXPECT_EQ(r.banner.forged, 3u);
    EXPECT_EQ(r.outcome.streams.forged, 3u); // wrong seq, wrong ack, RST outside the window
    EXPECT_EQ(r.outcome.streams.resets_in, 0u);
    EXPECT_EQ(r.outcome.streams.out_of_order, 0u);
}

} // namespace
} // namespace ws::dp

int main(int argc, char** argv) {
    testing::InitGoogleTest(&argc, argv);
    // The product's own EAL owner: cleanup at exit includes the runtime
    // directory (/var/run/dpdk/<prefix>), which rte_eal_cleanup leaves behind.
    std::unique_ptr<ws::dp::Eal> eal;
    try {
        eal = std::make_unique<ws::dp::Eal>(std::vector<std::string>{
            "dataplane_tests", "--no-huge", "-m", "1024", "--no-shconf", "--no-pci", "--no-telemetry",
            fmt::format("--file-prefix=wirespeed-{}", getpid()), "--lcores=0@0,1@1,2@0,3@1", "--log-level=*:warning"});
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    const int rc = RUN_ALL_TESTS();
    eal.reset();
    return rc;
}
