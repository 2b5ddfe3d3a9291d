#include "config_file.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "wirespeed/error.hpp"

namespace ws::cli {

namespace {

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

// A seed (Echo::integer_when_possible) is an integer when TOML can hold it (int64), a string otherwise.
std::string seed_value(const std::string& seed) {
    const bool digits = !seed.empty() && seed.size() <= 19 && std::all_of(seed.begin(), seed.end(), [](char c) {
        return c >= '0' && c <= '9';
    }) && (seed.size() == 1 || seed[0] != '0');
    if (digits && (seed.size() < 19 || seed <= "9223372036854775807")) return seed;
    return quote(seed);
}

// The table entries that are config keys of `command`, in table order.
std::vector<const OptionSpec*> config_specs(const CLI::App& command) {
    std::vector<const OptionSpec*> specs;
    for (const OptionSpec& spec : option_table())
        if (spec.is_config_key() && command.get_option_no_throw(spec.cli_name())) specs.push_back(&spec);
    return specs;
}

const CLI::Option* find_option(const CLI::App& command, const std::string& key) {
    const OptionSpec* spec = find_option_spec(key);
    return spec && spec->is_config_key() ? command.get_option_no_throw(spec->cli_name()) : nullptr;
}

const char* expected(Toml kind) {
    switch (kind) {
    case Toml::string: return "a string";
    case Toml::string_or_integer: return "a string or integer";
    case Toml::string_or_number: return "a string or number";
    case Toml::integer:
    case Toml::count: return "an integer";
    case Toml::boolean: return "true or false";
    case Toml::list: return "an array of strings";
    case Toml::from_value:
    case Toml::none: break;
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

bool accepts(Toml kind, const toml::node& node) {
    switch (kind) {
    case Toml::string: return node.is_string();
    case Toml::string_or_integer: return node.is_string() || node.is_integer();
    case Toml::string_or_number: return node.is_string() || node.is_integer() || node.is_floating_point();
    case Toml::integer:
    case Toml::count: return node.is_integer();
    case Toml::boolean: return node.is_boolean();
    case Toml::list: return node.is_string() || node.is_array();
    case Toml::from_value:
    case Toml::none: break;
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
    for (const OptionSpec* spec : config_specs(command)) keys.emplace_back(spec->key());
    return keys;
}

namespace {

// A key of the file, where it is, and its value.
struct Entry {
    std::string key;
    std::uint32_t line;
    const toml::node* node;
};

toml::table parse_config(const std::string& path) {
    const std::string text = read_config(path);
    try {
        return toml::parse(text, path);
    } catch (const toml::parse_error& e) {
        throw Error(fmt::format("{}:{}:{}: {}", path, e.source().begin.line, e.source().begin.column, one_line(e.description())));
    }
}

// Problems are reported in file order (a toml::table is sorted by key).
std::vector<Entry> in_file_order(const toml::table& root) {
    std::vector<Entry> entries;
    for (const auto& [key, node] : root) {
        const std::uint32_t line = key.source().begin.line ? key.source().begin.line : node.source().begin.line;
        entries.push_back({std::string(key.str()), line, &node});
    }
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.line < b.line; });
    return entries;
}

// A key that is no option of `command`: a command-line-only flag, or a typo.
Error unknown_key(const CLI::App& command, const std::string& path, const Entry& entry) {
    const OptionSpec* spec = find_option_spec(entry.key);
    if (entry.key == "help" || (spec && !spec->is_config_key()))
        return Error(fmt::format("{}:{}: {} is a command-line flag only, not a config key", path, entry.line, quote(entry.key)));
    std::string nearest;
    std::size_t best = SIZE_MAX;
    for (const auto& key : config_keys(command)) {
        const std::size_t d = edit_distance(entry.key, key);
        if (d < best) best = d, nearest = key;
    }
    return Error(fmt::format("{}:{}: unknown key {}; did you mean {}?", path, entry.line, quote(entry.key), quote(nearest)));
}

// The entry's value as the strings CLI11 would get from the command line.
std::vector<std::string> option_results(const std::string& path, const Entry& entry, Toml kind) {
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
    return values;
}

// A counting flag's N (verbose = 2 is -vv): CLI11 reads "0" as false (-1), so the flag gets N "true"s.
std::vector<std::string> repeated_flag(const std::string& path, const Entry& entry) {
    const std::int64_t n = *entry.node->value_exact<std::int64_t>();
    if (n < 0 || n > 100)
        throw Error(fmt::format("{}:{}: key {} must be from 0 to 100, not {}", path, entry.line, quote(entry.key), n));
    return std::vector<std::string>(std::size_t(n), "true");
}

} // namespace

ConfigOrigin apply_config_file(CLI::App& command, const std::string& path) {
    ConfigOrigin origin{path, {}};
    const toml::table root = parse_config(path);
    for (const Entry& entry : in_file_order(root)) {
        const OptionSpec* spec = find_option_spec(entry.key);
        CLI::Option* opt = spec && spec->is_config_key() ? command.get_option_no_throw(spec->cli_name()) : nullptr;
        if (!opt) throw unknown_key(command, path, entry);
        std::vector<std::string> values = option_results(path, entry, spec->toml_kind());
        if (opt->count() > 0) continue;  // the command line wins
        if (spec->toml_kind() == Toml::count) values = repeated_flag(path, entry);
        if (values.empty()) continue;    // an empty array (or a zero count) is the default
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

namespace {

// A value as TOML by its type; nullopt when it is not set.
struct TomlValue {
    std::optional<std::string> operator()(const std::string& s) const { return quote(s); }
    std::optional<std::string> operator()(const std::optional<std::string>& s) const {
        return s ? std::optional(quote(*s)) : std::nullopt;
    }
    std::optional<std::string> operator()(const std::vector<std::string>& l) const { return array(l); }
    std::optional<std::string> operator()(bool b) const { return std::string(b ? "true" : "false"); }
    std::optional<std::string> operator()(unsigned n) const { return std::to_string(n); }
    std::optional<std::string> operator()(int n) const { return std::to_string(n); }
};

std::optional<std::string> echo_value(const OptionSpec& spec, const Value& value) {
    switch (spec.echo) {
    case Echo::by_type: break;
    case Echo::unset_when_empty:
        if (as_text(value).empty()) return std::nullopt;
        break;
    case Echo::integer_when_possible:
        if (as_text(value).empty()) return std::nullopt;
        return seed_value(as_text(value));
    }
    return std::visit(TomlValue{}, value);
}

std::string echo_line(const OptionSpec& spec, const Value& value) {
    if (const auto text = echo_value(spec, value)) return fmt::format("{} = {}\n", spec.key(), *text);
    return fmt::format("# {} = {}\n", spec.key(), spec.echo_unset);
}

} // namespace

std::string render_config(const OptionValues& values) {
    std::string out;
    out += "# wirespeed configuration: wirespeed scan --config FILE (or plan --config FILE).\n";
    out += "# Keys are the long options without the dashes; a flag on the command line wins.\n";
    // Grouped as in --help, the groups in the order they first appear.
    std::vector<std::string_view> groups;
    for (const OptionSpec& spec : option_table())
        if (spec.is_config_key() && std::find(groups.begin(), groups.end(), spec.group) == groups.end())
            groups.push_back(spec.group);
    for (const auto group : groups) {
        out += fmt::format("\n# {}\n", group);
        for (const OptionSpec& spec : option_table())
            if (spec.is_config_key() && spec.group == group) out += echo_line(spec, values[spec.key()]);
    }
    return out;
}

} // namespace ws::cli
