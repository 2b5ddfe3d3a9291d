#include "wirespeed/error.hpp"
#include "wirespeed/ports.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
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

std::vector<std::uint16_t> ports_of(std::string_view spec) { return parse_ports(spec).ports(); }

TEST(PortSpec, Single) {
    EXPECT_EQ(ports_of("80"), (std::vector<std::uint16_t>{80}));
    EXPECT_EQ(ports_of("1"), (std::vector<std::uint16_t>{1}));
    EXPECT_EQ(ports_of("65535"), (std::vector<std::uint16_t>{65535}));
    EXPECT_EQ(ports_of("00443"), (std::vector<std::uint16_t>{443}));
}

TEST(PortSpec, ListsAndRanges) {
    EXPECT_EQ(ports_of("22,80,443"), (std::vector<std::uint16_t>{22, 80, 443}));
    EXPECT_EQ(ports_of("443,22,80"), (std::vector<std::uint16_t>{22, 80, 443}));
    EXPECT_EQ(ports_of(" 22 , 80,\t443 "), (std::vector<std::uint16_t>{22, 80, 443}));
    EXPECT_EQ(ports_of("8000-8003,1"), (std::vector<std::uint16_t>{1, 8000, 8001, 8002, 8003}));
    EXPECT_EQ(ports_of("5 - 6"), (std::vector<std::uint16_t>{5, 6}));
    EXPECT_EQ(ports_of("7-7"), (std::vector<std::uint16_t>{7}));
    auto low = parse_ports("1-1024");
    EXPECT_EQ(low.count(), 1024u);
    EXPECT_EQ(low.at(0), 1);
    EXPECT_EQ(low.at(1023), 1024);
}

TEST(PortSpec, DuplicatesCollapse) {
    auto set = parse_ports("80,80,1-100");
    EXPECT_EQ(set.count(), 100u);
    EXPECT_EQ(set.index_of(80), 79u);
    EXPECT_EQ(set, parse_ports("1-100"));
    EXPECT_EQ(parse_ports("10-20,15-25,20").count(), 16u);
}

TEST(PortSpec, AllPorts) {
    for (const char* spec : {"-", " - ", "1-65535", "65535,1-65535,65535"}) {
        auto set = parse_ports(spec);
        EXPECT_EQ(set.count(), 65535u) << spec;
        EXPECT_EQ(set.at(0), 1) << spec;
        EXPECT_EQ(set.at(65534), 65535) << spec;
        EXPECT_EQ(std::count(set.ports().begin(), set.ports().end(), std::uint16_t{65535}), 1) << spec;
        EXPECT_FALSE(set.contains(0)) << spec;
    }
    EXPECT_EQ(ports_of("65535-65535"), (std::vector<std::uint16_t>{65535}));
    EXPECT_EQ(ports_of("65534-65535"), (std::vector<std::uint16_t>{65534, 65535}));
}

TEST(PortSet, IndexOfRoundTripAllPorts) {
    auto all = parse_ports("-");
    for (std::uint32_t i = 0; i < all.count(); ++i) {
        ASSERT_EQ(all.index_of(all.at(i)), i);
        ASSERT_EQ(all.at(i), i + 1);
    }
    EXPECT_EQ(all.index_of(0), UINT32_MAX);

    auto some = parse_ports("22,80,443,1000-1010,65535");
    for (std::uint32_t port = 0; port <= 65535; ++port) {
        const auto index = some.index_of(std::uint16_t(port));
        const bool member = port == 22 || port == 80 || port == 443 || (port >= 1000 && port <= 1010) || port == 65535;
        ASSERT_EQ(index != UINT32_MAX, member) << port;
        ASSERT_EQ(some.contains(std::uint16_t(port)), member) << port;
        if (member) {
            ASSERT_EQ(some.at(index), port);
        }
    }
}

TEST(PortSet, FromPorts) {
    auto set = PortSet::from_ports({443, 22, 22, 80});
    EXPECT_EQ(set.ports(), (std::vector<std::uint16_t>{22, 80, 443}));
    EXPECT_EQ(set.index_of(443), 2u);
    EXPECT_EQ(set.index_of(23), UINT32_MAX);
    EXPECT_NE(error_of([] { PortSet::from_ports({80, 0}); }).find("invalid port \"0\""), std::string::npos);
    auto empty = PortSet::from_ports({});
    EXPECT_TRUE(empty.empty());
    EXPECT_EQ(empty.index_of(80), UINT32_MAX);
    EXPECT_FALSE(PortSet{}.contains(80));
}

TEST(PortSpec, ErrorsNameTheToken) {
    struct Case {
        const char* spec;
        const char* expect;
    };
    for (const auto& c : std::vector<Case>{
             {"0", "invalid port \"0\": ports are 1-65535"},
             {"70000", "invalid port \"70000\": ports are 1-65535"},
             {"65536", "invalid port \"65536\": ports are 1-65535"},
             {"99999999999999999999999", "invalid port \"99999999999999999999999\": ports are 1-65535"},
             {"1024-1", "invalid port range \"1024-1\": start is after end"},
             {"0-10", "invalid port range \"0-10\": ports are 1-65535"},
             {"1-65536", "invalid port range \"1-65536\": ports are 1-65535"},
             {"22,,80", "empty item in port list \"22,,80\""},
             {",80", "empty item in port list \",80\""},
             {"80,", "empty item in port list \"80,\""},
             {"http", "invalid port \"http\""},
             {"22,http,80", "invalid port \"http\""},
             {"-80", "invalid port range \"-80\""},
             {"80-", "invalid port range \"80-\""},
             {"1-2-3", "invalid port range \"1-2-3\""},
             {"--", "invalid port range \"--\""},
             {"+80", "invalid port \"+80\""},
             {"22 80", "invalid port \"22 80\""},
             {"", "empty port list"},
             {"  ", "empty port list"},
         }) {
        const auto message = error_of([&] { parse_ports(c.spec); });
        EXPECT_NE(message.find(c.expect), std::string::npos) << '"' << c.spec << "\" -> " << message;
    }
}

TEST(PortRange, SourcePorts) {
    auto range = parse_port_range("40000-60999");
    EXPECT_EQ(range.first, 40000);
    EXPECT_EQ(range.last, 60999);
    EXPECT_EQ(range.size(), 21000u);
    auto full = parse_port_range("1-65535");
    EXPECT_EQ(full.size(), 65535u);
    auto one = parse_port_range(" 5000 ");
    EXPECT_EQ(one.first, 5000);
    EXPECT_EQ(one.last, 5000);
    EXPECT_EQ(one.size(), 1u);
}

TEST(PortRange, Errors) {
    struct Case {
        const char* spec;
        const char* expect;
    };
    for (const auto& c : std::vector<Case>{
             {"0", "invalid port range \"0\": ports are 1-65535"},
             {"0-100", "invalid port range \"0-100\": ports are 1-65535"},
             {"60999-40000", "invalid port range \"60999-40000\": start is after end"},
             {"40000-70000", "invalid port range \"40000-70000\": ports are 1-65535"},
             {"a-b", "invalid port range \"a-b\""},
             {"40000,50000", "invalid port range \"40000,50000\""},
             {"", "empty port range"},
         }) {
        const auto message = error_of([&] { parse_port_range(c.spec); });
        EXPECT_NE(message.find(c.expect), std::string::npos) << '"' << c.spec << "\" -> " << message;
    }
}

} // namespace
} // namespace ws
