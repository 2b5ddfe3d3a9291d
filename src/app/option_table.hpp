#pragma once
// Every option of `scan` and `plan` (and the port options `reflect` shares),
// declared once: its names, value type and default, --help text and group,
// config-file type, what --resume does with it, and how its value is checked
// and carried into ws::ScanConfig. Everything else is derived from this table:
// the CLI11 options (options.cpp), the --config loader and --echo
// (config_file.cpp), --resume's rules (main.cpp) and --list-options, which the
// docs test compares with docs/USAGE.md and docs/wirespeed.1. A new option is
// one entry in option_table.cpp, one field in ws::ScanConfig and its docs.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "wirespeed/scan_config.hpp"

namespace ws::cli {

// An option's value as CLI11 stores it. The alternative is the option's type
// and decides how CLI11 parses it:
//   std::string                 one value, kept as typed until to_config checks it
//   std::optional<std::string>  one value whose absence means something (--blocklist)
//   std::vector<std::string>    a list (repeatable)
//   bool                        a flag
//   unsigned                    a number CLI11 checks against the entry's range
//   int                         a counting flag (-vv)
using Value = std::variant<std::string, std::optional<std::string>, std::vector<std::string>, bool, unsigned, int>;

// Defaults, by type (the table reads `.value = text("8")`).
inline Value text(std::string_view initial = {}) { return std::string(initial); }
inline Value maybe_text() { return std::optional<std::string>(); }
inline Value list() { return std::vector<std::string>(); }
inline Value flag() { return false; }
inline Value number(unsigned initial) { return initial; }
inline Value count() { return 0; }

const std::string& as_text(const Value& v);
const std::optional<std::string>& as_maybe_text(const Value& v);
const std::vector<std::string>& as_list(const Value& v);
bool as_flag(const Value& v);
unsigned as_number(const Value& v);
int as_count(const Value& v);

// The subcommands that take an option (a bit set).
using Commands = unsigned;
inline constexpr Commands scan_command = 1, plan_command = 2, reflect_command = 4;

// What a --config file may give for a key. The value reaches the option as a
// string, exactly as if it had been typed after the flag.
enum class Toml {
    from_value, // by the value's type: a string, an array, true/false, an integer or a count
    string,
    string_or_integer,
    string_or_number,
    integer,
    count,   // an integer N, as the flag given N times (verbose = 2 is -vv)
    boolean,
    list,    // an array of strings (a single string is one item)
    none,    // a command-line flag only (--config, --echo, plan's --list)
};

// What `scan --resume DB` does with the option when it is given again.
enum class OnResume {
    refuse_change, // it says which probes to send, or how: another value would be another scan
    apply,         // it says how to run: applied, and recorded for a later resume
    ignore,        // not part of the scan (--resume itself, --echo)
};

// How --echo writes a value, where the value's type is not enough.
enum class Echo {
    by_type,               // a string quoted, a list as an array, a flag as true/false, a number
    unset_when_empty,      // an empty string is "not set" (a comment line)
    integer_when_possible, // a TOML integer when int64 holds it, else a string; unset when empty (--seed)
};

struct OptionSpec {
    std::string_view names;       // as CLI11 takes them: "-p,--ports", "--rate", "targets" (the positional)
    std::string_view alias = {};  // -iL, -oJ, ...: normalize_args rewrites it (CLI11 takes one-letter short options only)
    std::string_view group;       // the --help section and the --echo comment; "" hides it from --help
    std::string_view help;
    Value value;                  // the type and the default
    Toml toml = Toml::from_value;
    OnResume resume = OnResume::refuse_change;
    std::string_view type_name = {};             // the value's name in --help, when not CLI11's (FILE, N)
    std::optional<std::pair<int, int>> range = {}; // CLI11 checks a number option against [first, second]
    bool one_value_per_flag = false;             // a list given as --x A --x B: a target after it stays a target
    Echo echo = Echo::by_type;
    std::string_view echo_unset = "...  (not set)"; // --echo writes "# key = <this>" for a value not set
    Commands commands = scan_command | plan_command;
    // Checks the value and writes it into the scan's config: a bad value is a
    // ws::Error naming the option and the value. nullptr: the option only
    // steers the command line (--config, --echo, --resume, --list).
    void (*to_config)(const Value& value, ScanConfig& config) = nullptr;

    // The long name without the dashes (the config key); the positional's name.
    std::string_view key() const;
    // The name CLI11 reports and finds it by: "--ports", "targets".
    std::string cli_name() const;
    bool positional() const { return !names.starts_with('-'); }
    bool is_config_key() const { return toml != Toml::none; }
    bool on(Commands command) const { return (commands & command) != 0; }
    // `toml` with from_value resolved.
    Toml toml_kind() const;
};

// Every option, in --help order (which is also the order of --echo's keys
// within a group and the order values are checked in).
const std::vector<OptionSpec>& option_table();

// The entry whose key is `key`, or nullptr.
const OptionSpec* find_option_spec(std::string_view key);

// The value as --resume's refusal names it ("80,443", "true", "(default)").
std::string show_value(const Value& v);

} // namespace ws::cli
