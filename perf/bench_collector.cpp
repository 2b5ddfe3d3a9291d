// Collector throughput into SQLite: rows/s of three ways of storing the same
// N distinct open results (ResultRecord, record.hpp), side by side.
//
//   real       a producer thread (standing in for an RX lcore) enqueues into a
//              ws::dp::ResultRing with rte_ring_sp_enqueue_burst_elem, spinning
//              when the ring is full; a ws::dp::Collector drains it into a
//              ResultSink (exact dedup + SqliteWriter, batched transactions).
//              Timed from the first enqueue to stop_and_join() returning.
//   ceiling    the same rows straight into SqliteWriter: one prepared INSERT,
//              a COMMIT every 8192 rows (WAL, synchronous=NORMAL).
//   autocommit the seed project's pathology: one INSERT per row in autocommit
//              mode (WAL, synchronous=NORMAL), on a smaller N, scaled to rows/s.
//
// Every database is a fresh file; the row count is read back and checked.
//
// Each method runs R times (default 3), interleaved (ceiling, real,
// autocommit, ceiling, ...) so page-cache and WAL warm-up favour none; the
// table shows the median run and the min-max spread of rows/s.
//
//   build-perf/perf/bench_collector [--rows N] [--autocommit-rows M] [--dir DIR] [--repeat R]
#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_ring_elem.h>

#include "collector.hpp"
#include "port.hpp"
#include "wirespeed/record.hpp"
#include "wirespeed/result_sink.hpp"
#include "wirespeed/scan_space.hpp"
#include "wirespeed/targets.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// N distinct open results drawn from 198.19.0.0/16 x ports 1-P (host fastest),
// the layout a /16 multi-port lab scan produces.
std::vector<ws::ResultRecord> make_records(std::size_t n) {
    std::vector<ws::ResultRecord> records(n);
    for (std::size_t i = 0; i < n; ++i) {
        ws::ResultRecord& r = records[i];
        std::memset(&r, 0, sizeof r);
        r.set_ipv4(0xc6130000u + std::uint32_t(i & 0xffff));
        r.port = std::uint16_t(1 + i / 65536);
        r.elapsed_ms = std::uint32_t(i / 1000);
        r.window = 29200;
        r.proto = ws::Proto::tcp;
        r.state = ws::PortState::open;
        r.reason = ws::Reason::syn_ack;
        r.ttl = 64;
    }
    return records;
}

ws::ScanRecord scan_record(std::size_t n) {
    ws::ScanRecord s;
    s.seed = 1;
    s.targets = "198.19.0.0/16";
    s.ports = "1-" + std::to_string((n + 65535) / 65536);
    s.shard = "0/1";
    s.probes = n;
    return s;
}

std::int64_t count_rows(const std::string& path) {
    sqlite3* db = nullptr;
    std::int64_t rows = -1;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db, "SELECT COUNT(*), COUNT(DISTINCT ip || ':' || port) FROM results", -1, &st, nullptr) ==
                SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW) {
            rows = sqlite3_column_int64(st, 0);
            if (sqlite3_column_int64(st, 1) != rows) rows = -2; // duplicates would be a bug
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return rows;
}

void remove_db(const std::string& path) {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path + suffix);
}

struct Result {
    const char* method;
    std::size_t rows;
    double seconds;
    std::int64_t stored;
    std::string note;
};

// ---------------------------------------------------------------- (i) real path

Result run_real(const std::vector<ws::ResultRecord>& records, const std::string& path, int producer_cpu) {
    remove_db(path);
    const std::size_t n = records.size();
    // The sink's dedup needs the scan space to use its bitmap, as in a scan.
    const ws::ScanSpace space(ws::parse_targets("198.19.0.0/16"),
                              ws::parse_ports("1-" + std::to_string((n + 65535) / 65536)), 1);
    ws::ResultSink sink(ws::SinkOptions{}, &space, 1.7e9);
    sink.set_database(std::make_unique<ws::SqliteWriter>(path, scan_record(n)));
    ws::dp::ResultRing ring("wsperf_res", 1u << 16, int(rte_socket_id())); // the engine's ring size
    ws::dp::Collector collector({ring.get()}, sink);

    std::atomic<bool> go{false};
    std::uint64_t full_spins = 0;
    std::thread producer([&] {
        if (producer_cpu >= 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(producer_cpu, &set);
            pthread_setaffinity_np(pthread_self(), sizeof set, &set);
        }
        while (!go.load(std::memory_order_acquire)) rte_pause();
        constexpr unsigned burst = 32; // an RX burst's worth of results at most
        std::size_t i = 0;
        while (i < n) {
            const unsigned want = unsigned(std::min<std::size_t>(burst, n - i));
            const unsigned put = rte_ring_sp_enqueue_burst_elem(ring.get(), &records[i], sizeof(ws::ResultRecord), want,
                                                                nullptr);
            i += put;
            if (put < want) {
                ++full_spins;
                rte_pause();
            }
        }
    });

    collector.start();
    const auto t0 = Clock::now();
    go.store(true, std::memory_order_release);
    producer.join();
    const double enqueue_s = seconds_since(t0);
    collector.stop_and_join();
    const double seconds = seconds_since(t0);
    const std::uint64_t drained = collector.drained();
    sink.finish(ws::ScanCounters{}); // scans row + index: outside the timed region
    sink.set_database(nullptr);      // close the connection before counting
    char note[160];
    std::snprintf(note, sizeof note, "drained %llu, producer done after %.3f s, %llu ring-full spins",
                  static_cast<unsigned long long>(drained), enqueue_s, static_cast<unsigned long long>(full_spins));
    return {"real: ring -> Collector -> ResultSink", n, seconds, count_rows(path), note};
}

// ---------------------------------------------------------------- (ii) ceiling

Result run_ceiling(const std::vector<ws::ResultRecord>& records, const std::string& path) {
    remove_db(path);
    auto db = std::make_unique<ws::SqliteWriter>(path, scan_record(records.size()));
    const auto t0 = Clock::now();
    std::size_t pending = 0;
    for (const ws::ResultRecord& r : records) {
        db->insert(r, 1.7e9 + r.elapsed_ms / 1000.0);
        if (++pending == 8192) {
            db->commit();
            pending = 0;
        }
    }
    db->commit();
    const double seconds = seconds_since(t0);
    db->finish(ws::ScanCounters{});
    db.reset();
    return {"ceiling: SqliteWriter, COMMIT every 8192", records.size(), seconds, count_rows(path), ""};
}

// ---------------------------------------------------------------- (iii) autocommit

Result run_autocommit(const std::vector<ws::ResultRecord>& records, std::size_t n, const std::string& path) {
    remove_db(path);
    // The same schema, created by SqliteWriter; then a plain connection inserts
    // row by row with no explicit transaction.
    { ws::SqliteWriter schema(path, scan_record(n)); }
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
        std::fprintf(stderr, "bench_collector: cannot open %s\n", path.c_str());
        std::exit(1);
    }
    sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    sqlite3_exec(db, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr);
    sqlite3_stmt* insert = nullptr;
    sqlite3_prepare_v2(db,
                       "INSERT INTO results(scan_id, ip, port, proto, state, reason, ttl, window, seen_at) "
                       "VALUES(1,?,?,?,?,?,?,?,?)",
                       -1, &insert, nullptr);
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < n; ++i) {
        const ws::ResultRecord& r = records[i];
        char ip[16];
        const std::size_t ip_len = ws::format_ipv4(r.ipv4(), ip);
        sqlite3_bind_text(insert, 1, ip, int(ip_len), SQLITE_TRANSIENT);
        sqlite3_bind_int(insert, 2, r.port);
        sqlite3_bind_text(insert, 3, "tcp", 3, SQLITE_STATIC);
        sqlite3_bind_text(insert, 4, "open", 4, SQLITE_STATIC);
        sqlite3_bind_text(insert, 5, "syn-ack", 7, SQLITE_STATIC);
        sqlite3_bind_int(insert, 6, r.ttl);
        sqlite3_bind_int(insert, 7, r.window);
        sqlite3_bind_double(insert, 8, 1.7e9 + r.elapsed_ms / 1000.0);
        if (sqlite3_step(insert) != SQLITE_DONE) {
            std::fprintf(stderr, "bench_collector: insert failed: %s\n", sqlite3_errmsg(db));
            std::exit(1);
        }
        sqlite3_reset(insert);
    }
    const double seconds = seconds_since(t0);
    sqlite3_finalize(insert);
    sqlite3_close(db);
    return {"seed pathology: autocommit INSERT per row", n, seconds, count_rows(path), "scaled from the smaller N"};
}

} // namespace

int main(int argc, char** argv) {
    std::size_t rows = 1'000'000, autocommit_rows = 50'000, repeat = 3;
    std::string dir;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--rows" && i + 1 < argc) rows = std::stoull(argv[++i]);
        else if (a == "--autocommit-rows" && i + 1 < argc) autocommit_rows = std::stoull(argv[++i]);
        else if (a == "--dir" && i + 1 < argc) dir = argv[++i];
        else if (a == "--repeat" && i + 1 < argc) repeat = std::stoull(argv[++i]);
        else {
            std::fprintf(stderr, "usage: %s [--rows N] [--autocommit-rows M] [--dir DIR] [--repeat R]\n", argv[0]);
            return 1;
        }
    }
    if (rows == 0 || rows > 65536ull * 65535 || autocommit_rows == 0 || autocommit_rows > rows) {
        std::fprintf(stderr, "bench_collector: need 0 < autocommit-rows <= rows <= 65536 x 65535\n");
        return 1;
    }

    // EAL only for real rte_rings (no port, no hugepages). --lcores=0@0 pins
    // this thread, and the collector thread it spawns, to CPU 0, like the
    // engine's main lcore; the producer gets the next CPU, like an RX lcore.
    const std::string prefix = "--file-prefix=wsperf-" + std::to_string(getpid());
    std::vector<std::string> eal = {"bench_collector", "--no-huge", "-m", "256", "--no-shconf", "--no-pci",
                                    "--no-telemetry", prefix, "--log-level=*:warning", "--lcores=0@0"};
    std::vector<char*> eal_argv;
    for (auto& s : eal) eal_argv.push_back(s.data());
    eal_argv.push_back(nullptr);
    if (rte_eal_init(int(eal_argv.size() - 1), eal_argv.data()) < 0) {
        std::fprintf(stderr, "bench_collector: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    const int producer_cpu = cpus > 1 ? 1 : -1;

    const bool own_dir = dir.empty();
    if (own_dir) {
        char tmpl[] = "/tmp/wsperf-collector-XXXXXX";
        if (!mkdtemp(tmpl)) {
            std::perror("mkdtemp");
            return 1;
        }
        dir = tmpl;
    }
    std::filesystem::create_directories(dir);
    const auto records = make_records(rows);

    if (repeat == 0) repeat = 1;
    std::vector<std::vector<Result>> runs(3);
    int status = 0;
    try {
        for (std::size_t rep = 0; rep < repeat; ++rep) {
            runs[0].push_back(run_ceiling(records, dir + "/ceiling.db"));
            runs[1].push_back(run_real(records, dir + "/real.db", producer_cpu));
            runs[2].push_back(run_autocommit(records, autocommit_rows, dir + "/autocommit.db"));
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_collector: %s\n", e.what());
        return 1;
    }

    struct Row {
        Result median;
        double min_rate, max_rate;
    };
    std::vector<Row> table;
    for (auto& method : runs) {
        std::sort(method.begin(), method.end(), [](const Result& a, const Result& b) { return a.seconds < b.seconds; });
        Row row{method[method.size() / 2], 1e300, 0};
        for (const Result& r : method) {
            const double rate = double(r.rows) / r.seconds;
            row.min_rate = std::min(row.min_rate, rate);
            row.max_rate = std::max(row.max_rate, rate);
            if (r.stored != std::int64_t(r.rows)) row.median.stored = r.stored; // surface any mismatch
        }
        table.push_back(row);
    }
    const double ceiling = double(table[0].median.rows) / table[0].median.seconds;
    std::printf("collector -> SQLite (WAL, synchronous=NORMAL), databases in %s, median of %zu runs\n", dir.c_str(),
                repeat);
    std::printf("collector thread on CPU 0 (EAL main lcore's affinity), producer on CPU %d\n", producer_cpu);
    std::printf("%-42s %10s %9s %12s %9s %10s  %s\n", "method", "rows", "seconds", "rows/s", "vs ceil", "rows in db",
                "rows/s min-max");
    for (const Row& row : table) {
        const Result& r = row.median;
        const double rate = double(r.rows) / r.seconds;
        const bool ok = r.stored == std::int64_t(r.rows);
        if (!ok) status = 1;
        std::printf("%-42s %10zu %9.3f %12.0f %8.3fx %10lld  %.0f-%.0f%s\n", r.method, r.rows, r.seconds, rate,
                    rate / ceiling, static_cast<long long>(r.stored), row.min_rate, row.max_rate,
                    ok ? "" : "  MISMATCH: rows lost or duplicated");
        if (!r.note.empty()) std::printf("    (%s)\n", r.note.c_str());
    }
    for (const char* name : {"/ceiling.db", "/real.db", "/autocommit.db"}) remove_db(dir + name);
    if (own_dir) std::filesystem::remove(dir);
    rte_eal_cleanup();
    return status;
}
