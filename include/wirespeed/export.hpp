#pragma once
// Offline tools over scan databases: export the results of a database through
// the same writers a live scan uses, and merge several databases into one.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ws {

// The formats export_database accepts: json, csv, list, xml, grepable.
inline constexpr std::string_view export_formats[] = {"json", "csv", "list", "xml", "grepable"};

// Writes the `results` of db_path (every scan, or only `scan_id`) to out_path
// in `format`, in the database's rowid order (the order the collector
// inserted them), so json/csv/list exports are byte for byte the live output
// of that scan; xml/grepable sort hosts and ports anyway, and take their run
// information (arguments, start, end, ports) from the `scans` rows.
// `fields` is the CSV --fields value (ignored by the other formats).
// Throws ws::Error with one line naming the value: unknown format, missing
// file, not a wirespeed database, no such scan, a corrupt row.
void export_database(const std::string& db_path, const std::string& out_path, std::string_view format,
                     const std::string& fields, std::optional<std::int64_t> scan_id);

// Creates (or opens) `output` with the wirespeed schema and copies into it
// every `scans` row of every input (new ids, all other columns kept) and
// every result, re-pointed at the new scan ids, with its family and ip_key
// derived from its `ip` (either family; inputs written before IPv6 have
// neither column, and an older `output` gets them). Results are unique by
// (address, port, proto) in the merged database: of duplicates (across inputs, or
// with rows already in `output`) the one seen first (lowest seen_at) stays.
// A result whose ip is no address throws ws::Error naming the input, the row
// and the value.
// Checkpoints are not copied: a merged database is not resumable. One
// transaction: on any error nothing is written. Inputs that are missing or
// not wirespeed databases, or that are `output` itself, throw ws::Error
// naming the path before anything is written.
void merge_databases(const std::vector<std::string>& inputs, const std::string& output);

} // namespace ws
