#include "results_schema.hpp"

#include <fmt/format.h>

#include "wirespeed/error.hpp"

namespace ws::store {
namespace {

void exec(sqlite3* db, const std::string& path, const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        const std::string msg = err ? err : sqlite3_errmsg(db);
        sqlite3_free(err);
        throw IoError(fmt::format("database error on \"{}\": {}", path, msg));
    }
}

bool has_column(sqlite3* db, const std::string& path, const char* column) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info('results') WHERE name=?", -1, &st, nullptr) != SQLITE_OK)
        throw IoError(fmt::format("database error on \"{}\": read the results table's columns: {}", path, sqlite3_errmsg(db)));
    sqlite3_bind_text(st, 1, column, -1, SQLITE_STATIC);
    const bool present = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return present;
}

// ws_ip_key(ip) and ws_ip_family(ip): the columns of an `ip` text, for rows
// written without them; a value that is no address fails the statement,
// naming it. The user data says which column.
enum class Derived { key, family };

void derive_function(sqlite3_context* context, int, sqlite3_value** argv) {
    const auto* text = sqlite3_value_text(argv[0]);
    const std::string_view ip =
        text ? std::string_view(reinterpret_cast<const char*>(text), std::size_t(sqlite3_value_bytes(argv[0]))) : std::string_view();
    const auto address = parse_ip(ip);
    if (!address) {
        const std::string msg = fmt::format("corrupt result: ip \"{}\" is not an IPv4 or IPv6 address", ip);
        sqlite3_result_error(context, msg.c_str(), int(msg.size()));
        return;
    }
    const IpColumns columns = ip_columns(*address);
    if (*static_cast<const Derived*>(sqlite3_user_data(context)) == Derived::family) sqlite3_result_int(context, columns.family);
    else sqlite3_result_blob(context, columns.key().data(), int(columns.key().size()), SQLITE_TRANSIENT);
}

void register_functions(sqlite3* db, const std::string& path) {
    static constexpr Derived key = Derived::key, family = Derived::family;
    for (const auto& [name, which] : {std::pair{"ws_ip_key", &key}, std::pair{"ws_ip_family", &family}})
        if (sqlite3_create_function_v2(db, name, 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, const_cast<Derived*>(which),
                                       derive_function, nullptr, nullptr, nullptr) != SQLITE_OK)
            throw IoError(fmt::format("database error on \"{}\": register {}: {}", path, name, sqlite3_errmsg(db)));
}

} // namespace

IpColumns ip_columns(IpAddress address) noexcept {
    IpColumns c;
    c.text_len = int(format_ip(address, c.text));
    c.family = int(address.family());
    address.to_bytes(c.bytes.data());
    return c;
}

void fill_missing_ip_keys(sqlite3* db, const std::string& path) {
    register_functions(db, path);
    exec(db, path, "UPDATE results SET ip_key = ws_ip_key(ip), family = ws_ip_family(ip) WHERE ip_key IS NULL");
}

void upgrade_results_table(sqlite3* db, const std::string& path) {
    // Each step only when its column is missing, so opening a current
    // database costs two pragma reads and never a table scan.
    if (!has_column(db, path, "data")) exec(db, path, "ALTER TABLE results ADD COLUMN data BLOB");
    if (has_column(db, path, "ip_key")) return;
    // A savepoint, not BEGIN: merge calls this inside its own transaction.
    // All or nothing, so a database is never left with a half-filled ip_key.
    exec(db, path, "SAVEPOINT add_ip_key");
    try {
        if (!has_column(db, path, "family")) exec(db, path, "ALTER TABLE results ADD COLUMN family INTEGER NOT NULL DEFAULT 4");
        exec(db, path, "ALTER TABLE results ADD COLUMN ip_key BLOB");
        fill_missing_ip_keys(db, path);
        exec(db, path, "RELEASE add_ip_key");
    } catch (...) {
        sqlite3_exec(db, "ROLLBACK TO add_ip_key; RELEASE add_ip_key", nullptr, nullptr, nullptr);
        throw;
    }
}

} // namespace ws::store
