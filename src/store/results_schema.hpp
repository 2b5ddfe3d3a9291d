#pragma once
// The address columns of the results table, shared by every writer of it
// (SqliteWriter, merge):
//
//   ip      TEXT     format_ip(): a dotted quad, or RFC 5952 IPv6 text
//   family  INTEGER  4 or 6 (AddressFamily)
//   ip_key  BLOB     the address in network byte order, as inet_pton gives
//                    it: 4 bytes for IPv4, 16 for IPv6
//
// `ORDER BY family, ip_key` sorts IPv4 before IPv6, each numerically: SQLite
// compares BLOBs with memcmp, and big-endian bytes of one length compare as
// numbers, where `ip` text would put 198.19.0.12 before 198.19.0.7 and
// 2001:db8::10 before 2001:db8::9. IPv4 keys are 4 bytes, not the 16 of the
// mapped form, because IPv4 rows are most rows: 7 bytes more per row, not 19.
//
// The same three columns lead the services and tls tables of scan --service
// (issue 12), one row each per (scan_id, ip, port, proto):
//
//   services  name, product, version, info (nmap's extrainfo), hostname,
//             ostype, devicetype: TEXT, NULL when not known (name is NOT NULL)
//             cpe          TEXT     a JSON array of strings, in match-line
//                                   order: ["cpe:/a:openbsd:openssh:9.2p1"]; '[]' when none
//             method       TEXT     'probed' (a match line) or 'table' (the port number)
//             confidence   INTEGER  nmap's conf, 0..10
//             soft         INTEGER  1 when only a softmatch named it
//             tunnel       TEXT     'ssl' when the service ran inside TLS, else NULL
//             probe        TEXT     the probe whose answer matched ("NULL", "GetRequest")
//             banner       BLOB     the answer as received (plaintext inside TLS)
//             seen_at      REAL     Unix seconds, when it was identified
//             after_result INTEGER  rowid of the newest results row when it was
//                                   written: export and resume's replay interleave
//                                   results and services by it, as the live outputs saw them
//   tls       version, cipher         TEXT  "TLSv1.3", "TLS_AES_256_GCM_SHA384"
//             subject, issuer         TEXT  as openssl x509 -nameopt oneline,-esc_msb prints them
//             san_dns, san_ip         TEXT  JSON arrays of strings
//             not_before, not_after   TEXT  ISO 8601 UTC "2026-01-02T03:04:05Z"
//             sha256                  TEXT  64 lowercase hex digits of the DER
//             key_type, key_bits, self_signed   TEXT, INTEGER, INTEGER (0/1)
//             seen_at                 REAL
//             The certificate columns are NULL for an anonymous suite (no certificate).
//
// Databases written before these columns existed (IPv4 only) get them when a
// writer opens them (resume, merge into): both derived from `ip` by the SQL
// functions ws_ip_key() and ws_ip_family() (registered on that connection
// only). Readers (export, resume's replay) never need them: they parse `ip`.
#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wirespeed/address.hpp"

namespace ws::store {

struct IpColumns {
    char text[max_ip_text];
    int text_len = 0;
    int family = 4;
    std::array<std::uint8_t, 16> bytes{}; // IpAddress::to_bytes: IPv4 as ::ffff:a.b.c.d
    // ip_key: the last 4 bytes for IPv4, all 16 for IPv6.
    std::span<const std::uint8_t> key() const noexcept {
        return family == 4 ? std::span<const std::uint8_t>(bytes).last(4) : std::span<const std::uint8_t>(bytes);
    }
};
IpColumns ip_columns(IpAddress address) noexcept;

// Adds what an older results table lacks (data, family, ip_key) and fills
// ip_key of rows that have none. Throws ws::IoError naming `path`, e.g.
//   database error on "old.db": corrupt result: ip "1.2.3" is not an IPv4 or IPv6 address
void upgrade_results_table(sqlite3* db, const std::string& path);
// Derives family and ip_key of every row that has no ip_key (a row another
// program inserted with the old column list): a full scan, so merge only.
// Throws like upgrade_results_table.
void fill_missing_ip_keys(sqlite3* db, const std::string& path);

} // namespace ws::store
#include "wirespeed/service_result.hpp"
namespace ws::store {

// The services and tls inserts (OR IGNORE: a second row for the same key is
// dropped), and their binders: every parameter is bound, so one prepared
// statement serves every row.
extern const char* const service_insert_sql;
extern const char* const tls_insert_sql;
// `after_result`: see the services table above.
void bind_service(sqlite3_stmt* insert, std::int64_t scan_id, const ServiceResult& service, std::int64_t after_result);
void bind_tls(sqlite3_stmt* insert, std::int64_t scan_id, const ServiceResult& service); // service.tls must be set

bool has_table(sqlite3* db, const char* table);

// Every service of `scan_id` (all scans when unset) with its tls row, in the
// order they were written (after_result, rowid). A database without a
// services table (written before scan --service) has none. A row that does
// not read back (an address, a port, a protocol, a method, a confidence or a
// JSON array that is not one) throws ws::Error naming the database, the row
// and the value:
//   corrupt service in database "x.db": row 3 has port "70000"
class ServiceReader {
public:
    ServiceReader(sqlite3* db, const std::string& path, std::optional<std::int64_t> scan_id);
    ~ServiceReader();
    ServiceReader(const ServiceReader&) = delete;
    ServiceReader& operator=(const ServiceReader&) = delete;
    bool next(); // false at the end
    const ServiceResult& current() const noexcept { return current_; }
    std::int64_t after_result() const noexcept { return after_result_; }

private:
    sqlite3* db_;
    std::string path_;
    sqlite3_stmt* st_ = nullptr;
    std::uint64_t row_ = 0;
    ServiceResult current_;
    std::int64_t after_result_ = 0;
};

// A JSON array of strings as the services and tls tables store it, and back;
// parse_string_array returns nullopt for anything but an array of strings.
std::string string_array(const std::vector<std::string>& items);
std::optional<std::vector<std::string>> parse_string_array(std::string_view json);

} // namespace ws::store
