#include "wirespeed/result_sink.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <atomic>
#include <unordered_set>

#include <fmt/format.h>

#include "wirespeed/address.hpp"
#include "wirespeed/error.hpp"
#include "wirespeed/scan_space.hpp"
#include "wirespeed/service_result.hpp"

#include "results_schema.hpp"

namespace ws {

// ---------------------------------------------------------------- dedup

namespace {

// An IPv6 result key: the whole address, the protocol and the port, compared
// field by field, so no two distinct keys can be equal (unlike a packed or
// truncated form).
struct Ipv6Key {
    uint128 address;
    Proto proto;
    std::uint16_t port;
    friend bool operator==(const Ipv6Key&, const Ipv6Key&) = default;
};

// murmur3's 64-bit finalizer over both halves: replies cluster in a few
// prefixes and differ in the low bits, and every bit must reach the bucket.
struct Ipv6KeyHash {
    static std::uint64_t mix(std::uint64_t h) noexcept {
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ull;
        h ^= h >> 33;
        return h;
    }
    std::size_t operator()(const Ipv6Key& k) const noexcept {
        const std::uint64_t tail = (std::uint64_t(k.proto) << 16) | k.port;
        return mix(mix(std::uint64_t(k.address >> 64) ^ tail) ^ std::uint64_t(k.address));
    }
};

std::uint64_t ipv4_key(std::uint32_t address, Proto proto, std::uint16_t port) noexcept {
    return (std::uint64_t{address} << 24) | (std::uint64_t(proto) << 16) | port;
}

} // namespace

struct Deduplicator::Impl {
    const ScanSpace* space = nullptr;
    std::vector<std::uint64_t> bits;                     // dense-index bitmap, when it fits
    std::unordered_set<std::uint64_t> seen;              // IPv4 otherwise: ipv4_key()
    std::unordered_set<Ipv6Key, Ipv6KeyHash> seen_ipv6; // IPv6 otherwise

    // The bitmap's index of a key, or UINT64_MAX when it has none (no bitmap,
    // or a key outside the scan space: a validated reply from an earlier scan
    // with the same cookie key still gets exact dedup through the sets).
    template <typename Address>
    std::uint64_t bit_index(Address address, Proto proto, std::uint16_t port) const noexcept {
        return bits.empty() ? UINT64_MAX : space->dense_index(address, proto, port);
    }
    bool test_and_set(std::uint64_t index) noexcept {
        std::uint64_t& word = bits[index >> 6];
        const std::uint64_t bit = 1ull << (index & 63);
        const bool first = (word & bit) == 0;
        if (first) std::atomic_ref<std::uint64_t>(word).store(word | bit, std::memory_order_relaxed);
        return first;
    }
    bool test(std::uint64_t index) const noexcept { return (bits[index >> 6] >> (index & 63)) & 1; }
};

Deduplicator::Deduplicator(const ScanSpace* space, std::uint64_t bitmap_limit_bytes) : impl_(std::make_unique<Impl>()) {
    impl_->space = space;
    if (space && space->keys() / 8 <= bitmap_limit_bytes) impl_->bits.assign((space->keys() + 63) / 64, 0);
}

Deduplicator::~Deduplicator() = default;

bool Deduplicator::first_time(std::uint32_t address, Proto proto, std::uint16_t port) {
    const std::uint64_t index = impl_->bit_index(address, proto, port);
    if (index != UINT64_MAX) return impl_->test_and_set(index);
    return impl_->seen.insert(ipv4_key(address, proto, port)).second;
}

bool Deduplicator::seen(std::uint32_t address, Proto proto, std::uint16_t port) const {
    const std::uint64_t index = impl_->bit_index(address, proto, port);
    if (index != UINT64_MAX) return impl_->test(index);
    return impl_->seen.count(ipv4_key(address, proto, port)) != 0;
}

bool Deduplicator::first_time(IpAddress address, Proto proto, std::uint16_t port) {
    // IPv4 through the uint32_t path: one key per result whichever overload saw it.
    if (address.is_ipv4()) return first_time(address.ipv4(), proto, port);
    const std::uint64_t index = impl_->bit_index(address, proto, port);
    if (index != UINT64_MAX) return impl_->test_and_set(index);
    return impl_->seen_ipv6.insert(Ipv6Key{address.bits, proto, port}).second;
}

bool Deduplicator::seen(IpAddress address, Proto proto, std::uint16_t port) const {
    if (address.is_ipv4()) return seen(address.ipv4(), proto, port);
    const std::uint64_t index = impl_->bit_index(address, proto, port);
    if (index != UINT64_MAX) return impl_->test(index);
    return impl_->seen_ipv6.count(Ipv6Key{address.bits, proto, port}) != 0;
}

const std::uint64_t* Deduplicator::shared_bitmap() const noexcept {
    return impl_->bits.empty() ? nullptr : impl_->bits.data();
}

std::uint64_t Deduplicator::memory_bytes() const noexcept {
    // Per entry: the key plus a node's next pointer and cached hash, rounded.
    return impl_->bits.size() * 8 + impl_->seen.size() * 32 + impl_->seen_ipv6.size() * 48;
}

// ---------------------------------------------------------------- SQLite

namespace {

[[noreturn]] void sqlite_fail(sqlite3* db, const std::string& path, const std::string& what) {
    throw IoError(fmt::format("database error on \"{}\": {}: {}", path, what, db ? sqlite3_errmsg(db) : "out of memory"));
}

std::string iso_now() {
    char buf[32];
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS scans (
  id INTEGER PRIMARY KEY,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  status TEXT NOT NULL DEFAULT 'running',
  seed INTEGER NOT NULL,
  targets TEXT NOT NULL,
  ports TEXT NOT NULL,
  shard TEXT,
  rate INTEGER,
  probes INTEGER,
  config TEXT,
  sent INTEGER, replies INTEGER, open INTEGER, closed INTEGER, filtered INTEGER,
  duplicates INTEGER, drops INTEGER, duration_s REAL
);
CREATE TABLE IF NOT EXISTS checkpoints (
  scan_id INTEGER PRIMARY KEY REFERENCES scans(id),
  fingerprint TEXT NOT NULL,
  seed INTEGER NOT NULL,
  cookie_k0 INTEGER NOT NULL,
  cookie_k1 INTEGER NOT NULL,
  slots TEXT NOT NULL,
  updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
  scan_id INTEGER NOT NULL REFERENCES scans(id),
  ip TEXT NOT NULL,
  port INTEGER NOT NULL,
  proto TEXT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT NOT NULL,
  ttl INTEGER NOT NULL,
  window INTEGER NOT NULL,
  seen_at REAL NOT NULL,
  data BLOB,
  -- ip is format_ip() text (a dotted quad, or RFC 5952 IPv6); family is 4 or 6;
  -- ip_key is the address in network byte order (4 bytes for IPv4, 16 for IPv6).
  -- ORDER BY family, ip_key sorts IPv4 before IPv6, each numerically.
  family INTEGER NOT NULL DEFAULT 4,
  ip_key BLOB
);
CREATE TABLE IF NOT EXISTS services (
  scan_id INTEGER NOT NULL REFERENCES scans(id),
  ip TEXT NOT NULL,
  family INTEGER NOT NULL,
  ip_key BLOB NOT NULL,
  port INTEGER NOT NULL,
  proto TEXT NOT NULL,
  name TEXT NOT NULL,
  product TEXT, version TEXT, info TEXT, hostname TEXT, ostype TEXT, devicetype TEXT,
  cpe TEXT NOT NULL DEFAULT '[]',
  method TEXT NOT NULL,
  confidence INTEGER NOT NULL,
  soft INTEGER NOT NULL DEFAULT 0,
  tunnel TEXT,
  probe TEXT,
  banner BLOB,
  seen_at REAL NOT NULL,
  after_result INTEGER NOT NULL DEFAULT 0,
  UNIQUE(scan_id, ip, port, proto)
);
CREATE TABLE IF NOT EXISTS tls (
  scan_id INTEGER NOT NULL REFERENCES scans(id),
  ip TEXT NOT NULL,
  family INTEGER NOT NULL,
  ip_key BLOB NOT NULL,
  port INTEGER NOT NULL,
  proto TEXT NOT NULL DEFAULT 'tcp',
  version TEXT, cipher TEXT,
  subject TEXT, issuer TEXT,
  san_dns TEXT, san_ip TEXT,
  not_before TEXT, not_after TEXT,
  sha256 TEXT,
  key_type TEXT, key_bits INTEGER, self_signed INTEGER,
  seen_at REAL NOT NULL,
  UNIQUE(scan_id, ip, port, proto)
);
)sql";

} // namespace

const char* SqliteWriter::schema_sql() noexcept { return schema; }

void SqliteWriter::open_database() {
    if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
        std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
        if (db_ && sqlite3_system_errno(db_) != 0) msg += fmt::format(" ({})", std::strerror(sqlite3_system_errno(db_)));
        sqlite3_close(db_);
        db_ = nullptr;
        throw IoError(fmt::format("cannot open database \"{}\": {}", path_, msg));
    }
    // A throw below leaves the constructor, so no destructor would close the
    // connection: close it here.
    try {
        sqlite3_busy_timeout(db_, 5000);
        // SQLite opens a file it may not write read-only without a word; say so
        // here rather than with the first failing statement.
        if (sqlite3_db_readonly(db_, "main") == 1)
            throw IoError(fmt::format("cannot write database \"{}\": it is read-only (no write permission or a read-only file system)", path_));
        exec("PRAGMA journal_mode=WAL");
        exec("PRAGMA synchronous=NORMAL");
        exec(schema);
        // Databases written before UDP answers kept their bytes, or before IPv6:
        // add those columns, so they can be resumed and merged with newer ones.
        store::upgrade_results_table(db_, path_);
    } catch (...) {
        sqlite3_close(db_);
        db_ = nullptr;
        throw;
    }
}

void SqliteWriter::prepare_insert() {
    if (sqlite3_prepare_v2(db_,
                           "INSERT INTO results(scan_id, ip, port, proto, state, reason, ttl, window, seen_at, data, family, ip_key) "
                           "VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &insert_, nullptr) != SQLITE_OK)
        sqlite_fail(db_, path_, "prepare results insert");
    sqlite3_bind_int64(insert_, 1, scan_id_);
    // A resumed scan's services come after every result it already has.
    sqlite3_stmt* last = nullptr;
    if (sqlite3_prepare_v2(db_, "SELECT coalesce(max(rowid), 0) FROM results", -1, &last, nullptr) != SQLITE_OK)
        sqlite_fail(db_, path_, "prepare results rowid query");
    if (sqlite3_step(last) == SQLITE_ROW) last_result_rowid_ = sqlite3_column_int64(last, 0);
    sqlite3_finalize(last);
    prepare_service_inserts();
}

void SqliteWriter::prepare_service_inserts() {
    if (sqlite3_prepare_v2(db_, store::service_insert_sql, -1, &insert_service_, nullptr) != SQLITE_OK)
        sqlite_fail(db_, path_, "prepare services insert");
    if (sqlite3_prepare_v2(db_, store::tls_insert_sql, -1, &insert_tls_, nullptr) != SQLITE_OK)
        sqlite_fail(db_, path_, "prepare tls insert");
}

void SqliteWriter::insert_service(const ServiceResult& service) {
    begin();
    store::bind_service(insert_service_, scan_id_, service, last_result_rowid_);
    int rc = sqlite3_step(insert_service_);
    sqlite3_reset(insert_service_);
    if (rc != SQLITE_DONE) sqlite_fail(db_, path_, "insert service");
    if (!service.tls) return;
    store::bind_tls(insert_tls_, scan_id_, service);
    rc = sqlite3_step(insert_tls_);
    sqlite3_reset(insert_tls_);
    if (rc != SQLITE_DONE) sqlite_fail(db_, path_, "insert tls");
}

SqliteWriter::SqliteWriter(const std::string& path, const ScanRecord& scan) : path_(path) {
    open_database();
    sqlite3_stmt* scan_insert = nullptr;
    if (sqlite3_prepare_v2(db_,
                           "INSERT INTO scans(started_at, seed, targets, ports, shard, rate, probes, config) "
                           "VALUES(?,?,?,?,?,?,?,?)",
                           -1, &scan_insert, nullptr) != SQLITE_OK)
        sqlite_fail(db_, path_, "prepare scans insert");
    const std::string started = iso_now();
    sqlite3_bind_text(scan_insert, 1, started.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(scan_insert, 2, std::int64_t(scan.seed));
    sqlite3_bind_text(scan_insert, 3, scan.targets.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(scan_insert, 4, scan.ports.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(scan_insert, 5, scan.shard.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(scan_insert, 6, std::int64_t(scan.rate));
    sqlite3_bind_int64(scan_insert, 7, std::int64_t(scan.probes));
    sqlite3_bind_text(scan_insert, 8, scan.config_json.c_str(), -1, SQLITE_TRANSIENT);
    const int rc = sqlite3_step(scan_insert);
    sqlite3_finalize(scan_insert);
    if (rc != SQLITE_DONE) sqlite_fail(db_, path_, "insert scans row");
    scan_id_ = sqlite3_last_insert_rowid(db_);
    prepare_insert();
}

SqliteWriter::SqliteWriter(const std::string& path, std::int64_t resume_scan_id)
    : scan_id_(resume_scan_id), resumed_(true), path_(path) {
    open_database();
    try {
        // Rows inserted by hand with the old column list have no ip_key; the
        // resume reads every row anyway (replay), so one more pass is cheap.
        store::fill_missing_ip_keys(db_, path_);
        exec(fmt::format("UPDATE scans SET status='running', finished_at=NULL WHERE id={}", scan_id_).c_str());
        prepare_insert();
    } catch (...) { // the constructor fails: no destructor will close the connection
        sqlite3_close(db_);
        db_ = nullptr;
        throw;
    }
}

void SqliteWriter::record_arguments(const std::string& config_json) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, "UPDATE scans SET config=? WHERE id=?", -1, &st, nullptr) != SQLITE_OK)
        sqlite_fail(db_, path_, "prepare scans config update");
    sqlite3_bind_text(st, 1, config_json.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, scan_id_);
    const int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) sqlite_fail(db_, path_, "update scans config");
}

void SqliteWriter::checkpoint(const std::string& fingerprint, std::uint64_t seed, std::uint64_t k0, std::uint64_t k1,
                              const std::string& slots, double now_unix) {
    begin();
    // Written every ~100 ms for the whole scan: prepared once.
    if (!checkpoint_ &&
        sqlite3_prepare_v2(db_,
                           "INSERT OR REPLACE INTO checkpoints(scan_id, fingerprint, seed, cookie_k0, cookie_k1, slots, updated_at) "
                           "VALUES(?,?,?,?,?,?,?)",
                           -1, &checkpoint_, nullptr) != SQLITE_OK)
        sqlite_fail(db_, path_, "prepare checkpoint");
    sqlite3_stmt* st = checkpoint_;
    sqlite3_bind_int64(st, 1, scan_id_);
    sqlite3_bind_text(st, 2, fingerprint.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, std::int64_t(seed));
    sqlite3_bind_int64(st, 4, std::int64_t(k0));
    sqlite3_bind_int64(st, 5, std::int64_t(k1));
    sqlite3_bind_text(st, 6, slots.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 7, now_unix);
    const int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) sqlite_fail(db_, path_, "write checkpoint");
    checkpointed_ = true;
}

SqliteWriter::~SqliteWriter() {
    if (db_) {
        if (in_transaction_) sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
        // Destroyed before finish() and before any checkpoint (an output that
        // cannot be created, a failing bring-up): nothing a resume could
        // continue, so the row must not stay "running" (a killed scan).
        if (!finished_ && !checkpointed_ && !resumed_) {
            const std::string sql =
                fmt::format("UPDATE scans SET status='failed', finished_at='{}' WHERE id={} AND status='running'", iso_now(), scan_id_);
            sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
        }
        sqlite3_finalize(insert_);
        sqlite3_finalize(checkpoint_);
        sqlite3_finalize(insert_service_);
        sqlite3_finalize(insert_tls_);
        sqlite3_close(db_);
    }
}

void SqliteWriter::exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "unknown error";
        sqlite3_free(err);
        throw IoError(fmt::format("database error on \"{}\": {}", path_, msg));
    }
}

void SqliteWriter::insert(const ResultRecord& record, double seen_at_unix, std::span<const std::uint8_t> data) {
    begin();
    const store::IpColumns ip = store::ip_columns(record_address(record));
    const auto proto = to_string(record.proto);
    const auto state = to_string(record.state);
    const auto reason = to_string(record.reason);
    sqlite3_bind_text(insert_, 2, ip.text, ip.text_len, SQLITE_TRANSIENT);
    sqlite3_bind_int(insert_, 3, record.port);
    sqlite3_bind_text(insert_, 4, proto.data(), int(proto.size()), SQLITE_STATIC);
    sqlite3_bind_text(insert_, 5, state.data(), int(state.size()), SQLITE_STATIC);
    sqlite3_bind_text(insert_, 6, reason.data(), int(reason.size()), SQLITE_STATIC);
    sqlite3_bind_int(insert_, 7, record.ttl);
    sqlite3_bind_int(insert_, 8, record.window);
    sqlite3_bind_double(insert_, 9, seen_at_unix);
    if (data.empty()) sqlite3_bind_null(insert_, 10);
    else sqlite3_bind_blob(insert_, 10, data.data(), int(data.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int(insert_, 11, ip.family);
    sqlite3_bind_blob(insert_, 12, ip.key().data(), int(ip.key().size()), SQLITE_TRANSIENT);
    const int rc = sqlite3_step(insert_);
    sqlite3_reset(insert_);
    if (rc != SQLITE_DONE) sqlite_fail(db_, path_, "insert result");
    last_result_rowid_ = sqlite3_last_insert_rowid(db_);
}

void SqliteWriter::begin() {
    if (in_transaction_) return;
    exec("BEGIN");
    in_transaction_ = true;
}

void SqliteWriter::commit() {
    if (!in_transaction_) return;
    exec("COMMIT");
    in_transaction_ = false;
}

void SqliteWriter::finish(const ScanCounters& c) {
    finished_ = true;
    commit();
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_,
                           "UPDATE scans SET finished_at=?, status=?, sent=?, replies=?, open=?, closed=?, "
                           "filtered=?, duplicates=?, drops=?, duration_s=? WHERE id=?",
                           -1, &st, nullptr) != SQLITE_OK)
        sqlite_fail(db_, path_, "prepare scans update");
    const std::string finished = iso_now();
    sqlite3_bind_text(st, 1, finished.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, c.status.c_str(), -1, SQLITE_TRANSIENT);
    const std::uint64_t values[] = {c.sent, c.replies, c.open, c.closed, c.filtered, c.duplicates, c.drops};
    for (int i = 0; i < 7; ++i) sqlite3_bind_int64(st, 3 + i, std::int64_t(values[i]));
    sqlite3_bind_double(st, 10, c.duration_s);
    sqlite3_bind_int64(st, 11, scan_id_);
    const int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) sqlite_fail(db_, path_, "update scans row");
    exec("CREATE INDEX IF NOT EXISTS results_ip_port ON results(ip, port)");
}

// ---------------------------------------------------------------- sink

// The services kept so far, by (address, proto, port): one per open port, so
// a hash set of the keys actually seen is small.
struct ResultSink::ServiceKeys {
    struct Key {
        uint128 address;
        Proto proto;
        std::uint16_t port;
        friend bool operator==(const Key&, const Key&) = default;
    };
    struct Hash {
        std::size_t operator()(const Key& k) const noexcept {
            return Ipv6KeyHash{}(Ipv6Key{k.address, k.proto, k.port});
        }
    };
    std::unordered_set<Key, Hash> seen;
};

ResultSink::ResultSink(SinkOptions options, const ScanSpace* space, double start_unix)
    : options_(options), dedup_(space), start_unix_(start_unix), service_keys_(std::make_unique<ServiceKeys>()),
      space_(space) {}

bool ResultSink::first_service(const ServiceResult& s) {
    if (service_keys_->seen.insert(ServiceKeys::Key{s.address.bits, s.proto, s.port}).second) return true;
    ++duplicate_services_;
    return false;
}

void ResultSink::add_service(const ServiceResult& service) {
    if (!first_service(service)) return;
    ++services_;
    if (db_) db_->insert_service(service);
    for (auto& out : outputs_) out->write_service(service);
    if (++pending_ >= options_.batch_rows) flush();
}

void ResultSink::replay_service(const ServiceResult& service) {
    if (!first_service(service)) return;
    ++services_;
    for (auto& out : outputs_) out->write_service(service);
}

std::uint64_t ResultSink::add_unanswered_udp(IndexRange shard, double seen_at_unix) {
    if (!space_) return 0;
    const ProbeSlots& slots = space_->slots();
    const TargetSet& targets = space_->targets();
    const bool whole = shard.begin == 0 && shard.end == space_->size();
    std::uint64_t added = 0;
    for (std::uint32_t key = 0; key < slots.key_count(); ++key) {
        const ProbeSlot& k = slots.key(key);
        if (k.proto != Proto::udp) continue;
        for (std::uint64_t host = 0; host < targets.count(); ++host) {
            const IpAddress address = targets.address_at(host); // IPv4 hosts first, then IPv6
            if (!whole) { // only this shard's probes (a key's first payload decides)
                const std::uint64_t position = space_->position_of(address, slots.first_slot_of(key));
                if (position < shard.begin || position >= shard.end) continue;
            }
            if (!dedup_.first_time(address, Proto::udp, k.port)) continue;
            ResultRecord r{};
            r.set_address(address);
            r.port = k.port;
            r.proto = Proto::udp;
            r.state = PortState::open_filtered;
            r.reason = Reason::no_response;
            ++open_filtered_;
            ++added;
            if (db_) db_->insert(r, seen_at_unix);
            for (auto& out : outputs_) out->write(r, seen_at_unix, {});
            ++rows_;
            if (++pending_ >= options_.batch_rows) flush();
        }
    }
    return added;
}

ResultSink::~ResultSink() = default;

void ResultSink::add(const ResultRecord* records, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) add_one(records[i], {});
}

void ResultSink::add(const ResultWithData* results, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i)
        add_one(results[i].record,
                {results[i].data, std::min<std::size_t>(results[i].data_len, ResultWithData::max_data)});
}

void ResultSink::add_one(const ResultRecord& r, std::span<const std::uint8_t> data) {
    const bool first = dedup_.first_time(record_address(r), r.proto, r.port);
    if (reply_hook_) reply_hook_(r, first);
    if (!first) {
        ++duplicates_;
        return;
    }
    count_state(r.state);
    if (r.state != PortState::open && r.state != PortState::up && !options_.keep_closed) return;
    const double seen_at = start_unix_ + r.elapsed_ms / 1000.0;
    if (db_) db_->insert(r, seen_at, data);
    for (auto& out : outputs_) out->write(r, seen_at, data);
    ++rows_;
    if (++pending_ >= options_.batch_rows) flush();
}

void ResultSink::count_state(PortState state) noexcept {
    switch (state) {
    case PortState::open: ++open_; break;
    case PortState::closed: ++closed_; break;
    case PortState::filtered: ++filtered_; break;
    case PortState::up: ++up_; break;
    case PortState::open_filtered: ++open_filtered_; break;
    }
}

void ResultSink::replay(const ResultRecord& r, double seen_at_unix, std::span<const std::uint8_t> data) {
    if (!dedup_.first_time(record_address(r), r.proto, r.port)) return;
    count_state(r.state);
    for (auto& out : outputs_) out->write(r, seen_at_unix, data);
    ++rows_;
}

void ResultSink::flush() {
    pending_ = 0;
    if (db_) db_->commit();
    for (auto& out : outputs_) out->flush();
}

void ResultSink::finish(ScanCounters counters) {
    counters.open = open_;
    counters.closed = closed_;
    counters.filtered = filtered_;
    counters.duplicates = duplicates_;
    pending_ = 0;
    // Every output is finished (trailer, close, rename) even when one fails;
    // a failed output makes the scan "failed" in its scans row too, so the
    // database never says complete about a run that exits 2.
    std::string error = outputs_error_;
    if (!outputs_finished_) {
        try {
            finish_outputs();
        } catch (const std::exception& e) {
            error = e.what();
        }
    }
    if (!error.empty()) counters.status = "failed";
    status_ = counters.status;
    if (db_) {
        try {
            db_->finish(counters);
        } catch (const std::exception& e) {
            status_ = "failed";
            if (error.empty()) error = e.what();
        }
    }
    if (!error.empty()) throw IoError(error);
}

void ResultSink::finish_outputs() {
    if (outputs_finished_) return;
    outputs_finished_ = true;
    for (auto& out : outputs_) {
        try {
            out->finish();
        } catch (const std::exception& e) {
            if (outputs_error_.empty()) outputs_error_ = e.what();
        }
    }
    if (!outputs_error_.empty()) throw IoError(outputs_error_);
}

} // namespace ws
