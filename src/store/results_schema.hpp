#pragma once
// The address columns of the results table, shared by every writer of it
// (SqliteWriter, merge):
//
//   ip      TEXT     format_ip(): a dotted quad, or RFC 5952 IPv6 text
//   family  INTEGER  4 or 6 (AddressFamily)
//   ip_key  BLOB     the 16 address bytes in network order, IPv4 as
//                    ::ffff:a.b.c.d (IpAddress::to_bytes)
//
// `ORDER BY family, ip_key` sorts IPv4 before IPv6, each numerically: SQLite
// compares BLOBs with memcmp, and big-endian bytes compare as numbers, where
// `ip` text would put 198.19.0.12 before 198.19.0.7 and 2001:db8::10 before
// 2001:db8::9. A family column rather than the mapped bytes alone, because
// ::1 and 64:ff9b::/96 sort below ::ffff:0:0.
//
// Databases written before these columns existed (IPv4 only) get them when a
// writer opens them (resume, merge into): both derived from `ip` by the SQL
// functions ws_ip_key() and ws_ip_family() (registered on that connection
// only). Readers (export, resume's replay) never need them: they parse `ip`.
#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <string>

#include "wirespeed/address.hpp"

namespace ws::store {

struct IpColumns {
    char text[max_ip_text];
    int text_len = 0;
    int family = 4;
    std::array<std::uint8_t, 16> key{};
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
