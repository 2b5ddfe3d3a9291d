#pragma once
// The options of `scan`, `plan` and (the port ones) `reflect` as the user gave
// them, the CLI11 definitions and the conversion to ws::ScanConfig, all
// derived from the table in option_table.hpp. Values stay strings until
// to_scan_config() so that every bad value gets a one-line ws::Error naming
// the option and the value.
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "option_table.hpp"
#include "wirespeed/scan_config.hpp"

namespace ws::cli {

// One value per table option, at its default until the command line or a
// config file sets it. CLI11 keeps references into it, so it is neither copied
// nor moved; --resume assigns single values from one to another.
class OptionValues {
public:
    OptionValues();
    OptionValues(const OptionValues&) = delete;
    OptionValues& operator=(const OptionValues&) = delete;

    Value& operator[](std::string_view key);
    const Value& operator[](std::string_view key) const;
    const std::string& text(std::string_view key) const { return as_text((*this)[key]); }
    std::string& text(std::string_view key) { return std::get<std::string>((*this)[key]); }
    bool flag(std::string_view key) const { return as_flag((*this)[key]); }

private:
    std::map<std::string, Value, std::less<>> values_;
};

// The table's options that `command` takes (scan_command, plan_command or
// reflect_command), in table order, bound to `values`.
void add_options(CLI::App& app, OptionValues& values, Commands command);

// Checks that exactly one port source is named and that an interface exists.
ws::PortSpec to_port_spec(const OptionValues& values, int verbosity);
// Everything but the port (plan needs no port).
ws::ScanConfig to_scan_config(const OptionValues& values);

// --list-options: "NAME KEY" per option `command` takes ("--ports ports",
// "--config -" for a command-line-only flag), hidden ones left out.
std::string list_options(Commands command);

// -iL, -oL, ... -> the long name CLI11 knows ("--input-file"); anything else unchanged.
std::string long_name(const std::string& arg);
// argv with the aliases rewritten, reversed (as CLI11 wants it).
std::vector<std::string> normalize_args(int argc, char** argv);

} // namespace ws::cli
