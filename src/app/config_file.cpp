#include "config_file.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <optional>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "wirespeed/error.hpp"

namespace ws::cli {

namespace {

// What a key accepts in the file. Values reach the option as strings, exactly
// as if they had been typed after the flag.
enum class Kind { string, string_or_integer, string_or_number, integer, boolean, list };

using Render = std::function<std::optional<std::string>(const ScanOptions&)>; // nullopt = not set

struct KeyInfo {
    Kind kind;
    Render render;
};

std::string quote(std::string_view s) {
    std::string out = "\"";
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        default:
            if (c < 0x20 || c == 0x7f) out += fmt::format("\\u{:04X}", unsigned(c));
            else out += ch;
        }
    }
    return out + '"';
}

std::string array(const std::vector<std::string>& values) {
    std::string out = "[";
    for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + quote(values[i]);
    return out + "]";
}

// A seed is an integer when TOML can hold it (int64), a string otherwise.
std::string seed_value(const std::string& seed) {
    const bool digits = !seed.empty() && seed.size() <= 19 && std::all_of(seed.begin(), seed.end(), [](char c) {
        return c >= '0' && c <= '9';
    }) && (seed.size() == 1 || seed[0] != '0');
    if (digits && (seed.size() < 19 || seed <= "9223372036854775807")) return seed;
    return quote(seed);
}

Render str(std::string ScanOptions::*field) {
    return [field](const ScanOptions& o) { return std::optional(quote(o.*field)); };
}
Render port_str(std::string PortOptions::*field) {
    return [field](const ScanOptions& o) { return std::optional(quote(o.port.*field)); };
}
Render list(std::vector<std::string> ScanOptions::*field) {
    return [field](const ScanOptions& o) { return std::optional(array(o.*field)); };
}
Render boolean(bool ScanOptions::*field) {
    return [field](const ScanOptions& o) { return std::optional(std::string(o.*field ? "true" : "false")); };
}

const std::map<std::string, KeyInfo>& key_table() {
    static const std::map<std::string, KeyInfo> table = {
        {"targets", {Kind::list, list(&ScanOptions::targets)}},
        {"ports", {Kind::string_or_integer, str(&ScanOptions::ports)}},
        {"input-file", {Kind::list, list(&ScanOptions::input_files)}},
        {"exclude", {Kind::list, list(&ScanOptions::excludes)}},
        {"excludefile", {Kind::list, list(&ScanOptions::exclude_files)}},
        {"blocklist", {Kind::string, [](const ScanOptions& o) {
             return o.blocklist ? std::optional(quote(*o.blocklist)) : std::nullopt;
         }}},
        {"shard", {Kind::string, str(&ScanOptions::shard)}},
        {"seed", {Kind::string_or_integer, [](const ScanOptions& o) {
             return o.seed.empty() ? std::nullopt : std::optional(seed_value(o.seed));
         }}},
        {"interface", {Kind::string, port_str(&PortOptions::interface)}},
        {"xdp", {Kind::boolean, [](const ScanOptions& o) { return std::optional(std::string(o.port.xdp ? "true" : "false")); }}},
        {"pci", {Kind::string, port_str(&PortOptions::pci)}},
        {"vdev", {Kind::list, [](const ScanOptions& o) { return std::optional(array(o.port.vdevs)); }}},
        {"lcores", {Kind::string, port_str(&PortOptions::lcores)}},
        {"eal", {Kind::string, port_str(&PortOptions::eal)}},
        {"tx-cores", {Kind::integer, [](const ScanOptions& o) { return std::optional(std::to_string(o.tx_cores)); }}},
        {"rx-cores", {Kind::integer, [](const ScanOptions& o) { return std::optional(std::to_string(o.rx_cores)); }}},
        {"source-ip", {Kind::string, str(&ScanOptions::source_ip)}},
        {"source-port", {Kind::string, str(&ScanOptions::source_port)}},
        {"gateway-ip", {Kind::string, str(&ScanOptions::gateway_ip)}},
        {"gateway-mac", {Kind::string, str(&ScanOptions::gateway_mac)}},
        {"tcp-options", {Kind::string, str(&ScanOptions::tcp_options)}},
        {"send-reset", {Kind::boolean, boolean(&ScanOptions::send_reset)}},
        {"rate", {Kind::string_or_number, str(&ScanOptions::rate)}},
        {"rate-mode", {Kind::string, str(&ScanOptions::rate_mode)}},
        {"wait", {Kind::string_or_number, str(&ScanOptions::wait)}},
        {"retries", {Kind::string_or_integer, str(&ScanOptions::retries)}},
        {"retry-delay", {Kind::string_or_number, str(&ScanOptions::retry_delay)}},
        {"verify", {Kind::string_or_integer, str(&ScanOptions::verify)}},
        {"no-repair", {Kind::boolean, boolean(&ScanOptions::no_repair)}},
        {"db", {Kind::string, str(&ScanOptions::db)}},
        {"no-db", {Kind::boolean, boolean(&ScanOptions::no_db)}},
        {"show", {Kind::string, str(&ScanOptions::show)}},
        {"output-list", {Kind::string, str(&ScanOptions::output_list)}},
        {"output-json", {Kind::string, str(&ScanOptions::output_json)}},
        {"output-csv", {Kind::string, str(&ScanOptions::output_csv)}},
        {"fields", {Kind::string, str(&ScanOptions::fields)}},
        {"output-xml", {Kind::string, str(&ScanOptions::output_xml)}},
        {"output-grepable", {Kind::string, str(&ScanOptions::output_grepable)}},
        {"status-file", {Kind::string, str(&ScanOptions::status_file)}},
        {"max-runtime", {Kind::string_or_number, str(&ScanOptions::max_runtime)}},
        {"min-hitrate", {Kind::string_or_number, str(&ScanOptions::min_hitrate)}},
        {"max-results", {Kind::string_or_integer, str(&ScanOptions::max_results)}},
        {"metadata", {Kind::string, str(&ScanOptions::metadata)}},
        {"status-json", {Kind::boolean, boolean(&ScanOptions::status_json)}},
        {"verbose", {Kind::integer, [](const ScanOptions& o) { return std::optional(std::to_string(o.verbose)); }}},
        {"quiet", {Kind::integer, [](const ScanOptions& o) { return std::optional(std::to_string(o.quiet)); }}},
    };
    return table;
}

bool is_config_option(const CLI::Option* opt) {
    for (const auto& name : {"help", "help-all", "config", "echo", "list"})
        if (opt->check_lname(name)) return false;
    return opt->get_positional() || !opt->get_lnames().empty();
}

std::string key_of(const CLI::Option* opt) { return opt->get_positional() ? opt->get_name() : opt->get_lnames().front(); }

const CLI::Option* find_option(const CLI::App& command, const std::string& key) {
    for (const CLI::Option* opt : command.get_options())
        if (is_config_option(opt) && key_of(opt) == key) return opt;
    return nullptr;
}

// Options that a key table entry does not know (added later): flags take
// booleans, multi-value options arrays, the rest strings or numbers.
Kind kind_of(const std::string& key, const CLI::Option* opt) {
    const auto& table = key_table();
    if (auto it = table.find(key); it != table.end()) return it->second.kind;
    if (opt->get_items_expected_max() == 0) return Kind::boolean;
    if (opt->get_items_expected_max() > 1) return Kind::list;
    return Kind::string_or_number;
}

const char* expected(Kind kind) {
    switch (kind) {
    case Kind::string: return "a string";
    case Kind::string_or_integer: return "a string or integer";
    case Kind::string_or_number: return "a string or number";
    case Kind::integer: return "an integer";
    case Kind::boolean: return "true or false";
    case Kind::list: return "an array of strings";
    }
    return "";
}

const char* type_name(const toml::node& node) {
    switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
    }
    return "nothing";
}

bool accepts(Kind kind, const toml::node& node) {
    switch (kind) {
    case Kind::string: return node.is_string();
    case Kind::string_or_integer: return node.is_string() || node.is_integer();
    case Kind::string_or_number: return node.is_string() || node.is_integer() || node.is_floating_point();
    case Kind::integer: return node.is_integer();
    case Kind::boolean: return node.is_boolean();
    case Kind::list: return node.is_string() || node.is_array();
    }
    return false;
}

std::string scalar_text(const toml::node& node) {
    if (auto s = node.value_exact<std::string>()) return *s;
    if (auto i = node.value_exact<std::int64_t>()) return std::to_string(*i);
    if (auto d = node.value_exact<double>()) return fmt::format("{}", *d);
    if (auto b = node.value_exact<bool>()) return *b ? "true" : "false";
    return {};
}

std::string one_line(std::string_view text) {
    std::string out;
    for (const char c : text) out += (c == '\n' || c == '\r') ? ' ' : c;
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

// Config files are small: 1 MiB and lines of 64 KiB are generous bounds that
// keep /dev/zero, an endless FIFO or a mistaken --config hitlist.txt from
// eating memory before toml++ sees a byte.
constexpr std::size_t config_max_bytes = 1u << 20;
constexpr std::size_t config_max_line = 64u << 10;

std::string read_config(const std::string& path) {
    const auto fail = [&](const std::string& why) -> Error {
        return Error(fmt::format("cannot read config file {}: {}", quote(path), why));
    };
    // O_NONBLOCK: a FIFO nobody writes to must not hang the open.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) throw fail(std::strerror(errno));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw fail(std::strerror(errno));
    if (S_ISDIR(st.st_mode)) throw fail(std::strerror(EISDIR));
    if (S_ISREG(st.st_mode) && std::uint64_t(st.st_size) > config_max_bytes)
        throw fail(fmt::format("larger than {} bytes (the config file size limit)", config_max_bytes));
    std::string text;
    char buffer[65536];
    std::size_t line_start = 0, line = 1;
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) { // a FIFO whose writer has not written yet
                pollfd p{fd, POLLIN, 0};
                ::poll(&p, 1, -1);
                continue;
            }
            throw fail(std::strerror(errno));
        }
        if (n == 0) break;
        text.append(buffer, std::size_t(n));
        if (text.size() > config_max_bytes)
            throw fail(fmt::format("larger than {} bytes (the config file size limit)", config_max_bytes));
        const auto too_long = [&] {
            return Error(fmt::format("{}:{}: line longer than {} bytes (the config file line limit)", path, line, config_max_line));
        };
        for (std::size_t i = text.size() - std::size_t(n); i < text.size(); ++i)
            if (text[i] == '\n') {
                if (i - line_start > config_max_line) throw too_long();
                line_start = i + 1;
                ++line;
            }
        if (text.size() - line_start > config_max_line) throw too_long();
    }
    if (S_ISFIFO(st.st_mode) && text.empty()) throw fail("a FIFO or pipe that gave no data (no writer?)");
    return text;
}

} // namespace

std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = up;
        }
    }
    return row[b.size()];
}

std::vector<std::string> config_keys(const CLI::App& command) {
    std::vector<std::string> keys;
    for (const CLI::Option* opt : command.get_options())
        if (is_config_option(opt)) keys.push_back(key_of(opt));
    return keys;
}

ConfigOrigin apply_config_file(CLI::App& command, const std::string& path) {
    ConfigOrigin origin{path, {}};
    const std::string text = read_config(path);
    toml::table root;
    try {
        root = toml::parse(text, path);
    } catch (const toml::parse_error& e) {
        throw Error(fmt::format("{}:{}:{}: {}", path, e.source().begin.line, e.source().begin.column, one_line(e.description())));
    }

    std::map<std::string, CLI::Option*> options;
    std::vector<std::string> keys;
    for (CLI::Option* opt : command.get_options()) {
        if (!is_config_option(opt)) continue;
        options[key_of(opt)] = opt;
        keys.push_back(key_of(opt));
    }

    // Report problems in file order (the table itself is sorted by key).
    struct Entry {
        std::string key;
        std::uint32_t line;
        const toml::node* node;
    };
    std::vector<Entry> entries;
    for (const auto& [key, node] : root) {
        const std::uint32_t line = key.source().begin.line ? key.source().begin.line : node.source().begin.line;
        entries.push_back({std::string(key.str()), line, &node});
    }
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.line < b.line; });

    for (const Entry& entry : entries) {
        const auto it = options.find(entry.key);
        if (it == options.end()) {
            if (entry.key == "config" || entry.key == "echo" || entry.key == "list" || entry.key == "help")
                throw Error(fmt::format("{}:{}: {} is a command-line flag only, not a config key", path, entry.line,
                                        quote(entry.key)));
            std::string nearest;
            std::size_t best = SIZE_MAX;
            for (const auto& k : keys) {
                const std::size_t d = edit_distance(entry.key, k);
                if (d < best) best = d, nearest = k;
            }
            throw Error(fmt::format("{}:{}: unknown key {}; did you mean {}?", path, entry.line, quote(entry.key), quote(nearest)));
        }
        CLI::Option* opt = it->second;
        const Kind kind = kind_of(entry.key, opt);
        if (!accepts(kind, *entry.node))
            throw Error(fmt::format("{}:{}: key {} must be {}, not {}", path, entry.line, quote(entry.key), expected(kind),
                                    type_name(*entry.node)));
        std::vector<std::string> values;
        if (const toml::array* items = entry.node->as_array()) {
            for (const toml::node& item : *items) {
                if (!item.is_string()) {
                    const auto line = item.source().begin.line ? item.source().begin.line : entry.line;
                    throw Error(fmt::format("{}:{}: key {} must be an array of strings, not an array holding {}", path, line,
                                            quote(entry.key), type_name(item)));
                }
                values.push_back(*item.value_exact<std::string>());
            }
        } else {
            values.push_back(scalar_text(*entry.node));
        }
        if (opt->count() > 0) continue; // the command line wins
        if (kind == Kind::integer && opt->get_items_expected_max() == 0) {
            // A counting flag (verbose = 2 is -vv): CLI11 reads "0" as false (-1), so give it N "true"s.
            const std::int64_t n = *entry.node->value_exact<std::int64_t>();
            if (n < 0 || n > 100)
                throw Error(fmt::format("{}:{}: key {} must be from 0 to 100, not {}", path, entry.line, quote(entry.key), n));
            values.assign(std::size_t(n), "true");
        }
        if (values.empty()) continue; // an empty array (or a zero count) is the default
        try {
            opt->add_result(values);
            opt->run_callback();
        } catch (const CLI::Error& e) {
            throw Error(fmt::format("{}:{}: key {}: {}", path, entry.line, quote(entry.key), one_line(e.what())));
        }
        origin.line[entry.key] = entry.line;
    }
    return origin;
}

std::string locate_error(const ConfigOrigin& origin, const CLI::App& command, const std::string& message) {
    if (origin.line.empty()) return message;
    const auto prefixed = [&](const std::string& key) {
        return fmt::format("{}:{}: {}", origin.file, origin.line.at(key), message);
    };
    // An error naming an option ("invalid --rate ...") is about that option.
    std::size_t first = std::string::npos;
    std::string named;
    for (const auto& key : config_keys(command)) {
        const std::string flag = "--" + key;
        for (std::size_t at = message.find(flag); at != std::string::npos; at = message.find(flag, at + 1)) {
            const std::size_t after = at + flag.size();
            const bool whole = after == message.size() || !(std::islower(static_cast<unsigned char>(message[after])) ||
                                                          message[after] == '-');
            if (whole && at < first) first = at, named = key;
        }
    }
    if (!named.empty()) return origin.line.count(named) ? prefixed(named) : message;
    // Otherwise by the quoted value it names: an exact value first, then a
    // piece of a list ("invalid port "0"" for ports = "0,80").
    const std::size_t open = message.find('"');
    const std::size_t close = open == std::string::npos ? open : message.find('"', open + 1);
    if (close == std::string::npos) return message;
    const std::string value = message.substr(open + 1, close - open - 1);
    if (value.empty()) return message;
    for (const bool exact : {true, false}) {
        for (const auto& [key, line] : origin.line) {
            const CLI::Option* opt = find_option(command, key);
            if (!opt) continue;
            for (const auto& result : opt->results())
                if (exact ? result == value : result.find(value) != std::string::npos) return prefixed(key);
        }
    }
    return message;
}

std::string render_config(const CLI::App& command, const ScanOptions& o) {
    std::string out;
    out += "# wirespeed configuration: wirespeed scan --config FILE (or plan --config FILE).\n";
    out += "# Keys are the long options without the dashes; a flag on the command line wins.\n";
    // Group by the --help group, in the order the groups first appear.
    std::vector<std::string> groups;
    std::vector<const CLI::Option*> opts;
    for (const CLI::Option* opt : command.get_options()) {
        if (!is_config_option(opt)) continue;
        opts.push_back(opt);
        const std::string group = opt->get_positional() ? "Targets" : opt->get_group();
        if (std::find(groups.begin(), groups.end(), group) == groups.end()) groups.push_back(group);
    }
    const auto& table = key_table();
    for (const auto& group : groups) {
        out += fmt::format("\n# {}\n", group);
        for (const CLI::Option* opt : opts) {
            if ((opt->get_positional() ? "Targets" : opt->get_group()) != group) continue;
            const std::string key = key_of(opt);
            std::optional<std::string> value;
            if (auto it = table.find(key); it != table.end()) {
                value = it->second.render(o);
            } else if (opt->get_items_expected_max() == 0 && opt->count() == 0) {
                value = "false"; // a flag (added later than the key table) left out
            } else if (opt->count() > 0) {
                const auto& results = opt->results();
                if (kind_of(key, opt) == Kind::boolean) value = results.back() == "false" ? "false" : "true";
                else if (kind_of(key, opt) == Kind::list) value = array(results);
                else value = quote(results.back());
            }
            if (value) out += fmt::format("{} = {}\n", key, *value);
            else if (key == "blocklist") out += "# blocklist = \"FILE\"  (not set: the default blocklist applies)\n";
            else out += fmt::format("# {} = ...  (not set)\n", key);
        }
    }
    return out;
}

} // namespace ws::cli
