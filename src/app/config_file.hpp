#pragma once
// `--config FILE` and `--echo`: a TOML file whose keys are the long option
// names of `scan`/`plan` without the dashes (`ports = "1-1024"`,
// `targets = ["198.19.0.0/16"]`, `no-db = true`), merged under the command
// line (a flag given on the command line wins over the file), and the reverse:
// the effective options rendered as a TOML file that loads back to the same
// scan. Every error is one ws::Error line naming the file, the line and the key.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "options.hpp"

namespace ws::cli {

// Where the values taken from a config file came from, for error messages.
struct ConfigOrigin {
    std::string file;                          // as the user named it
    std::map<std::string, std::uint32_t> line; // key -> line, for keys the file set
};

// The config keys of `command`, in table order (every option of the table but
// the command-line-only ones; the positional targets are "targets").
std::vector<std::string> config_keys(const CLI::App& command);

// Loads `path` and applies each key the command line did not set to its
// option (through CLI11, so validators and conversions are the same as for
// flags). Call after parsing. Throws ws::Error:
//   cannot read config file "X": No such file or directory
//   X:7: unknown key "prots"; did you mean "ports"?
//   X:3: key "retries" must be a string or integer, not an array
//   X:4:9: <TOML syntax error>
ConfigOrigin apply_config_file(CLI::App& command, const std::string& path);

// A one-line error from converting the merged options, prefixed with
// "FILE:LINE: " when the value it names came from the config file.
std::string locate_error(const ConfigOrigin& origin, const CLI::App& command, const std::string& message);

// The effective options as a TOML file: every key, defaults included;
// `--config` on it gives the same scan.
std::string render_config(const OptionValues& values);

// Levenshtein distance (for "did you mean").
std::size_t edit_distance(const std::string& a, const std::string& b);

} // namespace ws::cli
