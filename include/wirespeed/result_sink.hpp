#pragma once
// The collector's back end: exact dedup with bounded memory, the state
// filter, and the writers (SQLite in WAL mode, list file). Single-threaded by
// design: exactly one collector thread owns it, so SQLite sees one connection
// and one writer, in batched transactions with prepared statements.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "wirespeed/record.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace ws {

class ScanSpace;
struct IndexRange;
struct ServiceResult; // wirespeed/service_result.hpp

// One output format (list, JSON, CSV, XML, grepable): one small interface;
// the formats' factories are in outputs.hpp (included at the end of this file).
class OutputWriter {
public:
    virtual ~OutputWriter() = default;
    // `data`: the first bytes of a UDP reply (empty otherwise).
    virtual void write(const ResultRecord& record, double seen_at_unix, std::span<const std::uint8_t> data) = 0;
    void write(const ResultRecord& record, double seen_at_unix) { write(record, seen_at_unix, {}); }
    // What service detection (scan --service) says about an open port; it
    // arrives after that port's write(). Formats without service fields ignore it.
    virtual void write_service(const ServiceResult&) {}
    virtual void flush() = 0;  // make what was written durable enough to read
    virtual void finish() = 0; // trailer, close
};

struct ScanRecord { // a row of the `scans` table
    std::uint64_t seed = 0;
    std::string targets, ports, shard, config_json;
    std::uint64_t rate = 0;
    std::uint64_t probes = 0; // planned probes
};

struct ScanCounters {
    std::uint64_t sent = 0, replies = 0, open = 0, closed = 0, filtered = 0, duplicates = 0, drops = 0;
    double duration_s = 0;
    std::string status = "complete"; // complete | interrupted | failed
};

// SQLite: results(scan_id, ip, port, proto, state, reason, ttl, window, seen_at, data,
// family, ip_key), services(...) and tls(...) (scan --service; one row per
// (scan_id, ip, port, proto) each) and scans(...); ip is format_ip() text of
// either family, and ORDER BY family, ip_key sorts addresses (see
// src/store/results_schema.hpp, which documents the services and tls columns).
// Everything through prepared statements; one transaction per batch.
class SqliteWriter {
public:
    // The CREATE TABLE IF NOT EXISTS statements of a wirespeed database
    // (scans, checkpoints, results), for every writer of that schema.
    static const char* schema_sql() noexcept;
    SqliteWriter(const std::string& path, const ScanRecord& scan);
    // Destroyed without finish() (an exception unwinding the engine): a new
    // scan that never wrote a checkpoint is marked "failed"; one with a
    // checkpoint stays "running" (as if killed: resumable), as does a resume.
    // Continues scan `resume_scan_id` of an existing database (--resume).
    SqliteWriter(const std::string& path, std::int64_t resume_scan_id);
    ~SqliteWriter();
    SqliteWriter(const SqliteWriter&) = delete;
    SqliteWriter& operator=(const SqliteWriter&) = delete;

    // Opens a transaction on demand; `data` (UDP reply bytes) goes to the BLOB column.
    void insert(const ResultRecord& record, double seen_at_unix, std::span<const std::uint8_t> data = {});
    // A services row, and a tls row when service.tls is set, in the open
    // transaction (opened on demand). A second service for the same (ip,
    // port, proto) of this scan is ignored (INSERT OR IGNORE on their UNIQUE).
    void insert_service(const ServiceResult& service);
    void commit();                                                // ends the open transaction, if any
    void finish(const ScanCounters& counters);                    // commit + scans row + index
    // The resume point, written in the open transaction so it commits
    // together with the results it covers.
    void checkpoint(const std::string& fingerprint, std::uint64_t seed, std::uint64_t k0, std::uint64_t k1,
                    const std::string& slots, double now_unix);
    std::int64_t scan_id() const noexcept { return scan_id_; }
    // --resume with options that may change (rate, outputs, ...): the scans
    // row records the arguments as they now are, for the next resume.
    void record_arguments(const std::string& config_json);

private:
    void open_database();
    void begin(); // opens a transaction unless one is open
    void prepare_insert();
    void prepare_service_inserts();
    void exec(const char* sql);
    ::sqlite3* db_ = nullptr;
    ::sqlite3_stmt* insert_ = nullptr;
    ::sqlite3_stmt* checkpoint_ = nullptr;
    ::sqlite3_stmt* insert_service_ = nullptr;
    ::sqlite3_stmt* insert_tls_ = nullptr;
    // The rowid of the newest results row: a services row records it
    // (after_result) so that export and resume interleave both as they came.
    std::int64_t last_result_rowid_ = 0;
    std::int64_t scan_id_ = 0;
    bool in_transaction_ = false;
    bool finished_ = false, checkpointed_ = false, resumed_ = false;
    std::string path_;
};

// The address a record holds, by its family: IPv6 only when the record says
// so; anything else (ipv4, or a record built before family existed) is the
// IPv4 address in addr[12..15], so IPv4 text stays what it always was.
inline IpAddress record_address(const ResultRecord& record) noexcept {
    return record.family == AddressFamily::ipv6 ? record.address() : IpAddress::from_ipv4(record.ipv4());
}

// Exact "seen before?" over (address, protocol, port): a bitmap over the
// scan's dense key index when it fits in `bitmap_limit_bytes` (keys/8 bytes),
// else hash sets of the keys actually seen (bounded by the replies): IPv4
// keys packed in 8 bytes, IPv6 keys (128-bit address, protocol, port) in a
// set of their own, so the two families can never collide.
class Deduplicator {
public:
    Deduplicator(const ScanSpace* space, std::uint64_t bitmap_limit_bytes = 512ull << 20);
    ~Deduplicator();
    bool first_time(std::uint32_t address, Proto proto, std::uint16_t port);
    bool seen(std::uint32_t address, Proto proto, std::uint16_t port) const; // no insert
    // Either family; an IPv4 address here is the same key as its uint32_t form.
    bool first_time(IpAddress address, Proto proto, std::uint16_t port);
    bool seen(IpAddress address, Proto proto, std::uint16_t port) const;
    std::uint64_t memory_bytes() const noexcept;
    // The bitmap over ScanSpace::dense_index, or nullptr when the scan is too
    // large for one. Other threads may read it (std::atomic_ref, relaxed) while
    // the owner sets bits: a bit seen late only costs a repeated probe.
    const std::uint64_t* shared_bitmap() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

struct SinkOptions {
    bool keep_closed = false;         // --show closed: keep closed and filtered too
    std::size_t batch_rows = 8192;    // commit at least this often (rows)
};

class ResultSink {
public:
    ResultSink(SinkOptions options, const ScanSpace* space, double start_unix);
    ~ResultSink();
    void set_database(std::unique_ptr<SqliteWriter> db) { db_ = std::move(db); }
    // Called for every validated reply, first or repeated (the canaries' view).
    void set_reply_hook(std::function<void(const ResultRecord&, bool first_time)> hook) { reply_hook_ = std::move(hook); }
    void add_output(std::unique_ptr<OutputWriter> out) { outputs_.push_back(std::move(out)); }

    void add(const ResultRecord* records, std::size_t count);
    void add(const ResultWithData* results, std::size_t count); // UDP answers with their bytes
    // Resume: a result committed by the interrupted run. It counts and is
    // written to the outputs again (they are recreated), but not to the database.
    void replay(const ResultRecord& record, double seen_at_unix, std::span<const std::uint8_t> data = {});
    // scan --service: what was identified on an open port. The collector
    // thread only, like add(). Written to the database (services and tls
    // tables, in the open batch) and to every output's write_service(); a
    // second result for the same (address, port, proto) is counted in
    // duplicate_services() and dropped.
    void add_service(const ServiceResult& service);
    // Resume: a service committed by the interrupted run, to the outputs only
    // (like replay()); it also makes a later add_service() for that port a duplicate.
    void replay_service(const ServiceResult& service);
    SqliteWriter* database() noexcept { return db_.get(); }
    // After a complete scan with --show closed: every UDP (address, port) of
    // `shard` that nothing answered, written as open|filtered (no-response).
    // Returns how many. Needs the space the sink was built with.
    std::uint64_t add_unanswered_udp(IndexRange shard, double seen_at_unix);
    void flush();                     // commit the open batch (timer-driven, ~100 ms); throws ws::IoError naming the file
    // Trailers and closes of every output (even after one fails); throws the
    // first error as ws::IoError. Once: finish() skips outputs already
    // finished, so the engine can finish them before writing the metadata.
    void finish_outputs();
    // finish_outputs() unless done, then the final commit and the scans row.
    // When an output or the database failed, the scans row says "failed"
    // (status() too) and the first error is thrown as ws::IoError naming the
    // file: the caller must exit 2 and report status().
    void finish(ScanCounters counters);
    const std::string& status() const noexcept { return status_; } // after finish()

    std::uint64_t open() const noexcept { return open_; }
    std::uint64_t closed() const noexcept { return closed_; }
    std::uint64_t filtered() const noexcept { return filtered_; }
    std::uint64_t up() const noexcept { return up_; } // hosts answering ICMP echo
    std::uint64_t open_filtered() const noexcept { return open_filtered_; }
    std::uint64_t duplicates() const noexcept { return duplicates_; }
    // Has (address, protocol, port) answered (any state, kept or not)? The collector thread only.
    bool answered(std::uint32_t address, Proto proto, std::uint16_t port) const { return dedup_.seen(address, proto, port); }
    bool answered(IpAddress address, Proto proto, std::uint16_t port) const { return dedup_.seen(address, proto, port); }
    const std::uint64_t* answered_bitmap() const noexcept { return dedup_.shared_bitmap(); }
    std::uint64_t rows() const noexcept { return rows_; }
    std::uint64_t services() const noexcept { return services_; }                 // kept (added or replayed)
    std::uint64_t duplicate_services() const noexcept { return duplicate_services_; }

private:
    void count_state(PortState state) noexcept;
    void add_one(const ResultRecord& record, std::span<const std::uint8_t> data);
    SinkOptions options_;
    Deduplicator dedup_;
    double start_unix_;
    std::unique_ptr<SqliteWriter> db_;
    std::vector<std::unique_ptr<OutputWriter>> outputs_;
    bool first_service(const ServiceResult& service);
    std::uint64_t open_ = 0, closed_ = 0, filtered_ = 0, up_ = 0, open_filtered_ = 0, duplicates_ = 0, rows_ = 0;
    std::uint64_t services_ = 0, duplicate_services_ = 0;
    struct ServiceKeys;
    std::unique_ptr<ServiceKeys> service_keys_; // (address, proto, port) of every service kept
    const ScanSpace* space_ = nullptr;
    std::size_t pending_ = 0;
    bool outputs_finished_ = false;
    std::string outputs_error_; // the first output that failed to finish
    std::function<void(const ResultRecord&, bool)> reply_hook_;
    std::string status_;
};

} // namespace ws

// The output factories (make_list_writer, ...), so that existing callers
// keep compiling with this header alone. outputs.hpp includes this header
// for OutputWriter; #pragma once makes the cycle harmless in either order.
#include "wirespeed/outputs.hpp"
