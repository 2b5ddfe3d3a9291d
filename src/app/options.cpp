#include "options.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "net_info.hpp"
#include "wirespeed/error.hpp"

namespace ws::cli {

OptionValues::OptionValues() {
    for (const OptionSpec& spec : option_table()) values_.emplace(std::string(spec.key()), spec.value);
}

Value& OptionValues::operator[](std::string_view key) {
    const auto it = values_.find(key);
    if (it == values_.end()) throw std::logic_error(fmt::format("no option \"{}\" in the option table", key));
    return it->second;
}

const Value& OptionValues::operator[](std::string_view key) const {
    return const_cast<OptionValues&>(*this)[key];
}

namespace {

// CLI11 parses by the bound variable's type: a bool is a flag, an int a
// counting flag, a vector a list, anything else one value.
struct Bind {
    CLI::App& app;
    std::string names, help;
    CLI::Option* operator()(bool& v) const { return app.add_flag(names, v, help); }
    CLI::Option* operator()(int& v) const { return app.add_flag(names, v, help); }
    CLI::Option* operator()(auto& v) const { return app.add_option(names, v, help); }
};

CLI::Option* bind(CLI::App& app, const OptionSpec& spec, Value& value) {
    return std::visit(Bind{app, std::string(spec.names), std::string(spec.help)}, value);
}

} // namespace

void add_options(CLI::App& app, OptionValues& values, Commands command) {
    for (const OptionSpec& spec : option_table()) {
        if (!spec.on(command)) continue;
        CLI::Option* opt = bind(app, spec, values[spec.key()]);
        if (!spec.positional()) opt->group(std::string(spec.group)); // positionals have their own --help section
        if (!spec.type_name.empty()) opt->type_name(std::string(spec.type_name));
        if (spec.range) opt->check(CLI::Range(spec.range->first, spec.range->second));
        if (spec.one_value_per_flag) opt->allow_extra_args(false);
    }
}

ws::PortSpec to_port_spec(const OptionValues& values, int verbosity) {
    ws::ScanConfig config;
    for (const OptionSpec& spec : option_table())
        if (spec.on(reflect_command) && spec.to_config) spec.to_config(values[spec.key()], config); // the port options
    ws::PortSpec spec = config.port;
    spec.verbosity = verbosity;
    const int sources = !spec.interface.empty() + !spec.pci.empty() + !spec.vdevs.empty();
    if (sources == 0) throw Error("no port: pass --interface IF, --pci BDF or --vdev SPEC");
    if (sources > 1) throw Error("pass only one of --interface, --pci and --vdev");
    if (spec.xdp && spec.interface.empty()) throw Error("--xdp needs --interface");
    if (!spec.interface.empty() && !ws::dp::interface_exists(spec.interface))
        throw Error(fmt::format("invalid --interface \"{}\": no such interface in this network namespace", spec.interface));
    return spec;
}

ws::ScanConfig to_scan_config(const OptionValues& values) {
    // Something to probe comes first: ports, or a ping-only scan.
    if (values.text("ports").empty() && !values.flag("ping"))
        throw Error("no ports: pass -p/--ports (e.g. -p 80, -p 1-1024, -p -) or --ping");
    ws::ScanConfig config;
    for (const OptionSpec& spec : option_table())
        if (spec.to_config) spec.to_config(values[spec.key()], config);
    return config;
}

std::string list_options(Commands command) {
    std::string out;
    for (const OptionSpec& spec : option_table())
        if (spec.on(command) && !spec.group.empty())
            out += fmt::format("{} {}\n", spec.cli_name(), spec.is_config_key() ? spec.key() : "-");
    return out;
}

std::string long_name(const std::string& arg) {
    for (const OptionSpec& spec : option_table())
        if (!spec.alias.empty() && arg == spec.alias) return spec.cli_name();
    return arg;
}

std::vector<std::string> normalize_args(int argc, char** argv) {
    std::vector<std::string> args;
    for (int i = argc - 1; i >= 1; --i) args.push_back(long_name(argv[i])); // CLI11 wants them in reverse order
    return args;
}

} // namespace ws::cli
