#include "wirespeed/error.hpp"
#include "wirespeed/udp_payloads.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace ws {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

Bytes hex(std::string_view h) {
    Bytes out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(std::uint8_t(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
    return out;
}

UdpPayloads parse(std::string_view text) { return parse_nmap_payloads(text, "p.txt"); }

// The message of the ws::Error that fn throws, or "" (a failure) when none.
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

std::string parse_error(std::string_view text) {
    return error_of([&] { parse(text); });
}

std::string repeat(std::string_view s, std::size_t n) {
    std::string out;
    out.reserve(s.size() * n);
    for (std::size_t i = 0; i < n; ++i) out += s;
    return out;
}

struct TempFile {
    std::filesystem::path path;
    explicit TempFile(const std::string& contents) {
        path = std::filesystem::temp_directory_path() /
               ("ws_payloads_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".txt");
        std::ofstream(path, std::ios::binary) << contents;
    }
    ~TempFile() { std::filesystem::remove(path); }
    static inline int counter = 0;
};

// ---- the format ----------------------------------------------------------

TEST(UdpPayloadsParse, EmptyAndCommentsOnly) {
    EXPECT_EQ(parse("").port_count(), 0u);
    const auto p = parse("# nothing\n\n   # at all \"udp 7\"\n#");
    EXPECT_EQ(p.port_count(), 0u);
    EXPECT_EQ(p.payload_count(), 0u);
    EXPECT_TRUE(p.for_port(7).empty());
}

TEST(UdpPayloadsParse, OneEntry) {
    const auto p = parse("udp 7 \"\\x0D\\x0A\\x0D\\x0A\"\n");
    EXPECT_EQ(p.port_count(), 1u);
    EXPECT_EQ(p.payload_count(), 1u);
    ASSERT_EQ(p.for_port(7).size(), 1u);
    EXPECT_EQ(p.for_port(7)[0], hex("0d0a0d0a"));
    EXPECT_TRUE(p.for_port(8).empty());
    EXPECT_TRUE(p.for_port(0).empty());
}

TEST(UdpPayloadsParse, EveryEscape) {
    const auto p = parse(R"(udp 9 "\x41\x7f\xFF\xaB\0\a\b\f\n\r\t\v\\\"\'")");
    EXPECT_EQ(p.for_port(9).at(0),
              (Bytes{0x41, 0x7f, 0xff, 0xab, 0x00, 0x07, 0x08, 0x0c, 0x0a, 0x0d, 0x09, 0x0b, '\\', '"', '\''}));
}

TEST(UdpPayloadsParse, HexEscapeTakesExactlyTwoDigits) {
    // As in nmap's TeamSpeak entry: "\x002x" is 00 '2' 'x', not \x002.
    EXPECT_EQ(parse(R"(udp 9 "\x002x\x006 ")").for_port(9).at(0), (Bytes{0x00, '2', 'x', 0x00, '6', ' '}));
    // \0 before a non-octal digit or a letter is a NUL then that byte.
    EXPECT_EQ(parse(R"(udp 9 "\08\09\0x\0\0")").for_port(9).at(0), (Bytes{0, '8', 0, '9', 0, 'x', 0, 0}));
}

TEST(UdpPayloadsParse, RawBytesInStrings) {
    const auto p = parse("udp 9 \"a\tb\xff\x01 # not a comment\"");
    EXPECT_EQ(p.for_port(9).at(0), bytes("a\tb\xff\x01 # not a comment"));
}

TEST(UdpPayloadsParse, EmptyStringsAreAnEmptyPayload) {
    const auto p = parse("udp 9 \"\" \"\"");
    ASSERT_EQ(p.for_port(9).size(), 1u);
    EXPECT_TRUE(p.for_port(9)[0].empty());
}

TEST(UdpPayloadsParse, StringsConcatenateAcrossLinesAndComments) {
    const auto p = parse("udp 2123,2152\n"
                         "# GTPv1\n"
                         "\"\\x32\"\n"
                         "  \"\\x01\" # EchoRequest\n"
                         "\n"
                         "\t\"\\x00\\x04\"\"ab\"   \"\"\n"
                         "# done\n"
                         "udp 7 \"x\"\n");
    EXPECT_EQ(p.port_count(), 3u);
    EXPECT_EQ(p.for_port(2123).at(0), (Bytes{0x32, 0x01, 0x00, 0x04, 'a', 'b'}));
    EXPECT_EQ(p.for_port(2152), p.for_port(2123));
    EXPECT_EQ(p.for_port(7).at(0), bytes("x"));
}

TEST(UdpPayloadsParse, CommentsInOddPlaces) {
    const auto p = parse("#first\nudp# right after the keyword\n 53#after the ports\n"
                         "\"a\"#after a string \"b\"\n#\n\"c\"# source 0\nsource 53#after the source port\n"
                         "udp 54 \"d\" # end without a newline");
    EXPECT_EQ(p.for_port(53).at(0), bytes("ac"));
    EXPECT_EQ(p.for_port(54).at(0), bytes("d"));
}

TEST(UdpPayloadsParse, CrlfAndByteOrderMark) {
    const auto p = parse("\xEF\xBB\xBFudp 7\r\n  \"a\"\r\n  \"b\"\r\nsource 7\r\n");
    EXPECT_EQ(p.for_port(7).at(0), bytes("ab"));
}

TEST(UdpPayloadsParse, PortListsAndRanges) {
    const auto p = parse("udp 1,3-5,65534-65535,4,5-5 \"x\"");
    EXPECT_EQ(p.port_count(), 6u);
    EXPECT_EQ(p.payload_count(), 6u); // 4 and 5 are listed twice: one payload each
    for (std::uint16_t port : {1, 3, 4, 5, 65534, 65535}) EXPECT_EQ(p.for_port(port), std::vector<Bytes>{bytes("x")}) << port;
    EXPECT_TRUE(p.for_port(2).empty());
    EXPECT_TRUE(p.for_port(6).empty());

    const auto all = parse("udp 1-65535 \"\"");
    EXPECT_EQ(all.port_count(), 65535u);
    EXPECT_EQ(all.by_port().begin()->first, 1);
    EXPECT_EQ(all.by_port().rbegin()->first, 65535);
}

TEST(UdpPayloadsParse, SeveralEntriesForOnePortKeepFileOrder) {
    const auto p = parse("udp 137 \"one\"\n"
                         "udp 100-200 \"range\"\n"
                         "udp 137,138 \"two\"\n"
                         "udp 137 \"three\"\n");
    EXPECT_EQ(p.for_port(137), (std::vector<Bytes>{bytes("one"), bytes("range"), bytes("two"), bytes("three")}));
    EXPECT_EQ(p.for_port(138), (std::vector<Bytes>{bytes("range"), bytes("two")}));
    EXPECT_EQ(p.for_port(100), std::vector<Bytes>{bytes("range")});
    EXPECT_EQ(p.port_count(), 101u);
    EXPECT_EQ(p.payload_count(), 1u + 101u + 2u + 1u);
}

TEST(UdpPayloadsParse, SourceDirectiveIsValidatedAndIgnored) {
    const auto p = parse("udp 500 \"a\"\nsource 500\nsource 1 # twice is fine\nudp 4500 \"b\" source 65535\n");
    EXPECT_EQ(p.for_port(500), std::vector<Bytes>{bytes("a")});
    EXPECT_EQ(p.for_port(4500), std::vector<Bytes>{bytes("b")});
    EXPECT_TRUE(p.for_port(1).empty());
    EXPECT_EQ(p.port_count(), 2u);
}

TEST(UdpPayloadsParse, FullSizePayloadAcrossStrings) {
    const auto text = "udp 9 \"" + repeat("\\xab", 700) + "\"\n  \"" + repeat("c", 700) + "\"";
    const auto p = parse(text);
    ASSERT_EQ(p.for_port(9).at(0).size(), max_udp_payload);
    EXPECT_EQ(p.for_port(9)[0].front(), 0xab);
    EXPECT_EQ(p.for_port(9)[0].back(), 'c');
}

TEST(UdpPayloadsParse, PortWordMayTouchAString) {
    EXPECT_EQ(parse("udp 7\"x\"").for_port(7).at(0), bytes("x"));
}

// ---- errors: file:line, what, the token ----------------------------------

TEST(UdpPayloadsErrors, Keywords) {
    EXPECT_EQ(parse_error("# c\n\ntcp 80 \"x\""), "p.txt:3: unknown keyword \"tcp\" (only \"udp\" entries are supported)");
    EXPECT_EQ(parse_error("UDP 80 \"x\""), "p.txt:1: unknown keyword \"UDP\" (only \"udp\" entries are supported)");
    EXPECT_EQ(parse_error("udp 7 \"a\"\n  \"b\" junk\n"), "p.txt:2: unknown keyword \"junk\" (only \"udp\" entries are supported)");
    EXPECT_EQ(parse_error("udp 7 \"a\"x"), "p.txt:1: unknown keyword \"x\" (only \"udp\" entries are supported)");
    EXPECT_EQ(parse_error("udp 7 \"a\"\n\x01\xff"),
              "p.txt:2: unknown keyword \"\\x01\\xff\" (only \"udp\" entries are supported)");
    EXPECT_EQ(parse_error("\n\"abc\"\nudp 7 \"x\""),
              "p.txt:2: payload string outside an entry \"\\\"abc\\\"\" (an entry starts with \"udp\")");
}

TEST(UdpPayloadsErrors, MissingPartsOfAnEntry) {
    EXPECT_EQ(parse_error("udp 7 \"x\"\nudp # nothing follows\n"), "p.txt:2: missing port list after \"udp\"");
    EXPECT_EQ(parse_error("udp\n\"x\""), "p.txt:2: expected a port list after \"udp\", got a string \"\\\"x\\\"\"");
    EXPECT_EQ(parse_error("udp 7\n# no payload\n"), "p.txt:1: no payload string after port list \"7\"");
    EXPECT_EQ(parse_error("udp 7\nudp 8 \"x\""),
              "p.txt:2: expected a payload string after port list \"7\", got \"udp\"");
    EXPECT_EQ(parse_error("udp 7 source 9 \"x\""),
              "p.txt:1: expected a payload string after port list \"7\", got \"source\"");
}

TEST(UdpPayloadsErrors, UnterminatedStrings) {
    EXPECT_EQ(parse_error("udp 7\n \"abc"), "p.txt:2: unterminated string \"\\\"abc\"");
    EXPECT_EQ(parse_error("udp 7\n \"abc\n\"def\""), "p.txt:2: unterminated string \"\\\"abc\"");
    EXPECT_EQ(parse_error("udp 7\n\n \"abc\\\"\n"), "p.txt:3: unterminated string \"\\\"abc\\\\\\\"\"");
    EXPECT_EQ(parse_error("udp 7 \"abc\\\n\""), "p.txt:1: unterminated string \"\\\"abc\\\\\"");
    EXPECT_EQ(parse_error("udp 7 \"abc\\"), "p.txt:1: unterminated string \"\\\"abc\\\\\"");
    EXPECT_EQ(parse_error("udp 7 \""), "p.txt:1: unterminated string \"\\\"\"");
}

TEST(UdpPayloadsErrors, BadEscapes) {
    EXPECT_EQ(parse_error("udp 7\n\"ok\"\n\"a\\qb\""), "p.txt:3: bad escape \"\\\\q\"");
    EXPECT_EQ(parse_error("udp 7 \"\\x4g\""), "p.txt:1: bad escape \"\\\\x4g\": \\x needs two hex digits");
    EXPECT_EQ(parse_error("udp 7 \"\\xg4\""), "p.txt:1: bad escape \"\\\\xg4\": \\x needs two hex digits");
    EXPECT_EQ(parse_error("udp 7 \"\\x4\""), "p.txt:1: bad escape \"\\\\x4\": \\x needs two hex digits");
    EXPECT_EQ(parse_error("udp 7 \"\\x\""), "p.txt:1: bad escape \"\\\\x\": \\x needs two hex digits");
    EXPECT_EQ(parse_error("udp 7 \"\\1\""), "p.txt:1: bad escape \"\\\\1\"");
    EXPECT_EQ(parse_error("udp 7 \"\\?\""), "p.txt:1: bad escape \"\\\\?\"");
    EXPECT_EQ(parse_error("udp 7 \"\\\xff\""), "p.txt:1: bad escape \"\\\\\\xff\"");
    EXPECT_EQ(parse_error("udp 7 \"\\017\""),
              "p.txt:1: ambiguous escape \"\\\\01\": octal escapes are not supported (write \\x00 before the digit)");
}

TEST(UdpPayloadsErrors, BadPorts) {
    const auto prefix = std::string("p.txt:2: ");
    const auto in_entry = [](std::string ports) { return parse_error("# c\nudp " + ports + " \"x\""); };
    EXPECT_EQ(in_entry("0"), prefix + "invalid port \"0\": ports are 1-65535");
    EXPECT_EQ(in_entry("65536"), prefix + "invalid port \"65536\": ports are 1-65535");
    EXPECT_EQ(in_entry("99999999999999999999"), prefix + "invalid port \"99999999999999999999\": ports are 1-65535");
    EXPECT_EQ(in_entry("53,http"), prefix + "invalid port \"http\": expected a number 1-65535 or a range A-B");
    EXPECT_EQ(in_entry("+53"), prefix + "invalid port \"+53\": expected a number 1-65535 or a range A-B");
    EXPECT_EQ(in_entry("53,,54"), prefix + "empty item in port list \"53,,54\"");
    EXPECT_EQ(in_entry("53,"), prefix + "empty item in port list \"53,\"");
    EXPECT_EQ(in_entry(",53"), prefix + "empty item in port list \",53\"");
    EXPECT_EQ(in_entry("10-5"), prefix + "invalid port range \"10-5\": start is after end");
    EXPECT_EQ(in_entry("0-5"), prefix + "invalid port range \"0-5\": ports are 1-65535");
    EXPECT_EQ(in_entry("5-65536"), prefix + "invalid port range \"5-65536\": ports are 1-65535");
    EXPECT_EQ(in_entry("5-"), prefix + "invalid port range \"5-\": expected A-B with ports 1-65535");
    EXPECT_EQ(in_entry("-5"), prefix + "invalid port range \"-5\": expected A-B with ports 1-65535");
    EXPECT_EQ(in_entry("1-2-3"), prefix + "invalid port range \"1-2-3\": expected A-B with ports 1-65535");
    EXPECT_EQ(in_entry("-"), prefix + "invalid port range \"-\": expected A-B with ports 1-65535");
}

TEST(UdpPayloadsErrors, SourceDirective) {
    EXPECT_EQ(parse_error("udp 7 \"x\"\nsource"), "p.txt:2: missing port after \"source\"");
    EXPECT_EQ(parse_error("udp 7 \"x\"\nsource\n500\n"), "p.txt:2: missing port after \"source\"");
    EXPECT_EQ(parse_error("udp 7 \"x\"\nsource \t# 500\n"), "p.txt:2: missing port after \"source\"");
    EXPECT_EQ(parse_error("udp 7 \"x\"\nsource 0"), "p.txt:2: invalid source port \"0\": ports are 1-65535");
    EXPECT_EQ(parse_error("udp 7 \"x\"\nsource 65536"), "p.txt:2: invalid source port \"65536\": ports are 1-65535");
    EXPECT_EQ(parse_error("udp 7 \"x\"\nsource 5-6"), "p.txt:2: invalid source port \"5-6\": ports are 1-65535");
    EXPECT_EQ(parse_error("udp 7 \"x\"\nsource \"5\""), "p.txt:2: invalid source port \"\\\"5\\\"\": ports are 1-65535");
    EXPECT_EQ(parse_error("udp 7 \"x\"\nsource 5\n\"more\""),
              "p.txt:3: payload string after \"source\" \"\\\"more\\\"\" (strings come before directives)");
}

TEST(UdpPayloadsErrors, PayloadTooLong) {
    const auto text = "udp 9\n \"" + repeat("\\x00", 1000) + "\"\n \"" + repeat("a", 400) + "\"\n \"b\"\n";
    const auto message = parse_error(text);
    EXPECT_EQ(message, "p.txt:4: payload longer than 1400 bytes at string \"\\\"b\\\"\"");
    const auto one_string = parse_error("udp 9 \"" + repeat("a", 1401) + "\"");
    EXPECT_TRUE(one_string.starts_with("p.txt:1: payload longer than 1400 bytes at string \"\\\"aaaa")) << one_string;
    EXPECT_TRUE(one_string.ends_with("aaa...\"")) << one_string; // the token is shortened
}

TEST(UdpPayloadsErrors, TooManyPayloadsForAPort) {
    const auto ok = parse(repeat("udp 7,8 \"x\"\n", max_payloads_per_port));
    EXPECT_EQ(ok.for_port(7).size(), max_payloads_per_port);
    EXPECT_EQ(parse_error(repeat("udp 7,8 \"x\"\n", max_payloads_per_port) + "udp 8 \"y\"\n"),
              "p.txt:256: more than 255 payloads for port \"8\" (nmap's limit)");
}

TEST(UdpPayloadsErrors, ExpansionIsBounded) {
    // 16 x 65535 pairs fit in 2^20; the 17th entry does not.
    const auto pairs = parse_error(repeat("udp 1-65535 \"\"\n", 16) + "# c\nudp 1000-2000,1-65535 \"\"\n");
    EXPECT_EQ(pairs, "p.txt:18: more than 1048576 (port, payload) pairs once port ranges are expanded, "
                     "at port list \"1000-2000,1-65535\"");
    // One full-size payload on 50000 ports fits; a second one does not (128 MiB).
    const auto entry = "udp 1-50000 \"" + repeat("z", max_udp_payload) + "\"\n";
    const auto bytes = parse_error(entry + entry);
    EXPECT_EQ(bytes, "p.txt:2: more than 134217728 payload bytes once port ranges are expanded, at port list \"1-50000\"");
}

TEST(UdpPayloadsErrors, LineAndFileLimits) {
    const auto long_line = "udp 7 \"" + repeat("a", max_nmap_payloads_line) + "\"";
    EXPECT_EQ(parse_error("# c\n# d\n" + long_line + "\n"),
              "p.txt:3: line longer than 65536 bytes (the line limit) \"udp 7 \\\"aaaaaaaaaaaaaaaaaaaaaaaaa...\"");
    // Exactly at the limit is fine; a CR before the newline counts as a byte of the line.
    const auto at_limit = std::string("#") + repeat("c", max_nmap_payloads_line - 1);
    EXPECT_EQ(parse(at_limit + "\n" + at_limit).port_count(), 0u);
    EXPECT_EQ(parse_error(at_limit + "\r\n").substr(0, 46), "p.txt:1: line longer than 65536 bytes (the lin");
    const std::string huge(max_nmap_payloads_bytes + 1, '\n');
    EXPECT_EQ(parse_error(huge), "cannot read \"p.txt\": larger than 16777216 bytes (the limit for a payload file)");
}

TEST(UdpPayloadsErrors, LineNumbersCountEveryNewline) {
    // Newlines inside comments, between strings, after directives, CRLF.
    const auto text = "# 1\r\nudp 7 # 2\r\n \"a\" # 3\n\n \"b\"\nsource 7 # 6\n\n# 8 \"\n udp 9 \"ok\"\n\nudp 65536 \"x\"";
    EXPECT_EQ(parse_error(text), "p.txt:11: invalid port \"65536\": ports are 1-65535");
}

TEST(UdpPayloadsErrors, NameIsUsedAsGiven) {
    EXPECT_EQ(error_of([] { parse_nmap_payloads("bogus", "/etc/x y"); }),
              "/etc/x y:1: unknown keyword \"bogus\" (only \"udp\" entries are supported)");
}

// ---- --udp-payload PORT:HEX ----------------------------------------------

TEST(UdpPayloadOption, Good) {
    EXPECT_EQ(parse_udp_payload_option("53:0x0001"), (UdpPayloadOption{53, {0x00, 0x01}}));
    EXPECT_EQ(parse_udp_payload_option("53:00ff"), (UdpPayloadOption{53, {0x00, 0xff}}));
    EXPECT_EQ(parse_udp_payload_option("1:0XaBcD"), (UdpPayloadOption{1, {0xab, 0xcd}}));
    EXPECT_EQ(parse_udp_payload_option("65535:7f"), (UdpPayloadOption{65535, {0x7f}}));
    EXPECT_EQ(parse_udp_payload_option("00053:00").port, 53);
    const auto full = parse_udp_payload_option("9:" + repeat("e1", max_udp_payload));
    EXPECT_EQ(full.bytes.size(), max_udp_payload);
    EXPECT_EQ(full.bytes.front(), 0xe1);
}

TEST(UdpPayloadOption, Bad) {
    const auto err = [](std::string spec) { return error_of([&] { parse_udp_payload_option(spec); }); };
    EXPECT_EQ(err(""), "invalid --udp-payload \"\": expected PORT:HEX, e.g. 53:0x0000");
    EXPECT_EQ(err("53"), "invalid --udp-payload \"53\": expected PORT:HEX, e.g. 53:0x0000");
    EXPECT_EQ(err(":00"), "invalid --udp-payload \":00\": port \"\" is not 1-65535");
    EXPECT_EQ(err("0:00"), "invalid --udp-payload \"0:00\": port \"0\" is not 1-65535");
    EXPECT_EQ(err("65536:00"), "invalid --udp-payload \"65536:00\": port \"65536\" is not 1-65535");
    EXPECT_EQ(err("-1:00"), "invalid --udp-payload \"-1:00\": port \"-1\" is not 1-65535");
    EXPECT_EQ(err("dns:00"), "invalid --udp-payload \"dns:00\": port \"dns\" is not 1-65535");
    EXPECT_EQ(err("53:"), "invalid --udp-payload \"53:\": no payload bytes after the port");
    EXPECT_EQ(err("53:0x"), "invalid --udp-payload \"53:0x\": no payload bytes after the port");
    EXPECT_EQ(err("53:abc"), "invalid --udp-payload \"53:abc\": odd number of hex digits (3)");
    EXPECT_EQ(err("53:0x0"), "invalid --udp-payload \"53:0x0\": odd number of hex digits (1)");
    EXPECT_EQ(err("53:zz"), "invalid --udp-payload \"53:zz\": \"z\" is not a hex digit");
    EXPECT_EQ(err("53:00 11"), "invalid --udp-payload \"53:00 11\": \" \" is not a hex digit");
    EXPECT_EQ(err("53:0x0x00"), "invalid --udp-payload \"53:0x0x00\": \"x\" is not a hex digit");
    EXPECT_EQ(err("53:00:11"), "invalid --udp-payload \"53:00:11\": \":\" is not a hex digit");
    EXPECT_EQ(err("53:\\x00"), "invalid --udp-payload \"53:\\\\x00\": \"\\\\\" is not a hex digit");
    const auto too_long = err("53:" + repeat("00", max_udp_payload + 1));
    EXPECT_TRUE(too_long.ends_with("\": payload of 1401 bytes is longer than 1400 bytes")) << too_long;
    EXPECT_TRUE(too_long.starts_with("invalid --udp-payload \"53:0000")) << too_long;
}

// ---- options over the file -----------------------------------------------

TEST(UdpPayloadsApply, OptionsReplaceAPortsPayloads) {
    auto p = parse("udp 53 \"a\"\nudp 53,161 \"b\"\nudp 161 \"c\"\n");
    apply_udp_payload_options(p, {parse_udp_payload_option("53:01"), parse_udp_payload_option("7:02"),
                                  parse_udp_payload_option("53:0x0304")});
    EXPECT_EQ(p.for_port(53), (std::vector<Bytes>{{0x01}, {0x03, 0x04}}));     // the file's two are gone
    EXPECT_EQ(p.for_port(161), (std::vector<Bytes>{bytes("b"), bytes("c")})); // untouched
    EXPECT_EQ(p.for_port(7), (std::vector<Bytes>{{0x02}}));                   // a new port
    EXPECT_EQ(p.port_count(), 3u);
    EXPECT_EQ(p.payload_count(), 5u);
}

TEST(UdpPayloadsApply, NoOptionsChangeNothing) {
    auto p = parse("udp 53 \"a\"");
    const auto before = p;
    apply_udp_payload_options(p, {});
    EXPECT_EQ(p, before);
}

TEST(UdpPayloadsApply, RefusedOptionsLeaveThePayloadsAlone) {
    auto p = parse("udp 53 \"a\"");
    const auto before = p;
    EXPECT_EQ(error_of([&] { apply_udp_payload_options(p, {{53, {1}}, {0, {1}}}); }),
              "invalid --udp-payload port \"0\": ports are 1-65535");
    EXPECT_EQ(error_of([&] { apply_udp_payload_options(p, {{53, {1}}, {54, {}}}); }),
              "invalid --udp-payload for port \"54\": 0 bytes (1-1400)");
    EXPECT_EQ(error_of([&] { apply_udp_payload_options(p, {{53, {1}}, {54, Bytes(max_udp_payload + 1)}}); }),
              "invalid --udp-payload for port \"54\": 1401 bytes (1-1400)");
    std::vector<UdpPayloadOption> many(max_payloads_per_port + 1, UdpPayloadOption{53, {1}});
    EXPECT_EQ(error_of([&] { apply_udp_payload_options(p, many); }), "more than 255 --udp-payload options for port \"53\"");
    EXPECT_EQ(p, before);
    many.pop_back();
    apply_udp_payload_options(p, many);
    EXPECT_EQ(p.for_port(53).size(), max_payloads_per_port);
}

TEST(UdpPayloadsApply, ReplaceAndAdd) {
    UdpPayloads p;
    p.add(5, {1});
    p.add(5, {2});
    EXPECT_EQ(p.for_port(5), (std::vector<Bytes>{{1}, {2}}));
    p.replace(5, {{3}});
    EXPECT_EQ(p.for_port(5), (std::vector<Bytes>{{3}}));
    p.replace(5, {});
    EXPECT_EQ(p.port_count(), 0u);
    EXPECT_TRUE(p.for_port(5).empty());
}

// ---- the loader ----------------------------------------------------------

TEST(UdpPayloadsFile, LoadsAFileAndNamesItInErrors) {
    TempFile good("udp 7 \"x\"\n");
    EXPECT_EQ(load_nmap_payloads(good.path.string()).for_port(7).at(0), bytes("x"));
    TempFile bad("udp 7 \"x\"\n\nudp 0 \"y\"\n");
    EXPECT_EQ(error_of([&] { load_nmap_payloads(bad.path.string()); }),
              bad.path.string() + ":3: invalid port \"0\": ports are 1-65535");
}

TEST(UdpPayloadsFile, UnreadableIsAnIoError) {
    EXPECT_THROW(load_nmap_payloads("/nonexistent/nmap-payloads"), IoError);
    EXPECT_EQ(error_of([] { load_nmap_payloads("/nonexistent/nmap-payloads"); }),
              "cannot read nmap payload file \"/nonexistent/nmap-payloads\": No such file or directory");
    const auto dir = std::filesystem::temp_directory_path().string();
    EXPECT_THROW(load_nmap_payloads(dir), IoError);
    EXPECT_EQ(error_of([&] { load_nmap_payloads(dir); }), "cannot read nmap payload file \"" + dir + "\": Is a directory");
    if (::geteuid() != 0) { // root reads anything
        TempFile secret("udp 7 \"x\"");
        ::chmod(secret.path.c_str(), 0);
        EXPECT_THROW(load_nmap_payloads(secret.path.string()), IoError);
    }
}

TEST(UdpPayloadsFile, EndlessInputStopsAtTheLimit) {
    try {
        load_nmap_payloads("/dev/zero");
        ADD_FAILURE() << "no error";
    } catch (const IoError& e) {
        ADD_FAILURE() << "an IoError: " << e.what();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "cannot read nmap payload file \"/dev/zero\": larger than 16777216 bytes (the limit for a payload file)");
    }
}

TEST(UdpPayloadsFile, ReadsAPipe) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const std::string text = "udp 7 \"piped\"\n";
    ASSERT_EQ(::write(fds[1], text.data(), text.size()), ssize_t(text.size()));
    ::close(fds[1]);
    const auto p = load_nmap_payloads("/proc/self/fd/" + std::to_string(fds[0]));
    ::close(fds[0]);
    EXPECT_EQ(p.for_port(7).at(0), bytes("piped"));
}

// ---- nmap's own file (Debian nmap-common 7.93) ---------------------------

TEST(UdpPayloadsFile, NmapsFileParsesFully) {
    std::ifstream in(default_nmap_payloads, std::ios::binary);
    if (!in) GTEST_SKIP() << default_nmap_payloads << " not installed (Debian package nmap-common)";
    std::stringstream buffer;
    buffer << in.rdbuf();
    const auto text = buffer.str();

    const auto p = load_nmap_payloads(default_nmap_payloads);
    EXPECT_GT(p.port_count(), 0u);
    for (const auto& [port, list] : p.by_port())
        for (const auto& payload : list) EXPECT_LE(payload.size(), max_udp_payload) << port;

    // The facts below are those of the revision Debian ships with nmap 7.93.
    if (text.find("$Id: nmap-payloads 38353 2022-02-18") == std::string::npos)
        GTEST_SKIP() << "a different revision of nmap-payloads; counts not checked";

    // Counted independently (a Python tokenizer expanding each entry's ports):
    // 63 entries over 33053 ports, 33077 (port, payload) pairs.
    EXPECT_EQ(p.port_count(), 33053u);
    EXPECT_EQ(p.payload_count(), 33077u);

    // DNSStatusRequest, then DNS VER ("version.bind" CH TXT).
    ASSERT_EQ(p.for_port(53).size(), 2u);
    EXPECT_EQ(p.for_port(53)[0], hex("000010000000000000000000"));
    EXPECT_EQ(p.for_port(53)[1], hex("7777010000010000000000000776657273696f6e0462696e640000100003"));
    // SNMPv3GetRequest, then SNMP public walk (community "public").
    ASSERT_EQ(p.for_port(161).size(), 2u);
    EXPECT_EQ(p.for_port(161)[0], hex("303a020103300f02024a69020300ffe30401040201030410300e0400020100020100040004000400"
                                      "301204000400a00c020237f00201000201003000"));
    EXPECT_EQ(p.for_port(161)[1], hex("301f02010004067075626c6963a112020100020100020100300730050601000500"));
    EXPECT_EQ(p.for_port(3401), p.for_port(161));
    // \0 escapes (Apple Remote Desktop), \r\n and \" (UPnP M-SEARCH).
    EXPECT_EQ(p.for_port(3283), std::vector<Bytes>{hex("0014000103")});
    EXPECT_EQ(p.for_port(1900).at(0), bytes("M-SEARCH * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\n"
                                            "Man: \"ssdp:discover\"\r\nMX: 5\r\nST: ssdp:all\r\n\r\n"));
    // File order across a range: DCERPC (1025-1199) before both OpenVPN entries.
    ASSERT_EQ(p.for_port(1194).size(), 3u);
    EXPECT_EQ(p.for_port(1194)[1], hex("3864c17801b89bcb8f0000000000"));
    EXPECT_EQ(p.for_port(1194)[2], hex("38010203040506070800000000"));
    // The ONCRPC range 32768-65535 and the DNS-SD port with four payloads.
    EXPECT_EQ(p.for_port(65535).size(), 1u);
    EXPECT_EQ(p.for_port(65535), p.for_port(32768));
    EXPECT_EQ(p.for_port(5353).size(), 4u);
    // Commented out in the file: Sqlping on 1434.
    EXPECT_TRUE(p.for_port(1434).empty());
}

} // namespace
} // namespace ws
