// The output formats (list, JSON, CSV, nmap XML, nmap grepable), export of a
// scan database through the same writers, and merge of databases.
#include "wirespeed/outputs.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "wirespeed/error.hpp"
#include "wirespeed/export.hpp"
#include "wirespeed/result_sink.hpp"
#include "wirespeed/service_result.hpp"

namespace ws {
namespace {

constexpr double start = 1'700'000'000.0;

ResultRecord rec(std::uint32_t ip, std::uint16_t port, PortState state, Reason reason, std::uint8_t ttl,
                 std::uint16_t window, std::uint32_t elapsed_ms) {
    ResultRecord r{};
    r.set_ipv4(ip);
    r.port = port;
    r.proto = Proto::tcp;
    r.state = state;
    r.reason = reason;
    r.ttl = ttl;
    r.window = window;
    r.elapsed_ms = elapsed_ms;
    return r;
}

constexpr std::uint32_t h5 = 0xc6130005u;  // 198.19.0.5
constexpr std::uint32_t h7 = 0xc6130007u;  // 198.19.0.7
constexpr std::uint32_t h12 = 0xc613000cu; // 198.19.0.12 (sorts after .7 by number, before it as text)
constexpr std::uint32_t h10 = 0x0a000001u; // 10.0.0.1

// Several hosts, several ports each, every state, in scrambled order.
std::vector<ResultRecord> scrambled_records() {
    return {
        rec(h7, 443, PortState::open, Reason::syn_ack, 64, 65160, 1500),
        rec(h12, 22, PortState::closed, Reason::reset, 63, 0, 1750),
        rec(h5, 80, PortState::open, Reason::syn_ack, 64, 29200, 2000),
        rec(h10, 3389, PortState::filtered, Reason::admin_prohibited, 250, 0, 2250),
        rec(h5, 22, PortState::open, Reason::syn_ack, 64, 64240, 2500),
        rec(h7, 22, PortState::closed, Reason::reset, 64, 0, 3000),
        rec(h12, 8080, PortState::open, Reason::syn_ack, 128, 8192, 3001),
        rec(h5, 443, PortState::filtered, Reason::port_unreach, 60, 0, 4000),
        rec(h10, 80, PortState::open, Reason::syn_ack, 55, 1024, 4500),
    };
}

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/ws-outputs-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string operator/(const std::string& name) const { return (path / name).string(); }
};

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
    return lines;
}

bool have_command(const char* name) {
    return std::system(fmt::format("command -v {} >/dev/null 2>&1", name).c_str()) == 0;
}

// Runs a python3 script on `input`; returns what it printed (or "" with a failure).
std::string run_python(const TempDir& dir, const std::string& script, const std::string& input) {
    const std::string script_path = dir / "check.py";
    const std::string out_path = dir / "check.out";
    std::ofstream(script_path) << script;
    const int rc = std::system(fmt::format("python3 {} {} > {} 2>&1", script_path, input, out_path).c_str());
    const std::string out = slurp(out_path);
    EXPECT_EQ(rc, 0) << out;
    return out;
}

// Feeds the records through a ResultSink (as the collector does) with the
// given outputs and, optionally, a database.
void run_sink(const std::vector<ResultRecord>& records, std::vector<std::unique_ptr<OutputWriter>> outputs,
              const std::string& db_path = "", ScanRecord scan = {}) {
    ResultSink sink(SinkOptions{.keep_closed = true, .batch_rows = 4}, nullptr, start);
    if (!db_path.empty()) sink.set_database(std::make_unique<SqliteWriter>(db_path, scan));
    for (auto& out : outputs) sink.add_output(std::move(out));
    sink.add(records.data(), records.size());
    sink.finish(ScanCounters{.sent = 100, .replies = records.size()});
}

std::string service(std::uint16_t port) { return std::string(ServiceNames::instance().lookup(port, Proto::tcp)); }

ScanInfo fixed_info() {
    return ScanInfo{.args = "wirespeed scan 198.19.0.0/24 10.0.0.1 -p 22,80,443,3389,8080 --rate \"1<2\" -oX out.xml",
                    .start_unix = start,
                    .ports = {8080, 22, 80, 443, 3389, 81, 82},
                    .end_unix = start + 12.5};
}

template <typename F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected a ws::Error";
    return {};
}

// ---------------------------------------------------------------- helpers

TEST(Outputs, CompressPorts) {
    std::vector<std::uint16_t> ports{8080, 443};
    for (std::uint16_t p = 1; p <= 1024; ++p) ports.push_back(p);
    EXPECT_EQ(compress_ports(ports), "1-1024,8080");
    EXPECT_EQ(compress_ports({80, 443, 22, 81, 80}), "22,80-81,443");
    EXPECT_EQ(compress_ports({}), "");
}

TEST(Outputs, TimestampsRoundTrip) {
    EXPECT_EQ(format_timestamp(1700000001.5), "1700000001.5");
    EXPECT_EQ(format_timestamp(1700000001.0), "1700000001");
    EXPECT_EQ(std::stod(format_timestamp(start + 3.001)), start + 3.001);
}

TEST(Outputs, ServiceNamesFromFiles) {
    TempDir dir;
    std::ofstream(dir / "nmap-services") << "# comment\nhttp\t80/tcp\t0.484143\t# World Wide Web HTTP\n"
                                            "www-alt\t80/tcp\t0.001\n"
                                            "domain\t53/udp\t0.21\nbad line\n";
    std::ofstream(dir / "services") << "ssh\t\t22/tcp\t\t\t# SSH Remote Login Protocol\nhttp\t80/tcp\twww\n";
    const auto nmap = ServiceNames::load({dir / "missing", dir / "nmap-services", dir / "services"});
    EXPECT_EQ(nmap.lookup(80, Proto::tcp), "http"); // the most frequent name of a port
    EXPECT_EQ(nmap.lookup(53, Proto::udp), "domain");
    EXPECT_EQ(nmap.lookup(53, Proto::tcp), "");
    EXPECT_EQ(nmap.lookup(22, Proto::tcp), ""); // the first file that opens wins
    const auto etc = ServiceNames::load({dir / "services"});
    EXPECT_EQ(etc.lookup(22, Proto::tcp), "ssh");
    EXPECT_EQ(etc.lookup(80, Proto::tcp), "http");
    EXPECT_EQ(ServiceNames::load({dir / "missing"}).size(), 0u);
    EXPECT_EQ(ServiceNames::instance().lookup(80, Proto::tcp), ServiceNames::instance().lookup(80, Proto::tcp));
}

// ---------------------------------------------------------------- list

TEST(Outputs, ListFormatUnchanged) {
    TempDir dir;
    std::vector<std::unique_ptr<OutputWriter>> outs;
    outs.push_back(make_list_writer(dir / "scan.list"));
    auto records = scrambled_records();
    records.resize(3);
    run_sink(records, std::move(outs));
    EXPECT_EQ(slurp(dir / "scan.list"),
              "#masscan\nopen tcp 443 198.19.0.7 1700000001\nclosed tcp 22 198.19.0.12 1700000001\n"
              "open tcp 80 198.19.0.5 1700000002\n# end\n");
}

// ---------------------------------------------------------------- JSON

TEST(Outputs, JsonLinesParseWithExactValues) {
    TempDir dir;
    std::vector<std::unique_ptr<OutputWriter>> outs;
    outs.push_back(make_json_writer(dir / "scan.json"));
    run_sink(scrambled_records(), std::move(outs));
    const std::string text = slurp(dir / "scan.json");
    EXPECT_EQ(lines_of(text).front(),
              R"({"ip":"198.19.0.7","port":443,"proto":"tcp","state":"open","reason":"syn-ack","ttl":64,"window":65160,"ts":1700000001.5})");
    EXPECT_EQ(text.front(), '{') << "NDJSON, never an array";
    if (!have_command("python3")) GTEST_SKIP() << "python3 not installed";
    const std::string out = run_python(dir, R"py(
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert sorted(o) == sorted(["ip", "port", "proto", "state", "reason", "ttl", "window", "ts"]), o
    assert all(type(o[k]) is int for k in ("port", "ttl", "window")), o
    print("%s|%d|%s|%s|%s|%d|%d|%r" % (o["ip"], o["port"], o["proto"], o["state"], o["reason"], o["ttl"], o["window"], float(o["ts"])))
)py", dir / "scan.json");
    EXPECT_EQ(out, "198.19.0.7|443|tcp|open|syn-ack|64|65160|1700000001.5\n"
                   "198.19.0.12|22|tcp|closed|reset|63|0|1700000001.75\n"
                   "198.19.0.5|80|tcp|open|syn-ack|64|29200|1700000002.0\n"
                   "10.0.0.1|3389|tcp|filtered|admin-prohibited|250|0|1700000002.25\n"
                   "198.19.0.5|22|tcp|open|syn-ack|64|64240|1700000002.5\n"
                   "198.19.0.7|22|tcp|closed|reset|64|0|1700000003.0\n"
                   "198.19.0.12|8080|tcp|open|syn-ack|128|8192|1700000003.001\n"
                   "198.19.0.5|443|tcp|filtered|port-unreach|60|0|1700000004.0\n"
                   "10.0.0.1|80|tcp|open|syn-ack|55|1024|1700000004.5\n");
}

TEST(Outputs, JsonFlushLeavesCompleteLines) {
    TempDir dir;
    auto writer = make_json_writer(dir / "partial.json");
    const auto records = scrambled_records();
    writer->write(records[0], start + 1.5);
    writer->write(records[1], start + 1.75);
    writer->flush(); // an interrupted run: no finish()
    const auto lines = lines_of(slurp(dir / "partial.json"));
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[1].back(), '}');
    writer->finish();
}

// ---------------------------------------------------------------- CSV

const char* csv_dump = R"py(
import csv, sys
with open(sys.argv[1], newline="") as f:
    for row in csv.reader(f):
        print("|".join(row))
)py";

TEST(Outputs, CsvParsesWithHeaderAndRows) {
    TempDir dir;
    std::vector<std::unique_ptr<OutputWriter>> outs;
    outs.push_back(make_csv_writer(dir / "all.csv", ""));
    outs.push_back(make_csv_writer(dir / "some.csv", "ts,ip,port"));
    run_sink(scrambled_records(), std::move(outs));
    const auto lines = lines_of(slurp(dir / "all.csv"));
    ASSERT_EQ(lines.size(), 10u);
    // The result columns first, as before scan --service; then the service
    // columns, empty in a result's row.
    const std::string services_header =
        "service,product,version,info,hostname,ostype,devicetype,cpe,method,conf,soft,tunnel,probe,banner,tls_version,"
        "tls_cipher,cert_subject,cert_issuer,cert_san_dns,cert_san_ip,cert_not_before,cert_not_after,cert_sha256,"
        "cert_key_type,cert_key_bits,cert_self_signed";
    const std::string no_service(26, ',');
    EXPECT_EQ(lines[0], "ip,port,proto,state,reason,ttl,window,ts,data," + services_header);
    EXPECT_EQ(lines[1], "198.19.0.7,443,tcp,open,syn-ack,64,65160,1700000001.5," + no_service);
    if (!have_command("python3")) GTEST_SKIP() << "python3 not installed";
    const std::string py_none(26, '|');
    std::string services_pipe = services_header;
    std::replace(services_pipe.begin(), services_pipe.end(), ',', '|');
    EXPECT_EQ(run_python(dir, csv_dump, dir / "all.csv"),
              "ip|port|proto|state|reason|ttl|window|ts|data|" + services_pipe + "\n"
              "198.19.0.7|443|tcp|open|syn-ack|64|65160|1700000001.5|" + py_none + "\n"
              "198.19.0.12|22|tcp|closed|reset|63|0|1700000001.75|" + py_none + "\n"
              "198.19.0.5|80|tcp|open|syn-ack|64|29200|1700000002|" + py_none + "\n"
              "10.0.0.1|3389|tcp|filtered|admin-prohibited|250|0|1700000002.25|" + py_none + "\n"
              "198.19.0.5|22|tcp|open|syn-ack|64|64240|1700000002.5|" + py_none + "\n"
              "198.19.0.7|22|tcp|closed|reset|64|0|1700000003|" + py_none + "\n"
              "198.19.0.12|8080|tcp|open|syn-ack|128|8192|1700000003.001|" + py_none + "\n"
              "198.19.0.5|443|tcp|filtered|port-unreach|60|0|1700000004|" + py_none + "\n"
              "10.0.0.1|80|tcp|open|syn-ack|55|1024|1700000004.5|" + py_none + "\n");
    const auto some = run_python(dir, csv_dump, dir / "some.csv");
    EXPECT_EQ(lines_of(some).size(), 10u);
    EXPECT_EQ(lines_of(some)[0], "ts|ip|port");
    EXPECT_EQ(lines_of(some)[1], "1700000001.5|198.19.0.7|443");
    EXPECT_EQ(lines_of(some)[9], "1700000004.5|10.0.0.1|80");
}

TEST(Outputs, CsvFieldErrorsNameTheValue) {
    const std::string all = "ip,port,proto,state,reason,ttl,window,ts,data,service,product,version,info,hostname,ostype,"
                            "devicetype,cpe,method,conf,soft,tunnel,probe,banner,tls_version,tls_cipher,cert_subject,"
                            "cert_issuer,cert_san_dns,cert_san_ip,cert_not_before,cert_not_after,cert_sha256,cert_key_type,"
                            "cert_key_bits,cert_self_signed";
    EXPECT_EQ(error_of([] { parse_csv_fields("x"); }), "invalid --fields \"x\": unknown field \"x\"; fields are " + all);
    EXPECT_EQ(error_of([] { parse_csv_fields("ip,bogus"); }),
              "invalid --fields \"ip,bogus\": unknown field \"bogus\"; fields are " + all);
    EXPECT_NE(error_of([] { parse_csv_fields("ip,,port"); }).find("\"ip,,port\""), std::string::npos);
    EXPECT_NE(error_of([] { parse_csv_fields("ip,port,ip"); }).find("\"ip\" given twice"), std::string::npos);
    EXPECT_EQ(parse_csv_fields("port, ip"), (std::vector<std::size_t>{1, 0}));
    TempDir dir;
    EXPECT_NE(error_of([&] { make_csv_writer(dir / "x.csv", "host"); }).find("unknown field \"host\""), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(dir / "x.csv")) << "validated before the file is created";
}

TEST(Outputs, UncreatableOutputNamesThePath) {
    const std::string path = "/nonexistent-dir/out.file";
    for (const auto& make : std::vector<std::function<std::unique_ptr<OutputWriter>()>>{
             [&] { return make_list_writer(path); }, [&] { return make_json_writer(path); },
             [&] { return make_csv_writer(path, ""); }, [&] { return make_xml_writer(path, {}); },
             [&] { return make_grepable_writer(path, {}); }})
        EXPECT_NE(error_of([&] { make(); }).find("\"/nonexistent-dir/out.file\""), std::string::npos);
}

// ---------------------------------------------------------------- XML

std::string xml_dump = R"py(
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
print(root.tag, root.get("scanner"), root.get("version"), root.get("args"))
si = root.find("scaninfo")
print(si.get("type"), si.get("protocol"), si.get("numservices"), si.get("services"))
for host in root.findall("host"):
    st = host.find("status")
    addr = host.find("address")
    ports = []
    for p in host.find("ports").findall("port"):
        s = p.find("state")
        svc = p.find("service")
        ports.append("%s/%s/%s/%s/%s/%s" % (p.get("portid"), p.get("protocol"), s.get("state"), s.get("reason"),
                                           s.get("reason_ttl"), svc.get("name") if svc is not None else "-"))
    print(addr.get("addr"), addr.get("addrtype"), st.get("state"), st.get("reason"), st.get("reason_ttl"), " ".join(ports))
rs = root.find("runstats")
print(rs.find("finished").get("elapsed"), rs.find("finished").get("exit"), rs.find("hosts").get("up"), rs.find("hosts").get("total"))
)py";

std::string svc_or_dash(std::uint16_t port) {
    const std::string s = service(port);
    return s.empty() ? "-" : s;
}

TEST(Outputs, XmlValidatesAgainstNmapDtd) {
    TempDir dir;
    std::vector<std::unique_ptr<OutputWriter>> outs;
    outs.push_back(make_xml_writer(dir / "scan.xml", fixed_info()));
    run_sink(scrambled_records(), std::move(outs));
    const std::string text = slurp(dir / "scan.xml");
    EXPECT_EQ(text.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>\n", 0), 0u);
    EXPECT_NE(text.find("<address addr=\"198.19.0.5\" addrtype=\"ipv4\"/>"), std::string::npos);
    EXPECT_NE(text.find("<port protocol=\"tcp\" portid=\"80\"><state state=\"open\" reason=\"syn-ack\" reason_ttl=\"64\"/>"),
              std::string::npos);
    if (!service(80).empty()) {
        EXPECT_NE(text.find("<service name=\"" + service(80) + "\" method=\"table\" conf=\"3\"/></port>"), std::string::npos);
    }
    EXPECT_NE(text.find("xmloutputversion=\"1.05\""), std::string::npos);
    EXPECT_NE(text.find("--rate &quot;1&lt;2&quot;"), std::string::npos);

    if (!std::filesystem::exists("/usr/share/nmap/nmap.dtd") || !have_command("xmllint"))
        GTEST_SKIP() << "nmap.dtd or xmllint missing";
    const std::string log = dir / "xmllint.log";
    EXPECT_EQ(std::system(fmt::format("xmllint --noout --dtdvalid /usr/share/nmap/nmap.dtd {} > {} 2>&1",
                                      dir / "scan.xml", log).c_str()), 0)
        << slurp(log) << text;
    if (!have_command("python3")) return;
    EXPECT_EQ(run_python(dir, xml_dump, dir / "scan.xml"),
              fmt::format("nmaprun nmap 0.1.0 {}\n"
                          "syn tcp 7 22,80-82,443,3389,8080\n"
                          "10.0.0.1 ipv4 up syn-ack 55 80/tcp/open/syn-ack/55/{} 3389/tcp/filtered/admin-prohibited/250/{}\n"
                          "198.19.0.5 ipv4 up syn-ack 64 22/tcp/open/syn-ack/64/{} 80/tcp/open/syn-ack/64/{} "
                          "443/tcp/filtered/port-unreach/60/{}\n"
                          "198.19.0.7 ipv4 up syn-ack 64 22/tcp/closed/reset/64/{} 443/tcp/open/syn-ack/64/{}\n"
                          "198.19.0.12 ipv4 up syn-ack 128 22/tcp/closed/reset/63/{} 8080/tcp/open/syn-ack/128/{}\n"
                          "12.50 success 4 4\n",
                          fixed_info().args, svc_or_dash(80), svc_or_dash(3389), svc_or_dash(22), svc_or_dash(80),
                          svc_or_dash(443), svc_or_dash(22), svc_or_dash(443), svc_or_dash(22), svc_or_dash(8080)));
}

TEST(Outputs, XmlWithoutResultsIsValid) {
    if (!std::filesystem::exists("/usr/share/nmap/nmap.dtd") || !have_command("xmllint"))
        GTEST_SKIP() << "nmap.dtd or xmllint missing";
    TempDir dir;
    auto writer = make_xml_writer(dir / "empty.xml", ScanInfo{.args = "wirespeed --x -- y", .start_unix = start});
    writer->finish();
    EXPECT_EQ(std::system(fmt::format("xmllint --noout --dtdvalid /usr/share/nmap/nmap.dtd {} >/dev/null 2>&1",
                                      dir / "empty.xml").c_str()), 0)
        << slurp(dir / "empty.xml");
}

// ---------------------------------------------------------------- grepable

std::string grepable_port(std::uint16_t port, const char* state) {
    return fmt::format("{}/{}/tcp//{}///", port, state, service(port));
}

TEST(Outputs, GrepableExactLines) {
    TempDir dir;
    std::vector<std::unique_ptr<OutputWriter>> outs;
    outs.push_back(make_grepable_writer(dir / "scan.gnmap", fixed_info()));
    run_sink(scrambled_records(), std::move(outs));
    const auto lines = lines_of(slurp(dir / "scan.gnmap"));
    ASSERT_EQ(lines.size(), 6u);
    EXPECT_TRUE(std::regex_match(lines[0], std::regex(R"(# wirespeed 0\.1\.0 scan initiated \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} as: .*)")))
        << lines[0];
    EXPECT_EQ(lines[0].substr(lines[0].find(" as: ") + 5), fixed_info().args);
    EXPECT_EQ(lines[1], "Host: 10.0.0.1 ()\tPorts: " + grepable_port(80, "open") + ", " + grepable_port(3389, "filtered"));
    EXPECT_EQ(lines[2], "Host: 198.19.0.5 ()\tPorts: " + grepable_port(22, "open") + ", " + grepable_port(80, "open") + ", " +
                            grepable_port(443, "filtered"));
    EXPECT_EQ(lines[3], "Host: 198.19.0.7 ()\tPorts: " + grepable_port(22, "closed") + ", " + grepable_port(443, "open"));
    EXPECT_EQ(lines[4], "Host: 198.19.0.12 ()\tPorts: " + grepable_port(22, "closed") + ", " + grepable_port(8080, "open"));
    EXPECT_TRUE(std::regex_match(lines[5], std::regex(R"(# wirespeed done at \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} -- 4 IP addresses \(4 hosts up\) scanned in 12\.50 seconds)")))
        << lines[5];
    if (!service(80).empty()) {
        EXPECT_NE(lines[1].find("80/open/tcp//http///"), std::string::npos);
    }
}

TEST(Outputs, GrepableSingularHost) {
    TempDir dir;
    auto writer = make_grepable_writer(dir / "one.gnmap", ScanInfo{.args = "a", .start_unix = start, .end_unix = start + 1});
    writer->write(rec(h5, 22, PortState::open, Reason::syn_ack, 64, 1, 0), start);
    writer->finish();
    const auto lines = lines_of(slurp(dir / "one.gnmap"));
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_NE(lines[2].find(" -- 1 IP address (1 host up) scanned in 1.00 seconds"), std::string::npos) << lines[2];
}

// ---------------------------------------------------------------- export

TEST(Export, EqualsLiveOutputByteForByte) {
    TempDir dir;
    const std::string db = dir / "scan.db";
    const auto records = scrambled_records();
    std::vector<std::unique_ptr<OutputWriter>> outs;
    outs.push_back(make_json_writer(dir / "live.json"));
    outs.push_back(make_csv_writer(dir / "live.csv", ""));
    outs.push_back(make_csv_writer(dir / "live-fields.csv", "port,ts,state"));
    outs.push_back(make_list_writer(dir / "live.list"));
    outs.push_back(make_grepable_writer(dir / "live.gnmap", fixed_info()));
    run_sink(records, std::move(outs), db,
             ScanRecord{.seed = 9, .targets = "198.19.0.0/24,10.0.0.1", .ports = "22,80,443,3389,8080",
                        .config_json = R"(["scan","198.19.0.0/24","10.0.0.1","-p","22,80,443,3389,8080"])"});

    export_database(db, dir / "export.json", "json", "", std::nullopt);
    export_database(db, dir / "export.csv", "csv", "", std::nullopt);
    export_database(db, dir / "export-fields.csv", "csv", "port,ts,state", 1);
    export_database(db, dir / "export.list", "list", "", std::nullopt);
    EXPECT_EQ(slurp(dir / "export.json"), slurp(dir / "live.json"));
    EXPECT_EQ(slurp(dir / "export.csv"), slurp(dir / "live.csv"));
    EXPECT_EQ(slurp(dir / "export-fields.csv"), slurp(dir / "live-fields.csv"));
    EXPECT_EQ(slurp(dir / "export.list"), slurp(dir / "live.list"));
    EXPECT_EQ(lines_of(slurp(dir / "export.json")).size(), records.size());

    // The nmap formats: same hosts and ports; run information from the scans row.
    export_database(db, dir / "export.gnmap", "grepable", "", std::nullopt);
    const auto live = lines_of(slurp(dir / "live.gnmap"));
    const auto exported = lines_of(slurp(dir / "export.gnmap"));
    ASSERT_EQ(exported.size(), live.size());
    for (std::size_t i = 1; i + 1 < live.size(); ++i) EXPECT_EQ(exported[i], live[i]);
    EXPECT_NE(exported[0].find("as: wirespeed scan 198.19.0.0/24 10.0.0.1 -p 22,80,443,3389,8080"), std::string::npos)
        << exported[0];
    export_database(db, dir / "export.xml", "xml", "", std::nullopt);
    EXPECT_NE(slurp(dir / "export.xml").find("services=\"22,80,443,3389,8080\""), std::string::npos);
    if (std::filesystem::exists("/usr/share/nmap/nmap.dtd") && have_command("xmllint")) {
        EXPECT_EQ(std::system(fmt::format("xmllint --noout --dtdvalid /usr/share/nmap/nmap.dtd {} >/dev/null 2>&1",
                                          dir / "export.xml").c_str()), 0);
    }
}

TEST(Export, OneScanOfSeveral) {
    TempDir dir;
    const std::string db = dir / "scans.db";
    auto records = scrambled_records();
    const std::vector<ResultRecord> first(records.begin(), records.begin() + 4);
    const std::vector<ResultRecord> second(records.begin() + 4, records.end());
    std::vector<std::unique_ptr<OutputWriter>> outs;
    run_sink(first, {}, db);
    outs.push_back(make_json_writer(dir / "live2.json"));
    run_sink(second, std::move(outs), db);
    export_database(db, dir / "scan2.json", "json", "", 2);
    EXPECT_EQ(slurp(dir / "scan2.json"), slurp(dir / "live2.json"));
    export_database(db, dir / "all.json", "json", "", std::nullopt);
    EXPECT_EQ(lines_of(slurp(dir / "all.json")).size(), records.size());
}

TEST(Export, ErrorsNameTheValue) {
    TempDir dir;
    const std::string db = dir / "scan.db";
    run_sink(scrambled_records(), {}, db);
    EXPECT_EQ(error_of([&] { export_database(db, dir / "o", "yaml", "", std::nullopt); }),
              "unknown export format \"yaml\": formats are json, csv, list, xml, grepable");
    EXPECT_EQ(error_of([&] { export_database(dir / "missing.db", dir / "o", "json", "", std::nullopt); }),
              fmt::format("cannot open database \"{}\": no such file", dir / "missing.db"));
    std::ofstream(dir / "text.db") << "this is not sqlite\n";
    EXPECT_NE(error_of([&] { export_database(dir / "text.db", dir / "o", "json", "", std::nullopt); }).find("\"" + (dir / "text.db") + "\""),
              std::string::npos);
    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "other.db").c_str(), &other), SQLITE_OK);
    sqlite3_exec(other, "CREATE TABLE t(x)", nullptr, nullptr, nullptr);
    sqlite3_close(other);
    EXPECT_EQ(error_of([&] { export_database(dir / "other.db", dir / "o", "json", "", std::nullopt); }),
              fmt::format("not a wirespeed database: \"{}\": it has no scans and results tables", dir / "other.db"));
    EXPECT_EQ(error_of([&] { export_database(db, dir / "o", "json", "", 99); }),
              fmt::format("no scan 99 in database \"{}\"", db));
    EXPECT_NE(error_of([&] { export_database(db, dir / "o", "csv", "ip,nope", std::nullopt); }).find("\"nope\""),
              std::string::npos);
    EXPECT_NE(error_of([&] { export_database(db, "/nonexistent-dir/o.json", "json", "", std::nullopt); })
                  .find("\"/nonexistent-dir/o.json\""),
              std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(dir / "o")) << "no output file for a failed export";
}

// ---------------------------------------------------------------- merge

using MergedRow = std::tuple<std::string, int, std::string, double, std::int64_t>; // ip, port, state, seen_at, scan_id

std::vector<MergedRow> merged_rows(const std::string& path) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT ip, port, state, seen_at, scan_id FROM results ORDER BY rowid", -1, &st, nullptr),
              SQLITE_OK);
    std::vector<MergedRow> rows;
    while (sqlite3_step(st) == SQLITE_ROW)
        rows.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), sqlite3_column_int(st, 1),
                          reinterpret_cast<const char*>(sqlite3_column_text(st, 2)), sqlite3_column_double(st, 3),
                          sqlite3_column_int64(st, 4));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rows;
}

std::vector<std::string> scan_rows(const std::string& path) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT id, seed, targets, status, sent FROM scans ORDER BY id", -1, &st, nullptr), SQLITE_OK);
    std::vector<std::string> rows;
    while (sqlite3_step(st) == SQLITE_ROW)
        rows.push_back(fmt::format("{} {} {} {} {}", sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                                   reinterpret_cast<const char*>(sqlite3_column_text(st, 2)),
                                   reinterpret_cast<const char*>(sqlite3_column_text(st, 3)), sqlite3_column_int64(st, 4)));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rows;
}

TEST(Merge, UnionWithoutDuplicatesKeepsEarliest) {
    TempDir dir;
    const std::string a = dir / "a.db", b = dir / "b.db", out = dir / "merged.db";
    {
        SqliteWriter w(a, ScanRecord{.seed = 1, .targets = "A"});
        w.insert(rec(h5, 22, PortState::open, Reason::syn_ack, 64, 1, 0), start + 10);
        w.insert(rec(h5, 80, PortState::open, Reason::syn_ack, 64, 1, 0), start + 11);
        w.insert(rec(h7, 443, PortState::closed, Reason::reset, 64, 0, 0), start + 12);
        w.finish(ScanCounters{.sent = 10});
    }
    {
        SqliteWriter w(b, ScanRecord{.seed = 2, .targets = "B"});
        w.insert(rec(h5, 80, PortState::open, Reason::syn_ack, 64, 1, 0), start + 5);  // earlier than a's
        w.insert(rec(h7, 443, PortState::open, Reason::syn_ack, 64, 1, 0), start + 20); // later than a's
        w.insert(rec(h12, 8080, PortState::open, Reason::syn_ack, 64, 1, 0), start + 21);
        w.finish(ScanCounters{.sent = 20, .status = "interrupted"});
    }
    merge_databases({a, b}, out);
    EXPECT_EQ(scan_rows(out), (std::vector<std::string>{"1 1 A complete 10", "2 2 B interrupted 20"}));
    const std::vector<MergedRow> expected = {
        {"198.19.0.5", 22, "open", start + 10, 1},
        {"198.19.0.7", 443, "closed", start + 12, 1},
        {"198.19.0.5", 80, "open", start + 5, 2},
        {"198.19.0.12", 8080, "open", start + 21, 2},
    };
    EXPECT_EQ(merged_rows(out), expected);

    // Merging a again into the merged database: a third scans row, still no duplicates.
    merge_databases({a}, out);
    EXPECT_EQ(scan_rows(out).size(), 3u);
    EXPECT_EQ(merged_rows(out), expected);
    // The merged database is a wirespeed database: export reads it.
    export_database(out, dir / "merged.json", "json", "", std::nullopt);
    EXPECT_EQ(lines_of(slurp(dir / "merged.json")).size(), 4u);
}

TEST(Merge, ErrorsNameThePath) {
    TempDir dir;
    const std::string good = dir / "good.db", out = dir / "out.db";
    run_sink(scrambled_records(), {}, good);
    EXPECT_NE(error_of([&] { merge_databases({good, dir / "missing.db"}, out); }).find("\"" + (dir / "missing.db") + "\""),
              std::string::npos);
    std::ofstream(dir / "text.db") << "not a database at all, just text that is long enough to matter\n";
    EXPECT_NE(error_of([&] { merge_databases({dir / "text.db"}, out); }).find("\"" + (dir / "text.db") + "\""),
              std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(out)) << "inputs are checked before the output is created";
    EXPECT_NE(error_of([&] { merge_databases({good}, good); }).find("\"" + good + "\""), std::string::npos);
    EXPECT_NE(error_of([&] { merge_databases({good}, dir / "text.db"); }).find("\"" + (dir / "text.db") + "\""),
              std::string::npos);
    EXPECT_FALSE(error_of([&] { merge_databases({}, out); }).empty());
}

// ---------------------------------------------------------------- both families (issue 11)

ResultRecord rec6(const char* address, std::uint16_t port, PortState state, Reason reason, std::uint8_t ttl,
                  std::uint16_t window, std::uint32_t elapsed_ms) {
    ResultRecord r = rec(0, port, state, reason, ttl, window, elapsed_ms);
    const auto parsed = parse_ip(address);
    EXPECT_TRUE(parsed && !parsed->is_ipv4()) << address;
    if (parsed) r.set_address(*parsed);
    return r;
}

constexpr std::uint32_t h18_200 = 0xc61200c8u; // 198.18.0.200

// IPv4 and IPv6 hosts interleaved in arrival order; ::9 and ::10 sort the
// other way round as text.
std::vector<ResultRecord> mixed_records() {
    return {
        rec6("2001:db8::10", 80, PortState::open, Reason::syn_ack, 64, 1000, 1500),
        rec(h12, 22, PortState::open, Reason::syn_ack, 63, 2000, 1750),
        rec6("2001:db8:1::5", 443, PortState::open, Reason::syn_ack, 57, 3000, 2000),
        rec(h18_200, 80, PortState::open, Reason::syn_ack, 64, 4000, 2250),
        rec6("2001:db8::9", 22, PortState::closed, Reason::reset, 64, 0, 2500),
        rec(h7, 443, PortState::open, Reason::syn_ack, 64, 5000, 3000),
        rec6("2001:db8::9", 80, PortState::open, Reason::syn_ack, 64, 6000, 3001),
    };
}

// The hosts of mixed_records() as every sorted output lists them.
const std::vector<std::string> mixed_hosts_sorted = {"198.18.0.200", "198.19.0.7", "198.19.0.12",
                                                     "2001:db8::9",  "2001:db8::10", "2001:db8:1::5"};

TEST(Outputs6, AddressOrderIsIpv4ThenIpv6Numerically) {
    std::vector<IpAddress> addresses;
    for (const char* text : {"2001:db8:1::5", "2001:db8::10", "198.19.0.12", "2001:db8::9", "198.18.0.200", "198.19.0.7"})
        addresses.push_back(*parse_ip(text));
    std::sort(addresses.begin(), addresses.end(), address_less);
    std::vector<std::string> texts;
    for (const IpAddress a : addresses) texts.push_back(format_ip(a));
    EXPECT_EQ(texts, mixed_hosts_sorted);
    EXPECT_FALSE(address_less(*parse_ip("2001:db8::9"), *parse_ip("2001:db8::9")));
}

TEST(Outputs6, ListHasCompressedText) {
    TempDir dir;
    std::vector<std::unique_ptr<OutputWriter>> outs;
    outs.push_back(make_list_writer(dir / "scan.list"));
    auto records = mixed_records();
    records.resize(3);
    run_sink(records, std::move(outs));
    EXPECT_EQ(slurp(dir / "scan.list"), "#masscan\nopen tcp 80 2001:db8::10 1700000001\nopen tcp 22 198.19.0.12 1700000001\n"
                                        "open tcp 443 2001:db8:1::5 1700000002\n# end\n");
}

TEST(Outputs6, JsonLinesParseWithBothFamilies) {
    TempDir dir;
    std::vector<std::unique_ptr<OutputWriter>> outs;
    outs.push_back(make_json_writer(dir / "scan.json"));
    run_sink(mixed_records(), std::move(outs));
    const std::string text = slurp(dir / "scan.json");
    EXPECT_EQ(lines_of(text).front(),
              R"({"ip":"2001:db8::10","port":80,"proto":"tcp","state":"open","reason":"syn-ack","ttl":64,"window":1000,"ts":1700000001.5})");
    if (!have_command("python3")) GTEST_SKIP() << "python3 not installed";
    // Every line one JSON object; every ip the canonical text of its address.
    const std::string out = run_python(dir, R"py(
import ipaddress, json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    a = ipaddress.ip_address(o["ip"])
    assert str(a) == o["ip"], o["ip"]
    print("%s v%d %d %s" % (o["ip"], a.version, o["port"], o["state"]))
)py", dir / "scan.json");
    EXPECT_EQ(out, "2001:db8::10 v6 80 open\n198.19.0.12 v4 22 open\n2001:db8:1::5 v6 443 open\n198.18.0.200 v4 80 open\n"
                   "2001:db8::9 v6 22 closed\n198.19.0.7 v4 443 open\n2001:db8::9 v6 80 open\n");
}

TEST(Outputs6, CsvParsesWithBothFamilies) {
    TempDir dir;
    std::vector<std::unique_ptr<OutputWriter>> outs;
    // The result columns only (the service columns are the default's tail):
    // exactly the rows of a default -oC before scan --service.
    outs.push_back(make_csv_writer(dir / "all.csv", "ip,port,proto,state,reason,ttl,window,ts,data"));
    outs.push_back(make_csv_writer(dir / "some.csv", "port,ip"));
    run_sink(mixed_records(), std::move(outs));
    const auto lines = lines_of(slurp(dir / "all.csv"));
    ASSERT_EQ(lines.size(), 8u);
    EXPECT_EQ(lines[1], "2001:db8::10,80,tcp,open,syn-ack,64,1000,1700000001.5,");
    if (!have_command("python3")) GTEST_SKIP() << "python3 not installed";
    EXPECT_EQ(run_python(dir, csv_dump, dir / "all.csv"),
              "ip|port|proto|state|reason|ttl|window|ts|data\n"
              "2001:db8::10|80|tcp|open|syn-ack|64|1000|1700000001.5|\n"
              "198.19.0.12|22|tcp|open|syn-ack|63|2000|1700000001.75|\n"
              "2001:db8:1::5|443|tcp|open|syn-ack|57|3000|1700000002|\n"
              "198.18.0.200|80|tcp|open|syn-ack|64|4000|1700000002.25|\n"
              "2001:db8::9|22|tcp|closed|reset|64|0|1700000002.5|\n"
              "198.19.0.7|443|tcp|open|syn-ack|64|5000|1700000003|\n"
              "2001:db8::9|80|tcp|open|syn-ack|64|6000|1700000003.001|\n");
    EXPECT_EQ(lines_of(run_python(dir, csv_dump, dir / "some.csv"))[3], "443|2001:db8:1::5");
}

// addr, addrtype and ports of every host, in document order.
const char* xml_hosts_dump = R"py(
import sys, xml.etree.ElementTree as ET
for host in ET.parse(sys.argv[1]).getroot().findall("host"):
    addr = host.find("address")
    ports = ["%s/%s" % (p.get("portid"), p.find("state").get("state")) for p in host.find("ports").findall("port")]
    print(addr.get("addr"), addr.get("addrtype"), " ".join(ports))
)py";

const std::string mixed_xml_hosts = "198.18.0.200 ipv4 80/open\n198.19.0.7 ipv4 443/open\n198.19.0.12 ipv4 22/open\n"
                                    "2001:db8::9 ipv6 22/closed 80/open\n2001:db8::10 ipv6 80/open\n"
                                    "2001:db8:1::5 ipv6 443/open\n";

void expect_valid_nmap_xml(const TempDir& dir, const std::string& path) {
    if (!std::filesystem::exists("/usr/share/nmap/nmap.dtd") || !have_command("xmllint")) return;
    const std::string log = dir / "xmllint.log";
    EXPECT_EQ(std::system(fmt::format("xmllint --noout --dtdvalid /usr/share/nmap/nmap.dtd {} > {} 2>&1", path, log).c_str()), 0)
        << slurp(log) << slurp(path);
}

TEST(Outputs6, XmlValidatesWithIpv6Hosts) {
    TempDir dir;
    std::vector<std::unique_ptr<OutputWriter>> outs;
    outs.push_back(make_xml_writer(dir / "scan.xml", fixed_info()));
    run_sink(mixed_records(), std::move(outs));
    const std::string text = slurp(dir / "scan.xml");
    EXPECT_NE(text.find("<address addr=\"2001:db8:1::5\" addrtype=\"ipv6\"/>"), std::string::npos) << text;
    EXPECT_NE(text.find("<address addr=\"198.19.0.7\" addrtype=\"ipv4\"/>"), std::string::npos) << text;
    EXPECT_NE(text.find("<hosts up=\"6\" down=\"0\" total=\"6\"/>"), std::string::npos);
    if (!std::filesystem::exists("/usr/share/nmap/nmap.dtd") || !have_command("xmllint"))
        GTEST_SKIP() << "nmap.dtd or xmllint missing";
    expect_valid_nmap_xml(dir, dir / "scan.xml");
    if (!have_command("python3")) return;
    EXPECT_EQ(run_python(dir, xml_hosts_dump, dir / "scan.xml"), mixed_xml_hosts);
}

std::vector<std::string> grepable_hosts(const std::string& path) {
    std::vector<std::string> hosts;
    for (const auto& line : lines_of(slurp(path)))
        if (line.starts_with("Host: ")) hosts.push_back(line);
    return hosts;
}

TEST(Outputs6, GrepableListsIpv4ThenIpv6) {
    TempDir dir;
    std::vector<std::unique_ptr<OutputWriter>> outs;
    outs.push_back(make_grepable_writer(dir / "scan.gnmap", fixed_info()));
    run_sink(mixed_records(), std::move(outs));
    const auto hosts = grepable_hosts(dir / "scan.gnmap");
    ASSERT_EQ(hosts.size(), mixed_hosts_sorted.size());
    for (std::size_t i = 0; i < hosts.size(); ++i)
        EXPECT_TRUE(hosts[i].starts_with("Host: " + mixed_hosts_sorted[i] + " ()\tPorts: ")) << hosts[i];
    EXPECT_EQ(hosts[3], "Host: 2001:db8::9 ()\tPorts: " + grepable_port(22, "closed") + ", " + grepable_port(80, "open"));
    EXPECT_NE(lines_of(slurp(dir / "scan.gnmap")).back().find(" -- 6 IP addresses (6 hosts up) "), std::string::npos);
}

TEST(Export6, EqualsLiveOutputWithBothFamilies) {
    TempDir dir;
    const std::string db = dir / "mixed.db";
    std::vector<std::unique_ptr<OutputWriter>> outs;
    outs.push_back(make_json_writer(dir / "live.json"));
    outs.push_back(make_csv_writer(dir / "live.csv", ""));
    outs.push_back(make_list_writer(dir / "live.list"));
    outs.push_back(make_grepable_writer(dir / "live.gnmap", fixed_info()));
    outs.push_back(make_xml_writer(dir / "live.xml", fixed_info()));
    run_sink(mixed_records(), std::move(outs), db,
             ScanRecord{.seed = 9, .targets = "198.18.0.200,198.19.0.0/24,2001:db8::/64,2001:db8:1::5", .ports = "22,80,443"});
    for (const char* format : {"json", "csv", "list"}) {
        const std::string out = dir / fmt::format("export.{}", format);
        export_database(db, out, format, "", std::nullopt);
        EXPECT_EQ(slurp(out), slurp(dir / fmt::format("live.{}", format))) << format;
    }
    export_database(db, dir / "export.gnmap", "grepable", "", std::nullopt);
    EXPECT_EQ(grepable_hosts(dir / "export.gnmap"), grepable_hosts(dir / "live.gnmap"));
    export_database(db, dir / "export.xml", "xml", "", std::nullopt);
    expect_valid_nmap_xml(dir, dir / "export.xml");
    if (!have_command("python3")) return;
    EXPECT_EQ(run_python(dir, xml_hosts_dump, dir / "export.xml"), mixed_xml_hosts);
}

// Writes `ip` into row `rowid` of a database's results, as damage would.
void set_ip(const std::string& path, int rowid, const char* ip) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, fmt::format("UPDATE results SET ip = '{}' WHERE rowid = {}", ip, rowid).c_str(), nullptr, nullptr,
                           nullptr),
              SQLITE_OK);
    sqlite3_close(db);
}

TEST(Export6, CorruptAddressIsNamed) {
    TempDir dir;
    const std::string db = dir / "bad.db";
    run_sink(mixed_records(), {}, db);
    set_ip(db, 3, "2001:db8::g");
    EXPECT_EQ(error_of([&] { export_database(db, dir / "o.json", "json", "", std::nullopt); }),
              fmt::format("corrupt result in database \"{}\": row 3 has ip \"2001:db8::g\"", db));
    EXPECT_EQ(error_of([&] { merge_databases({db}, dir / "merged.db"); }),
              fmt::format("corrupt result in database \"{}\": row 3 has ip \"2001:db8::g\"", db));
}

// family, ip_key (hex) and ip of every result, in the schema's address order.
std::vector<std::string> keyed_rows(const std::string& path) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT family, hex(ip_key), ip, port FROM results ORDER BY family, ip_key, port", -1, &st,
                                 nullptr),
              SQLITE_OK);
    std::vector<std::string> rows;
    while (sqlite3_step(st) == SQLITE_ROW)
        rows.push_back(fmt::format("{} {} {} {}", sqlite3_column_int(st, 0), reinterpret_cast<const char*>(sqlite3_column_text(st, 1)),
                                   reinterpret_cast<const char*>(sqlite3_column_text(st, 2)), sqlite3_column_int(st, 3)));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rows;
}

// Two shards of a mixed scan, one address of each family answering in both.
TEST(Merge6, ShardsOfAMixedScanMergeIntoOne) {
    TempDir dir;
    const std::string a = dir / "shard0.db", b = dir / "shard1.db", out = dir / "merged.db";
    {
        SqliteWriter w(a, ScanRecord{.seed = 1, .targets = "A", .shard = "0/2"});
        w.insert(rec6("2001:db8::10", 80, PortState::open, Reason::syn_ack, 64, 1, 0), start + 10);
        w.insert(rec(h7, 22, PortState::open, Reason::syn_ack, 64, 1, 0), start + 11);
        w.insert(rec6("2001:db8:1::5", 443, PortState::open, Reason::syn_ack, 64, 1, 0), start + 12);
        w.finish(ScanCounters{.sent = 10});
    }
    {
        SqliteWriter w(b, ScanRecord{.seed = 1, .targets = "A", .shard = "1/2"});
        w.insert(rec6("2001:db8::10", 80, PortState::open, Reason::syn_ack, 64, 1, 0), start + 5); // earlier than a's
        w.insert(rec6("2001:db8::9", 80, PortState::open, Reason::syn_ack, 64, 1, 0), start + 6);
        w.insert(rec(h7, 22, PortState::open, Reason::syn_ack, 64, 1, 0), start + 20);              // later than a's
        w.insert(rec(h12, 22, PortState::open, Reason::syn_ack, 64, 1, 0), start + 21);
        w.finish(ScanCounters{.sent = 10});
    }
    merge_databases({a, b}, out);
    const std::vector<MergedRow> expected = {
        {"198.19.0.7", 22, "open", start + 11, 1},
        {"2001:db8:1::5", 443, "open", start + 12, 1},
        {"2001:db8::10", 80, "open", start + 5, 2},
        {"2001:db8::9", 80, "open", start + 6, 2},
        {"198.19.0.12", 22, "open", start + 21, 2},
    };
    EXPECT_EQ(merged_rows(out), expected);
    EXPECT_EQ(keyed_rows(out), (std::vector<std::string>{
                                   "4 C6130007 198.19.0.7 22",
                                   "4 C613000C 198.19.0.12 22",
                                   "6 20010DB8000000000000000000000009 2001:db8::9 80",
                                   "6 20010DB8000000000000000000000010 2001:db8::10 80",
                                   "6 20010DB8000100000000000000000005 2001:db8:1::5 443",
                               }));
    merge_databases({b}, out); // again: nothing new
    EXPECT_EQ(merged_rows(out), expected);
    export_database(out, dir / "merged.gnmap", "grepable", "", std::nullopt);
    const auto hosts = grepable_hosts(dir / "merged.gnmap");
    ASSERT_EQ(hosts.size(), 5u);
    EXPECT_TRUE(hosts[2].starts_with("Host: 2001:db8::9 ()")) << hosts[2];
    EXPECT_TRUE(hosts[4].starts_with("Host: 2001:db8:1::5 ()")) << hosts[4];
}

// A database as wirespeed wrote it before IPv6 (and before UDP bytes): no
// data, family or ip_key column.
void write_old_database(const std::string& path) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const char* sql = R"sql(
CREATE TABLE scans (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL DEFAULT 'running',
  seed INTEGER NOT NULL, targets TEXT NOT NULL, ports TEXT NOT NULL, shard TEXT, rate INTEGER, probes INTEGER, config TEXT,
  sent INTEGER, replies INTEGER, open INTEGER, closed INTEGER, filtered INTEGER, duplicates INTEGER, drops INTEGER, duration_s REAL);
CREATE TABLE checkpoints (scan_id INTEGER PRIMARY KEY REFERENCES scans(id), fingerprint TEXT NOT NULL, seed INTEGER NOT NULL,
  cookie_k0 INTEGER NOT NULL, cookie_k1 INTEGER NOT NULL, slots TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE results (scan_id INTEGER NOT NULL REFERENCES scans(id), ip TEXT NOT NULL, port INTEGER NOT NULL,
  proto TEXT NOT NULL, state TEXT NOT NULL, reason TEXT NOT NULL, ttl INTEGER NOT NULL, window INTEGER NOT NULL,
  seen_at REAL NOT NULL);
INSERT INTO scans(started_at, finished_at, status, seed, targets, ports) VALUES('2023-11-14T22:13:20Z', NULL, 'running', 5, '198.19.0.0/24', '22,80');
INSERT INTO checkpoints VALUES(1, 'f', 5, 1, 2, '3', 1700000000.0);
INSERT INTO results VALUES(1, '198.19.0.12', 22, 'tcp', 'open', 'syn-ack', 64, 100, 1700000001.0);
INSERT INTO results VALUES(1, '198.19.0.7', 80, 'tcp', 'open', 'syn-ack', 64, 100, 1700000002.0);
)sql";
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
}

TEST(Merge6, OldIpv4DatabasesStayReadableAndGetKeys) {
    TempDir dir;
    const std::string old_db = dir / "old.db", mixed = dir / "mixed.db", out = dir / "merged.db";
    write_old_database(old_db);
    // Read as it is: export needs none of the new columns.
    export_database(old_db, dir / "old.list", "list", "", std::nullopt);
    EXPECT_EQ(slurp(dir / "old.list"), "#masscan\nopen tcp 22 198.19.0.12 1700000001\nopen tcp 80 198.19.0.7 1700000002\n# end\n");
    run_sink(mixed_records(), {}, mixed);
    merge_databases({old_db, mixed}, out);
    const auto rows = keyed_rows(out);
    ASSERT_EQ(rows.size(), 8u); // 2 + 7, less 198.19.0.12 tcp/22, in both
    EXPECT_EQ(rows.front(), "4 C61200C8 198.18.0.200 80");
    EXPECT_EQ(rows[1], "4 C6130007 198.19.0.7 80");
    EXPECT_EQ(rows.back(), "6 20010DB8000100000000000000000005 2001:db8:1::5 443");

    // Merged into: the old output gets the columns, its rows their keys.
    const std::string old_out = dir / "old-out.db";
    write_old_database(old_out);
    merge_databases({mixed}, old_out);
    EXPECT_EQ(keyed_rows(old_out), rows);

    // Resumed: the writer adds the columns and derives the keys.
    const std::string resumed = dir / "resumed.db";
    write_old_database(resumed);
    {
        SqliteWriter w(resumed, 1);
        w.insert(rec6("2001:db8::9", 22, PortState::open, Reason::syn_ack, 64, 1, 0), start + 3);
        w.finish(ScanCounters{});
    }
    EXPECT_EQ(keyed_rows(resumed), (std::vector<std::string>{
                                       "4 C6130007 198.19.0.7 80",
                                       "4 C613000C 198.19.0.12 22",
                                       "6 20010DB8000000000000000000000009 2001:db8::9 22",
                                   }));
}

// A row another program inserted with the old column list (the CLI tests do)
// has no ip_key: resume and merge derive it, and merge still dedups it.
TEST(Merge6, RowsInsertedWithTheOldColumnListGetKeys) {
    TempDir dir;
    const std::string db_path = dir / "scan.db", other = dir / "other.db";
    std::int64_t scan_id = 0;
    {
        SqliteWriter w(db_path, ScanRecord{.seed = 1});
        scan_id = w.scan_id();
        w.checkpoint("f", 1, 1, 2, "0", 1.0);
        w.commit();
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "INSERT INTO results(scan_id, ip, port, proto, state, reason, ttl, window, seen_at) VALUES"
                           "(1, '2001:db8::9', 80, 'tcp', 'open', 'syn-ack', 64, 1024, 1.0),"
                           "(1, '198.19.0.7', 80, 'tcp', 'open', 'syn-ack', 64, 1024, 2.0)",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
    { SqliteWriter resumed(db_path, scan_id); }
    const std::vector<std::string> keyed = {"4 C6130007 198.19.0.7 80",
                                            "6 20010DB8000000000000000000000009 2001:db8::9 80"};
    EXPECT_EQ(keyed_rows(db_path), keyed);

    // Merged into a database whose own copy of a row has no key yet.
    {
        SqliteWriter w(other, ScanRecord{.seed = 2});
        w.finish(ScanCounters{});
    }
    ASSERT_EQ(sqlite3_open(other.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "INSERT INTO results(scan_id, ip, port, proto, state, reason, ttl, window, seen_at) VALUES"
                           "(1, '2001:db8::9', 80, 'tcp', 'open', 'syn-ack', 64, 1024, 0.5)",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
    merge_databases({db_path}, other);
    EXPECT_EQ(keyed_rows(other), keyed);
    EXPECT_EQ(std::get<3>(merged_rows(other).front()), 0.5) << "the earlier copy stays";
}

TEST(Merge6, OldDatabaseWithACorruptAddressIsNamedAndLeftAsItWas) {
    TempDir dir;
    const std::string old_db = dir / "old.db";
    write_old_database(old_db);
    set_ip(old_db, 2, "198.19.0");
    try {
        SqliteWriter w(old_db, 1);
        ADD_FAILURE() << "opened a database with a corrupt address";
    } catch (const IoError& e) {
        EXPECT_EQ(std::string(e.what()),
                  fmt::format("database error on \"{}\": corrupt result: ip \"198.19.0\" is not an IPv4 or IPv6 address", old_db));
    }
    // All or nothing: no half-added columns.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(old_db.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM pragma_table_info('results') WHERE name IN ('family', 'ip_key')", -1,
                                 &st, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
}


// ---------------------------------------------------------------- write errors, replace mode

// Every format, every mode: a write error on /dev/full is a ws::IoError
// naming the file, from flush() for the streamed formats or from finish().
TEST(OutputErrors, DevFullFailsEveryWriterNamingTheFile) {
    using Make = std::function<std::unique_ptr<OutputWriter>(const std::string&, OutputMode)>;
    const std::vector<std::pair<const char*, Make>> formats = {
        {"list", [](const std::string& p, OutputMode m) { return make_list_writer(p, m); }},
        {"json", [](const std::string& p, OutputMode m) { return make_json_writer(p, m); }},
        {"csv", [](const std::string& p, OutputMode m) { return make_csv_writer(p, "", m); }},
        {"xml", [](const std::string& p, OutputMode m) { return make_xml_writer(p, fixed_info(), m); }},
        {"grepable", [](const std::string& p, OutputMode m) { return make_grepable_writer(p, fixed_info(), m); }},
    };
    for (const auto& [name, make] : formats) {
        for (const OutputMode mode : {OutputMode::stream, OutputMode::replace, OutputMode::append}) {
            std::string error;
            try {
                auto writer = make("/dev/full", mode);
                for (const auto& r : scrambled_records()) writer->write(r, start);
                writer->flush();
                writer->finish();
            } catch (const IoError& e) {
                error = e.what();
            }
            EXPECT_EQ(error, "cannot write output file \"/dev/full\": No space left on device") << name << " mode " << int(mode);
        }
    }
}

TEST(OutputErrors, SinkFinishesEveryOutputAndMarksTheScanFailed) {
    TempDir dir;
    const std::string db = dir / "s.db";
    ResultSink sink(SinkOptions{.keep_closed = true}, nullptr, start);
    sink.set_database(std::make_unique<SqliteWriter>(db, ScanRecord{}));
    sink.add_output(make_list_writer("/dev/full"));
    sink.add_output(make_json_writer(dir / "ok.json"));
    const auto records = scrambled_records();
    sink.add(records.data(), records.size());
    std::string error;
    try {
        sink.finish(ScanCounters{});
    } catch (const IoError& e) {
        error = e.what();
    }
    EXPECT_EQ(error, "cannot write output file \"/dev/full\": No space left on device");
    EXPECT_EQ(sink.status(), "failed");
    EXPECT_EQ(lines_of(slurp(dir / "ok.json")).size(), records.size()); // the other output is still complete
    sqlite3* handle = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &handle), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(handle, "SELECT status FROM scans", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "failed");
    sqlite3_finalize(st);
    sqlite3_close(handle);
}

TEST(OutputErrors, AbandonedScanWithoutCheckpointIsFailedNotRunning) {
    TempDir dir;
    const std::string db = dir / "s.db";
    { SqliteWriter writer(db, ScanRecord{}); } // an exception unwound the engine before any checkpoint
    sqlite3* handle = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &handle), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(handle, "SELECT status FROM scans", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "failed");
    sqlite3_finalize(st);
    sqlite3_close(handle);
}

TEST(OutputReplace, OldFileStaysWholeUntilCloseThenIsReplaced) {
    TempDir dir;
    const std::string path = dir / "out.xml";
    std::ofstream(path) << "old\n";
    std::filesystem::permissions(path, std::filesystem::perms(0640));
    {
        OutputFile file(path, OutputMode::replace);
        file.write("new\n");
        file.flush();
        EXPECT_EQ(slurp(path), "old\n"); // readers see the old file until close()
        file.close();
    }
    EXPECT_EQ(slurp(path), "new\n");
    EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all, std::filesystem::perms(0640));
    {
        OutputFile file(path, OutputMode::replace);
        file.write("abandoned\n");
    } // never closed: the temporary file goes, the old file stays
    EXPECT_EQ(slurp(path), "new\n");
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path)) ++entries;
    EXPECT_EQ(entries, 1u);
    // Devices are written in place, never renamed onto.
    {
        OutputFile null("/dev/null", OutputMode::replace);
        null.write("x");
        null.close();
    }
    EXPECT_TRUE(std::filesystem::is_character_file("/dev/null"));
    EXPECT_THROW(OutputFile(dir.path.string(), OutputMode::replace), IoError); // a directory
}


// ---------------------------------------------------------------- services (scan --service)

ServiceResult ssh_service() {
    ServiceResult s;
    s.address = IpAddress::from_ipv4(h5);
    s.port = 22;
    s.seen_at_unix = start + 2.75;
    s.name = "ssh";
    s.product = "OpenSSH";
    s.version = "9.2p1 Debian 2+deb12u3";
    s.info = "protocol 2.0";
    s.ostype = "Linux";
    s.cpes = {"cpe:/a:openbsd:openssh:9.2p1", "cpe:/o:linux:linux_kernel"};
    s.probe = "NULL";
    const std::string banner = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n";
    s.banner.assign(banner.begin(), banner.end());
    return s;
}

// TLS with a certificate, a banner that is not UTF-8, and fields that need
// escaping in every format.
ServiceResult https_service() {
    ServiceResult s;
    s.address = IpAddress::from_ipv4(h7);
    s.port = 443;
    s.seen_at_unix = start + 1.625;
    s.name = "http";
    s.product = "nginx";
    s.version = "1.22.1";
    s.info = "a \"quoted\" <b> & c/d, e";
    s.tunnel = "ssl";
    s.probe = "GetRequest";
    const std::string banner = "HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\n\r\n\xff\xfe";
    s.banner.assign(banner.begin(), banner.end());
    TlsInfo t;
    t.version = "TLSv1.3";
    t.cipher = "TLS_AES_256_GCM_SHA384";
    t.has_certificate = true;
    t.subject = "CN = lab.test";
    t.issuer = "CN = lab.test";
    t.san_dns = {"lab.test", "www.lab.test"};
    t.san_ip = {"198.19.0.7"};
    t.not_before = "2026-01-02T03:04:05Z";
    t.not_after = "2027-01-02T03:04:05Z";
    t.sha256 = std::string(64, 'a');
    t.key_type = "RSA";
    t.key_bits = 2048;
    t.self_signed = true;
    s.tls = t;
    return s;
}

// Only the port table named it; and a softmatch; and TLS without a certificate.
ServiceResult table_service() {
    ServiceResult s;
    s.address = IpAddress::from_ipv4(h12);
    s.port = 8080;
    s.seen_at_unix = start + 3.5;
    s.name = "http-proxy";
    s.method = ServiceMethod::table;
    s.confidence = 3;
    return s;
}

ServiceResult soft_service() {
    ServiceResult s;
    s.address = IpAddress::from_ipv4(h10);
    s.port = 80;
    s.seen_at_unix = start + 5;
    s.name = "http";
    s.soft = true;
    s.probe = "GetRequest";
    TlsInfo t;
    t.version = "TLSv1.2";
    t.cipher = "ADH-AES256-GCM-SHA384";
    s.tls = t;
    return s;
}

// The collector's order: results, then the services of ports found so far, ...
void run_sink_with_services(std::vector<std::unique_ptr<OutputWriter>> outputs, const std::string& db_path = "",
                            ScanRecord scan = {}) {
    const auto records = scrambled_records();
    ResultSink sink(SinkOptions{.keep_closed = true, .batch_rows = 4}, nullptr, start);
    if (!db_path.empty()) sink.set_database(std::make_unique<SqliteWriter>(db_path, scan));
    for (auto& out : outputs) sink.add_output(std::move(out));
    sink.add(records.data(), 5); // .. 198.19.0.5:22
    sink.add_service(ssh_service());
    sink.add_service(https_service());
    sink.add_service(ssh_service()); // the same port again: dropped
    sink.add(records.data() + 5, 4);
    sink.add_service(table_service());
    sink.add_service(soft_service());
    EXPECT_EQ(sink.services(), 4u);
    EXPECT_EQ(sink.duplicate_services(), 1u);
    sink.finish(ScanCounters{.sent = 100, .replies = records.size()});
}

TEST(Services, JsonLinesExact) {
    TempDir dir;
    std::vector<std::unique_ptr<OutputWriter>> outs;
    outs.push_back(make_json_writer(dir / "scan.json"));
    run_sink_with_services(std::move(outs));
    const auto lines = lines_of(slurp(dir / "scan.json"));
    ASSERT_EQ(lines.size(), 13u);
    // Each service's line follows its port's: 198.19.0.5:22 is line 4.
    EXPECT_EQ(lines[4].substr(0, 40), R"({"ip":"198.19.0.5","port":22,"proto":"tc)");
    EXPECT_EQ(lines[5],
              R"({"ip":"198.19.0.5","port":22,"proto":"tcp","type":"service","ts":1700000002.75,"service":{"name":"ssh",)"
              R"("product":"OpenSSH","version":"9.2p1 Debian 2+deb12u3","info":"protocol 2.0","ostype":"Linux",)"
              R"("cpe":["cpe:/a:openbsd:openssh:9.2p1","cpe:/o:linux:linux_kernel"],"method":"probed","conf":10,"probe":"NULL"},)"
              R"("banner":"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"})");
    EXPECT_EQ(lines[6],
              R"({"ip":"198.19.0.7","port":443,"proto":"tcp","type":"service","ts":1700000001.625,"service":{"name":"http",)"
              R"("product":"nginx","version":"1.22.1","info":"a \"quoted\" <b> & c/d, e","method":"probed","conf":10,)"
              R"("tunnel":"ssl","probe":"GetRequest"},"tls":{"version":"TLSv1.3","cipher":"TLS_AES_256_GCM_SHA384",)"
              R"("subject":"CN = lab.test","issuer":"CN = lab.test","san_dns":["lab.test","www.lab.test"],"san_ip":["198.19.0.7"],)"
              R"("not_before":"2026-01-02T03:04:05Z","not_after":"2027-01-02T03:04:05Z","sha256":")" + std::string(64, 'a') +
              R"(","key_type":"RSA","key_bits":2048,"self_signed":true},"banner":"HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\n\r\n)"
              "\xEF\xBF\xBD\xEF\xBF\xBD"
              R"(","banner_base64":"SFRUUC8xLjEgNDAwIEJhZCBSZXF1ZXN0DQpTZXJ2ZXI6IG5naW54LzEuMjIuMQ0KDQr//g=="})");
    EXPECT_EQ(lines[11],
              R"({"ip":"198.19.0.12","port":8080,"proto":"tcp","type":"service","ts":1700000003.5,"service":{"name":"http-proxy",)"
              R"("method":"table","conf":3}})");
    EXPECT_EQ(lines[12],
              R"({"ip":"10.0.0.1","port":80,"proto":"tcp","type":"service","ts":1700000005,"service":{"name":"http",)"
              R"("method":"probed","conf":10,"soft":true,"probe":"GetRequest"},"tls":{"version":"TLSv1.2","cipher":"ADH-AES256-GCM-SHA384"}})");
    if (!have_command("python3")) GTEST_SKIP() << "python3 not installed";
    EXPECT_EQ(run_python(dir, R"py(
import base64, json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get("type") != "service":
        continue
    s = o["service"]
    banner = base64.b64decode(o["banner_base64"]) if "banner_base64" in o else o.get("banner", "").encode()
    print(o["ip"], o["port"], s["name"], s.get("product"), s.get("cpe"), s["method"], s["conf"], banner, o.get("tls", {}).get("san_dns"))
)py", dir / "scan.json"),
              "198.19.0.5 22 ssh OpenSSH ['cpe:/a:openbsd:openssh:9.2p1', 'cpe:/o:linux:linux_kernel'] probed 10 "
              "b'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\\r\\n' None\n"
              "198.19.0.7 443 http nginx None probed 10 b'HTTP/1.1 400 Bad Request\\r\\nServer: nginx/1.22.1\\r\\n\\r\\n\\xff\\xfe' "
              "['lab.test', 'www.lab.test']\n"
              "198.19.0.12 8080 http-proxy None None table 3 b'' None\n"
              "10.0.0.1 80 http None None probed 10 b'' None\n");
}

TEST(Services, CsvRowsExact) {
    TempDir dir;
    std::vector<std::unique_ptr<OutputWriter>> outs;
    outs.push_back(make_csv_writer(dir / "scan.csv", ""));
    outs.push_back(make_csv_writer(dir / "some.csv", "ip,port,service,version,cpe"));
    run_sink_with_services(std::move(outs));
    const auto lines = lines_of(slurp(dir / "scan.csv"));
    ASSERT_EQ(lines.size(), 14u);
    EXPECT_EQ(lines[6], "198.19.0.5,22,tcp,open,,,,1700000002.75,,ssh,OpenSSH,9.2p1 Debian 2+deb12u3,protocol 2.0,,Linux,,"
                        "cpe:/a:openbsd:openssh:9.2p1 cpe:/o:linux:linux_kernel,probed,10,0,,NULL,"
                        "U1NILTIuMC1PcGVuU1NIXzkuMnAxIERlYmlhbi0yK2RlYjEydTMNCg==,,,,,,,,,,,,");
    EXPECT_EQ(lines[7], "198.19.0.7,443,tcp,open,,,,1700000001.625,,http,nginx,1.22.1,\"a \"\"quoted\"\" <b> & c/d, e\",,,,,"
                        "probed,10,0,ssl,GetRequest,SFRUUC8xLjEgNDAwIEJhZCBSZXF1ZXN0DQpTZXJ2ZXI6IG5naW54LzEuMjIuMQ0KDQr//g==,"
                        "TLSv1.3,TLS_AES_256_GCM_SHA384,CN = lab.test,CN = lab.test,lab.test www.lab.test,198.19.0.7,"
                        "2026-01-02T03:04:05Z,2027-01-02T03:04:05Z," + std::string(64, 'a') + ",RSA,2048,1");
    EXPECT_EQ(slurp(dir / "some.csv"), "ip,port,service,version,cpe\n"
                                       "198.19.0.7,443,,,\n"
                                       "198.19.0.12,22,,,\n"
                                       "198.19.0.5,80,,,\n"
                                       "10.0.0.1,3389,,,\n"
                                       "198.19.0.5,22,,,\n"
                                       "198.19.0.5,22,ssh,9.2p1 Debian 2+deb12u3,cpe:/a:openbsd:openssh:9.2p1 cpe:/o:linux:linux_kernel\n"
                                       "198.19.0.7,443,http,1.22.1,\n"
                                       "198.19.0.7,22,,,\n"
                                       "198.19.0.12,8080,,,\n"
                                       "198.19.0.5,443,,,\n"
                                       "10.0.0.1,80,,,\n"
                                       "198.19.0.12,8080,http-proxy,,\n"
                                       "10.0.0.1,80,http,,\n");
    if (!have_command("python3")) GTEST_SKIP() << "python3 not installed";
    const auto parsed = lines_of(run_python(dir, csv_dump, dir / "scan.csv"));
    ASSERT_EQ(parsed.size(), 14u);
    EXPECT_EQ(parsed[7], "198.19.0.7|443|tcp|open||||1700000001.625||http|nginx|1.22.1|a \"quoted\" <b> & c/d, e|||||probed|10|0|ssl|"
                         "GetRequest|SFRUUC8xLjEgNDAwIEJhZCBSZXF1ZXN0DQpTZXJ2ZXI6IG5naW54LzEuMjIuMQ0KDQr//g==|TLSv1.3|"
                         "TLS_AES_256_GCM_SHA384|CN = lab.test|CN = lab.test|lab.test www.lab.test|198.19.0.7|2026-01-02T03:04:05Z|"
                         "2027-01-02T03:04:05Z|" + std::string(64, 'a') + "|RSA|2048|1");
    EXPECT_EQ(parsed[13], "10.0.0.1|80|tcp|open||||1700000005||http||||||||probed|10|1||GetRequest||TLSv1.2|ADH-AES256-GCM-SHA384"
                          "||||||||||");
}

TEST(Services, XmlServiceElementsValidateAgainstNmapDtd) {
    TempDir dir;
    std::vector<std::unique_ptr<OutputWriter>> outs;
    outs.push_back(make_xml_writer(dir / "scan.xml", fixed_info()));
    run_sink_with_services(std::move(outs));
    const std::string text = slurp(dir / "scan.xml");
    const auto lines = lines_of(text);
    auto line_of = [&](const std::string& start) {
        for (const auto& line : lines)
            if (line.find(start) != std::string::npos) return line;
        return std::string("(no line with " + start + ")");
    };
    EXPECT_EQ(line_of("portid=\"22\"><state state=\"open\""),
              "<ports><port protocol=\"tcp\" portid=\"22\"><state state=\"open\" reason=\"syn-ack\" reason_ttl=\"64\"/>"
              "<service name=\"ssh\" product=\"OpenSSH\" version=\"9.2p1 Debian 2+deb12u3\" extrainfo=\"protocol 2.0\" "
              "ostype=\"Linux\" method=\"probed\" conf=\"10\"><cpe>cpe:/a:openbsd:openssh:9.2p1</cpe>"
              "<cpe>cpe:/o:linux:linux_kernel</cpe></service></port>");
    EXPECT_EQ(line_of("portid=\"443\"><state state=\"open\""),
              "<port protocol=\"tcp\" portid=\"443\"><state state=\"open\" reason=\"syn-ack\" reason_ttl=\"64\"/>"
              "<service name=\"http\" product=\"nginx\" version=\"1.22.1\" extrainfo=\"a &quot;quoted&quot; &lt;b&gt; &amp; c/d, e\" "
              "tunnel=\"ssl\" method=\"probed\" conf=\"10\"/><script id=\"ssl-cert\" output=\"Subject: CN = lab.test&#10;"
              "Subject Alternative Name: DNS:lab.test, DNS:www.lab.test, IP Address:198.19.0.7&#10;Issuer: CN = lab.test&#10;"
              "Public Key type: rsa&#10;Public Key bits: 2048&#10;Not valid before: 2026-01-02T03:04:05Z&#10;"
              "Not valid after:  2027-01-02T03:04:05Z&#10;SHA-256: " + std::string(64, 'a') + "\"/></port>");
    EXPECT_EQ(line_of("portid=\"8080\""), "<port protocol=\"tcp\" portid=\"8080\"><state state=\"open\" reason=\"syn-ack\" "
                                          "reason_ttl=\"128\"/><service name=\"http-proxy\" method=\"table\" conf=\"3\"/></port>");
    EXPECT_EQ(line_of("reason_ttl=\"55\"/><service"), "<ports><port protocol=\"tcp\" portid=\"80\"><state state=\"open\" reason=\"syn-ack\" "
                                                      "reason_ttl=\"55\"/><service name=\"http\" method=\"probed\" conf=\"10\"/></port>");
    if (!std::filesystem::exists("/usr/share/nmap/nmap.dtd") || !have_command("xmllint"))
        GTEST_SKIP() << "nmap.dtd or xmllint missing";
    const std::string log = dir / "xmllint.log";
    EXPECT_EQ(std::system(fmt::format("xmllint --noout --dtdvalid /usr/share/nmap/nmap.dtd {} > {} 2>&1", dir / "scan.xml", log)
                              .c_str()),
              0)
        << slurp(log) << text;
}

TEST(Services, Utf8CheckAndXmlOfBytesThatAreNotUtf8) {
    auto bytes = [](std::string_view text) {
        return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
    };
    EXPECT_TRUE(valid_utf8(bytes("SSH-2.0 caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80")));
    EXPECT_FALSE(valid_utf8(bytes("\xFF")));
    EXPECT_FALSE(valid_utf8(bytes("\xC3")));             // cut short
    EXPECT_FALSE(valid_utf8(bytes("\xC0\xAF")));         // overlong '/'
    EXPECT_FALSE(valid_utf8(bytes("\xED\xA0\x80")));     // a UTF-16 surrogate
    EXPECT_FALSE(valid_utf8(bytes("\xF4\x90\x80\x80"))); // past U+10FFFF
    TempDir dir;
    auto writer = make_xml_writer(dir / "bytes.xml", ScanInfo{.args = "a", .start_unix = start, .end_unix = start + 1});
    writer->write(rec(h5, 21, PortState::open, Reason::syn_ack, 64, 1, 0), start);
    ServiceResult s;
    s.address = IpAddress::from_ipv4(h5);
    s.port = 21;
    s.name = "ftp";
    s.product = "caf\xC3\xA9 \xFF\x01 ftpd";
    s.cpes = {"cpe:/a:x:\xC3"};
    writer->write_service(s);
    writer->finish();
    const std::string text = slurp(dir / "bytes.xml");
    EXPECT_NE(text.find("<service name=\"ftp\" product=\"caf\xC3\xA9 ?? ftpd\" method=\"probed\" conf=\"10\"><cpe>cpe:/a:x:?</cpe></service>"),
              std::string::npos)
        << text;
    if (!std::filesystem::exists("/usr/share/nmap/nmap.dtd") || !have_command("xmllint"))
        GTEST_SKIP() << "nmap.dtd or xmllint missing";
    EXPECT_EQ(std::system(fmt::format("xmllint --noout --dtdvalid /usr/share/nmap/nmap.dtd {} >/dev/null 2>&1", dir / "bytes.xml").c_str()), 0)
        << text;
}

TEST(Services, GrepableVersionColumn) {
    TempDir dir;
    std::vector<std::unique_ptr<OutputWriter>> outs;
    outs.push_back(make_grepable_writer(dir / "scan.gnmap", fixed_info()));
    run_sink_with_services(std::move(outs));
    const auto lines = lines_of(slurp(dir / "scan.gnmap"));
    ASSERT_EQ(lines.size(), 6u);
    EXPECT_EQ(lines[1], "Host: 10.0.0.1 ()\tPorts: 80/open/tcp//http///, " + grepable_port(3389, "filtered"));
    EXPECT_EQ(lines[2], "Host: 198.19.0.5 ()\tPorts: 22/open/tcp//ssh//OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)/, " +
                            grepable_port(80, "open") + ", " + grepable_port(443, "filtered"));
    EXPECT_EQ(lines[3], "Host: 198.19.0.7 ()\tPorts: " + grepable_port(22, "closed") +
                            ", 443/open/tcp//ssl|http//nginx 1.22.1 (a \"quoted\" <b> & c|d, e)/");
    EXPECT_EQ(lines[4], "Host: 198.19.0.12 ()\tPorts: " + grepable_port(22, "closed") + ", 8080/open/tcp//http-proxy///");
}

TEST(Services, ListOutputIgnoresServices) {
    TempDir dir;
    std::vector<std::unique_ptr<OutputWriter>> outs;
    outs.push_back(make_list_writer(dir / "with.list"));
    run_sink_with_services(std::move(outs));
    std::vector<std::unique_ptr<OutputWriter>> plain;
    plain.push_back(make_list_writer(dir / "without.list"));
    run_sink(scrambled_records(), std::move(plain));
    EXPECT_EQ(slurp(dir / "with.list"), slurp(dir / "without.list"));
}

TEST(Services, ExportEqualsLiveOutputByteForByte) {
    TempDir dir;
    const std::string db = dir / "scan.db";
    std::vector<std::unique_ptr<OutputWriter>> outs;
    outs.push_back(make_json_writer(dir / "live.json"));
    outs.push_back(make_csv_writer(dir / "live.csv", ""));
    outs.push_back(make_list_writer(dir / "live.list"));
    ScanInfo info = fixed_info();
    outs.push_back(make_xml_writer(dir / "live.xml", info));
    outs.push_back(make_grepable_writer(dir / "live.gnmap", info));
    run_sink_with_services(std::move(outs), db,
                           ScanRecord{.seed = 9, .targets = "198.19.0.0/24,10.0.0.1", .ports = "22,80,443,3389,8080"});
    for (const auto& [format, ext] : {std::pair{"json", "json"}, std::pair{"csv", "csv"}, std::pair{"list", "list"}}) {
        export_database(db, dir / fmt::format("export.{}", ext), format, "", std::nullopt);
        EXPECT_EQ(slurp(dir / fmt::format("export.{}", ext)), slurp(dir / fmt::format("live.{}", ext))) << format;
    }
    // The nmap formats: every line but the run's own (args, times) is the same.
    for (const auto& [format, ext] : {std::pair{"xml", "xml"}, std::pair{"grepable", "gnmap"}}) {
        export_database(db, dir / fmt::format("export.{}", ext), format, "", std::nullopt);
        const auto live = lines_of(slurp(dir / fmt::format("live.{}", ext)));
        const auto exported = lines_of(slurp(dir / fmt::format("export.{}", ext)));
        ASSERT_EQ(live.size(), exported.size()) << format;
        for (std::size_t i = 0; i < live.size(); ++i) {
            if (live[i].find("<service") != std::string::npos || live[i].starts_with("Host:")) {
                EXPECT_EQ(exported[i], live[i]);
            }
        }
    }
}

TEST(Services, MergeCopiesServicesAndTlsAndExportsTheSame) {
    TempDir dir;
    std::vector<std::unique_ptr<OutputWriter>> outs;
    outs.push_back(make_json_writer(dir / "live.json"));
    run_sink_with_services(std::move(outs), dir / "a.db");
    run_sink({rec(h5, 9999, PortState::open, Reason::syn_ack, 64, 1, 100)}, {}, dir / "b.db");
    merge_databases({dir / "b.db", dir / "a.db"}, dir / "merged.db");
    export_database(dir / "merged.db", dir / "a.json", "json", "", 2);
    EXPECT_EQ(slurp(dir / "a.json"), slurp(dir / "live.json"));
    // Merging the same scan twice keeps one of each.
    merge_databases({dir / "a.db", dir / "a.db"}, dir / "twice.db");
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "twice.db").c_str(), &db), SQLITE_OK);
    auto count = [&](const char* sql) {
        sqlite3_stmt* st = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK) << sql;
        const auto n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
        sqlite3_finalize(st);
        return n;
    };
    EXPECT_EQ(count("SELECT count(*) FROM services"), 4);
    EXPECT_EQ(count("SELECT count(*) FROM tls"), 2);
    EXPECT_EQ(count("SELECT count(*) FROM tls WHERE sha256 IS NULL"), 1);
    sqlite3_close(db);
}

TEST(Services, CorruptServiceRowIsNamed) {
    TempDir dir;
    const std::string path = dir / "scan.db";
    run_sink_with_services({}, path);
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "UPDATE services SET cpe = '[1,2' WHERE port = 22", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    EXPECT_EQ(error_of([&] { export_database(path, dir / "o.json", "json", "", std::nullopt); }),
              fmt::format("corrupt service in database \"{}\": row 1 has cpe \"[1,2\"", path));
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "UPDATE services SET cpe = '[]', port = 70000 WHERE port = 22", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    EXPECT_EQ(error_of([&] { export_database(path, dir / "o.json", "json", "", std::nullopt); }),
              fmt::format("corrupt service in database \"{}\": row 1 has port \"70000\"", path));
}

} // namespace
} // namespace ws
