// Export (database -> output format, through the live writers) and merge
// (several databases -> one, results unique by (ip, port, proto)).
#include "wirespeed/export.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <system_error>

#include <fmt/format.h>

#include "wirespeed/address.hpp"
#include "wirespeed/error.hpp"
#include "wirespeed/outputs.hpp"
#include "wirespeed/ports.hpp"
#include "wirespeed/probe_slots.hpp"
#include "wirespeed/result_sink.hpp"
#include "wirespeed/resume.hpp"

#include "results_schema.hpp"

namespace ws {
namespace {

// ---------------------------------------------------------------- SQLite helpers

class Db {
public:
    Db(const std::string& path, int flags) : path_(path) {
        if (sqlite3_open_v2(path.c_str(), &handle_, flags, nullptr) != SQLITE_OK) {
            std::string msg = handle_ ? sqlite3_errmsg(handle_) : "out of memory";
            if (handle_ && sqlite3_system_errno(handle_) != 0) msg += fmt::format(" ({})", std::strerror(sqlite3_system_errno(handle_)));
            sqlite3_close(handle_);
            handle_ = nullptr;
            throw Error(fmt::format("cannot open database \"{}\": {}", path, msg));
        }
        sqlite3_busy_timeout(handle_, 5000);
    }
    ~Db() { sqlite3_close(handle_); }
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;
    sqlite3* get() const noexcept { return handle_; }
    const std::string& path() const noexcept { return path_; }
    void exec(const char* sql) {
        char* err = nullptr;
        if (sqlite3_exec(handle_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
            const std::string msg = err ? err : sqlite3_errmsg(handle_);
            sqlite3_free(err);
            throw IoError(fmt::format("database error on \"{}\": {}", path_, msg));
        }
    }

private:
    std::string path_;
    sqlite3* handle_ = nullptr;
};

class Statement {
public:
    // When the statement does not prepare because a table or column is
    // missing: "<prefix> \"PATH\": REASON"; for any other reason (not SQLite
    // at all, corrupt, unreadable, locked) SQLite's own message says why.
    Statement(const Db& db, const char* sql, std::string_view not_prepared_prefix) : db_(&db) {
        if (sqlite3_prepare_v2(db.get(), sql, -1, &handle_, nullptr) != SQLITE_OK) {
            const std::string_view msg = sqlite3_errmsg(db.get());
            if (msg.starts_with("no such table") || msg.starts_with("no such column"))
                throw Error(fmt::format("{} \"{}\": {}", not_prepared_prefix, db.path(), msg));
            throw Error(fmt::format("cannot read database \"{}\": {}", db.path(), msg));
        }
    }
    ~Statement() { sqlite3_finalize(handle_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    sqlite3_stmt* get() const noexcept { return handle_; }
    // SQLITE_ROW -> true, SQLITE_DONE -> false, anything else throws.
    bool step() {
        const int rc = sqlite3_step(handle_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        throw Error(fmt::format("database error on \"{}\": {}", db_->path(), sqlite3_errmsg(db_->get())));
    }
    void reset() {
        sqlite3_reset(handle_);
        sqlite3_clear_bindings(handle_);
    }

private:
    const Db* db_;
    sqlite3_stmt* handle_ = nullptr;
};

std::string column_text(sqlite3_stmt* st, int column) {
    const auto* p = sqlite3_column_text(st, column);
    return p ? std::string(reinterpret_cast<const char*>(p), std::size_t(sqlite3_column_bytes(st, column))) : std::string();
}

constexpr const char* not_wirespeed = "not a wirespeed database:";

// Opens an existing wirespeed database read-only: the file must exist, be
// SQLite, and hold the scans and results tables.
std::unique_ptr<Db> open_wirespeed_database(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) // the real cause: a missing file, or a directory we may not search
        throw Error(fmt::format("cannot open database \"{}\": {}", path, errno == ENOENT ? "no such file" : std::strerror(errno)));
    if (S_ISDIR(st.st_mode))
        throw Error(fmt::format("cannot open database \"{}\": is a directory", path));
    auto db = std::make_unique<Db>(path, SQLITE_OPEN_READONLY);
    Statement tables(*db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN ('scans','results')",
                     not_wirespeed);
    if (!tables.step() || sqlite3_column_int(tables.get(), 0) != 2)
        throw Error(fmt::format("{} \"{}\": it has no scans and results tables", not_wirespeed, path));
    return db;
}

// ---------------------------------------------------------------- export

// "2024-01-01T00:00:00Z" -> Unix seconds; 0 when empty or malformed.
double parse_iso_time(const std::string& text) {
    std::tm tm{};
    const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end != '\0') return 0;
    return double(timegm(&tm));
}

template <typename Enum, std::size_t N>
std::optional<Enum> enum_from_text(std::string_view text, const Enum (&values)[N]) {
    for (const Enum v : values)
        if (to_string(v) == text) return v;
    return std::nullopt;
}

constexpr Proto all_protos[] = {Proto::tcp, Proto::udp, Proto::icmp};
constexpr PortState all_states[] = {PortState::open, PortState::closed, PortState::filtered, PortState::up,
                                    PortState::open_filtered};
constexpr Reason all_reasons[] = {Reason::syn_ack,       Reason::reset,         Reason::port_unreach,
                                  Reason::host_unreach,  Reason::net_unreach,   Reason::proto_unreach,
                                  Reason::admin_prohibited, Reason::unreach_other, Reason::udp_response,
                                  Reason::echo_reply,    Reason::no_response};

// Databases written before UDP answers kept their bytes have no results.data:
// read NULL in its place.
std::string data_column(const Db& db) {
    Statement st(db, "SELECT 1 FROM pragma_table_info('results') WHERE name='data'", not_wirespeed);
    return st.step() ? "data" : "NULL AS data";
}

std::string scan_filter(std::optional<std::int64_t> scan_id) { return scan_id ? " WHERE scan_id = ?1" : ""; }

// The run information the nmap formats print, from the selected scans rows.
ScanInfo scan_info_from(const Db& db, std::optional<std::int64_t> scan_id) {
    ScanInfo info;
    const std::string sql = fmt::format(
        "SELECT started_at, finished_at, duration_s, ports, config, targets FROM scans{} ORDER BY id",
        scan_id ? " WHERE id = ?1" : "");
    Statement scans(db, sql.c_str(), not_wirespeed);
    if (scan_id) sqlite3_bind_int64(scans.get(), 1, *scan_id);
    std::vector<std::uint16_t> ports;
    std::vector<std::string> args;
    double start = 0, end = 0;
    while (scans.step()) {
        sqlite3_stmt* st = scans.get();
        const double started = parse_iso_time(column_text(st, 0));
        double finished = parse_iso_time(column_text(st, 1));
        if (finished == 0 && sqlite3_column_type(st, 2) != SQLITE_NULL && started != 0)
            finished = started + sqlite3_column_double(st, 2);
        if (started != 0 && (start == 0 || started < start)) start = started;
        end = std::max(end, finished);
        try {
            const ProtocolPorts set = parse_protocol_ports(column_text(st, 3));
            ports.insert(ports.end(), set.tcp.ports().begin(), set.tcp.ports().end());
            info.udp_ports.insert(info.udp_ports.end(), set.udp.ports().begin(), set.udp.ports().end());
        } catch (const Error&) {
            // an unreadable ports column only costs the scaninfo services list
        }
        std::string line = "wirespeed";
        try {
            for (const auto& a : decode_args(column_text(st, 4))) line += " " + a;
        } catch (const std::exception&) {
            line += " scan " + column_text(st, 5) + " -p " + column_text(st, 3);
        }
        args.push_back(std::move(line));
    }
    std::sort(ports.begin(), ports.end());
    ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
    info.ports = std::move(ports);
    info.args = fmt::format("{}", fmt::join(args, "; "));

    // A scan killed before its scans row was finished: end at its last result.
    const std::string last_sql = "SELECT max(seen_at) FROM results" + scan_filter(scan_id);
    Statement last(db, last_sql.c_str(), not_wirespeed);
    if (scan_id) sqlite3_bind_int64(last.get(), 1, *scan_id);
    if (last.step() && sqlite3_column_type(last.get(), 0) != SQLITE_NULL) {
        const double last_seen = sqlite3_column_double(last.get(), 0);
        if (start == 0) start = last_seen;
        if (end == 0) end = last_seen;
    }
    info.start_unix = start;
    info.end_unix = end != 0 ? std::max(end, start) : start;
    return info;
}

} // namespace

void export_database(const std::string& db_path, const std::string& out_path, std::string_view format,
                     const std::string& fields, std::optional<std::int64_t> scan_id) {
    if (std::find(std::begin(export_formats), std::end(export_formats), format) == std::end(export_formats))
        throw Error(fmt::format("unknown export format \"{}\": formats are {}", format, fmt::join(export_formats, ", ")));
    if (format == "csv") (void)parse_csv_fields(fields); // a bad --fields fails before anything is opened

    const auto db = open_wirespeed_database(db_path);
    if (scan_id) {
        Statement exists(*db, "SELECT 1 FROM scans WHERE id = ?1", not_wirespeed);
        sqlite3_bind_int64(exists.get(), 1, *scan_id);
        if (!exists.step()) throw Error(fmt::format("no scan {} in database \"{}\"", *scan_id, db_path));
    }
    const std::string sql = "SELECT ip, port, proto, state, reason, ttl, window, seen_at, " + data_column(*db) +
                            ", rowid FROM results" + scan_filter(scan_id) + " ORDER BY rowid";
    Statement results(*db, sql.c_str(), not_wirespeed);
    if (scan_id) sqlite3_bind_int64(results.get(), 1, *scan_id);

    std::unique_ptr<OutputWriter> writer;
    // Written to a temporary name and renamed into place at the end: an
    // export that fails leaves any previous file whole.
    constexpr auto replace = OutputMode::replace;
    if (format == "json") writer = make_json_writer(out_path, replace);
    else if (format == "csv") writer = make_csv_writer(out_path, fields, replace);
    else if (format == "list") writer = make_list_writer(out_path, replace);
    else if (format == "xml") writer = make_xml_writer(out_path, scan_info_from(*db, scan_id), replace);
    else writer = make_grepable_writer(out_path, scan_info_from(*db, scan_id), replace);

    // Services (scan --service) go out among the results as the live run wrote
    // them: each after the results row that was newest when it was written.
    store::ServiceReader services(db->get(), db_path, scan_id);
    bool service_pending = services.next();
    auto services_up_to = [&](std::int64_t rowid) {
        while (service_pending && services.after_result() <= rowid) {
            writer->write_service(services.current());
            service_pending = services.next();
        }
    };
    std::uint64_t row = 0;
    while (results.step()) {
        ++row;
        sqlite3_stmt* st = results.get();
        services_up_to(sqlite3_column_int64(st, 9) - 1);
        auto bad = [&](std::string_view column, const std::string& value) {
            return Error(fmt::format("corrupt result in database \"{}\": row {} has {} \"{}\"", db_path, row, column, value));
        };
        const std::string ip = column_text(st, 0);
        const auto address = parse_ip(ip);
        if (!address) throw bad("ip", ip);
        const std::int64_t port = sqlite3_column_int64(st, 1);
        if (port < 0 || port > 65535) throw bad("port", std::to_string(port));
        const std::string proto_text = column_text(st, 2), state_text = column_text(st, 3), reason_text = column_text(st, 4);
        const auto proto = enum_from_text(proto_text, all_protos);
        if (!proto) throw bad("proto", proto_text);
        const auto state = enum_from_text(state_text, all_states);
        if (!state) throw bad("state", state_text);
        const auto reason = enum_from_text(reason_text, all_reasons);
        if (!reason) throw bad("reason", reason_text);

        ResultRecord r{};
        r.set_address(*address);
        r.port = std::uint16_t(port);
        r.proto = *proto;
        r.state = *state;
        r.reason = *reason;
        r.ttl = std::uint8_t(std::clamp<std::int64_t>(sqlite3_column_int64(st, 5), 0, 255));
        r.window = std::uint16_t(std::clamp<std::int64_t>(sqlite3_column_int64(st, 6), 0, 65535));
        const auto* blob = static_cast<const std::uint8_t*>(sqlite3_column_blob(st, 8));
        const std::size_t blob_len = blob ? std::size_t(sqlite3_column_bytes(st, 8)) : 0;
        writer->write(r, sqlite3_column_double(st, 7), {blob, std::min(blob_len, ResultWithData::max_data)});
    }
    services_up_to(INT64_MAX);
    writer->finish();
}

// ---------------------------------------------------------------- merge

namespace {

// Every scans column but id, in schema order.
constexpr const char* scan_columns = "started_at, finished_at, status, seed, targets, ports, shard, rate, probes, config, "
                                     "sent, replies, open, closed, filtered, duplicates, drops, duration_s";
constexpr int scan_column_count = 18;
// The columns copied as they are (the SELECT below), then the address columns
// merge derives from `ip` itself, since an older input has no family/ip_key.
constexpr const char* result_columns = "scan_id, ip, port, proto, state, reason, ttl, window, seen_at, data, family, ip_key";
constexpr int copied_result_columns = 10;
constexpr int result_column_count = 12;
// The SELECT list for a source database (an older one has no data column);
// the rowid last, for the services that follow a result.
std::string result_select(const Db& db) {
    return fmt::format("SELECT scan_id, ip, port, proto, state, reason, ttl, window, seen_at, {}, rowid FROM results ORDER BY rowid",
                       data_column(db));
}
// The services and tls columns copied as they are (scan_id renumbered;
// services' after_result renumbered to the merged results' rowids).
constexpr const char* service_columns = "scan_id, ip, family, ip_key, port, proto, name, product, version, info, hostname, ostype, "
                                        "devicetype, cpe, method, confidence, soft, tunnel, probe, banner, seen_at";
constexpr int service_column_count = 21;
constexpr const char* tls_columns = "scan_id, ip, family, ip_key, port, proto, version, cipher, subject, issuer, san_dns, san_ip, "
                                    "not_before, not_after, sha256, key_type, key_bits, self_signed, seen_at";
constexpr int tls_column_count = 19;

// A result's `ip` as merge writes it: parsed (either family), so the merged
// row's text is format_ip()'s and its family and ip_key agree with it.
store::IpColumns merged_address(const Db& src, std::uint64_t row, const std::string& ip) {
    const auto address = parse_ip(ip);
    if (!address)
        throw Error(fmt::format("corrupt result in database \"{}\": row {} has ip \"{}\"", src.path(), row, ip));
    return store::ip_columns(*address);
}

// Binds ip, family and ip_key (parameters 2, 11 and 12 of the results insert).
void bind_address(sqlite3_stmt* insert, const store::IpColumns& ip) {
    sqlite3_bind_text(insert, 2, ip.text, ip.text_len, SQLITE_TRANSIENT);
    sqlite3_bind_int(insert, 11, ip.family);
    sqlite3_bind_blob(insert, 12, ip.key().data(), int(ip.key().size()), SQLITE_TRANSIENT);
}

bool same_file(const std::string& a, const std::string& b) {
    std::error_code ec;
    return std::filesystem::exists(b, ec) && std::filesystem::equivalent(a, b, ec) && !ec;
}

// Rolls back unless committed.
struct Transaction {
    Db& db;
    bool done = false;
    explicit Transaction(Db& d) : db(d) { db.exec("BEGIN IMMEDIATE"); }
    void commit() {
        db.exec("COMMIT");
        done = true;
    }
    ~Transaction() {
        if (!done) sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
};

} // namespace

void merge_databases(const std::vector<std::string>& inputs, const std::string& output) {
    if (inputs.empty()) throw Error("merge: no input databases");
    // Every input is checked before the output is touched.
    std::vector<std::unique_ptr<Db>> sources;
    for (const auto& path : inputs) {
        if (same_file(path, output))
            throw Error(fmt::format("cannot merge \"{}\" into itself: it is also the output", path));
        auto db = open_wirespeed_database(path);
        const std::string scans_sql = fmt::format("SELECT id, {} FROM scans ORDER BY id", scan_columns);
        const std::string results_sql = result_select(*db);
        Statement check_scans(*db, scans_sql.c_str(), not_wirespeed);
        Statement check_results(*db, results_sql.c_str(), not_wirespeed);
        sources.push_back(std::move(db));
    }

    std::error_code ec;
    if (std::filesystem::is_directory(output, ec))
        throw Error(fmt::format("cannot open database \"{}\": is a directory", output));
    Db out(output, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    // SQLite opens a file it may not write read-only without a word: say so
    // instead of failing later with a message about the schema.
    if (sqlite3_db_readonly(out.get(), "main") == 1)
        throw IoError(fmt::format("cannot merge into \"{}\": the database is read-only (no write permission or a read-only file system)", output));
    out.exec("PRAGMA journal_mode=WAL");
    out.exec(SqliteWriter::schema_sql());

    Transaction tx(out);
    // An output written before IPv6 gets family and ip_key (inside the
    // transaction: a merge that fails leaves it as it was).
    store::upgrade_results_table(out.get(), output);
    const std::string insert_scan_sql = fmt::format("INSERT INTO scans({}) VALUES({})", scan_columns,
                                                    fmt::join(std::vector<std::string>(scan_column_count, "?"), ","));
    const std::string insert_result_sql = fmt::format("INSERT INTO results({}) VALUES({})", result_columns,
                                                      fmt::join(std::vector<std::string>(result_column_count, "?"), ","));
    Statement insert_scan(out, insert_scan_sql.c_str(), "cannot merge into");
    Statement insert_result(out, insert_result_sql.c_str(), "cannot merge into");
    const std::string insert_service_sql = fmt::format("INSERT INTO services({}, after_result) VALUES({})", service_columns,
                                                       fmt::join(std::vector<std::string>(service_column_count + 1, "?"), ","));
    const std::string insert_tls_sql = fmt::format("INSERT INTO tls({}) VALUES({})", tls_columns,
                                                   fmt::join(std::vector<std::string>(tls_column_count, "?"), ","));
    Statement insert_service(out, insert_service_sql.c_str(), "cannot merge into");
    Statement insert_tls(out, insert_tls_sql.c_str(), "cannot merge into");
    const std::string services_select =
        fmt::format("SELECT {}, after_result FROM services ORDER BY after_result, rowid", service_columns);

    for (const auto& src : sources) {
        std::map<std::int64_t, std::int64_t> new_id;
        const std::string scans_sql = fmt::format("SELECT id, {} FROM scans ORDER BY id", scan_columns);
        Statement scans(*src, scans_sql.c_str(), not_wirespeed);
        while (scans.step()) {
            for (int c = 0; c < scan_column_count; ++c)
                sqlite3_bind_value(insert_scan.get(), c + 1, sqlite3_column_value(scans.get(), c + 1));
            insert_scan.step();
            insert_scan.reset();
            new_id[sqlite3_column_int64(scans.get(), 0)] = sqlite3_last_insert_rowid(out.get());
        }
        const std::string results_sql = result_select(*src);
        Statement results(*src, results_sql.c_str(), not_wirespeed);
        // Services follow the result they came after (after_result), renumbered
        // to that result's rowid here: a merge join over both in rowid order.
        const bool has_services = store::has_table(src->get(), "services");
        std::unique_ptr<Statement> services;
        if (has_services) services = std::make_unique<Statement>(*src, services_select.c_str(), not_wirespeed);
        bool service_pending = services && services->step();
        std::int64_t last_new_rowid = 0;
        {
            Statement last(out, "SELECT coalesce(max(rowid), 0) FROM results", "cannot merge into");
            if (last.step()) last_new_rowid = sqlite3_column_int64(last.get(), 0);
        }
        auto scan_of = [&](std::int64_t old_id, const char* what) {
            const auto it = new_id.find(old_id);
            if (it == new_id.end())
                throw Error(fmt::format("{} \"{}\": a {} belongs to scan {}, which has no scans row", not_wirespeed, src->path(),
                                        what, old_id));
            return it->second;
        };
        auto services_before = [&](std::int64_t old_rowid) {
            while (service_pending && sqlite3_column_int64(services->get(), service_column_count) < old_rowid) {
                sqlite3_stmt* st = services->get();
                sqlite3_bind_int64(insert_service.get(), 1, scan_of(sqlite3_column_int64(st, 0), "service"));
                for (int c = 1; c < service_column_count; ++c) sqlite3_bind_value(insert_service.get(), c + 1, sqlite3_column_value(st, c));
                sqlite3_bind_int64(insert_service.get(), service_column_count + 1, last_new_rowid);
                insert_service.step();
                insert_service.reset();
                service_pending = services->step();
            }
        };
        std::uint64_t row = 0; // in the input's rowid order, as export counts them
        while (results.step()) {
            const std::int64_t old_id = sqlite3_column_int64(results.get(), 0);
            const std::int64_t scan = scan_of(old_id, "result");
            services_before(sqlite3_column_int64(results.get(), copied_result_columns));
            ++row;
            sqlite3_bind_int64(insert_result.get(), 1, scan);
            for (int c = 2; c < copied_result_columns; ++c)
                sqlite3_bind_value(insert_result.get(), c + 1, sqlite3_column_value(results.get(), c));
            bind_address(insert_result.get(), merged_address(*src, row, column_text(results.get(), 1)));
            insert_result.step();
            insert_result.reset();
            last_new_rowid = sqlite3_last_insert_rowid(out.get());
        }
        services_before(INT64_MAX);
        if (store::has_table(src->get(), "tls")) {
            const std::string tls_sql = fmt::format("SELECT {} FROM tls ORDER BY rowid", tls_columns);
            Statement tls(*src, tls_sql.c_str(), not_wirespeed);
            while (tls.step()) {
                sqlite3_bind_int64(insert_tls.get(), 1, scan_of(sqlite3_column_int64(tls.get(), 0), "tls row"));
                for (int c = 1; c < tls_column_count; ++c) sqlite3_bind_value(insert_tls.get(), c + 1, sqlite3_column_value(tls.get(), c));
                insert_tls.step();
                insert_tls.reset();
            }
        }
    }
    // Rows of `output` another program inserted without an ip_key get theirs,
    // so that the address below is one value per address, whatever its text.
    store::fill_missing_ip_keys(out.get(), output);
    // One row per (address, port, proto): the earliest seen_at stays (on a
    // tie, the first inserted). Survivors keep their rowid order.
    out.exec("DELETE FROM results WHERE rowid IN (SELECT rowid FROM (SELECT rowid, row_number() OVER "
             "(PARTITION BY ip_key, port, proto ORDER BY seen_at, rowid) AS n FROM results) WHERE n > 1)");
    // Services likewise (one per address, port, protocol; the earliest), and
    // the tls rows of the services that stay.
    out.exec("DELETE FROM services WHERE rowid IN (SELECT rowid FROM (SELECT rowid, row_number() OVER "
             "(PARTITION BY ip_key, port, proto ORDER BY seen_at, rowid) AS n FROM services) WHERE n > 1)");
    out.exec("DELETE FROM tls WHERE NOT EXISTS (SELECT 1 FROM services s WHERE s.scan_id = tls.scan_id AND s.ip = tls.ip "
             "AND s.port = tls.port AND s.proto = tls.proto)");
    out.exec("CREATE INDEX IF NOT EXISTS results_ip_port ON results(ip, port)");
    tx.commit();
}

} // namespace ws
