#include "wirespeed/address.hpp"
#include "wirespeed/error.hpp"
#include "wirespeed/targets.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace ws {
namespace {

std::uint32_t ip(const char* text) {
    auto a = parse_ipv4(text);
    if (!a) throw std::invalid_argument(text);
    return *a;
}

Ipv4Interval iv(const char* first, const char* last) { return {ip(first), ip(last)}; }

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

// Writes a temporary file that is removed when the object goes away.
struct TempFile {
    std::filesystem::path path;
    explicit TempFile(const std::string& contents) {
        path = std::filesystem::temp_directory_path() /
               ("ws_targets_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".txt");
        std::ofstream(path, std::ios::binary) << contents;
    }
    ~TempFile() { std::filesystem::remove(path); }
    static inline int counter = 0;
};

TEST(TargetSpec, SingleAddress) {
    EXPECT_EQ(parse_target_spec("198.19.0.5"), iv("198.19.0.5", "198.19.0.5"));
    EXPECT_EQ(parse_target_spec("255.255.255.255"), iv("255.255.255.255", "255.255.255.255"));
    EXPECT_EQ(parse_target_spec("255.255.255.255").size(), 1u);
}

TEST(TargetSpec, CidrMasksHostBits) {
    EXPECT_EQ(parse_target_spec("198.19.0.5/16"), iv("198.19.0.0", "198.19.255.255"));
    EXPECT_EQ(parse_target_spec("10.1.2.3/8"), iv("10.0.0.0", "10.255.255.255"));
    EXPECT_EQ(parse_target_spec("1.2.3.4/32"), iv("1.2.3.4", "1.2.3.4"));
    EXPECT_EQ(parse_target_spec("1.2.3.4/31"), iv("1.2.3.4", "1.2.3.5"));
    EXPECT_EQ(parse_target_spec("1.2.3.4/0"), iv("0.0.0.0", "255.255.255.255"));
    EXPECT_EQ(parse_target_spec("255.255.255.255/1"), iv("128.0.0.0", "255.255.255.255"));
}

TEST(TargetSpec, CidrSizes) {
    EXPECT_EQ(parse_target_spec("0.0.0.0/0").size(), 4294967296u);
    EXPECT_EQ(parse_target_spec("1.2.3.4/32").size(), 1u);
    for (unsigned n = 0; n <= 32; ++n)
        EXPECT_EQ(parse_target_spec("128.0.0.0/" + std::to_string(n)).size(), std::uint64_t{1} << (32 - n)) << n;
}

TEST(TargetSpec, Ranges) {
    EXPECT_EQ(parse_target_spec("10.0.0.1-10.0.0.9"), iv("10.0.0.1", "10.0.0.9"));
    EXPECT_EQ(parse_target_spec("10.0.0.1-10.0.0.1"), iv("10.0.0.1", "10.0.0.1"));
    EXPECT_EQ(parse_target_spec("0.0.0.0-255.255.255.255").size(), 4294967296u);
}

TEST(TargetSpec, ErrorsNameTheToken) {
    struct Case {
        const char* spec;
        const char* expect;
    };
    for (const auto& c : std::vector<Case>{
             {"198.19.0.0/33", "invalid target \"198.19.0.0/33\": prefix length must be 0-32"},
             {"198.19.0.0/", "invalid target \"198.19.0.0/\": prefix length must be 0-32"},
             {"198.19.0.0/-1", "invalid target \"198.19.0.0/-1\": prefix length must be 0-32"},
             {"198.19.0.0/8x", "invalid target \"198.19.0.0/8x\""},
             {"198.19.0.0/100", "invalid target \"198.19.0.0/100\""},
             {"10.0.0.9-10.0.0.1", "invalid target \"10.0.0.9-10.0.0.1\": range start is after its end"},
             {"10.0.0.1-", "invalid target \"10.0.0.1-\""},
             {"-10.0.0.1", "invalid target \"-10.0.0.1\""},
             {"10.0.0.1-10.0.0.300", "invalid target \"10.0.0.1-10.0.0.300\""},
             {"1.2.3", "invalid target \"1.2.3\""},
             {"1.2.3/8", "invalid target \"1.2.3/8\""},
             {"256.0.0.1", "invalid target \"256.0.0.1\""},
             {"example.com", "invalid target \"example.com\""},
             {"", "invalid target \"\""},
         }) {
        const auto message = error_of([&] { parse_target_spec(c.spec); });
        EXPECT_NE(message.find(c.expect), std::string::npos) << c.spec << " -> " << message;
        EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
}

TEST(TargetSpec, ErrorStaysOnOneLine) {
    const auto message = error_of([] { parse_target_spec(std::string("1.2\n3.4\0x", 9)); });
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find("1.2\\x0a3.4\\x00x"), std::string::npos) << message;
}

TEST(TargetList, MergesOverlappingAndAdjacent) {
    auto set = parse_targets("10.0.0.0/24, 10.0.1.0/24 10.0.0.128-10.0.0.200\t10.0.3.0/24,10.0.2.255");
    // /24s touching end to start merge, as does 10.0.2.255 with 10.0.3.0; the
    // overlapping range disappears into the first /24; 10.0.2.0-254 stays a gap.
    EXPECT_EQ(set.intervals(),
              (std::vector<Ipv4Interval>{iv("10.0.0.0", "10.0.1.255"), iv("10.0.2.255", "10.0.3.255")}));
    EXPECT_EQ(set.count(), 512u + 257u);
}

TEST(TargetList, AdjacentSinglesCollapse) {
    auto set = parse_targets("1.2.3.6 1.2.3.4 1.2.3.5 1.2.3.8");
    EXPECT_EQ(set.intervals(), (std::vector<Ipv4Interval>{iv("1.2.3.4", "1.2.3.6"), iv("1.2.3.8", "1.2.3.8")}));
    EXPECT_EQ(set.count(), 4u);
}

TEST(TargetList, WholeSpaceAndTopEdge) {
    auto all = parse_targets("0.0.0.0/0");
    EXPECT_EQ(all.count(), 4294967296u);
    EXPECT_EQ(all.intervals().size(), 1u);
    auto top = parse_targets("255.255.255.254,255.255.255.255,255.255.255.255/32,128.0.0.0/1");
    EXPECT_EQ(top.intervals(), (std::vector<Ipv4Interval>{iv("128.0.0.0", "255.255.255.255")}));
    EXPECT_EQ(top.count(), 2147483648u);
    EXPECT_TRUE(top.contains(0xffffffffu));
    EXPECT_EQ(top.at(top.count() - 1), 0xffffffffu);
    EXPECT_EQ(top.index_of(0xffffffffu), top.count() - 1);
    auto both = parse_targets("0.0.0.0/1 128.0.0.0/1");
    EXPECT_EQ(both, all);
}

TEST(TargetList, EmptyListIsEmptySet) {
    EXPECT_TRUE(parse_targets("").empty());
    EXPECT_TRUE(parse_targets(" \t\n").empty());
    EXPECT_EQ(parse_targets("").count(), 0u);
}

TEST(TargetList, EmptyItemsAreErrors) {
    for (const char* list : {"1.2.3.4,,5.6.7.8", ",1.2.3.4", "1.2.3.4,", "1.2.3.4 , ,5.6.7.8", ","}) {
        const auto message = error_of([&] { parse_targets(list); });
        EXPECT_NE(message.find("empty target in list"), std::string::npos) << list << " -> " << message;
    }
    EXPECT_EQ(error_of([] { parse_targets("1.2.3.4,,5.6.7.8"); }), "empty target in list \"1.2.3.4,,5.6.7.8\"");
}

TEST(TargetList, BadItemIsNamed) {
    const auto message = error_of([] { parse_targets("1.2.3.4, 10.0.0.0/40, 5.6.7.8"); });
    EXPECT_EQ(message, "invalid target \"10.0.0.0/40\": prefix length must be 0-32");
}

TEST(TargetSet, FromIntervalsNormalises) {
    auto set = TargetSet::from_intervals({iv("5.0.0.0", "5.0.0.10"), iv("1.0.0.0", "1.0.0.0"),
                                          iv("5.0.0.5", "5.0.0.20"), iv("1.0.0.1", "1.0.0.1"),
                                          iv("5.0.0.21", "5.0.0.21"), iv("5.0.0.0", "5.0.0.1")});
    EXPECT_EQ(set.intervals(), (std::vector<Ipv4Interval>{iv("1.0.0.0", "1.0.0.1"), iv("5.0.0.0", "5.0.0.21")}));
    EXPECT_EQ(set.count(), 2u + 22u);
    EXPECT_TRUE(TargetSet::from_intervals({}).empty());
}

TEST(TargetSet, AtIndexOfExhaustiveOnSmallSet) {
    auto set = parse_targets("10.0.0.0/29 10.0.0.20-10.0.0.22 10.0.1.7 255.255.255.250-255.255.255.255 0.0.0.0");
    ASSERT_EQ(set.count(), 8u + 3u + 1u + 6u + 1u);
    // Walk the enclosing ranges and compare against a brute-force order.
    std::vector<std::uint32_t> expected;
    for (std::uint64_t a = 0; a <= 0xffffffffu; ++a) {
        const auto addr = std::uint32_t(a);
        const bool member = addr == 0 || (addr >= ip("10.0.0.0") && addr <= ip("10.0.0.7")) ||
                            (addr >= ip("10.0.0.20") && addr <= ip("10.0.0.22")) || addr == ip("10.0.1.7") ||
                            addr >= ip("255.255.255.250");
        EXPECT_EQ(set.contains(addr), member);
        if (member) expected.push_back(addr);
        // Only the neighbourhoods matter; skip the vast empty middle.
        if (a == 1) a = ip("9.255.255.255") - 1;
        if (a == ip("10.0.2.0")) a = ip("255.255.255.0") - 1;
    }
    ASSERT_EQ(expected.size(), set.count());
    for (std::uint64_t i = 0; i < set.count(); ++i) {
        EXPECT_EQ(set.at(i), expected[i]) << i;
        EXPECT_EQ(set.index_of(expected[i]), i);
    }
    EXPECT_EQ(set.index_of(ip("10.0.0.8")), UINT64_MAX);
    EXPECT_EQ(set.index_of(ip("10.0.0.19")), UINT64_MAX);
    EXPECT_EQ(set.index_of(ip("255.255.255.249")), UINT64_MAX);
}

TEST(TargetSet, EmptySetLookups) {
    TargetSet empty;
    EXPECT_TRUE(empty.empty());
    EXPECT_FALSE(empty.contains(0));
    EXPECT_EQ(empty.index_of(12345), UINT64_MAX);
}

TEST(TargetSet, SubtractCounts) {
    auto set = parse_targets("10.0.0.0/24");
    EXPECT_EQ(set.subtract(parse_targets("10.0.0.10-10.0.0.19 10.0.0.250-10.0.1.5 9.0.0.0/8")), 10u + 6u);
    EXPECT_EQ(set.intervals(), (std::vector<Ipv4Interval>{iv("10.0.0.0", "10.0.0.9"), iv("10.0.0.20", "10.0.0.249")}));
    EXPECT_EQ(set.count(), 256u - 16u);
    EXPECT_EQ(set.index_of(ip("10.0.0.20")), 10u);
    EXPECT_EQ(set.at(10), ip("10.0.0.20"));
    // Nothing left to remove the second time.
    EXPECT_EQ(set.subtract(parse_targets("10.0.0.10-10.0.0.19")), 0u);
    EXPECT_EQ(set.subtract(TargetSet{}), 0u);
}

TEST(TargetSet, SubtractOneCutSpanningManyIntervals) {
    auto set = parse_targets("1.0.0.1 1.0.0.3 1.0.0.5 1.0.0.7 1.0.0.9");
    EXPECT_EQ(set.subtract(parse_targets("1.0.0.2-1.0.0.7")), 3u);
    EXPECT_EQ(set, parse_targets("1.0.0.1 1.0.0.9"));
}

TEST(TargetSet, SubtractAtTheTopEdge) {
    auto all = parse_targets("0.0.0.0/0");
    EXPECT_EQ(all.subtract(parse_targets("255.255.255.255")), 1u);
    EXPECT_EQ(all.count(), 4294967295u);
    EXPECT_FALSE(all.contains(0xffffffffu));
    EXPECT_EQ(all.subtract(parse_targets("0.0.0.0/0")), 4294967295u);
    EXPECT_TRUE(all.empty());

    auto top = parse_targets("255.255.255.0/24");
    EXPECT_EQ(top.subtract(parse_targets("255.255.255.128/25")), 128u);
    EXPECT_EQ(top, parse_targets("255.255.255.0/25"));
}

TEST(TargetSet, AddMerges) {
    auto set = parse_targets("10.0.0.0/25");
    set.add(parse_targets("10.0.0.128/25 10.0.2.0/24"));
    EXPECT_EQ(set, parse_targets("10.0.0.0/24 10.0.2.0/24"));
    EXPECT_EQ(set.count(), 512u);
    EXPECT_EQ(set.at(256), ip("10.0.2.0"));
    set.add(parse_targets("0.0.0.0/0"));
    EXPECT_EQ(set.count(), 4294967296u);
    EXPECT_EQ(set.intervals().size(), 1u);
}

// The CIDRs config/blocklist.conf must list, kept separately from the file so
// an edit that drops one fails here.
const std::vector<const char*> kBlocklisted = {
    "0.0.0.0/8",       "10.0.0.0/8",      "100.64.0.0/10",   "127.0.0.0/8",      "169.254.0.0/16",
    "172.16.0.0/12",   "192.0.0.0/24",    "192.0.2.0/24",    "192.31.196.0/24",  "192.52.193.0/24",
    "192.88.99.0/24",  "192.168.0.0/16",  "192.175.48.0/24", "198.18.0.0/15",    "198.51.100.0/24",
    "203.0.113.0/24",  "224.0.0.0/4",     "240.0.0.0/4",     "255.255.255.255/32",
};

// Union size computed without TargetSet: CIDR blocks are nested or disjoint,
// so summing the blocks not inside another listed block counts each address once.
std::uint64_t blocklist_union_size() {
    std::vector<std::pair<std::uint32_t, unsigned>> blocks;
    for (const char* cidr : kBlocklisted) {
        std::string s = cidr;
        const auto slash = s.find('/');
        blocks.emplace_back(ip(s.substr(0, slash).c_str()), unsigned(std::stoul(s.substr(slash + 1))));
    }
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        bool nested = false;
        for (std::size_t j = 0; j < blocks.size(); ++j) {
            if (i == j || blocks[j].second >= blocks[i].second) continue;
            const auto shift = 32 - blocks[j].second;
            nested |= (std::uint64_t{blocks[i].first} >> shift) == (std::uint64_t{blocks[j].first} >> shift);
        }
        if (!nested) total += std::uint64_t{1} << (32 - blocks[i].second);
    }
    return total;
}

TEST(Blocklist, DefaultParsesAndContainsEveryRange) {
    const auto text = default_blocklist_text();
    EXPECT_FALSE(text.empty());
    const auto blocklist = default_blocklist();
    for (const char* cidr : kBlocklisted) {
        const auto range = parse_target_spec(cidr);
        EXPECT_TRUE(blocklist.contains(range.first)) << cidr;
        EXPECT_TRUE(blocklist.contains(range.last)) << cidr;
        // Whole block inside: its indices are contiguous.
        EXPECT_EQ(blocklist.index_of(range.last) - blocklist.index_of(range.first), range.size() - 1) << cidr;
        EXPECT_NE(text.find(cidr), std::string_view::npos) << cidr;
    }
    EXPECT_EQ(blocklist.ipv4_count(), blocklist_union_size());
    EXPECT_FALSE(blocklist.contains(ip("8.8.8.8")));
    EXPECT_FALSE(blocklist.contains(ip("1.1.1.1")));
    EXPECT_FALSE(blocklist.contains(ip("223.255.255.255")));
}

TEST(Blocklist, RemovesTheRightNumberFromEverything) {
    auto all = parse_targets("0.0.0.0/0");
    const auto removed = all.subtract(default_blocklist());
    EXPECT_EQ(removed, blocklist_union_size());
    EXPECT_EQ(all.count(), 4294967296u - blocklist_union_size());
    for (const char* cidr : kBlocklisted) EXPECT_FALSE(all.contains(parse_target_spec(cidr).first)) << cidr;
}

TEST(Blocklist, SampledRoundTripOnEverythingMinusBlocklist) {
    auto set = parse_targets("0.0.0.0/0");
    set.subtract(default_blocklist());
    const auto blocklist = default_blocklist();
    std::mt19937_64 rng(42);
    std::vector<std::uint64_t> indices = {0, 1, set.count() - 1, set.count() - 2, set.count() / 2};
    for (int i = 0; i < 100000; ++i) indices.push_back(rng() % set.count());
    for (auto index : indices) {
        const auto addr = set.at(index);
        ASSERT_EQ(set.index_of(addr), index);
        ASSERT_FALSE(blocklist.contains(addr)) << format_ipv4(addr);
    }
    // Order is ascending: consecutive indices map to increasing addresses.
    for (int i = 0; i < 10000; ++i) {
        const auto index = rng() % (set.count() - 1);
        ASSERT_LT(set.at(index), set.at(index + 1));
    }
    for (int i = 0; i < 100000; ++i) {
        const auto addr = std::uint32_t(rng());
        const auto index = set.index_of(addr);
        ASSERT_EQ(index == UINT64_MAX, blocklist.contains(addr)) << format_ipv4(addr);
        if (index != UINT64_MAX) {
            ASSERT_EQ(set.at(index), addr);
        }
    }
}

TEST(TargetText, CommentsBlankLinesAndCrlf) {
    const std::string text = "# header comment\r\n"
                             "\r\n"
                             "10.0.0.0/24   # trailing comment, with a comma\r\n"
                             "   \t  \r\n"
                             "10.0.1.0/24, 10.0.3.1 10.0.3.2\r\n"
                             "#10.9.9.9\n"
                             "1.1.1.1-1.1.1.3";
    const auto set = parse_target_text(text, "x.txt");
    EXPECT_EQ(set, parse_targets("10.0.0.0/23 10.0.3.1-10.0.3.2 1.1.1.1-1.1.1.3"));
    EXPECT_FALSE(set.contains(ip("10.9.9.9")));
    EXPECT_TRUE(parse_target_text("", "x").empty());
    EXPECT_TRUE(parse_target_text("# only a comment\n\n", "x").empty());
    EXPECT_EQ(parse_target_text("\xEF\xBB\xBF" "1.2.3.4\n", "x"), parse_targets("1.2.3.4"));
}

TEST(TargetText, ErrorNamesFileLineAndToken) {
    const std::string text = "# comment\n1.2.3.4\n\n5.6.7.8 1.2.3\r\n9.9.9.9/40\n";
    EXPECT_EQ(error_of([&] { parse_target_text(text, "targets.txt"); }),
              "targets.txt:4: invalid target \"1.2.3\": not an IPv4 address, CIDR block or range "
              "(a.b.c.d, a.b.c.d/n, a.b.c.d-e.f.g.h)");
    const auto empty_item = error_of([] { parse_target_text("1.1.1.1\n2.2.2.2,,3.3.3.3 # x\n", "t"); });
    EXPECT_EQ(empty_item, "t:2: empty target in list \"2.2.2.2,,3.3.3.3\"");
}

// Builds n lines of distinct /32s in a scrambled order: address k*7 mod 2^20 + 1.0.0.0.
std::string generated_lines(std::size_t n, std::size_t bad_line = 0, std::size_t second_bad = 0) {
    std::string text;
    text.reserve(n * 20);
    for (std::size_t line = 1; line <= n; ++line) {
        if (line == bad_line || line == second_bad) {
            text += "10.0.0.0/99\n";
            continue;
        }
        const auto k = std::uint32_t((line * 7) % (1u << 20));
        text += format_ipv4(ip("1.0.0.0") + k);
        text += line % 3 == 0 ? "  # comment\r\n" : "\n";
    }
    return text;
}

TEST(TargetText, LargeGeneratedFile) {
    constexpr std::size_t n = 200000;
    const auto set = parse_target_text(generated_lines(n), "big.txt");
    // 7 is coprime to 2^20 and n < 2^20, so every line is a distinct address.
    EXPECT_EQ(set.count(), n);
    std::vector<Ipv4Interval> expected;
    for (std::size_t line = 1; line <= n; ++line) {
        const auto a = ip("1.0.0.0") + std::uint32_t((line * 7) % (1u << 20));
        expected.push_back({a, a});
    }
    EXPECT_EQ(set, TargetSet::from_intervals(expected));
    for (std::size_t line = 1; line <= n; line += 997)
        EXPECT_TRUE(set.contains(ip("1.0.0.0") + std::uint32_t((line * 7) % (1u << 20))));
}

TEST(TargetText, LargeFileReportsFirstBadLine) {
    // Bad lines far apart land in different parallel chunks; the lower must win.
    constexpr std::size_t n = 400000;
    for (int round = 0; round < 5; ++round) {
        EXPECT_EQ(error_of([&] { parse_target_text(generated_lines(n, 123457, 350001), "big.txt"); }),
                  "big.txt:123457: invalid target \"10.0.0.0/99\": prefix length must be 0-32");
    }
    EXPECT_EQ(error_of([&] { parse_target_text(generated_lines(n, 399999), "big.txt"); }).substr(0, 15),
              "big.txt:399999:");
}

TEST(TargetFile, LoadsFromDisk) {
    TempFile file("# list\r\n198.19.0.5/16\r\n\r\n198.20.0.0-198.20.0.9 # ten\r\n");
    const auto set = load_target_file(file.path.string());
    EXPECT_EQ(set, parse_targets("198.19.0.0/16 198.20.0.0-198.20.0.9"));
    EXPECT_EQ(set.count(), 65536u + 10u);
}

TEST(TargetFile, EmptyFileIsEmptySet) {
    TempFile file("");
    EXPECT_TRUE(load_target_file(file.path.string()).empty());
}

TEST(TargetFile, ErrorsNamePathAndLine) {
    TempFile file("1.2.3.4\n\n# x\n1.2.3\n");
    const auto path = file.path.string();
    const std::string expected = path + ":4: invalid target \"1.2.3\"";
    EXPECT_EQ(error_of([&] { load_target_file(path); }).substr(0, expected.size()), expected);
}

TEST(TargetFile, UnreadableFile) {
    const std::string missing = "/nonexistent/dir/targets.txt";
    EXPECT_EQ(error_of([&] { load_target_file(missing); }),
              "cannot read target file \"/nonexistent/dir/targets.txt\": No such file or directory");
    const auto dir = std::filesystem::temp_directory_path().string();
    EXPECT_NE(error_of([&] { load_target_file(dir); }).find("cannot read target file \"" + dir + "\""),
              std::string::npos);
}

TEST(TargetFile, LargeFileFromDisk) {
    TempFile file(generated_lines(200000));
    EXPECT_EQ(load_target_file(file.path.string()).count(), 200000u);
}

} // namespace
} // namespace ws

namespace ws {
namespace {

// Bounded reads: every kind of file fails on the same bounds, naming the file
// and the line; streams (pipes) are parsed as they arrive.
std::string load_error(const std::string& path, std::string_view what, const TextLimits& limits) {
    try {
        load_target_file(path, what, limits);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

// The same bytes through a pipe: /proc/self/fd/N opens the pipe's read end.
struct Pipe {
    int fds[2] = {-1, -1};
    explicit Pipe(const std::string& contents) {
        if (::pipe(fds) != 0) throw std::runtime_error("pipe");
        if (::write(fds[1], contents.data(), contents.size()) != ssize_t(contents.size())) throw std::runtime_error("write");
        ::close(fds[1]);
    }
    ~Pipe() { ::close(fds[0]); }
    std::string path() const { return "/proc/self/fd/" + std::to_string(fds[0]); }
};

TEST(TargetFileBounds, TableOverFilesAndPipes) {
    const TextLimits small{.max_line = 16, .max_bytes = 256};
    struct Case {
        const char* name;
        std::string contents;
        std::string needle; // "" = loads
    };
    const std::vector<Case> cases = {
        {"short lines", "198.19.0.1\n198.19.0.2\n", ""},
        {"line of exactly the limit", "198.19.0.1      \n", ""},
        {"line one over the limit", "198.19.0.1       \n", ":1: line longer than 16 bytes"},
        {"long line 3", "198.19.0.1\n\n198.19.0.1/32 #####\n", ":3: line longer than 16 bytes"},
        {"long last line, no newline", "198.19.0.1\n198.19.0.100000000", ":2: line longer than 16 bytes"},
        {"zeros", std::string(200, '\0'), ":1: line longer than 16 bytes"},
        {"too large", std::string(300, '\n'), "larger than 256 bytes"},
        {"bad line", "198.19.0.1\njunk\n", ":2: invalid target \"junk\""},
        {"byte-order mark", "\xEF\xBB\xBF" "198.19.0.1\n", ""},
    };
    for (const auto& c : cases) {
        TempFile file(c.contents);
        const Pipe pipe(c.contents);
        for (const std::string& path : {file.path.string(), pipe.path()}) {
            const std::string error = load_error(path, "exclude file", small);
            if (c.needle.empty()) {
                EXPECT_EQ(error, "") << c.name << " via " << path;
            } else {
                EXPECT_NE(error.find(c.needle), std::string::npos) << c.name << " via " << path << ": " << error;
                EXPECT_NE(error.find(path), std::string::npos) << c.name << ": " << error;
            }
        }
    }
}

TEST(TargetFileBounds, StreamEqualsFile) {
    const std::string text = generated_lines(1000); // fits a pipe buffer (64 KiB)
    TempFile file(text);
    const Pipe pipe(text);
    EXPECT_EQ(load_target_file(pipe.path()), load_target_file(file.path.string()));
}

TEST(TargetFileBounds, ErrorsNameTheKindOfFile) {
    EXPECT_EQ(load_error("/nonexistent/x", "blocklist file", {}), "cannot read blocklist file \"/nonexistent/x\": No such file or directory");
    const auto dir = std::filesystem::temp_directory_path().string();
    EXPECT_EQ(load_error(dir, "exclude file", {}), "cannot read exclude file \"" + dir + "\": Is a directory");
    EXPECT_NE(load_error("/dev/zero", "target file", {}).find("/dev/zero:1: line longer than 4096 bytes"), std::string::npos);
}

TEST(TargetFileBounds, FifoWithoutWriterFailsAtOnce) {
    const auto path = std::filesystem::temp_directory_path() / ("ws_fifo_" + std::to_string(::getpid()));
    ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
    EXPECT_NE(load_error(path.string(), "target file", {}).find("no data"), std::string::npos);
    std::filesystem::remove(path);
}


std::string fmt_hex(int i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "2001:db8:1:%x::%x", i / 100, i % 100 + 1);
    return buf;
}

// ---------------------------------------------------------------- IPv6

uint128 ip6(const char* text) {
    auto a = parse_ipv6(text);
    if (!a) throw std::invalid_argument(text);
    return *a;
}

TEST(TargetSpec6, PrefixesRangesAndAddresses) {
    const TargetSet a = parse_targets("2001:db8:1::/118");
    ASSERT_EQ(a.ipv6_intervals().size(), 1u);
    EXPECT_EQ(a.ipv6_intervals()[0], (Ipv6Interval{ip6("2001:db8:1::"), ip6("2001:db8:1::3ff")}));
    EXPECT_EQ(a.ipv4_count(), 0u);
    EXPECT_EQ(a.count(), 1024u);
    // Host bits masked off, as for IPv4.
    EXPECT_EQ(parse_targets("2001:db8:1::77/120"), parse_targets("2001:db8:1::-2001:db8:1::ff"));
    EXPECT_EQ(parse_targets("2001:db8::5").count(), 1u);
    EXPECT_EQ(parse_targets("2001:db8::/128").count(), 1u);
    // /0 counts all 2^128 addresses without wrapping to zero.
    const TargetSet all = parse_targets("::/0");
    EXPECT_EQ(all.count(), UINT64_MAX);
    EXPECT_FALSE(all.empty());
}

TEST(TargetSpec6, MixedListsKeepEachFamily) {
    const TargetSet t = parse_targets("198.19.0.0/30, 2001:db8:1::/126 2001:db8:1::2 198.19.0.9");
    EXPECT_EQ(t.ipv4_count(), 5u);
    EXPECT_EQ(t.ipv6_count(), 4u);
    EXPECT_EQ(t.count(), 9u);
    // Host index: IPv4 ascending, then IPv6 ascending; index_of inverts it.
    std::vector<std::string> seen;
    for (std::uint64_t i = 0; i < t.count(); ++i) {
        seen.push_back(format_ip(t.address_at(i)));
        EXPECT_EQ(t.index_of(t.address_at(i)), i);
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"198.19.0.0", "198.19.0.1", "198.19.0.2", "198.19.0.3", "198.19.0.9",
                                              "2001:db8:1::", "2001:db8:1::1", "2001:db8:1::2", "2001:db8:1::3"}));
    EXPECT_EQ(t.index_of(*parse_ip("2001:db8:1::4")), UINT64_MAX);
    EXPECT_TRUE(t.contains(*parse_ip("2001:db8:1::3")));
}

TEST(TargetSpec6, MappedAddressesAreIpv4) {
    EXPECT_EQ(parse_targets("::ffff:198.19.0.1"), parse_targets("198.19.0.1"));
    EXPECT_EQ(parse_targets("::ffff:198.19.0.0/120"), parse_targets("198.19.0.0/24"));
    // A prefix straddling the mapped block splits into both families.
    const TargetSet t = parse_targets("::fffe:ffff:ffff-::1:0:0:1");
    EXPECT_EQ(t.ipv4_count(), std::uint64_t{1} << 32);
    EXPECT_EQ(t.ipv6_count(), uint128{3});
}

TEST(TargetSpec6, ErrorsNameTheToken) {
    struct Case {
        const char* spec;
        const char* expect;
    };
    for (const auto& c : std::vector<Case>{
             {"2001:db8::/129", "invalid target \"2001:db8::/129\": prefix length must be 0-128"},
             {"fe80::1%eth0", "invalid target \"fe80::1%eth0\": zone ids (%) are not scan targets"},
             {"2001:db8::g", "invalid target \"2001:db8::g\": not an IPv6 address"},
             {"2001:db8:::1/64", "invalid target \"2001:db8:::1/64\": \"2001:db8:::1\" is not an IPv6 address"},
             {"2001:db8::9-2001:db8::1", "range start is after its end"},
             {"198.19.0.1-2001:db8::1", "range ends are of different address families"},
             {"1:2:3:4:5:6:7:8:9", "invalid target \"1:2:3:4:5:6:7:8:9\""},
         }) {
        const auto message = error_of([&] { parse_targets(c.spec); });
        EXPECT_NE(message.find(c.expect), std::string::npos) << c.spec << " -> " << message;
        EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
}

TEST(TargetSpec6, SubtractAndBlocklist) {
    TargetSet t = parse_targets("2001:db8:1::/120, 198.19.0.0/24");
    EXPECT_EQ(t.subtract(parse_targets("2001:db8:1::10-2001:db8:1::1f, 198.19.0.0/25")), 16u + 128u);
    EXPECT_EQ(t.ipv6_count(), uint128{240});
    EXPECT_FALSE(t.contains(*parse_ip("2001:db8:1::1a")));
    EXPECT_TRUE(t.contains(*parse_ip("2001:db8:1::20")));
    // Cuts at the top of the address space must not wrap.
    TargetSet top = parse_targets("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120");
    EXPECT_EQ(top.subtract(parse_targets("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124")), 16u);
    EXPECT_EQ(top.ipv6_count(), uint128{240});
    // The default blocklist holds documentation, multicast, link-local... but never the mapped (IPv4) block.
    const TargetSet blocked = default_blocklist();
    for (const char* a : {"2001:db8::1", "ff02::1", "fe80::1", "fd00::1", "::1", "2002::1", "3fff::1", "100::1", "64:ff9b::1"})
        EXPECT_TRUE(blocked.contains(*parse_ip(a))) << a;
    for (const char* a : {"2600::1", "2a00:1450::1", "8.8.8.8"}) EXPECT_FALSE(blocked.contains(*parse_ip(a))) << a;
}

TEST(TargetSpec6, HitlistFileWithBothFamilies) {
    std::string text = "# hitlist\n";
    for (int i = 0; i < 5000; ++i) text += fmt_hex(i) + "\n";
    text += "198.19.0.1\n2001:db8:2::1, 2001:db8:2::2\n";
    const TempFile file(text);
    const TargetSet t = load_target_file(file.path.string());
    EXPECT_EQ(t.ipv6_count(), uint128{5002});
    EXPECT_EQ(t.ipv4_count(), 1u);
    const TempFile bad("2001:db8::1\n2001:db8::zz\n");
    const auto message = error_of([&] { load_target_file(bad.path.string()); });
    EXPECT_NE(message.find(":2: invalid target \"2001:db8::zz\""), std::string::npos) << message;
}

} // namespace
} // namespace ws
