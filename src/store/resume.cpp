#include "wirespeed/resume.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "wirespeed/address.hpp"
#include "wirespeed/error.hpp"

#include "results_schema.hpp"

namespace ws {
namespace {

struct Db {
    sqlite3* handle = nullptr;
    explicit Db(const std::string& path) {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0)
            throw Error(fmt::format("cannot open database \"{}\": {}", path, std::strerror(errno)));
        if (S_ISDIR(st.st_mode)) throw Error(fmt::format("cannot open database \"{}\": {}", path, std::strerror(EISDIR)));
        if (sqlite3_open_v2(path.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
            std::string msg = handle ? sqlite3_errmsg(handle) : "out of memory";
            if (handle && sqlite3_system_errno(handle) != 0) msg += fmt::format(" ({})", std::strerror(sqlite3_system_errno(handle)));
            sqlite3_close(handle);
            throw Error(fmt::format("cannot open database \"{}\": {}", path, msg));
        }
    }
    ~Db() { sqlite3_close(handle); }
};

struct Statement {
    sqlite3_stmt* handle = nullptr;
    Statement(const Db& db, const char* sql, const std::string& path) {
        if (sqlite3_prepare_v2(db.handle, sql, -1, &handle, nullptr) != SQLITE_OK) {
            // Only a missing table or column means "not ours"; anything else
            // (not SQLite, corrupt, unreadable, locked) in SQLite's own words.
            const std::string_view msg = sqlite3_errmsg(db.handle);
            if (msg.starts_with("no such table") || msg.starts_with("no such column"))
                throw Error(fmt::format("\"{}\" is not a wirespeed database with checkpoints: {}", path, msg));
            throw Error(fmt::format("cannot read database \"{}\": {}", path, msg));
        }
    }
    ~Statement() { sqlite3_finalize(handle); }
};

std::string text(sqlite3_stmt* st, int column) {
    const auto* p = sqlite3_column_text(st, column);
    return p ? reinterpret_cast<const char*>(p) : "";
}

std::uint64_t fnv1a(std::uint64_t h, std::uint64_t value) {
    for (int i = 0; i < 8; ++i) {
        h ^= (value >> (i * 8)) & 0xff;
        h *= 0x100000001b3ull;
    }
    return h;
}

} // namespace

ResumePoint load_resume_point(const std::string& db_path, bool include_complete) {
    Db db(db_path);
    Statement st(db,
                 include_complete
                     ? "SELECT s.id, s.status, COALESCE(s.config, ''), c.fingerprint, c.seed, c.cookie_k0, c.cookie_k1, c.slots "
                       "FROM scans s JOIN checkpoints c ON c.scan_id = s.id "
                       "WHERE s.status IN ('running', 'interrupted', 'stopped', 'failed', 'complete') ORDER BY s.id DESC LIMIT 1"
                     : "SELECT s.id, s.status, COALESCE(s.config, ''), c.fingerprint, c.seed, c.cookie_k0, c.cookie_k1, c.slots "
                       "FROM scans s JOIN checkpoints c ON c.scan_id = s.id "
                       "WHERE s.status IN ('running', 'interrupted', 'stopped', 'failed') ORDER BY s.id DESC LIMIT 1",
                 db_path);
    const int rc = sqlite3_step(st.handle);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        throw Error(fmt::format("cannot read database \"{}\": {}", db_path, sqlite3_errmsg(db.handle)));
    if (rc != SQLITE_ROW)
        throw Error(fmt::format("nothing to resume in \"{}\": no interrupted, killed, failed or guard-stopped scan with a checkpoint", db_path));
    ResumePoint point;
    point.scan_id = sqlite3_column_int64(st.handle, 0);
    point.status = text(st.handle, 1);
    point.config = text(st.handle, 2);
    point.fingerprint = text(st.handle, 3);
    point.seed = std::uint64_t(sqlite3_column_int64(st.handle, 4));
    point.key.k0 = std::uint64_t(sqlite3_column_int64(st.handle, 5));
    point.key.k1 = std::uint64_t(sqlite3_column_int64(st.handle, 6));
    try {
        point.slots = decode_slots(text(st.handle, 7));
    } catch (const Error& e) {
        throw Error(fmt::format("cannot resume \"{}\": {}", db_path, e.what()));
    }
    return point;
}

void for_each_result(const std::string& db_path, std::int64_t scan_id,
                     const std::function<void(const ResultRecord&, double, std::span<const std::uint8_t>)>& fn) {
    for_each_result(db_path, scan_id, fn, {});
}

void for_each_result(const std::string& db_path, std::int64_t scan_id,
                     const std::function<void(const ResultRecord&, double, std::span<const std::uint8_t>)>& fn,
                     const std::function<void(const ServiceResult&)>& service_fn) {
    Db db(db_path);
    Statement st(db,
                 "SELECT ip, port, proto, state, reason, ttl, window, seen_at, data, rowid FROM results WHERE scan_id = ? ORDER BY rowid",
                 db_path);
    std::optional<store::ServiceReader> services;
    if (service_fn) services.emplace(db.handle, db_path, scan_id);
    bool service_pending = services && services->next();
    auto services_up_to = [&](std::int64_t rowid) {
        while (service_pending && services->after_result() <= rowid) {
            service_fn(services->current());
            service_pending = services->next();
        }
    };
    sqlite3_bind_int64(st.handle, 1, scan_id);
    int rc;
    std::uint64_t row = 0;
    while ((rc = sqlite3_step(st.handle)) == SQLITE_ROW) {
        ++row;
        services_up_to(sqlite3_column_int64(st.handle, 9) - 1);
        ResultRecord r{};
        // Either family. A row that is no address cannot be replayed (nor
        // deduplicated against the resumed run): refuse the resume, naming it.
        const std::string ip_text = text(st.handle, 0);
        const auto ip = parse_ip(ip_text);
        if (!ip)
            throw Error(fmt::format("corrupt result in database \"{}\": row {} of scan {} has ip \"{}\"", db_path, row, scan_id,
                                    ip_text));
        r.set_address(*ip);
        r.port = std::uint16_t(sqlite3_column_int(st.handle, 1));
        const std::string proto = text(st.handle, 2);
        r.proto = proto == "udp" ? Proto::udp : proto == "icmp" ? Proto::icmp : Proto::tcp;
        const std::string state = text(st.handle, 3), reason = text(st.handle, 4);
        r.state = state == "open"     ? PortState::open
                  : state == "closed" ? PortState::closed
                  : state == "up"     ? PortState::up
                  : state == "open|filtered" ? PortState::open_filtered
                                      : PortState::filtered;
        r.reason = Reason::syn_ack;
        for (int i = 1; i <= int(Reason::no_response); ++i)
            if (to_string(Reason(i)) == reason) r.reason = Reason(i);
        r.ttl = std::uint8_t(sqlite3_column_int(st.handle, 5));
        r.window = std::uint16_t(sqlite3_column_int(st.handle, 6));
        const auto* blob = static_cast<const std::uint8_t*>(sqlite3_column_blob(st.handle, 8));
        const std::size_t blob_len = blob ? std::size_t(sqlite3_column_bytes(st.handle, 8)) : 0;
        fn(r, sqlite3_column_double(st.handle, 7), {blob, std::min(blob_len, ResultWithData::max_data)});
    }
    if (rc != SQLITE_DONE)
        throw IoError(fmt::format("cannot read database \"{}\": {}", db_path, sqlite3_errmsg(db.handle)));
    services_up_to(INT64_MAX);
}

std::string plan_fingerprint(const ScanPlan& plan, const ScanConfig& config) {
    std::uint64_t targets = 0xcbf29ce484222325ull;
    for (const auto& interval : plan.space->targets().intervals())
        targets = fnv1a(fnv1a(targets, interval.first), interval.last);
    std::uint64_t ports = 0xcbf29ce484222325ull;
    // Every slot (protocol, port, payload index): TCP-only scans hash as before
    // only if nothing else is scanned, so an old checkpoint of a UDP-less scan
    // still matches when its protocol word is 0.
    for (const ProbeSlot& slot : plan.space->slots().slots()) {
        ports = fnv1a(ports, slot.port);
        if (slot.proto != Proto::tcp) ports = fnv1a(ports, (std::uint64_t(slot.proto) << 16) | slot.payload);
    }
    return fmt::format("targets={:016x};ports={:016x};seed={};shard={}/{};retries={};tx={}", targets, ports, plan.seed,
                       config.shard_index, config.shard_count, config.retries, config.tx_cores);
}

std::string fingerprint_difference(const std::string& recorded, const std::string& now) {
    auto fields = [](const std::string& f) {
        std::vector<std::pair<std::string, std::string>> out;
        std::istringstream in(f);
        std::string item;
        while (std::getline(in, item, ';')) {
            const auto eq = item.find('=');
            out.emplace_back(item.substr(0, eq), eq == std::string::npos ? "" : item.substr(eq + 1));
        }
        return out;
    };
    const auto a = fields(recorded), b = fields(now);
    const std::pair<const char*, const char*> names[] = {{"targets", "the target set differs"}, {"ports", "the ports differ"},
                                                         {"seed", "the seed differs"},          {"shard", "the shard differs"},
                                                         {"retries", "the retries differ"},     {"tx", "the number of TX cores differs"}};
    std::string diff;
    for (const auto& [key, name] : names) {
        std::string va, vb;
        for (const auto& [k, v] : a) if (k == key) va = v;
        for (const auto& [k, v] : b) if (k == key) vb = v;
        if (va != vb) diff += fmt::format("{}{} ({} then, {} now)", diff.empty() ? "" : ", ", name,
                                          key == std::string("targets") || key == std::string("ports") ? "hash " + va : va,
                                          key == std::string("targets") || key == std::string("ports") ? "hash " + vb : vb);
    }
    return diff;
}

std::string encode_slots(const std::vector<std::uint64_t>& slots) { return fmt::format("{}", fmt::join(slots, ",")); }

std::vector<std::uint64_t> decode_slots(const std::string& text) {
    std::vector<std::uint64_t> slots;
    std::istringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        try {
            std::size_t used = 0;
            slots.push_back(std::stoull(item, &used));
            if (used != item.size()) throw std::invalid_argument(item);
        } catch (const std::exception&) {
            throw Error(fmt::format("corrupt checkpoint: bad slot \"{}\"", item));
        }
    }
    if (slots.empty()) throw Error("corrupt checkpoint: no slots");
    return slots;
}

std::string encode_args(const std::vector<std::string>& args) {
    std::string out = "[";
    for (std::size_t i = 0; i < args.size(); ++i) {
        out += i ? ",\"" : "\"";
        for (char c : args[i]) {
            if (c == '"' || c == '\\') out += '\\';
            if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", int(c));
            else out += c;
        }
        out += '"';
    }
    return out + "]";
}

std::vector<std::string> decode_args(const std::string& json) {
    std::vector<std::string> args;
    std::size_t i = 0;
    auto bad = [&] {
        return Error(fmt::format("corrupt recorded arguments (scans.config) at offset {}: \"{}\"", i,
                                 json.substr(i > 20 ? i - 20 : 0, 40)));
    };
    while (i < json.size() && json[i] == ' ') ++i;
    if (i >= json.size() || json[i++] != '[') throw bad();
    while (i < json.size() && json[i] != ']') {
        if (json[i] == ',') { ++i; continue; }
        if (json[i++] != '"') throw bad();
        std::string arg;
        while (i < json.size() && json[i] != '"') {
            if (json[i] == '\\' && i + 1 < json.size()) {
                if (json[i + 1] == 'u') {
                    // Only what encode_args writes: \u00XX for control bytes.
                    unsigned value = 0;
                    for (std::size_t k = i + 2; k < i + 6; ++k) {
                        const char h = k < json.size() ? json[k] : '\0';
                        const int digit = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                        : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                        if (digit < 0) throw bad();
                        value = value * 16 + unsigned(digit);
                    }
                    if (value > 0xff) throw bad();
                    arg += char(value);
                    i += 6;
                } else {
                    arg += json[i + 1];
                    i += 2;
                }
            } else {
                arg += json[i++];
            }
        }
        if (i >= json.size()) throw bad();
        ++i; // closing quote
        args.push_back(std::move(arg));
    }
    if (i >= json.size()) throw bad(); // no closing bracket: cut short
    return args;
}

} // namespace ws
