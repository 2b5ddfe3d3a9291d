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
// Databases written before these columns existed (IPv4 only) get them when a
// writer opens them (resume, merge into): both derived from `ip` by the SQL
// functions ws_ip_key() and ws_ip_family() (registered on that connection
// only). Readers (export, resume's replay) never need them: they parse `ip`.
#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>

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
