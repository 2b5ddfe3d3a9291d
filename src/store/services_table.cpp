// The services and tls tables of scan --service: their inserts, binders and
// the reader shared by export, merge and resume (schema in results_schema.hpp).
#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "wirespeed/error.hpp"
#include "wirespeed/service_result.hpp"

#include "results_schema.hpp"

namespace ws::store {

const char* const service_insert_sql =
    "INSERT OR IGNORE INTO services(scan_id, ip, family, ip_key, port, proto, name, product, version, info, hostname, ostype, "
    "devicetype, cpe, method, confidence, soft, tunnel, probe, banner, seen_at, after_result) "
    "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
const char* const tls_insert_sql =
    "INSERT OR IGNORE INTO tls(scan_id, ip, family, ip_key, port, proto, version, cipher, subject, issuer, san_dns, san_ip, "
    "not_before, not_after, sha256, key_type, key_bits, self_signed, seen_at) "
    "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";

namespace {

// Empty text is "not known": NULL.
void bind_text_or_null(sqlite3_stmt* st, int index, const std::string& text) {
    if (text.empty()) sqlite3_bind_null(st, index);
    else sqlite3_bind_text(st, index, text.data(), int(text.size()), SQLITE_TRANSIENT);
}

// Parameters 1-6 of both inserts: scan_id, ip, family, ip_key, port, proto.
void bind_key(sqlite3_stmt* st, std::int64_t scan_id, const ServiceResult& s) {
    const IpColumns ip = ip_columns(s.address);
    const std::string_view proto = to_string(s.proto);
    sqlite3_bind_int64(st, 1, scan_id);
    sqlite3_bind_text(st, 2, ip.text, ip.text_len, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, ip.family);
    sqlite3_bind_blob(st, 4, ip.key().data(), int(ip.key().size()), SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 5, s.port);
    sqlite3_bind_text(st, 6, proto.data(), int(proto.size()), SQLITE_STATIC);
}

std::string column_text(sqlite3_stmt* st, int column) {
    const auto* p = sqlite3_column_text(st, column);
    return p ? std::string(reinterpret_cast<const char*>(p), std::size_t(sqlite3_column_bytes(st, column))) : std::string();
}

} // namespace

std::string string_array(const std::vector<std::string>& items) {
    // Invalid UTF-8 (the matcher's captures are bytes) becomes U+FFFD rather than failing the scan.
    return nlohmann::json(items).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<std::vector<std::string>> parse_string_array(std::string_view json) {
    const nlohmann::json parsed = nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
    if (!parsed.is_array()) return std::nullopt;
    std::vector<std::string> items;
    items.reserve(parsed.size());
    for (const auto& item : parsed) {
        if (!item.is_string()) return std::nullopt;
        items.push_back(item.get<std::string>());
    }
    return items;
}

void bind_service(sqlite3_stmt* st, std::int64_t scan_id, const ServiceResult& s, std::int64_t after_result) {
    bind_key(st, scan_id, s);
    sqlite3_bind_text(st, 7, s.name.data(), int(s.name.size()), SQLITE_TRANSIENT);
    bind_text_or_null(st, 8, s.product);
    bind_text_or_null(st, 9, s.version);
    bind_text_or_null(st, 10, s.info);
    bind_text_or_null(st, 11, s.hostname);
    bind_text_or_null(st, 12, s.ostype);
    bind_text_or_null(st, 13, s.devicetype);
    const std::string cpe = string_array(s.cpes);
    sqlite3_bind_text(st, 14, cpe.data(), int(cpe.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 15, to_string(s.method), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 16, s.confidence);
    sqlite3_bind_int(st, 17, s.soft ? 1 : 0);
    bind_text_or_null(st, 18, s.tunnel);
    bind_text_or_null(st, 19, s.probe);
    if (s.banner.empty()) sqlite3_bind_null(st, 20);
    else sqlite3_bind_blob(st, 20, s.banner.data(), int(s.banner.size()), SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 21, s.seen_at_unix);
    sqlite3_bind_int64(st, 22, after_result);
}

void bind_tls(sqlite3_stmt* st, std::int64_t scan_id, const ServiceResult& s) {
    const TlsInfo& t = *s.tls;
    bind_key(st, scan_id, s);
    bind_text_or_null(st, 7, t.version);
    bind_text_or_null(st, 8, t.cipher);
    if (t.has_certificate) {
        bind_text_or_null(st, 9, t.subject);
        bind_text_or_null(st, 10, t.issuer);
        const std::string dns = string_array(t.san_dns), ips = string_array(t.san_ip);
        sqlite3_bind_text(st, 11, dns.data(), int(dns.size()), SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 12, ips.data(), int(ips.size()), SQLITE_TRANSIENT);
        bind_text_or_null(st, 13, t.not_before);
        bind_text_or_null(st, 14, t.not_after);
        // NOT NULL sha256 is what says "a certificate was recorded".
        sqlite3_bind_text(st, 15, t.sha256.data(), int(t.sha256.size()), SQLITE_TRANSIENT);
        bind_text_or_null(st, 16, t.key_type);
        sqlite3_bind_int(st, 17, t.key_bits);
        sqlite3_bind_int(st, 18, t.self_signed ? 1 : 0);
    } else {
        for (int i = 9; i <= 18; ++i) sqlite3_bind_null(st, i);
    }
    sqlite3_bind_double(st, 19, s.seen_at_unix);
}

bool has_table(sqlite3* db, const char* table) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", -1, &st, nullptr) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    const bool present = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return present;
}

ServiceReader::ServiceReader(sqlite3* db, const std::string& path, std::optional<std::int64_t> scan_id)
    : db_(db), path_(path) {
    if (!has_table(db, "services")) return;
    const bool tls = has_table(db, "tls");
    const std::string sql = fmt::format(
        "SELECT s.ip, s.port, s.proto, s.name, s.product, s.version, s.info, s.hostname, s.ostype, s.devicetype, s.cpe, "
        "s.method, s.confidence, s.soft, s.tunnel, s.probe, s.banner, s.seen_at, s.after_result, {} "
        "FROM services s {}{} ORDER BY s.after_result, s.rowid",
        tls ? "t.rowid IS NOT NULL, t.version, t.cipher, t.subject, t.issuer, t.san_dns, t.san_ip, t.not_before, t.not_after, "
              "t.sha256, t.key_type, t.key_bits, t.self_signed"
            : "0",
        tls ? "LEFT JOIN tls t ON t.scan_id = s.scan_id AND t.ip = s.ip AND t.port = s.port AND t.proto = s.proto" : "",
        scan_id ? " WHERE s.scan_id = ?1" : "");
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st_, nullptr) != SQLITE_OK)
        throw Error(fmt::format("cannot read database \"{}\": services: {}", path, sqlite3_errmsg(db)));
    if (scan_id) sqlite3_bind_int64(st_, 1, *scan_id);
}

ServiceReader::~ServiceReader() { sqlite3_finalize(st_); }

bool ServiceReader::next() {
    if (!st_) return false;
    sqlite3_stmt* st = st_;
    const int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st_);
        st_ = nullptr;
        return false;
    }
    if (rc != SQLITE_ROW) throw Error(fmt::format("cannot read database \"{}\": services: {}", path_, sqlite3_errmsg(db_)));
    ++row_;
    auto bad = [&](std::string_view column, const std::string& value) {
        return Error(fmt::format("corrupt service in database \"{}\": row {} has {} \"{}\"", path_, row_, column, value));
    };
    ServiceResult s;
    const std::string ip = column_text(st, 0);
    const auto address = parse_ip(ip);
    if (!address) throw bad("ip", ip);
    s.address = *address;
    const std::int64_t port = sqlite3_column_int64(st, 1);
    if (port < 0 || port > 65535) throw bad("port", std::to_string(port));
    s.port = std::uint16_t(port);
    const std::string proto = column_text(st, 2);
    if (proto == "tcp") s.proto = Proto::tcp;
    else if (proto == "udp") s.proto = Proto::udp;
    else throw bad("proto", proto);
    s.name = column_text(st, 3);
    s.product = column_text(st, 4);
    s.version = column_text(st, 5);
    s.info = column_text(st, 6);
    s.hostname = column_text(st, 7);
    s.ostype = column_text(st, 8);
    s.devicetype = column_text(st, 9);
    const std::string cpe = column_text(st, 10);
    auto cpes = parse_string_array(cpe.empty() ? "[]" : cpe);
    if (!cpes) throw bad("cpe", cpe);
    s.cpes = std::move(*cpes);
    const std::string method = column_text(st, 11);
    if (method == "probed") s.method = ServiceMethod::probed;
    else if (method == "table") s.method = ServiceMethod::table;
    else throw bad("method", method);
    const std::int64_t confidence = sqlite3_column_int64(st, 12);
    if (confidence < 0 || confidence > 10) throw bad("confidence", std::to_string(confidence));
    s.confidence = int(confidence);
    s.soft = sqlite3_column_int64(st, 13) != 0;
    s.tunnel = column_text(st, 14);
    s.probe = column_text(st, 15);
    if (const auto* blob = static_cast<const std::uint8_t*>(sqlite3_column_blob(st, 16)))
        s.banner.assign(blob, blob + sqlite3_column_bytes(st, 16));
    s.seen_at_unix = sqlite3_column_double(st, 17);
    after_result_ = sqlite3_column_int64(st, 18);
    if (sqlite3_column_int(st, 19) != 0) {
        TlsInfo t;
        t.version = column_text(st, 20);
        t.cipher = column_text(st, 21);
        t.has_certificate = sqlite3_column_type(st, 28) != SQLITE_NULL;
        if (t.has_certificate) {
            t.subject = column_text(st, 22);
            t.issuer = column_text(st, 23);
            const std::string dns = column_text(st, 24), ips = column_text(st, 25);
            auto san_dns = parse_string_array(dns.empty() ? "[]" : dns);
            if (!san_dns) throw bad("san_dns", dns);
            auto san_ip = parse_string_array(ips.empty() ? "[]" : ips);
            if (!san_ip) throw bad("san_ip", ips);
            t.san_dns = std::move(*san_dns);
            t.san_ip = std::move(*san_ip);
            t.not_before = column_text(st, 26);
            t.not_after = column_text(st, 27);
            t.sha256 = column_text(st, 28);
            t.key_type = column_text(st, 29);
            const std::int64_t bits = sqlite3_column_int64(st, 30);
            if (bits < 0 || bits > std::numeric_limits<int>::max()) throw bad("key_bits", std::to_string(bits));
            t.key_bits = int(bits);
            t.self_signed = sqlite3_column_int64(st, 31) != 0;
        }
        s.tls = std::move(t);
    }
    current_ = std::move(s);
    return true;
}

} // namespace ws::store
