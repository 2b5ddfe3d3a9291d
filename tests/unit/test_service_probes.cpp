// nmap-service-probes: the parser (on Debian's file and on hand-written
// lines), template substitution, the matcher (Hyperscan prefilter against
// PCRE2 alone) and probe selection.
#include "wirespeed/error.hpp"
#include "wirespeed/service_probes.hpp"

#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace ws {
namespace {

template <class Fn>
std::string error_of(Fn&& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "no ws::Error thrown";
    return "";
}

ServiceProbes parse(std::string_view text) { return parse_service_probes(text, "sp.txt"); }

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

bool have_debian_file() { return std::ifstream(default_service_probes).good(); }

// A fresh directory, removed with everything in it at the end.
struct TempDir {
    std::string path;
    TempDir() {
        std::string tmpl = std::filesystem::temp_directory_path().string() + "/ws-svc-cache-XXXXXX";
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Debian's file parsed and compiled ONCE per test binary, every test that
// needs the whole database shares it (Hyperscan compiles ~12k patterns:
// ~25 s of CPU, ~5 min under ASan). It is built with a cache, so the cache
// tests load it back warm instead of compiling it again: in a temporary
// directory, or in $WS_SERVICE_TEST_CACHE when set (scripts/test.sh shares
// one between the plain and the ASan unit tests, so the ASan run loads it).
std::string debian_cache_dir(const TempDir& temp) {
    const char* shared = std::getenv("WS_SERVICE_TEST_CACHE");
    return shared && *shared ? std::string(shared) : temp.path;
}

struct Debian {
    TempDir temp;
    std::string cache_dir = debian_cache_dir(temp);
    ServiceProbes db = load_service_probes(default_service_probes);
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    std::clock_t start_cpu = std::clock();
    ServiceMatcher matcher{db, cache_dir};
    double cold_seconds = seconds_since(start);
    double cold_cpu = double(std::clock() - start_cpu) / CLOCKS_PER_SEC;
    static Debian& get() {
        static Debian d;
        return d;
    }
    std::size_t probe(std::string_view name, ServiceProtocol p = ServiceProtocol::tcp) const {
        const auto i = db.find(p, name);
        EXPECT_TRUE(i.has_value()) << name;
        return i.value_or(0);
    }
};

#define NEED_DEBIAN_FILE() \
    if (!have_debian_file()) GTEST_SKIP() << default_service_probes << " missing (Debian package nmap-common)"

// ---- parser -------------------------------------------------------------

TEST(ServiceProbesParse, SmallFile) {
    const auto db = parse("# comment\n"
                          "Exclude T:9100-9107,U:53\n"
                          "\n"
                          "Probe TCP NULL q||\n"
                          "totalwaitms 6000\n"
                          "tcpwrappedms 3000\n"
                          "match ftp m|^220 (.*)\\r\\n| p/FTP/ v/$1/ cpe:/a:x:ftp:$1/a\n"
                          "softmatch ftp m/^220/i\n"
                          "Probe UDP Dns q|\\0\\x01ab\\r\\n\\t\\\\\\$| no-payload\r\n"
                          "rarity 3\n"
                          "ports 53, 5353,1000-1002\n"
                          "sslports 853\n"
                          "fallback NULLU\n"
                          "Probe UDP NULLU q|x|\n"
                          "match dns m=^\\x00=s d/router/ o/Linux/ h/$1/ i/x/\n");
    ASSERT_EQ(db.probes.size(), 3u);
    EXPECT_TRUE(db.excluded(ServiceProtocol::tcp, 9105));
    EXPECT_FALSE(db.excluded(ServiceProtocol::udp, 9105));
    EXPECT_TRUE(db.excluded(ServiceProtocol::udp, 53));
    EXPECT_FALSE(db.excluded(ServiceProtocol::tcp, 53));
    const auto& null = db.probes[0];
    EXPECT_EQ(null.name, "NULL");
    EXPECT_EQ(null.totalwaitms, 6000u);
    EXPECT_EQ(null.tcpwrappedms, 3000u);
    EXPECT_EQ(null.rarity, default_rarity);
    ASSERT_EQ(null.matches.size(), 2u);
    EXPECT_EQ(null.matches[0].line, 7u);
    EXPECT_EQ(null.matches[0].pattern, "^220 (.*)\\r\\n");
    EXPECT_EQ(null.matches[0].version, "$1");
    EXPECT_EQ(null.matches[0].cpes, std::vector<std::string>{"cpe:/a:x:ftp:$1"});
    EXPECT_TRUE(null.matches[1].soft && null.matches[1].caseless && !null.matches[1].dotall);
    const auto& dns = db.probes[1];
    EXPECT_EQ(dns.protocol, ServiceProtocol::udp);
    EXPECT_EQ(dns.payload, std::string("\0\x01" "ab\r\n\t\\$", 9));
    EXPECT_TRUE(dns.no_payload);
    EXPECT_EQ(dns.rarity, 3);
    EXPECT_TRUE(dns.ports.contains(5353) && dns.ports.contains(1001) && !dns.ports.contains(1003));
    EXPECT_TRUE(dns.sslports.contains(853));
    EXPECT_EQ(dns.fallbacks, (std::vector<std::size_t>{1, 2})); // UDP: no NULL at the end
    EXPECT_EQ(db.probes[2].matches[0].devicetype, "router");
    EXPECT_TRUE(db.probes[2].matches[0].dotall);
    EXPECT_EQ(db.match_count, 2u);
    EXPECT_EQ(db.softmatch_count, 1u);
}

TEST(ServiceProbesParse, TcpFallbackEndsWithNull) {
    const auto db = parse("Probe TCP NULL q||\nProbe TCP A q|a|\nProbe TCP B q|b|\nfallback A,NULL\n");
    EXPECT_EQ(db.probes[1].fallbacks, (std::vector<std::size_t>{1, 0}));
    EXPECT_EQ(db.probes[2].fallbacks, (std::vector<std::size_t>{2, 1, 0, 0}));
    EXPECT_EQ(db.probes[0].fallbacks, (std::vector<std::size_t>{0}));
}

struct BadInput {
    const char* text;
    const char* message;
};

TEST(ServiceProbesParse, MalformedLinesRefusedWithTheirNumber) {
    const std::string head = "Probe TCP NULL q||\n";
    const BadInput cases[] = {
        {"match x m|a|\n", "sp.txt:1: \"match\" before any Probe line"},
        {"Probe SCTP X q||\n", "sp.txt:1: invalid probe protocol \"SCTP\" (TCP or UDP)"},
        {"Probe TCP -x q||\n", "sp.txt:1: bad probe name \"-x\""},
        {"Probe TCP X\n", "sp.txt:1: no probe string after probe name \"X\""},
        {"Probe TCP X z|a|\n", "sp.txt:1: probe string must be q<delimiter>...<delimiter>: \"z|a|\""},
        {"Probe TCP X q|abc\n", "sp.txt:1: no closing delimiter in probe string \"q|abc\""},
        {"Probe TCP X q|\\q|\n", "sp.txt:1: bad escape \"\\\\q\""},
        {"Probe TCP X q|\\x4|\n", "sp.txt:1: bad escape \"\\\\x4\": \\x needs two hex digits"},
        {"Probe TCP X q|\\x4g|\n", "sp.txt:1: bad escape \"\\\\x4g\": \\x needs two hex digits"},
        {"Probe TCP X q|a| junk\n", "sp.txt:1: unexpected text after probe string \"junk\""},
        {"Probe TCP NULL q||\nProbe TCP NULL q||\n", "sp.txt:2: duplicate probe name \"NULL\""},
        {"Probe TCP NULL q||\nrarity 0\n", "sp.txt:2: invalid rarity \"0\": expected 1-9"},
        {"Probe TCP NULL q||\nrarity 5x\n", "sp.txt:2: invalid rarity \"5x\": expected 1-9"},
        {"Probe TCP NULL q||\ntotalwaitms 99\n", "sp.txt:2: invalid totalwaitms \"99\": expected 100-300000"},
        {"Probe TCP NULL q||\ntcpwrappedms 999999999999999999999\n",
         "sp.txt:2: invalid tcpwrappedms \"999999999999999999999\": expected 100-300000"},
        {"Probe TCP NULL q||\nports 80,,81\n",
         "sp.txt:2: invalid port \"\" in port list \"80,,81\": expected 0-65535 or A-B"},
        {"Probe TCP NULL q||\nports 65536\n",
         "sp.txt:2: invalid port \"65536\" in port list \"65536\": expected 0-65535 or A-B"},
        {"Probe TCP NULL q||\nsslports 90-80\n", "sp.txt:2: invalid port range \"90-80\": start is after end"},
        {"Probe TCP NULL q||\nports\n", "sp.txt:2: empty port list"},
        {"Probe TCP NULL q||\nbogus 1\n", "sp.txt:2: unknown directive \"bogus\""},
        {"Probe TCP NULL q||\nExclude T:1\n", "sp.txt:2: Exclude after a Probe line (it must come first)"},
        {"Exclude T:1\nExclude U:1\n", "sp.txt:2: a second Exclude line (only one is allowed)"},
        {"Exclude X:1\n", "sp.txt:1: invalid protocol prefix \"X:\" in Exclude (T: or U:)"},
        {"Probe TCP NULL q||\nmatch\n", "sp.txt:2: no service name and pattern in \"\""},
        {"Probe TCP NULL q||\nmatch ftp\n", "sp.txt:2: no service name and pattern in \"ftp\""},
        {"Probe TCP NULL q||\nmatch ftp r|a|\n", "sp.txt:2: the pattern must be m<delimiter>regex<delimiter>: \"\""},
        {"Probe TCP NULL q||\nmatch ftp m|a\n", "sp.txt:2: no closing delimiter \"|\" in \"m|a\""},
        {"Probe TCP NULL q||\nmatch ftp m|a|x\n", "sp.txt:2: invalid regex option \"x\" (i or s)"},
        {"Probe TCP NULL q||\nmatch ftp m|a| q/x/\n", "sp.txt:2: unknown template \"q\" (p v i h o d cpe:)"},
        {"Probe TCP NULL q||\nmatch ftp m|a| p/x\n", "sp.txt:2: no closing delimiter \"/\" in \"p/x\""},
        {"Probe TCP NULL q||\nmatch ftp m|a| p/x/y\n", "sp.txt:2: unexpected option \"y\" after \"p\" template"},
        {"Probe TCP NULL q||\nmatch ftp m|a| p/x/,\n", "sp.txt:2: expected a space after \"p/x/,\""},
        {"Probe TCP NULL q||\nmatch ftp m|a| cpe:/a:b/b\n", "sp.txt:2: invalid cpe option \"b\" (only a)"},
        {"Probe TCP NULL q||\nmatch ftp m|a| v/$0/\n", "sp.txt:2: $0 is not a group in \"$0\""},
        {"Probe TCP NULL q||\nmatch ftp m|a| v/$Q(1)/\n", "sp.txt:2: unknown $ command \"Q\" in \"$Q(1)\""},
        {"Probe TCP NULL q||\nmatch ftp m|a| v/$P(1/\n", "sp.txt:2: expected ',' or ')' in \"$P(1\""},
        {"Probe TCP NULL q||\nmatch ftp m|a| v/$SUBST(1,\"a\")/\n",
         "sp.txt:2: $SUBST takes a group 1-9 and two strings in \"$SUBST(1,\\\"a\\\")\""},
        {"Probe TCP NULL q||\nmatch ftp m|a| v/$I(1,\"x\")/\n",
         "sp.txt:2: $I takes a group 1-9 and \">\" or \"<\" in \"$I(1,\\\"x\\\")\""},
        {"Probe TCP NULL q||\nmatch ftp m|a| v/$ /\n", "sp.txt:2: bad $ item \"$ \" in \"$ \""},
        {"Probe TCP A q|a|\nfallback\n", "sp.txt:2: empty fallback list"},
        {"Probe TCP A q|a|\nfallback B\n", "sp.txt:2: unknown fallback probe \"B\" for probe \"A\""},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(error_of([&] { parse(c.text); }), c.message) << c.text;
    }
    // A line longer than the limit is refused before it is looked at.
    const std::string longline = head + "match x m|" + std::string(max_service_probes_line, 'a') + "|\n";
    EXPECT_TRUE(error_of([&] { parse(longline); }).starts_with("sp.txt:2: line longer than 65536 bytes"));
}

TEST(ServiceProbesParse, ErrorsAreOneLineEvenForBinaryJunk) {
    const std::string text = "Probe TCP NULL q||\nmatch \x01\n\x02 m|\n";
    const auto message = error_of([&] { parse(text); });
    EXPECT_EQ(message.find('\n'), std::string::npos);
    EXPECT_TRUE(message.starts_with("sp.txt:2: ")) << message;
}

TEST(ServiceProbesParse, Escapes) {
    const auto db = parse("Probe TCP X q|\\0\\a\\b\\f\\n\\r\\t\\v\\x00\\xfF\\\\\\\"\\'\\$|\n");
    EXPECT_EQ(db.probes[0].payload, std::string("\0\a\b\f\n\r\t\v\0\xff\\\"'$", 14));
    EXPECT_EQ(parse("Probe TCP X q/a|b/\n").probes[0].payload, "a|b"); // any delimiter
    // \0 then digits is NUL then the digits (nmap's cstring_unescape: no octal).
    EXPECT_EQ(parse("Probe TCP X q|\\012|\n").probes[0].payload, std::string("\0" "12", 3));
}

TEST(ServiceProbesParse, LoadErrors) {
    EXPECT_THROW(load_service_probes("/nonexistent/nmap-service-probes"), IoError);
    EXPECT_EQ(error_of([] { load_service_probes("/nonexistent/sp"); }),
              "cannot read service probe file \"/nonexistent/sp\": No such file or directory");
}

// Every line of Debian's file parses, and the counts equal a grep of it.
TEST(ServiceProbesDebian, EveryLineParses) {
    NEED_DEBIAN_FILE();
    const auto text = read_file(default_service_probes);
    std::size_t probes = 0, matches = 0, softmatches = 0;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        probes += line.starts_with("Probe ");
        matches += line.starts_with("match ");
        softmatches += line.starts_with("softmatch ");
    }
    const auto& d = Debian::get();
    EXPECT_EQ(d.db.probes.size(), probes);
    EXPECT_EQ(d.db.match_count, matches);
    EXPECT_EQ(d.db.softmatch_count, softmatches);
    std::size_t lines_total = 0;
    for (const auto& p : d.db.probes) lines_total += p.matches.size();
    EXPECT_EQ(lines_total, matches + softmatches);
    EXPECT_TRUE(d.db.excluded(ServiceProtocol::tcp, 9100));
    const auto& s = d.matcher.stats();
    EXPECT_EQ(s.hs_exact + s.hs_prefilter + s.pcre_only, matches + softmatches);
    RecordProperty("probes", int(probes));
    RecordProperty("hs_exact", int(s.hs_exact));
    std::printf("[   info   ] %zu probes, %zu matches, %zu softmatches; Hyperscan exact %zu, prefilter %zu, PCRE2 only %zu\n",
                probes, matches, softmatches, s.hs_exact, s.hs_prefilter, s.pcre_only);
}

// ---- templates ------------------------------------------------------------

TEST(ServiceTemplates, Substitution) {
    using namespace std::string_view_literals;
    const std::string_view g[] = {"whole"sv, "1.2,3"sv, "W\0O\x01R\xffK"sv, "\x01\x02"sv, ""sv, "Ab C:d"sv};
    const std::span<const std::string_view> groups(g);
    const auto sub = [&](std::string_view t, bool cpe = false) {
        return substitute_service_template(t, groups, cpe, 79).value_or("<none>");
    };
    EXPECT_EQ(sub("v$1x"), "v1.2,3x");
    EXPECT_EQ(sub("$SUBST(1,\",\",\".\")"), "1.2.3");
    EXPECT_EQ(sub("$SUBST(5,\" \",\"_\")"), "Ab_C:d");
    EXPECT_EQ(sub("$P(2)"), "WORK");
    EXPECT_EQ(sub("$I(3,\">\")"), "258");
    EXPECT_EQ(sub("$I(3,\"<\")"), "513");
    EXPECT_EQ(sub("a $4, , "), "a"); // trailing whitespace and commas go
    EXPECT_EQ(sub("$6"), "<none>");   // past the regex's groups
    EXPECT_EQ(sub("cpe:/a:x:$5", true), "cpe:/a:x:ab_c%3Ad");
    EXPECT_EQ(substitute_service_template("$1$1$1", groups, false, 10), std::nullopt); // too long
    EXPECT_EQ(check_service_template("p $1 $P(2) $SUBST(3,\"a\",\"\\x41\") $I(1,\">\")"), "");
}

// ---- the matcher on small files --------------------------------------------

TEST(ServiceMatcherSmall, HardBeatsSoftAndFallbacks) {
    const auto db = parse("Probe TCP NULL q||\n"
                          "softmatch ftp m|^220|\n"
                          "match ftp m|^220 (\\w+) FTP ready|i p/$1 ftpd/ cpe:/a:$1:$1/\n"
                          "Probe TCP Help q|HELP\\r\\n|\n"
                          "match help m|^214 (.*)\\r\\n|s p/helper/ i/$P(1)/\n");
    const ServiceMatcher m(db);
    auto scratch = m.make_scratch();
    for (const auto engine : {ServiceMatcher::Engine::hyperscan_prefilter, ServiceMatcher::Engine::pcre_only}) {
        auto r = m.match(0, "220 Foo ftp READY\r\n", scratch, {}, engine);
        ASSERT_TRUE(r);
        EXPECT_FALSE(r->soft);
        EXPECT_EQ(r->line, 3u);
        EXPECT_EQ(r->product, "Foo ftpd");
        EXPECT_EQ(r->cpes, std::vector<std::string>{"cpe:/a:foo:foo"});
        r = m.match(0, "220 other\r\n", scratch, {}, engine);
        ASSERT_TRUE(r);
        EXPECT_TRUE(r->soft);
        EXPECT_EQ(r->service, "ftp");
        // Softmatch known: only a hard match is news.
        EXPECT_FALSE(m.match(0, "220 other\r\n", scratch, "ftp", engine));
        // Help's response falls back to NULL's lines.
        r = m.match(1, "220 Bar FTP ready", scratch, {}, engine);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->probe, 0u);
        EXPECT_EQ(r->product, "Bar ftpd");
        r = m.match(1, std::string_view("214 a\0b\nc\r\n", 11), scratch, {}, engine);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->info, "abc");
        EXPECT_FALSE(m.match(1, "nothing", scratch, {}, engine));
    }
}

TEST(ServiceMatcherSmall, BadRegexNamesItsLine) {
    const auto db = parse("Probe TCP NULL q||\nmatch x m|a(|\n");
    EXPECT_EQ(error_of([&] { ServiceMatcher m(db); }),
              "sp.txt:2: invalid regex \"a(\": missing closing parenthesis at offset 2");
}

TEST(ServiceMatcherSmall, PcreOnlyPatterns) {
    // Hyperscan: a literal exactly, a backreference and a lookbehind only as
    // a prefilter, recursion and a branch reset not at all (PCRE2 alone).
    const auto db = parse("Probe TCP NULL q||\n"
                          "match a m|^(\\w)x\\1$| p/back $1/\n"
                          "match b m|(?<=q)z| p/look/\n"
                          "match c m=^(\\((?:[^()]|(?1))*\\))$= p/nested/\n"
                          "match d m=^(?|(k)|(l))!$= p/reset $1/\n"
                          "match e m|^plain| p/plain/\n");
    const ServiceMatcher m(db);
    EXPECT_EQ(m.stats().hs_exact, 1u);
    EXPECT_EQ(m.stats().hs_prefilter, 2u);
    EXPECT_EQ(m.stats().pcre_only, 2u);
    auto scratch = m.make_scratch();
    for (const auto* s : {"axa", "axb", "qz", "z", "(a(b)c)", "(a(b)c", "l!", "m!", "plain", ""}) {
        const auto a = m.match(0, s, scratch);
        const auto b = m.match(0, s, scratch, {}, ServiceMatcher::Engine::pcre_only);
        ASSERT_EQ(a.has_value(), b.has_value()) << s;
        if (a) {
            EXPECT_EQ(a->product, b->product);
        }
    }
    const auto product = [&](std::string_view s) {
        const auto r = m.match(0, s, scratch);
        return r ? r->product : "<no match>";
    };
    EXPECT_EQ(product("axa"), "back a");
    EXPECT_EQ(product("axb"), "<no match>");
    EXPECT_EQ(product("qz"), "look");
    EXPECT_EQ(product("(a(b)c)"), "nested");
    EXPECT_EQ(product("(a(b)c"), "<no match>");
    EXPECT_EQ(product("l!"), "reset l");
}

// ---- the compiled-database cache --------------------------------------------

// Every field of two answers.
void expect_same(const std::optional<ServiceMatch>& a, const std::optional<ServiceMatch>& b, std::string_view what) {
    ASSERT_EQ(a.has_value(), b.has_value()) << what;
    if (!a) return;
    EXPECT_EQ(a->probe, b->probe) << what;
    EXPECT_EQ(a->match, b->match) << what;
    EXPECT_EQ(a->line, b->line) << what;
    EXPECT_EQ(a->soft, b->soft) << what;
    EXPECT_EQ(a->service, b->service) << what;
    EXPECT_EQ(a->product, b->product) << what;
    EXPECT_EQ(a->version, b->version) << what;
    EXPECT_EQ(a->info, b->info) << what;
    EXPECT_EQ(a->hostname, b->hostname) << what;
    EXPECT_EQ(a->ostype, b->ostype) << what;
    EXPECT_EQ(a->devicetype, b->devicetype) << what;
    EXPECT_EQ(a->cpes, b->cpes) << what;
}

void expect_same_stats(const MatcherStats& a, const MatcherStats& b) {
    EXPECT_EQ(a.hs_exact, b.hs_exact);
    EXPECT_EQ(a.hs_prefilter, b.hs_prefilter);
    EXPECT_EQ(a.pcre_only, b.pcre_only);
}

std::vector<std::string> cache_files(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
        out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

std::string read_bytes(const std::string& path) { return read_file(path); }
void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// The cache file's trailing SHA-256 made right again after an edit, so the
// checks behind it are what refuse the file.
std::string rehash(std::string bytes) {
    unsigned char digest[32];
    unsigned size = 0;
    EVP_Digest(bytes.data(), bytes.size() - 32, digest, &size, EVP_sha256(), nullptr);
    std::memcpy(bytes.data() + bytes.size() - 32, digest, 32);
    return bytes;
}

// A small file with every kind of line: Hyperscan exact, prefilter only,
// PCRE2 only, softmatches and a fallback.
const char* const small_probes = "Probe TCP NULL q||\n"
                                 "match a m|^(\\w)x\\1$| p/back $1/\n"
                                 "match b m|(?<=q)z| p/look/\n"
                                 "match c m=^(\\((?:[^()]|(?1))*\\))$= p/nested/\n"
                                 "match d m=^(?|(k)|(l))!$= p/reset $1/\n"
                                 "softmatch ftp m|^220|\n"
                                 "match ftp m|^220 (\\w+) FTP ready|i p/$1 ftpd/ cpe:/a:$1:$1/\n"
                                 "Probe TCP Help q|HELP\\r\\n|\n"
                                 "match help m|^214 (.*)\\r\\n|s p/helper/ i/$P(1)/\n";
const char* const small_inputs[] = {"axa", "axb", "qz", "z", "(a(b)c)", "(a(b)c", "l!", "m!", "220 Foo ftp READY\r\n",
                                    "220 other\r\n", "214 a\nb\r\n", "nothing", ""};

void expect_same_answers(const ServiceMatcher& a, const ServiceMatcher& b) {
    auto sa = a.make_scratch();
    auto sb = b.make_scratch();
    for (std::size_t p = 0; p < a.probes().probes.size(); ++p)
        for (const auto* in : small_inputs)
            for (const auto engine : {ServiceMatcher::Engine::hyperscan_prefilter, ServiceMatcher::Engine::pcre_only})
                expect_same(a.match(p, in, sa, {}, engine), b.match(p, in, sb, {}, engine),
                            std::to_string(p) + " " + in);
}

TEST(ServiceMatcherCache, MissWritesHitLoadsTheSameAnswers) {
    const auto db = parse(small_probes);
    const ServiceMatcher fresh(db);
    EXPECT_EQ(fresh.stats().cache_misses + fresh.stats().cache_hits + fresh.stats().cache_writes, 0u);
    TempDir dir;
    const std::string sub = dir.path + "/a/b"; // created on the first write
    const ServiceMatcher cold(db, sub);
    EXPECT_EQ(cold.stats().cache_misses, 1u);
    EXPECT_EQ(cold.stats().cache_hits, 0u);
    EXPECT_EQ(cold.stats().cache_errors, 0u);
    EXPECT_EQ(cold.stats().cache_writes, 1u);
    const auto files = cache_files(sub);
    ASSERT_EQ(files.size(), 1u); // no temp file left behind
    EXPECT_TRUE(files[0].starts_with("service-hs-") && files[0].ends_with(".bin")) << files[0];
    const ServiceMatcher warm(db, sub);
    EXPECT_EQ(warm.stats().cache_hits, 1u);
    EXPECT_EQ(warm.stats().cache_misses, 0u);
    EXPECT_EQ(warm.stats().cache_writes, 0u);
    expect_same_stats(warm.stats(), fresh.stats());
    EXPECT_EQ(warm.stats().pcre_only, 2u);
    expect_same_answers(fresh, warm);
    expect_same_answers(fresh, cold);
    // Another pattern is another key: a second file, the first one kept.
    auto changed = db;
    changed.probes[0].matches[0].pattern = "^(\\w)y\\1$";
    const ServiceMatcher other(changed, sub);
    EXPECT_EQ(other.stats().cache_misses, 1u);
    EXPECT_EQ(cache_files(sub).size(), 2u);
    // A flag is part of the key too.
    auto caseless = db;
    caseless.probes[0].matches[1].caseless = true;
    EXPECT_EQ(ServiceMatcher(caseless, sub).stats().cache_misses, 1u);
    // A bad regex is still refused, cache or not.
    const auto bad = parse("Probe TCP NULL q||\nmatch x m|a(|\n");
    EXPECT_EQ(error_of([&] { ServiceMatcher m(bad, sub); }),
              "sp.txt:2: invalid regex \"a(\": missing closing parenthesis at offset 2");
}

TEST(ServiceMatcherCache, CorruptTruncatedOrForeignFilesAreRecompiled) {
    const auto db = parse(small_probes);
    const ServiceMatcher fresh(db);
    TempDir dir;
    { const ServiceMatcher cold(db, dir.path); }
    const auto files = cache_files(dir.path);
    ASSERT_EQ(files.size(), 1u);
    const std::string path = dir.path + "/" + files[0];
    const auto good = read_bytes(path);
    ASSERT_GT(good.size(), 200u);
    // Another file's cache, valid in itself, under this name.
    TempDir other_dir;
    { const ServiceMatcher other(parse("Probe TCP NULL q||\nmatch x m|^x|\n"), other_dir.path); }
    const auto other_files = cache_files(other_dir.path);
    ASSERT_EQ(other_files.size(), 1u);
    const auto foreign = read_bytes(other_dir.path + "/" + other_files[0]);
    // Where probe 0's first Hyperscan database starts (layout in service_matcher.cpp).
    const std::size_t probes_at = 8 + 4 + 32 + 3 * 8, probe0_at = probes_at + 8;
    std::uint32_t n = 0;
    std::memcpy(&n, good.data() + probe0_at, 4);
    const std::size_t hs0_at = probe0_at + 4 + 4 * n + 4 + 8;
    ASSERT_LT(hs0_at + 4, good.size());

    const auto flip = [&](std::size_t at) {
        auto b = good;
        b[at] = char(b[at] ^ 0x40);
        return b;
    };
    const auto flip_rehashed = [&](std::size_t at) { return rehash(flip(at)); };
    struct Case {
        std::string name, bytes;
    };
    const std::vector<Case> cases = {
        {"magic", flip(0)},
        {"format", flip(8)},
        {"key", flip(20)},
        {"middle", flip(good.size() / 2)},
        {"last hs byte", flip(good.size() - 33)},
        {"checksum", flip(good.size() - 1)},
        {"empty", ""},
        {"one byte", good.substr(0, 1)},
        {"header only", good.substr(0, 44)},
        {"half", good.substr(0, good.size() / 2)},
        {"one byte short", good.substr(0, good.size() - 1)},
        {"one byte more", good + "x"},
        {"foreign", foreign},
        {"stats, rehashed", flip_rehashed(44)},
        {"probe count, rehashed", flip_rehashed(probes_at)},
        {"PCRE2-only count, rehashed", flip_rehashed(probe0_at + 3)},
        {"Hyperscan header, rehashed", flip_rehashed(hs0_at)},
        {"Hyperscan size, rehashed", flip_rehashed(hs0_at - 8)},
        {"junk", std::string(good.size(), '\xa5')},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        write_bytes(path, c.bytes);
        const ServiceMatcher m(db, dir.path);
        EXPECT_EQ(m.stats().cache_errors, 1u);
        EXPECT_EQ(m.stats().cache_hits, 0u);
        EXPECT_EQ(m.stats().cache_writes, 1u); // rewritten
        expect_same_stats(m.stats(), fresh.stats());
        expect_same_answers(fresh, m);
        EXPECT_EQ(read_bytes(path), good);
        EXPECT_EQ(ServiceMatcher(db, dir.path).stats().cache_hits, 1u);
    }
    // A directory where the file should be: refused, not rewritten, no cache.
    std::filesystem::remove(path);
    std::filesystem::create_directory(path);
    const ServiceMatcher m(db, dir.path);
    EXPECT_EQ(m.stats().cache_errors, 1u);
    EXPECT_EQ(m.stats().cache_writes, 0u);
    expect_same_answers(fresh, m);
}

TEST(ServiceMatcherCache, UnwritableDirectoryMeansNoCache) {
    const auto db = parse(small_probes);
    const ServiceMatcher fresh(db);
    TempDir dir;
    // A path below a regular file cannot be created, even by root.
    const std::string file = dir.path + "/file";
    write_bytes(file, "x");
    for (const auto& where : {file + "/cache", file}) {
        const ServiceMatcher m(db, where);
        EXPECT_EQ(m.stats().cache_misses, 1u) << where;
        EXPECT_EQ(m.stats().cache_writes, 0u) << where;
        EXPECT_EQ(m.stats().cache_hits, 0u) << where;
        expect_same_answers(fresh, m);
    }
    EXPECT_EQ(cache_files(dir.path), std::vector<std::string>{"file"});
    if (::geteuid() != 0) { // root writes anywhere
        const std::string readonly = dir.path + "/ro";
        std::filesystem::create_directory(readonly);
        std::filesystem::permissions(readonly, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
        const ServiceMatcher m(db, readonly);
        EXPECT_EQ(m.stats().cache_writes, 0u);
        expect_same_answers(fresh, m);
        std::filesystem::permissions(readonly, std::filesystem::perms::owner_all);
    }
}

TEST(ServiceMatcherCache, DefaultDirectory) {
    const auto saved = [](const char* name) -> std::optional<std::string> {
        const char* v = std::getenv(name);
        return v ? std::optional<std::string>(v) : std::nullopt;
    };
    const auto xdg = saved("XDG_CACHE_HOME"), home = saved("HOME");
    ::setenv("XDG_CACHE_HOME", "/x/cache", 1);
    ::setenv("HOME", "/h", 1);
    EXPECT_EQ(default_service_cache_dir(), "/x/cache/wirespeed");
    ::setenv("XDG_CACHE_HOME", "relative", 1); // the XDG spec: ignored
    EXPECT_EQ(default_service_cache_dir(), "/h/.cache/wirespeed");
    ::unsetenv("XDG_CACHE_HOME");
    EXPECT_EQ(default_service_cache_dir(), "/h/.cache/wirespeed");
    ::unsetenv("HOME");
    EXPECT_EQ(default_service_cache_dir(), "");
    if (xdg) ::setenv("XDG_CACHE_HOME", xdg->c_str(), 1);
    if (home) ::setenv("HOME", home->c_str(), 1);
}

// Debian's file: the shared matcher wrote its cache cold (or, with
// WS_SERVICE_TEST_CACHE, found one a plain run wrote); loading it back gives
// the same answers as that fresh compile (the sample of
// HyperscanAgreesWithPcre's synthetic responses and real banners).
std::string synthesize(std::string_view re);

TEST(ServiceProbesDebian, CacheHitGivesTheSameAnswers) {
    NEED_DEBIAN_FILE();
    auto& d = Debian::get();
    const auto& shared = d.matcher.stats();
    EXPECT_EQ(shared.cache_errors, 0u);
    EXPECT_EQ(shared.cache_writes + shared.cache_hits, 1u); // compiled and written, or loaded
    const auto start = std::chrono::steady_clock::now();
    const auto start_cpu = std::clock();
    const ServiceMatcher warm(d.db, d.cache_dir);
    const auto warm_seconds = seconds_since(start);
    const auto warm_cpu = double(std::clock() - start_cpu) / CLOCKS_PER_SEC;
    std::uintmax_t cache_bytes = 0;
    for (const auto& name : cache_files(d.cache_dir))
        if (name.starts_with("service-hs-")) cache_bytes += std::filesystem::file_size(d.cache_dir + "/" + name);
    std::printf("[   info   ] Debian's file: matcher built %s in %.2f s (CPU %.2f s), warm (cache hit) in %.2f s "
                "(CPU %.2f s); cache %ju bytes\n",
                shared.cache_hits ? "from the shared cache" : "cold", d.cold_seconds, d.cold_cpu, warm_seconds,
                warm_cpu, cache_bytes);
    EXPECT_EQ(warm.stats().cache_hits, 1u);
    expect_same_stats(warm.stats(), d.matcher.stats());
    auto sa = d.matcher.make_scratch();
    auto sb = warm.make_scratch();
    std::size_t compared = 0;
    for (std::size_t p = 0; p < d.db.probes.size(); ++p) {
        const auto& lines = d.db.probes[p].matches;
        for (std::size_t i = 0; i < lines.size(); i += 23) {
            const auto s = synthesize(lines[i].pattern);
            expect_same(d.matcher.match(p, s, sa), warm.match(p, s, sb), "line " + std::to_string(lines[i].line));
            ++compared;
        }
        for (const auto* banner : {"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", "220 (vsFTPd 3.0.3)\r\n",
                                   "HTTP/1.1 200 OK\r\nServer: Apache/2.4.62 (Debian)\r\n\r\n", "nothing"})
            expect_same(d.matcher.match(p, banner, sa), warm.match(p, banner, sb), banner);
    }
    EXPECT_GT(compared, 500u);
}

// ---- real banners against Debian's file -----------------------------------

struct Banner {
    const char* probe;
    std::string response;
    const char* service;
    const char* product;
    const char* version;
    const char* cpe; // the first cpe, or ""
};

TEST(ServiceProbesDebian, RealBanners) {
    NEED_DEBIAN_FILE();
    auto& d = Debian::get();
    auto scratch = d.matcher.make_scratch();
    const Banner banners[] = {
        {"NULL", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", "ssh", "OpenSSH", "9.2p1 Debian 2+deb12u3",
         "cpe:/a:openbsd:openssh:9.2p1"},
        {"GetRequest",
         "HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\nDate: Mon, 30 Nov 2026 16:00:00 GMT\r\n"
         "Content-Type: text/html\r\nContent-Length: 157\r\nConnection: close\r\n\r\n<html>\r\n",
         "http", "nginx", "1.22.1", "cpe:/a:igor_sysoev:nginx:1.22.1"},
        {"GetRequest", "-ERR wrong number of arguments for 'get' command\r\n", "redis", "Redis key-value store", "",
         ""},
        {"NULL", "220 (vsFTPd 3.0.3)\r\n", "ftp", "vsftpd", "3.0.3", "cpe:/a:vsftpd:vsftpd:3.0.3"},
        {"NULL", "220 mail.example.org ESMTP Postfix (Debian/GNU)\r\n", "smtp", "Postfix smtpd", "",
         "cpe:/a:postfix:postfix"},
    };
    for (const auto& b : banners) {
        for (const auto engine : {ServiceMatcher::Engine::hyperscan_prefilter, ServiceMatcher::Engine::pcre_only}) {
            const auto r = d.matcher.match(d.probe(b.probe), b.response, scratch, {}, engine);
            ASSERT_TRUE(r) << b.response;
            EXPECT_FALSE(r->soft) << b.response;
            EXPECT_EQ(r->service, b.service) << "line " << r->line;
            EXPECT_EQ(r->product, b.product) << "line " << r->line;
            EXPECT_EQ(r->version, b.version) << "line " << r->line;
            if (*b.cpe) {
                ASSERT_FALSE(r->cpes.empty()) << "line " << r->line;
                EXPECT_EQ(r->cpes[0], b.cpe) << "line " << r->line;
            }
        }
    }
    // The OpenSSH line also names the OS.
    const auto ssh = d.matcher.match(d.probe("NULL"), banners[0].response, scratch);
    ASSERT_TRUE(ssh);
    EXPECT_EQ(ssh->ostype, "Linux");
    EXPECT_EQ(ssh->info, "protocol 2.0");
}

TEST(ServiceProbesDebian, SubstAndPrintableLines) {
    NEED_DEBIAN_FILE();
    auto& d = Debian::get();
    auto scratch = d.matcher.make_scratch();
    // match ssh m|^SSH-(\d[\d.]+)-VShell_(\d[_\d.]+) VShell\r?\n$| v/$SUBST(2,"_",".")/
    auto r = d.matcher.match(d.probe("NULL"), "SSH-2.0-VShell_4_1_3 VShell\r\n", scratch);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->product, "VanDyke VShell sshd");
    EXPECT_EQ(r->version, "4.1.3");
    EXPECT_EQ(r->cpes.at(0), "cpe:/a:vandyke:vshell:4.1.3");
}

TEST(ServiceProbesDebian, SoftmatchThenNarrowedProbes) {
    NEED_DEBIAN_FILE();
    auto& d = Debian::get();
    auto scratch = d.matcher.make_scratch();
    // An FTP greeting no hard line knows: softmatch ftp on the NULL probe.
    // softmatch ftp m|^220 Welcome to ([-.\w]+) FTP.*\r\n$|i h/$1/
    const auto r = d.matcher.match(d.probe("NULL"), "220 Welcome to wirespeed-lab FTP zzyzx\r\n", scratch);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->soft);
    EXPECT_EQ(r->service, "ftp");
    EXPECT_EQ(r->hostname, "wirespeed-lab");
    // Later probes are narrowed to those that can name ftp.
    const auto all = select_service_probes(d.db, ServiceProtocol::tcp, 2121, false);
    const auto narrowed = select_service_probes(d.db, ServiceProtocol::tcp, 2121, false, 7, "ftp");
    EXPECT_LT(narrowed.size(), all.size());
    for (std::size_t k = 1; k < narrowed.size(); ++k) EXPECT_TRUE(d.db.probes[narrowed[k]].can_detect("ftp"));
    // A hard match on a later probe then completes it.
    const auto hard = d.matcher.match(d.probe("NULL"), "220 (vsFTPd 3.0.3)\r\n", scratch, "ftp");
    ASSERT_TRUE(hard);
    EXPECT_FALSE(hard->soft);
}

TEST(ServiceProbesDebian, ProbeSelectionOrder) {
    NEED_DEBIAN_FILE();
    auto& d = Debian::get();
    const auto order = select_service_probes(d.db, ServiceProtocol::tcp, 80, false);
    ASSERT_GE(order.size(), 3u);
    EXPECT_EQ(d.db.probes[order[0]].name, "NULL");
    EXPECT_EQ(d.db.probes[order[1]].name, "GetRequest"); // the first probe listing port 80
    std::size_t k = 1;
    while (k < order.size() && d.db.probes[order[k]].ports.contains(80)) ++k;
    for (; k < order.size(); ++k) EXPECT_LE(d.db.probes[order[k]].rarity, 7);
    for (std::size_t i = 1; i < order.size(); ++i) EXPECT_EQ(d.db.probes[order[i]].protocol, ServiceProtocol::tcp);
    // Intensity 0: NULL and the port's own probes only.
    for (const auto i : select_service_probes(d.db, ServiceProtocol::tcp, 80, false, 0))
        EXPECT_TRUE(d.db.probes[i].name == "NULL" || d.db.probes[i].ports.contains(80));
    // UDP: no NULL probe.
    const auto udp = select_service_probes(d.db, ServiceProtocol::udp, 53, false);
    ASSERT_FALSE(udp.empty());
    EXPECT_EQ(d.db.probes[udp[0]].protocol, ServiceProtocol::udp);
    EXPECT_TRUE(d.db.probes[udp[0]].ports.contains(53));
    // SSL: sslports decide.
    const auto ssl = select_service_probes(d.db, ServiceProtocol::tcp, 443, true);
    EXPECT_TRUE(d.db.probes[ssl[1]].sslports.contains(443));
    EXPECT_THROW(select_service_probes(d.db, ServiceProtocol::tcp, 80, false, 10), Error);
}

// A string that the regex is likely to match: literals kept, escapes
// decoded, classes and dots given one member, quantifiers and anchors
// dropped, the first branch of an alternation taken. Crude on purpose: the
// property below holds whether or not the string matches.
std::string synthesize(std::string_view re) {
    std::string out;
    int skip_depth = -1, depth = 0;
    for (std::size_t i = 0; i < re.size(); ++i) {
        const char c = re[i];
        const bool emit = skip_depth < 0;
        auto put = [&](char b) {
            if (emit) out += b;
        };
        if (c == '\\' && i + 1 < re.size()) {
            const char e = re[++i];
            if (e == 'x' && i + 2 < re.size()) {
                put(char(std::stoi(std::string(re.substr(i + 1, 2)), nullptr, 16)));
                i += 2;
            } else if (e == 'r') put('\r');
            else if (e == 'n') put('\n');
            else if (e == 't') put('\t');
            else if (e == '0') put('\0');
            else if (e == 'd') put('1');
            else if (e == 'w') put('a');
            else if (e == 's') put(' ');
            else if (e == 'S' || e == 'W' || e == 'D') put('-');
            else if (e == 'b' || e == 'B' || e == 'A' || e == 'z' || e == 'Z') {
            } else put(e);
        } else if (c == '[') {
            std::size_t j = i + 1;
            const bool negated = j < re.size() && re[j] == '^';
            if (negated) ++j;
            char first = negated ? '~' : (j < re.size() ? re[j] : 'a');
            if (first == '\\' && j + 1 < re.size()) first = re[j + 1] == 'd' ? '1' : re[j + 1] == 'w' ? 'a' : re[j + 1];
            if (negated && re.substr(j).starts_with("~")) first = '#';
            ++j;
            while (j < re.size() && re[j] != ']') j += re[j] == '\\' ? 2 : 1;
            put(first);
            i = j;
        } else if (c == '(') {
            ++depth;
            if (re.substr(i).starts_with("(?:")) i += 2;
            else if (re.substr(i).starts_with("(?")) { // lookaround and the like: skip its body
                if (skip_depth < 0) skip_depth = depth;
            }
        } else if (c == ')') {
            if (skip_depth == depth) skip_depth = -1;
            --depth;
        } else if (c == '|') {
            if (skip_depth < 0) skip_depth = depth; // skip the other branches to this group's end
        } else if (c == '{') {
            while (i < re.size() && re[i] != '}') ++i;
        } else if (c == '.') {
            put('a');
        } else if (c == '^' || c == '$' || c == '?' || c == '*' || c == '+') {
        } else {
            put(c);
        }
    }
    return out;
}

// For a sample of Debian's lines, a synthetic response matched with the
// Hyperscan prefilter and with PCRE2 alone gives the same answer.
TEST(ServiceProbesDebian, HyperscanAgreesWithPcre) {
    NEED_DEBIAN_FILE();
    auto& d = Debian::get();
    auto scratch = d.matcher.make_scratch();
    std::size_t sampled = 0, matched = 0;
    for (std::size_t p = 0; p < d.db.probes.size(); ++p) {
        const auto& lines = d.db.probes[p].matches;
        for (std::size_t i = 0; i < lines.size(); i += 23) {
            const auto s = synthesize(lines[i].pattern);
            const auto a = d.matcher.match(p, s, scratch);
            const auto b = d.matcher.match(p, s, scratch, {}, ServiceMatcher::Engine::pcre_only);
            ++sampled;
            ASSERT_EQ(a.has_value(), b.has_value()) << "line " << lines[i].line;
            if (!a) continue;
            ++matched;
            EXPECT_EQ(a->line, b->line);
            EXPECT_EQ(a->product, b->product);
            EXPECT_EQ(a->version, b->version);
            EXPECT_EQ(a->cpes, b->cpes);
        }
    }
    std::printf("[   info   ] %zu sampled lines, %zu synthetic responses matched a line\n", sampled, matched);
    EXPECT_GT(matched, sampled / 2);
}

TEST(ServiceProbesDebian, ScratchPerThread) {
    NEED_DEBIAN_FILE();
    auto& d = Debian::get();
    std::vector<std::thread> threads;
    std::vector<int> ok(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            auto scratch = d.matcher.make_scratch();
            for (int k = 0; k < 50; ++k) {
                const auto r = d.matcher.match(d.probe("NULL"), "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", scratch);
                ok[std::size_t(t)] += r && r->product == "OpenSSH";
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok, std::vector<int>(4, 50));
}

} // namespace
} // namespace ws
