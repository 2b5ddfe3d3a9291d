#include "option_table.hpp"

#include <tuple>

#include <fmt/format.h>

#include "cli.hpp"
#include "wirespeed/error.hpp"
#include "wirespeed/outputs.hpp"

namespace ws::cli {

const std::string& as_text(const Value& v) { return std::get<std::string>(v); }
const std::optional<std::string>& as_maybe_text(const Value& v) { return std::get<std::optional<std::string>>(v); }
const std::vector<std::string>& as_list(const Value& v) { return std::get<std::vector<std::string>>(v); }
bool as_flag(const Value& v) { return std::get<bool>(v); }
unsigned as_number(const Value& v) { return std::get<unsigned>(v); }
int as_count(const Value& v) { return std::get<int>(v); }

std::string_view OptionSpec::key() const {
    // "-p,--ports" -> "ports"; "targets" -> "targets"
    const std::size_t dashes = names.find("--");
    if (dashes == std::string_view::npos) return names;
    const std::string_view rest = names.substr(dashes + 2);
    return rest.substr(0, rest.find(','));
}

std::string OptionSpec::cli_name() const { return positional() ? std::string(key()) : "--" + std::string(key()); }

Toml OptionSpec::toml_kind() const {
    if (toml != Toml::from_value) return toml;
    struct ByType {
        Toml operator()(const std::string&) const { return Toml::string; }
        Toml operator()(const std::optional<std::string>&) const { return Toml::string; }
        Toml operator()(const std::vector<std::string>&) const { return Toml::list; }
        Toml operator()(bool) const { return Toml::boolean; }
        Toml operator()(unsigned) const { return Toml::integer; }
        Toml operator()(int) const { return Toml::count; }
    };
    return std::visit(ByType{}, value);
}

std::string show_value(const Value& v) {
    struct Show {
        std::string operator()(const std::string& s) const { return s; }
        std::string operator()(const std::optional<std::string>& s) const { return s ? *s : std::string("(default)"); }
        std::string operator()(const std::vector<std::string>& l) const { return fmt::format("{}", fmt::join(l, ",")); }
        std::string operator()(bool b) const { return b ? "true" : "false"; }
        std::string operator()(unsigned n) const { return std::to_string(n); }
        std::string operator()(int n) const { return std::to_string(n); }
    };
    return std::visit(Show{}, v);
}

namespace {

constexpr Commands everywhere = scan_command | plan_command | reflect_command; // the port options

// "a,b" -> {"a", "b"}; "" -> {} (--gateway-ip).
std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (!text.empty()) {
        const std::size_t end = text.find(',', start);
        out.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return out;
}

// "a b  c" -> {"a", "b", "c"} (--eal).
std::vector<std::string> words(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t end = text.find(' ', start);
        std::string word = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (!word.empty()) out.push_back(std::move(word));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return out;
}

std::vector<OptionSpec> make_table() {
    using C = ScanConfig;
    using V = Value;
    return {
        // ---------------------------------------------------------------- Targets
        {.names = "targets", .group = "Targets", .help = "addresses, CIDR blocks (198.19.0.0/16) or ranges (a.b.c.d-e.f.g.h)",
         .value = list(),
         .to_config = [](const V& v, C& c) { c.target_specs = as_list(v); }},
        {.names = "-p,--ports", .group = "Targets",
         .help = "ports: 80, 1-1024, 22,80,443, - for all; T: and U: select TCP and UDP (nmap style: 80,U:53,161,T:8080)",
         .value = text(), .toml = Toml::string_or_integer,
         .to_config = [](const V& v, C& c) { c.ports_spec = as_text(v); }}, // empty: see to_scan_config
        {.names = "--input-file", .alias = "-iL", .group = "Targets", .help = "-iL FILE: targets, one spec per line, # comments",
         .value = list(),
         .to_config = [](const V& v, C& c) { c.target_files = as_list(v); }},
        {.names = "--exclude", .group = "Targets", .help = "addresses to skip",
         .value = list(),
         .to_config = [](const V& v, C& c) { c.exclude_specs = as_list(v); }},
        {.names = "--excludefile", .group = "Targets", .help = "file of addresses to skip",
         .value = list(),
         .to_config = [](const V& v, C& c) { c.exclude_files = as_list(v); }},
        {.names = "--blocklist", .group = "Targets", .help = "replaces the default blocklist (an empty file means none)",
         .value = maybe_text(), .echo_unset = "\"FILE\"  (not set: the default blocklist applies)",
         .to_config = [](const V& v, C& c) { c.blocklist_file = as_maybe_text(v); }},
        {.names = "--max-targets", .group = "Targets",
         .help = "refuse to enumerate more target addresses than this (an IPv6 /64 wants a hitlist: -iL)",
         .value = text("4294967296"), .toml = Toml::string_or_integer,
         .to_config = [](const V& v, C& c) { c.max_targets = uint_option("--max-targets", as_text(v), UINT64_MAX); }},
        {.names = "--shard", .group = "Targets", .help = "I/N: scan share I (0-based) of N",
         .value = text(),
         .to_config = [](const V& v, C& c) {
             if (!as_text(v).empty()) std::tie(c.shard_index, c.shard_count) = shard_option(as_text(v));
         }},
        {.names = "--seed", .group = "Targets", .help = "permutation seed (default: random); the same seed gives the same order",
         .value = text(), .toml = Toml::string_or_integer, .echo = Echo::integer_when_possible,
         .to_config = [](const V& v, C& c) {
             if (!as_text(v).empty()) c.seed = uint_option("--seed", as_text(v), UINT64_MAX);
         }},

        // ---------------------------------------------------------------- Port
        // The port source is checked as a whole by to_port_spec (scan and reflect only).
        {.names = "-i,--interface", .group = "Port", .help = "Linux interface, driven through net_af_packet",
         .value = text(), .resume = OnResume::apply, .commands = everywhere,
         .to_config = [](const V& v, C& c) { c.port.interface = as_text(v); }},
        {.names = "--xdp", .group = "Port", .help = "use net_af_xdp instead of net_af_packet for --interface",
         .value = flag(), .resume = OnResume::apply, .commands = everywhere,
         .to_config = [](const V& v, C& c) { c.port.xdp = as_flag(v); }},
        {.names = "--pci", .group = "Port", .help = "PCI address of a NIC bound to vfio-pci",
         .value = text(), .resume = OnResume::apply, .commands = everywhere,
         .to_config = [](const V& v, C& c) { c.port.pci = as_text(v); }},
        {.names = "--vdev", .group = "Port", .help = "DPDK virtual device, e.g. net_null0 or net_pcap0,tx_pcap=out.pcap",
         .value = list(), .resume = OnResume::apply, .commands = everywhere,
         .to_config = [](const V& v, C& c) { c.port.vdevs = as_list(v); }},
        {.names = "--lcores", .group = "Port", .help = "EAL lcore map (default: main, TX, RX spread over the allowed CPUs)",
         .value = text(), .resume = OnResume::apply, .commands = everywhere,
         .to_config = [](const V& v, C& c) { c.port.lcores = as_text(v); }},
        {.names = "--eal", .group = "Port", .help = "extra EAL arguments, space separated (escape hatch)",
         .value = text(), .resume = OnResume::apply, .commands = everywhere,
         .to_config = [](const V& v, C& c) { c.port.extra_eal = words(as_text(v)); }},
        {.names = "--tx-cores", .group = "Port", .help = "TX lcores (one TX queue each)",
         .value = number(1), .range = std::pair{1, 64},
         .to_config = [](const V& v, C& c) { c.tx_cores = as_number(v); }},
        {.names = "--rx-cores", .group = "Port", .help = "RX lcores (one RX queue each)",
         .value = number(1), .resume = OnResume::apply, .range = std::pair{1, 64},
         .to_config = [](const V& v, C& c) { c.rx_cores = as_number(v); }},

        // ---------------------------------------------------------------- Probe
        {.names = "--source-ip", .group = "Probe",
         .help = "probe source addresses of either family: a list, range or CIDR (default: the interface's addresses)",
         .value = text(),
         .to_config = [](const V& v, C& c) {
             if (!as_text(v).empty()) c.sources = SourceAddresses::parse(as_text(v));
         }},
        {.names = "--source-port", .group = "Probe", .help = "source port range A-B (default 40000-60999)",
         .value = text(),
         .to_config = [](const V& v, C& c) {
             if (!as_text(v).empty()) c.source_ports = parse_port_range(as_text(v));
         }},
        {.names = "--gateway-ip", .group = "Probe",
         .help = "next hop, one per family: A or A,B (default: the interface's default routes)",
         .value = text(), .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) {
             for (const auto& item : split_list(as_text(v))) {
                 const auto ip = parse_ip(item);
                 if (!ip) throw Error(fmt::format("invalid --gateway-ip \"{}\": not an IPv4 or IPv6 address", item));
                 if (ip->is_ipv4() ? c.gateway_ip.has_value() : c.gateway_ip6.has_value())
                     throw Error(fmt::format("invalid --gateway-ip \"{}\": one gateway per address family", as_text(v)));
                 if (ip->is_ipv4()) c.gateway_ip = ip->ipv4();
                 else c.gateway_ip6 = ip->bits;
             }
         }},
        {.names = "--gateway-mac", .group = "Probe", .help = "next hop MAC; skips ARP",
         .value = text(), .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) {
             if (!as_text(v).empty()) c.gateway_mac = mac_option("--gateway-mac", as_text(v));
         }},
        {.names = "--tcp-options", .group = "Probe", .help = "mss (default) or os-like (MSS, SACK, timestamps, window scale)",
         .value = text("mss"),
         .to_config = [](const V& v, C& c) {
             if (as_text(v) == "mss") c.tcp_options = TcpOptionsProfile::mss_only;
             else if (as_text(v) == "os-like") c.tcp_options = TcpOptionsProfile::os_like;
             else throw Error(fmt::format("invalid --tcp-options \"{}\": expected mss or os-like", as_text(v)));
         }},
        {.names = "--send-reset", .group = "Probe", .help = "answer SYN-ACKs with RST",
         .value = flag(), .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) { c.send_reset = as_flag(v); }},
        {.names = "--service", .alias = "-sV", .group = "Service",
         .help = "-sV: name the service of every open TCP port (nmap's probes and matches, TLS certificates)",
         .value = flag(),
         .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) { c.service = as_flag(v); }},
        {.names = "--service-probes", .group = "Service",
         .help = "nmap's service probe database (default /usr/share/nmap/nmap-service-probes)",
         .value = text("/usr/share/nmap/nmap-service-probes"), .resume = OnResume::apply, .type_name = "FILE",
         .to_config = [](const V& v, C& c) { c.service_probes = as_text(v); }},
        {.names = "--version-intensity", .group = "Service",
         .help = "probes of rarity up to N besides those listing the port, 0-9 (default 7, as nmap)",
         .value = text("7"), .toml = Toml::string_or_integer,
         .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) { c.version_intensity = int(uint_option("--version-intensity", as_text(v), 9)); }},
        {.names = "--banner-bytes", .group = "Service",
         .help = "bytes of a service's answer kept per connection (default 4096)",
         .value = text("4096"), .toml = Toml::string_or_integer,
         .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) {
             c.banner_bytes = std::uint32_t(uint_option("--banner-bytes", as_text(v), 65536));
             if (c.banner_bytes == 0) throw Error("invalid --banner-bytes \"0\": keep at least 1 byte");
         }},
        {.names = "--service-parallel", .group = "Service",
         .help = "connections per port at once, each with the next probe (default 4)",
         .value = text("4"), .toml = Toml::string_or_integer,
         .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) {
             c.service_parallel = unsigned(uint_option("--service-parallel", as_text(v), 64));
             if (c.service_parallel == 0) throw Error("invalid --service-parallel \"0\": at least 1");
         }},
        {.names = "--service-ports", .group = "Service",
         .help = "our port range A-B for service connections, apart from --source-port (default 61000-64999)",
         .value = text("61000-64999"),
         .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) { c.service_ports = parse_port_range(as_text(v)); }},
        {.names = "--service-connections", .group = "Service",
         .help = "service connections open at once; more wait (default 1024)",
         .value = text("1024"), .toml = Toml::string_or_integer,
         .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) {
             c.service_connections = std::uint32_t(uint_option("--service-connections", as_text(v), 1u << 20));
             if (c.service_connections == 0) throw Error("invalid --service-connections \"0\": at least 1");
         }},
        {.names = "--service-timeout", .group = "Service",
         .help = "seconds after the scan's wait for service detection to finish (default 60)",
         .value = text("60"), .toml = Toml::string_or_number,
         .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) { c.service_timeout_seconds = seconds_option("--service-timeout", as_text(v), 3600); }},
        {.names = "--ping", .group = "Probe", .help = "also probe every host with an ICMP echo request (one probe per host)",
         .value = flag(),
         .to_config = [](const V& v, C& c) { c.ping = as_flag(v); }},
        {.names = "--nmap-payloads", .group = "Probe",
         .help = "nmap's UDP payload database (default /usr/share/nmap/nmap-payloads)",
         .value = text("/usr/share/nmap/nmap-payloads"), .type_name = "FILE",
         .to_config = [](const V& v, C& c) { c.nmap_payloads = as_text(v); }}, // read (and checked) by the UDP probes
        {.names = "--udp-payload", .group = "Probe",
         .help = "UDP payload for PORT in hex; replaces the database's payloads for that port (repeat to send several)",
         .value = list(), .type_name = "PORT:HEX", .one_value_per_flag = true,
         .to_config = [](const V& v, C& c) {
             for (const auto& payload : as_list(v)) udp_payload_option(payload); // the shape; the bytes are the probe's
             c.udp_payloads = as_list(v);
         }},

        // ---------------------------------------------------------------- Timing
        {.names = "--rate", .group = "Timing", .help = "probes per second cap (k/M suffixes; 0 = as fast as the port takes)",
         .value = text("1M"), .toml = Toml::string_or_number, .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) { c.rate = rate_option(as_text(v)); }},
        {.names = "--rate-mode", .group = "Timing", .help = "adaptive (default: climb to --rate, back off on loss) or fixed",
         .value = text("adaptive"), .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) {
             if (as_text(v) == "adaptive") c.rate_mode = RateMode::adaptive;
             else if (as_text(v) == "fixed") c.rate_mode = RateMode::fixed;
             else throw Error(fmt::format("invalid --rate-mode \"{}\": expected fixed or adaptive", as_text(v)));
         }},
        {.names = "--wait", .group = "Timing", .help = "seconds to keep receiving after the last probe (default 8)",
         .value = text("8"), .toml = Toml::string_or_number, .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) { c.wait_seconds = seconds_option("--wait", as_text(v), 3600); }},
        {.names = "--retries", .group = "Timing", .help = "extra probes per target (default 0)",
         .value = text("0"), .toml = Toml::string_or_integer,
         .to_config = [](const V& v, C& c) { c.retries = std::uint32_t(uint_option("--retries", as_text(v), 100)); }},
        {.names = "--retry-delay", .group = "Timing", .help = "seconds between a target's probes (default 1)",
         .value = text("1"), .toml = Toml::string_or_number,
         .to_config = [](const V& v, C& c) { c.retry_delay_seconds = seconds_option("--retry-delay", as_text(v), 3600); }},
        {.names = "--verify", .group = "Timing",
         .help = "non-responders probed again during the wait window to estimate recall (default 2000; 0 = none)",
         .value = text("2000"), .toml = Toml::string_or_integer, .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) { c.verify = uint_option("--verify", as_text(v), 1'000'000); }},
        {.names = "--no-repair", .group = "Timing",
         .help = "do not re-send the scan when the recall estimate shows missed responders",
         .value = flag(), .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) { c.repair = !as_flag(v); }},

        // ---------------------------------------------------------------- Output
        {.names = "--resume", .group = "Output",
         .help = "continue the interrupted or killed scan recorded in DB (nothing else needed)",
         .value = text(), .resume = OnResume::ignore, .echo = Echo::unset_when_empty},
        {.names = "--db", .group = "Output", .help = "SQLite database (default wirespeed.db)",
         .value = text("wirespeed.db"),
         .to_config = [](const V& v, C& c) { c.db_path = as_text(v); }},
        {.names = "--no-db", .group = "Output", .help = "do not write a database",
         .value = flag(),
         .to_config = [](const V& v, C& c) { c.no_db = as_flag(v); }},
        {.names = "--show", .group = "Output", .help = "closed: also keep closed and filtered ports",
         .value = text(),
         .to_config = [](const V& v, C& c) {
             if (!as_text(v).empty() && as_text(v) != "closed")
                 throw Error(fmt::format("invalid --show \"{}\": expected closed", as_text(v)));
             c.show_closed = as_text(v) == "closed";
         }},
        {.names = "--output-list", .alias = "-oL", .group = "Output", .help = "-oL FILE: masscan list output",
         .value = text(), .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) { c.list_output = as_text(v); }},
        {.names = "--output-json", .alias = "-oJ", .group = "Output", .help = "-oJ FILE: NDJSON, one object per result",
         .value = text(), .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) { c.json_output = as_text(v); }},
        {.names = "--output-csv", .alias = "-oC", .group = "Output", .help = "-oC FILE: CSV with a header",
         .value = text(), .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) { c.csv_output = as_text(v); }},
        {.names = "--fields", .group = "Output", .help = "CSV columns and order: ip,port,proto,state,reason,ttl,window,ts,data and the service columns (service,product,version,...; see USAGE.md)",
         .value = text(), .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) {
             if (!as_text(v).empty()) parse_csv_fields(as_text(v)); // a bad --fields fails before anything starts
             c.csv_fields = as_text(v);
         }},
        {.names = "--output-xml", .alias = "-oX", .group = "Output", .help = "-oX FILE: nmap XML",
         .value = text(), .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) { c.xml_output = as_text(v); }},
        {.names = "--output-grepable", .alias = "-oG", .group = "Output", .help = "-oG FILE: nmap grepable",
         .value = text(), .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) { c.grepable_output = as_text(v); }},
        {.names = "--status-file", .group = "Output", .help = "append NDJSON status lines to FILE",
         .value = text(), .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) { c.status_file = as_text(v); }},

        // ---------------------------------------------------------------- Guards (between the outputs, as ever in --help)
        {.names = "--max-runtime", .group = "Guards", .help = "guard: stop sending after SEC seconds (exit 3)",
         .value = text(), .toml = Toml::string_or_number, .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) {
             if (!as_text(v).empty()) c.max_runtime_seconds = seconds_option("--max-runtime", as_text(v), 1e9);
         }},
        {.names = "--min-hitrate", .group = "Guards",
         .help = "guard: stop when open/sent falls below this fraction after 100000 probes (exit 3)",
         .value = text(), .toml = Toml::string_or_number, .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) {
             if (!as_text(v).empty()) c.min_hitrate = fraction_option("--min-hitrate", as_text(v));
         }},
        {.names = "--max-results", .group = "Guards", .help = "guard: stop after N kept results (exit 3)",
         .value = text(), .toml = Toml::string_or_integer, .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) {
             if (!as_text(v).empty()) c.max_results = uint_option("--max-results", as_text(v), UINT64_MAX);
         }},

        {.names = "--metadata", .group = "Output", .help = "write a JSON summary of the scan",
         .value = text(), .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) { c.metadata_file = as_text(v); }},
        {.names = "--status-json", .group = "Output", .help = "NDJSON status lines on stderr even on a TTY",
         .value = flag(), .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) { c.status_json = as_flag(v); }},
        {.names = "-v,--verbose", .group = "Output", .help = "more detail (repeat for EAL logs)",
         .value = count(), .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) { c.verbosity += as_count(v); }},
        {.names = "-q,--quiet", .group = "Output", .help = "no status lines",
         .value = count(), .resume = OnResume::apply,
         .to_config = [](const V& v, C& c) { c.verbosity -= as_count(v); }},

        // ---------------------------------------------------------------- Config (command line only)
        // For tests/cli/docs_in_step.sh, so hidden. Not last: CLI11 would
        // print a blank line for its (empty) --help section after the one before.
        {.names = "--list-options", .group = "",
         .help = "print every option of this command and its config key, one per line, and exit 0",
         .value = flag(), .toml = Toml::none, .resume = OnResume::ignore},
        {.names = "--config", .group = "Config",
         .help = "TOML file of options: keys are the long option names (ports = \"80\"); flags win",
         .value = text(), .toml = Toml::none, .type_name = "FILE"},
        {.names = "--echo", .group = "Config",
         .help = "print the effective options as a TOML --config file and exit 0 (sends nothing)",
         .value = flag(), .toml = Toml::none, .resume = OnResume::ignore},
        {.names = "--list", .group = "Plan", .help = "print the first N ip:port pairs in send order (this shard), nothing else",
         .value = text(), .toml = Toml::none, .resume = OnResume::ignore, .type_name = "N", .commands = plan_command},
    };
}

} // namespace

const std::vector<OptionSpec>& option_table() {
    static const std::vector<OptionSpec> table = make_table();
    return table;
}

const OptionSpec* find_option_spec(std::string_view key) {
    for (const OptionSpec& spec : option_table())
        if (spec.key() == key) return &spec;
    return nullptr;
}

} // namespace ws::cli
