#pragma once
// nmap's service probe database (nmap-service-probes, read at run time from
// Debian's nmap-common, never vendored) and the matcher that names a service
// from a probe's response bytes. Pure library: no networking.
//
// The file format (https://nmap.org/book/vscan-fileformat.html), one
// directive a line, '#' lines and blank lines ignored:
//   Exclude T:9100-9107                  once, before any Probe
//   Probe TCP|UDP NAME q|PAYLOAD| [no-payload]   escapes \0 \a \b \f \n \r \t \v \xHH \\,
//                                        a backslash before any other non-alphanumeric is that byte
//   match SERVICE m|REGEX|[is] [p/../ v/../ i/../ h/../ o/../ d/../ cpe:/../[a]...]
//   softmatch SERVICE m|REGEX|[is] [...]
//   ports 21,23,80-90    sslports 443    rarity 1-9    fallback NAME[,NAME]
//   totalwaitms 100-300000    tcpwrappedms 100-300000
// Delimiters after q, m and the template letters are any byte; the text runs
// to the next occurrence of that byte (nmap has no escaping of delimiters).
// Templates take $1..$9, $P(n) (printable bytes only), $SUBST(n,"from","to")
// and $I(n,">"|"<") (an unsigned big/little-endian integer).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ws {

constexpr const char* default_service_probes = "/usr/share/nmap/nmap-service-probes";
constexpr std::size_t max_service_probes_bytes = 64 * 1024 * 1024; // the whole file
constexpr std::size_t max_service_probes_line = 64 * 1024;         // one line
constexpr int default_version_intensity = 7;
constexpr unsigned default_totalwaitms = 5000;  // nmap's DEFAULT_SERVICEWAITMS
constexpr unsigned default_tcpwrappedms = 2000; // nmap's DEFAULT_TCPWRAPPEDMS
constexpr int default_rarity = 5;               // a probe without a rarity line
constexpr std::size_t max_fallbacks = 20;       // nmap's MAXFALLBACKS, the probe itself included

enum class ServiceProtocol : std::uint8_t { tcp, udp };

// Ports and ranges, inclusive, in file order (nmap allows 0).
struct ServicePortSet {
    std::vector<std::pair<std::uint16_t, std::uint16_t>> ranges;
    bool contains(std::uint16_t port) const noexcept;
    bool empty() const noexcept { return ranges.empty(); }
};

// One match or softmatch line, as written (templates unsubstituted).
struct ServiceMatchLine {
    std::size_t line = 0; // 1-based line in the file
    bool soft = false;
    std::string service;
    std::string pattern; // PCRE syntax, between the delimiters
    bool caseless = false; // flag i
    bool dotall = false;   // flag s
    std::string product, version, info, hostname, ostype, devicetype; // p v i h o d
    std::vector<std::string> cpes; // each with its "cpe:/" prefix, in file order
};

struct ServiceProbe {
    std::size_t line = 0; // the Probe line
    ServiceProtocol protocol = ServiceProtocol::tcp;
    std::string name;
    std::string payload; // bytes, escapes decoded; empty for NULL
    bool no_payload = false; // the "no-payload" option: nmap sends nothing
    ServicePortSet ports, sslports;
    int rarity = default_rarity;
    unsigned totalwaitms = default_totalwaitms;
    unsigned tcpwrappedms = default_tcpwrappedms;
    std::vector<std::string> fallback_names; // as written
    // Probes (indices into ServiceProbes::probes) whose match lines apply to
    // this probe's response, in order: itself, its fallbacks, then NULL for TCP.
    std::vector<std::size_t> fallbacks;
    std::vector<ServiceMatchLine> matches; // file order
    // Services any line of this probe can name (nmap's detectedServices).
    bool can_detect(std::string_view service) const noexcept;
};

struct ServiceProbes {
    std::string name; // the file, for error messages
    std::vector<ServiceProbe> probes; // file order, the NULL probe included
    ServicePortSet exclude_tcp, exclude_udp;
    std::size_t match_count = 0, softmatch_count = 0;

    // The probe of that protocol and name, or nullopt.
    std::optional<std::size_t> find(ServiceProtocol protocol, std::string_view name) const noexcept;
    // The Exclude directive covers the port (nmap does not probe it by default).
    bool excluded(ServiceProtocol protocol, std::uint16_t port) const noexcept;
};

// Parses the text of an nmap-service-probes file. Throws ws::Error, one line:
//   NAME:LINE: <what> <the bad value quoted>
// Regexes are checked by ServiceMatcher, not here.
ServiceProbes parse_service_probes(std::string_view text, std::string_view name);

// Reads (at most max_service_probes_bytes) and parses the file. ws::IoError
// when it cannot be read, ws::Error when too large or malformed.
ServiceProbes load_service_probes(const std::string& path);

// The probes to send to a port, in nmap's order: the NULL probe first (TCP),
// then every probe of the protocol whose ports (sslports when is_ssl) list
// the port, in file order and whatever its rarity, then the others of rarity
// <= intensity in file order; when soft_service is given (a softmatch was
// seen), only those among the others that can name it. nmap's file lists
// probes by rising rarity, so file order is rarity order. Throws ws::Error
// when intensity is not 0-9.
std::vector<std::size_t> select_service_probes(const ServiceProbes& db, ServiceProtocol protocol, std::uint16_t port,
                                               bool is_ssl, int intensity = default_version_intensity,
                                               std::string_view soft_service = {});

// What a match line gave, templates substituted (nmap's limits: a field too
// long or a substitution that fails leaves that field empty, as in nmap).
struct ServiceMatch {
    std::size_t probe = 0; // the probe whose match line matched (a fallback's)
    std::size_t match = 0; // index in that probe's matches
    std::size_t line = 0;
    bool soft = false;
    std::string service, product, version, info, hostname, ostype, devicetype;
    std::vector<std::string> cpes; // "cpe:/..." with substitutions made CPE-safe
};

struct MatcherStats {
    std::size_t hs_exact = 0;     // Hyperscan takes the pattern exactly
    std::size_t hs_prefilter = 0; // only as a prefilter (a superset of PCRE's matches)
    std::size_t pcre_only = 0;    // Hyperscan refuses it: PCRE2 runs it every time
    // The compiled-database cache (all 0 without a cache directory):
    std::size_t cache_hits = 0;   // the Hyperscan databases came from the cache file
    std::size_t cache_misses = 0; // no cache file for this database (or none readable)
    std::size_t cache_errors = 0; // a cache file that was corrupt, truncated or foreign: recompiled
    std::size_t cache_writes = 0; // a cache file written (atomically) after compiling
};

// Where a scan keeps compiled Hyperscan databases by default:
// $XDG_CACHE_HOME/wirespeed (an absolute XDG_CACHE_HOME), else
// $HOME/.cache/wirespeed; "" (no cache) when neither is set.
std::string default_service_cache_dir();

class ServiceMatcher {
public:
    // Compiles every regex once: PCRE2 for each line (i -> caseless, s ->
    // dotall), and per probe Hyperscan databases over its lines (512 lines
    // each, compiled in parallel; nmap's file: ~25 s of CPU). Keeps a copy of
    // db. Throws
    // ws::Error `NAME:LINE: invalid regex "...": <PCRE2's message> at offset N`.
    //
    // With a cache_dir (a scan passes default_service_cache_dir()), the
    // Hyperscan databases are read from CACHE_DIR/service-hs-<SHA-256>.bin,
    // keyed by every line's pattern and flags, Hyperscan's version, the
    // target platform (hs_populate_platform) and the cache format, and
    // written there (temp file + rename, the directory created) after a
    // compile. A missing, corrupt, truncated or foreign file is recompiled
    // and rewritten; an unwritable directory means no cache. Cache trouble is
    // never an error: stats() counts it. "" (the default): no cache.
    explicit ServiceMatcher(const ServiceProbes& db, const std::string& cache_dir = {});
    ~ServiceMatcher();
    ServiceMatcher(ServiceMatcher&&) noexcept;
    ServiceMatcher& operator=(ServiceMatcher&&) noexcept;

    // Per-thread state for match(): Hyperscan scratch sized for every
    // database, PCRE2 match data and the candidate list, allocated once so
    // match() allocates nothing until it fills a result. One per thread, used
    // only with the matcher that made it; the matcher itself is read-only
    // after construction and shared by every thread.
    class Scratch {
    public:
        ~Scratch();
        Scratch(Scratch&&) noexcept;
        Scratch& operator=(Scratch&&) noexcept;

    private:
        friend class ServiceMatcher;
        struct State;
        explicit Scratch(std::unique_ptr<State> state);
        std::unique_ptr<State> state_;
    };
    Scratch make_scratch() const;

    enum class Engine { hyperscan_prefilter, pcre_only };

    // The response to `probe` against the match lines of the probe and its
    // fallbacks, each probe's lines in file order: the first hard match wins
    // over any softmatch; with none, the first softmatch. A softmatch already
    // known (soft_service) is not reported again: only a hard match is.
    // Engine::pcre_only runs PCRE2 over every line (the reference for tests).
    std::optional<ServiceMatch> match(std::size_t probe, std::span<const std::uint8_t> response, Scratch& scratch,
                                      std::string_view soft_service = {},
                                      Engine engine = Engine::hyperscan_prefilter) const;
    std::optional<ServiceMatch> match(std::size_t probe, std::string_view response, Scratch& scratch,
                                      std::string_view soft_service = {},
                                      Engine engine = Engine::hyperscan_prefilter) const {
        return match(probe, {reinterpret_cast<const std::uint8_t*>(response.data()), response.size()}, scratch,
                     soft_service, engine);
    }

    const MatcherStats& stats() const noexcept;
    const ServiceProbes& probes() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Template substitution alone (tests, and the matcher): `tmpl` with $n,
// $P(n), $SUBST(n,"a","b"), $I(n,">") filled from `groups` (group 0 the whole
// match; an unset group is an empty span). cpe applies nmap's CPE escaping to
// substituted text. Trailing whitespace and commas are removed. nullopt when a
// substitution cannot be made (a group past the regex's, bad syntax) or the
// result exceeds max_length.
std::optional<std::string> substitute_service_template(std::string_view tmpl,
                                                       std::span<const std::string_view> groups, bool cpe,
                                                       std::size_t max_length);

// Checks a template's $ syntax without groups; the message for a ws::Error
// or "" when it is well formed.
std::string check_service_template(std::string_view tmpl);

} // namespace ws
