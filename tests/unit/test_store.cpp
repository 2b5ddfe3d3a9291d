#include "wirespeed/result_sink.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "wirespeed/error.hpp"
#include "wirespeed/scan_space.hpp"
#include "wirespeed/service_result.hpp"

namespace ws {
namespace {

ResultRecord make_record(std::uint32_t ip, std::uint16_t port, PortState state, Reason reason) {
    ResultRecord r{};
    r.set_ipv4(ip);
    r.port = port;
    r.proto = Proto::tcp;
    r.state = state;
    r.reason = reason;
    r.ttl = 64;
    r.window = 65160;
    r.elapsed_ms = 1500;
    return r;
}

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/ws-store-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

using Row = std::tuple<std::string, int, std::string, std::string, std::string>;

std::set<Row> read_rows(const std::string& db_path) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT ip, port, proto, state, reason FROM results", -1, &st, nullptr), SQLITE_OK);
    std::set<Row> rows;
    while (sqlite3_step(st) == SQLITE_ROW)
        rows.emplace(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), sqlite3_column_int(st, 1),
                     reinterpret_cast<const char*>(sqlite3_column_text(st, 2)),
                     reinterpret_cast<const char*>(sqlite3_column_text(st, 3)),
                     reinterpret_cast<const char*>(sqlite3_column_text(st, 4)));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rows;
}

TEST(Store, DedupBitmapAndHashAgree) {
    // tcp 22,80,443 + udp 53 (two payloads: one key) + icmp: keys are (address, protocol, port).
    const ProbeSlots slots = ProbeSlots::build(PortSet::from_ports({22, 80, 443}), PortSet::from_ports({53, 80}), true,
                                               [](std::uint16_t port) { return port == 53 ? 2u : 1u; });
    ScanSpace space(TargetSet::from_intervals({{0xc6130000u, 0xc61300ffu}}), slots, 1);
    EXPECT_EQ(space.keys(), 256u * 6);
    Deduplicator bitmap(&space);
    Deduplicator hashed(&space, 0); // forced to the hash set
    EXPECT_GT(bitmap.memory_bytes(), 0u);
    const std::pair<Proto, std::uint16_t> keys[] = {{Proto::tcp, 22},  {Proto::tcp, 80},   {Proto::tcp, 443},
                                                    {Proto::tcp, 8080}, {Proto::udp, 53},  {Proto::udp, 80},
                                                    {Proto::udp, 22},   {Proto::icmp, 0}};
    for (int round = 0; round < 2; ++round)
        for (std::uint32_t host = 0; host < 256; ++host)
            for (const auto& [proto, port] : keys) {
                const bool a = bitmap.first_time(0xc6130000u + host, proto, port);
                const bool b = hashed.first_time(0xc6130000u + host, proto, port);
                EXPECT_EQ(a, round == 0);
                EXPECT_EQ(b, round == 0);
                EXPECT_TRUE(bitmap.seen(0xc6130000u + host, proto, port));
            }
    // tcp/80 and udp/80 are different results.
    Deduplicator fresh(&space);
    EXPECT_TRUE(fresh.first_time(0xc6130001u, Proto::tcp, 80));
    EXPECT_FALSE(fresh.seen(0xc6130001u, Proto::udp, 80));
    EXPECT_TRUE(fresh.first_time(0xc6130001u, Proto::udp, 80));
}

TEST(Store, SinkWritesOpenRowsOnlyByDefaultAndDedups) {
    TempDir dir;
    const std::string db_path = (dir.path / "scan.db").string();
    const std::string list_path = (dir.path / "scan.list").string();
    ScanSpace space(TargetSet::from_intervals({{0xc6130000u, 0xc61300ffu}}), PortSet::from_ports({22, 80}), 7);
    {
        ResultSink sink(SinkOptions{.keep_closed = false, .batch_rows = 3}, &space, 1'700'000'000.0);
        sink.set_database(std::make_unique<SqliteWriter>(db_path, ScanRecord{.seed = 7, .targets = "198.19.0.0/24", .ports = "22,80"}));
        sink.add_output(make_list_writer(list_path));
        const ResultRecord records[] = {
            make_record(0xc6130005u, 80, PortState::open, Reason::syn_ack),
            make_record(0xc6130005u, 80, PortState::open, Reason::syn_ack), // duplicate
            make_record(0xc6130006u, 22, PortState::closed, Reason::reset),
            make_record(0xc6130007u, 22, PortState::open, Reason::syn_ack),
        };
        sink.add(records, 4);
        sink.finish(ScanCounters{.sent = 512, .replies = 4});
        EXPECT_EQ(sink.open(), 2u);
        EXPECT_EQ(sink.closed(), 1u);
        EXPECT_EQ(sink.duplicates(), 1u);
    }
    const std::set<Row> expected = {{"198.19.0.5", 80, "tcp", "open", "syn-ack"}, {"198.19.0.7", 22, "tcp", "open", "syn-ack"}};
    EXPECT_EQ(read_rows(db_path), expected);

    std::ifstream list(list_path);
    std::stringstream text;
    text << list.rdbuf();
    EXPECT_EQ(text.str(), "#masscan\nopen tcp 80 198.19.0.5 1700000001\nopen tcp 22 198.19.0.7 1700000001\n# end\n");

    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT status, sent, open, closed, duplicates, seed FROM scans", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "complete");
    EXPECT_EQ(sqlite3_column_int(st, 1), 512);
    EXPECT_EQ(sqlite3_column_int(st, 2), 2);
    EXPECT_EQ(sqlite3_column_int(st, 3), 1);
    EXPECT_EQ(sqlite3_column_int(st, 4), 1);
    EXPECT_EQ(sqlite3_column_int(st, 5), 7);
    sqlite3_finalize(st);
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

TEST(Store, ShowClosedKeepsEveryState) {
    TempDir dir;
    const std::string db_path = (dir.path / "scan.db").string();
    ResultSink sink(SinkOptions{.keep_closed = true}, nullptr, 0);
    sink.set_database(std::make_unique<SqliteWriter>(db_path, ScanRecord{}));
    const ResultRecord records[] = {
        make_record(0x01020304u, 1, PortState::closed, Reason::reset),
        make_record(0x01020304u, 2, PortState::filtered, Reason::port_unreach),
        make_record(0x01020304u, 65535, PortState::open, Reason::syn_ack),
    };
    sink.add(records, 3);
    sink.finish({});
    const std::set<Row> expected = {{"1.2.3.4", 1, "tcp", "closed", "reset"},
                                    {"1.2.3.4", 2, "tcp", "filtered", "port-unreach"},
                                    {"1.2.3.4", 65535, "tcp", "open", "syn-ack"}};
    EXPECT_EQ(read_rows(db_path), expected);
}

// UDP probes nothing answered: open|filtered (no-response) rows at the end,
// exactly the UDP keys of the shard that have no result; TCP and ICMP never.
TEST(Store, UnansweredUdpIsOpenFiltered) {
    const ProbeSlots slots = ProbeSlots::build(PortSet::from_ports({80}), PortSet::from_ports({53, 161}), true,
                                               [](std::uint16_t port) { return port == 161 ? 2u : 1u; });
    const ScanSpace space(TargetSet::from_intervals({{0x01020300u, 0x01020303u}}), slots, 9); // 4 hosts
    for (const bool sharded : {false, true}) {
        TempDir dir;
        const std::string db_path = (dir.path / "scan.db").string();
        ResultSink sink(SinkOptions{.keep_closed = true}, &space, 0);
        sink.set_database(std::make_unique<SqliteWriter>(db_path, ScanRecord{}));
        ResultRecord answered = make_record(0x01020301u, 53, PortState::open, Reason::udp_response);
        answered.proto = Proto::udp;
        ResultRecord closed = make_record(0x01020302u, 161, PortState::closed, Reason::port_unreach);
        closed.proto = Proto::udp;
        const ResultRecord records[] = {answered, closed};
        sink.add(records, 2);
        const IndexRange shard = sharded ? split_range({0, space.size()}, 1, 2) : IndexRange{0, space.size()};
        const std::uint64_t added = sink.add_unanswered_udp(shard, 1.0);
        sink.finish({});
        std::set<Row> expected = {{"1.2.3.1", 53, "udp", "open", "udp-response"}, {"1.2.3.2", 161, "udp", "closed", "port-unreach"}};
        std::uint64_t want_added = 0;
        for (std::uint32_t host = 0; host < 4; ++host)
            for (std::uint16_t port : {53, 161}) {
                const std::uint32_t address = 0x01020300u + host;
                if ((address == 0x01020301u && port == 53) || (address == 0x01020302u && port == 161)) continue;
                // The key's first slot decides which shard reports it.
                const std::uint64_t position = space.position_of(address, slots.first_slot_of(slots.key_index(Proto::udp, port)));
                if (position < shard.begin || position >= shard.end) continue;
                expected.insert({fmt::format("1.2.3.{}", host), port, "udp", "open|filtered", "no-response"});
                ++want_added;
            }
        EXPECT_EQ(added, want_added) << "sharded " << sharded;
        EXPECT_EQ(sink.open_filtered(), want_added);
        EXPECT_EQ(read_rows(db_path), expected) << "sharded " << sharded;
        if (!sharded) {
            EXPECT_EQ(want_added, 6u);
        }
    }
}

// ---------------------------------------------------------------- IPv6

IpAddress ip(const char* text) {
    const auto address = parse_ip(text);
    EXPECT_TRUE(address) << text;
    return address.value_or(IpAddress{});
}

ResultRecord make_record6(const char* address, std::uint16_t port, PortState state, Reason reason) {
    ResultRecord r = make_record(0, port, state, reason);
    r.set_address(ip(address));
    return r;
}

// IPv6 results have no dense index (until the scan space holds IPv6 targets)
// and go through the fallback hash set, with or without a bitmap beside it.
TEST(Store, DedupOfIpv6ThroughTheHashSet) {
    ScanSpace space(TargetSet::from_intervals({{0xc6130000u, 0xc61300ffu}}), PortSet::from_ports({22, 80}), 1);
    Deduplicator with_bitmap(&space);
    Deduplicator without_space(nullptr);
    ASSERT_NE(with_bitmap.shared_bitmap(), nullptr);
    for (Deduplicator* d : {&with_bitmap, &without_space}) {
        const std::uint64_t before = d->memory_bytes();
        const IpAddress a = ip("2001:db8:1::5"), b = ip("2001:db8:1::6");
        EXPECT_FALSE(d->seen(a, Proto::tcp, 80));
        EXPECT_TRUE(d->first_time(a, Proto::tcp, 80));
        EXPECT_FALSE(d->first_time(a, Proto::tcp, 80));
        EXPECT_TRUE(d->seen(a, Proto::tcp, 80));
        // Another address, protocol or port is another result.
        EXPECT_FALSE(d->seen(b, Proto::tcp, 80));
        EXPECT_FALSE(d->seen(a, Proto::udp, 80));
        EXPECT_FALSE(d->seen(a, Proto::tcp, 81));
        EXPECT_TRUE(d->first_time(a, Proto::udp, 80));
        EXPECT_TRUE(d->first_time(a, Proto::tcp, 81));
        EXPECT_TRUE(d->first_time(b, Proto::tcp, 80));
        // The high half counts: same low 64 bits, other prefix.
        EXPECT_TRUE(d->first_time(ip("2001:db8:2::5"), Proto::tcp, 80));
        EXPECT_GT(d->memory_bytes(), before);
    }
}

// An IPv6 address whose low 32 bits spell an IPv4 address of the scan is not
// that IPv4 address; an IPv4 address is one key whichever overload sees it.
TEST(Store, DedupKeepsTheFamiliesApart) {
    ScanSpace space(TargetSet::from_intervals({{0xc6130000u, 0xc61300ffu}}), PortSet::from_ports({80}), 1);
    for (const std::uint64_t limit : {512ull << 20, 0ull}) { // bitmap, then hash set only
        Deduplicator d(&space, limit);
        EXPECT_TRUE(d.first_time(0xc6130005u, Proto::tcp, 80));               // 198.19.0.5
        EXPECT_FALSE(d.seen(ip("2001:db8::c613:5"), Proto::tcp, 80));          // low 32 bits 0xc6130005
        EXPECT_TRUE(d.first_time(ip("2001:db8::c613:5"), Proto::tcp, 80));
        EXPECT_FALSE(d.first_time(ip("198.19.0.5"), Proto::tcp, 80));          // the same IPv4 result
        EXPECT_FALSE(d.first_time(ip("::ffff:198.19.0.5"), Proto::tcp, 80));   // mapped text: IPv4 too
        EXPECT_TRUE(d.first_time(ip("198.19.0.6"), Proto::tcp, 80));
        EXPECT_FALSE(d.first_time(0xc6130006u, Proto::tcp, 80));
        // Outside the scan space: exact through the IPv4 set, still one key.
        EXPECT_TRUE(d.first_time(ip("198.18.0.1"), Proto::tcp, 80));
        EXPECT_FALSE(d.first_time(0xc6120001u, Proto::tcp, 80));
    }
}

TEST(Store, SinkWritesBothFamiliesWithFamilyAndKey) {
    TempDir dir;
    const std::string db_path = (dir.path / "mixed.db").string();
    ScanSpace space(TargetSet::from_intervals({{0xc6130000u, 0xc61300ffu}}), PortSet::from_ports({22, 80}), 7);
    ResultSink sink(SinkOptions{.keep_closed = false}, &space, 1'700'000'000.0);
    sink.set_database(std::make_unique<SqliteWriter>(db_path, ScanRecord{.seed = 7}));
    const ResultRecord records[] = {
        make_record6("2001:db8::10", 80, PortState::open, Reason::syn_ack),
        make_record(0xc6130007u, 22, PortState::open, Reason::syn_ack),
        make_record6("2001:DB8:0:0:0:0:0:10", 80, PortState::open, Reason::syn_ack), // duplicate, other text
        make_record6("2001:db8::9", 22, PortState::open, Reason::syn_ack),
        make_record6("2001:db8::9", 80, PortState::closed, Reason::reset), // not kept
        make_record(0xc6130005u, 80, PortState::open, Reason::syn_ack),
    };
    sink.add(records, std::size(records));
    EXPECT_TRUE(sink.answered(ip("2001:db8::9"), Proto::tcp, 80)) << "answered, even though not kept";
    EXPECT_FALSE(sink.answered(ip("2001:db8::9"), Proto::tcp, 443));
    EXPECT_TRUE(sink.answered(ip("198.19.0.7"), Proto::tcp, 22));
    EXPECT_TRUE(sink.answered(0xc6130007u, Proto::tcp, 22));
    sink.finish(ScanCounters{});
    EXPECT_EQ(sink.duplicates(), 1u);
    EXPECT_EQ(sink.open(), 4u);
    EXPECT_EQ(sink.closed(), 1u);

    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT ip, port, family, hex(ip_key) FROM results ORDER BY family, ip_key, port", -1, &st,
                                 nullptr),
              SQLITE_OK);
    std::vector<std::string> rows;
    while (sqlite3_step(st) == SQLITE_ROW)
        rows.push_back(fmt::format("{} {} {} {}", reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                                   sqlite3_column_int(st, 1), sqlite3_column_int(st, 2),
                                   reinterpret_cast<const char*>(sqlite3_column_text(st, 3))));
    sqlite3_finalize(st);
    sqlite3_close(db);
    // IPv4 first, then IPv6, each by number (::9 before ::10, unlike text).
    EXPECT_EQ(rows, (std::vector<std::string>{
                        "198.19.0.5 80 4 C6130005",
                        "198.19.0.7 22 4 C6130007",
                        "2001:db8::9 22 6 20010DB8000000000000000000000009",
                        "2001:db8::10 80 6 20010DB8000000000000000000000010",
                    }));
}

TEST(Store, UncreatableDatabaseNamesThePath) {
    try {
        SqliteWriter writer("/nonexistent-dir/x/scan.db", ScanRecord{});
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/x/scan.db"), std::string::npos) << e.what();
    }
}


// ---------------------------------------------------------------- services (scan --service)

std::vector<std::string> query(const std::string& db_path, const char* sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK) << sql << ": " << sqlite3_errmsg(db);
    std::vector<std::string> rows;
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        std::string row;
        for (int c = 0; c < sqlite3_column_count(st); ++c) {
            const auto* text = sqlite3_column_text(st, c);
            row += (c ? "|" : "") + (text ? std::string(reinterpret_cast<const char*>(text)) : std::string("NULL"));
        }
        rows.push_back(row);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rows;
}

ServiceResult tls_service(std::string_view address, std::uint16_t port) {
    ServiceResult s;
    s.address = *parse_ip(address);
    s.port = port;
    s.seen_at_unix = 1'700'000'001.25;
    s.name = "http";
    s.product = "nginx";
    s.cpes = {"cpe:/a:igor_sysoev:nginx"};
    s.tunnel = "ssl";
    s.probe = "GetRequest";
    s.banner = {'H', 'T', 0, 0xff};
    TlsInfo t;
    t.version = "TLSv1.3";
    t.cipher = "TLS_AES_128_GCM_SHA256";
    t.has_certificate = true;
    t.subject = "CN = x";
    t.issuer = "CN = ca";
    t.san_dns = {"x", "y"};
    t.san_ip = {"2001:db8::1"};
    t.not_before = "2026-01-02T03:04:05Z";
    t.not_after = "2027-01-02T03:04:05Z";
    t.sha256 = std::string(64, 'f');
    t.key_type = "EC";
    t.key_bits = 256;
    s.tls = t;
    return s;
}

TEST(StoreServices, RowsOfBothTablesWithAddressColumns) {
    TempDir dir;
    const std::string db_path = (dir.path / "svc.db").string();
    {
        ResultSink sink(SinkOptions{}, nullptr, 1'700'000'000.0);
        sink.set_database(std::make_unique<SqliteWriter>(db_path, ScanRecord{.seed = 1}));
        const ResultRecord records[] = {make_record(0xc6130007u, 443, PortState::open, Reason::syn_ack)};
        sink.add(records, 1);
        sink.add_service(tls_service("198.19.0.7", 443));
        ServiceResult ssh;
        ssh.address = *parse_ip("2001:db8::9");
        ssh.port = 22;
        ssh.seen_at_unix = 1'700'000'002;
        ssh.name = "ssh";
        ssh.method = ServiceMethod::table;
        ssh.confidence = 3;
        sink.add_service(ssh);
        sink.add_service(ssh); // again: one row
        EXPECT_EQ(sink.services(), 2u);
        EXPECT_EQ(sink.duplicate_services(), 1u);
        sink.finish(ScanCounters{});
    }
    EXPECT_EQ(query(db_path, "SELECT scan_id, ip, family, hex(ip_key), port, proto, name, product, version, info, hostname, ostype, "
                             "devicetype, cpe, method, confidence, soft, tunnel, probe, hex(banner), seen_at, after_result "
                             "FROM services ORDER BY family, ip_key"),
              (std::vector<std::string>{
                  "1|198.19.0.7|4|C6130007|443|tcp|http|nginx|NULL|NULL|NULL|NULL|NULL|[\"cpe:/a:igor_sysoev:nginx\"]|probed|10|0|"
                  "ssl|GetRequest|485400FF|1700000001.25|1",
                  "1|2001:db8::9|6|20010DB8000000000000000000000009|22|tcp|ssh|NULL|NULL|NULL|NULL|NULL|NULL|[]|table|3|0|NULL|NULL|"
                  "|1700000002.0|1", // hex(NULL) is empty
              }));
    EXPECT_EQ(query(db_path, "SELECT scan_id, ip, family, hex(ip_key), port, proto, version, cipher, subject, issuer, san_dns, san_ip, "
                             "not_before, not_after, sha256, key_type, key_bits, self_signed, seen_at FROM tls"),
              (std::vector<std::string>{"1|198.19.0.7|4|C6130007|443|tcp|TLSv1.3|TLS_AES_128_GCM_SHA256|CN = x|CN = ca|[\"x\",\"y\"]|"
                                        "[\"2001:db8::1\"]|2026-01-02T03:04:05Z|2027-01-02T03:04:05Z|" +
                                        std::string(64, 'f') + "|EC|256|0|1700000001.25"}));
}

TEST(StoreServices, WriterIgnoresASecondRowForThePort) {
    TempDir dir;
    const std::string db_path = (dir.path / "svc.db").string();
    {
        SqliteWriter writer(db_path, ScanRecord{});
        writer.insert_service(tls_service("198.19.0.7", 443));
        ServiceResult other = tls_service("198.19.0.7", 443);
        other.name = "other";
        writer.insert_service(other);
        writer.finish(ScanCounters{});
    }
    EXPECT_EQ(query(db_path, "SELECT name FROM services"), (std::vector<std::string>{"http"}));
    EXPECT_EQ(query(db_path, "SELECT count(*) FROM tls"), (std::vector<std::string>{"1"}));
}

TEST(StoreServices, OldDatabaseGetsTheTablesOnResume) {
    TempDir dir;
    const std::string db_path = (dir.path / "old.db").string();
    // A database as wirespeed wrote it before scan --service: no services or tls table.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
    std::string schema = SqliteWriter::schema_sql();
    schema = schema.substr(0, schema.find("CREATE TABLE IF NOT EXISTS services"));
    ASSERT_EQ(sqlite3_exec(db, schema.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "INSERT INTO scans(id, started_at, seed, targets, ports) VALUES(1, 'x', 1, 't', '443')", nullptr,
                           nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
    EXPECT_EQ(query(db_path, "SELECT count(*) FROM sqlite_master WHERE name IN ('services', 'tls')"), (std::vector<std::string>{"0"}));
    {
        SqliteWriter writer(db_path, std::int64_t{1});
        writer.insert_service(tls_service("198.19.0.7", 443));
        writer.finish(ScanCounters{});
    }
    EXPECT_EQ(query(db_path, "SELECT scan_id, ip, port, name FROM services"), (std::vector<std::string>{"1|198.19.0.7|443|http"}));
}

} // namespace
} // namespace ws
