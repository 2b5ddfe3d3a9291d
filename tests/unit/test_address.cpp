#include "wirespeed/address.hpp"

#include <gtest/gtest.h>

namespace ws {
namespace {

TEST(Address, ParsesDottedQuads) {
    EXPECT_EQ(parse_ipv4("0.0.0.0"), 0u);
    EXPECT_EQ(parse_ipv4("255.255.255.255"), 0xffffffffu);
    EXPECT_EQ(parse_ipv4("198.19.0.5"), 0xc6130005u);
}

TEST(Address, RejectsMalformed) {
    for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "1..2.3", "1.2.3.0004",
                            "a.b.c.d", "1.2.3.-4", "1.2.3.4/"})
        EXPECT_FALSE(parse_ipv4(bad).has_value()) << bad;
}

TEST(Address, FormatRoundTrips) {
    for (std::uint32_t a : {0u, 1u, 0x7f000001u, 0xc6130005u, 0xffffffffu, 0x0a00ff09u})
        EXPECT_EQ(parse_ipv4(format_ipv4(a)), a);
    EXPECT_EQ(format_ipv4(0xc6130005u), "198.19.0.5");
}

// ---- IPv6 text (RFC 4291 2.2 in, RFC 5952 out)

std::string canonical(const char* text) {
    const auto a = parse_ipv6(text);
    return a ? format_ipv6(*a) : std::string("<refused>");
}

TEST(Address, Ipv6CanonicalFormRfc5952) {
    EXPECT_EQ(canonical("2001:db8::1"), "2001:db8::1");
    EXPECT_EQ(canonical("2001:0db8:0000:0000:0000:0000:0000:0001"), "2001:db8::1"); // 4.1 leading zeros
    EXPECT_EQ(canonical("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");             // 4.2.3 first of equal runs
    EXPECT_EQ(canonical("2001:0:0:1:0:0:0:1"), "2001:0:0:1::1");                   // 4.2.3 the longest run
    EXPECT_EQ(canonical("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");          // 4.2.2 one zero group stays
    EXPECT_EQ(canonical("2001:DB8::ABCD:EF"), "2001:db8::abcd:ef");                // 4.3 lower case
    EXPECT_EQ(canonical("::"), "::");
    EXPECT_EQ(canonical("::1"), "::1");
    EXPECT_EQ(canonical("1::"), "1::");
    EXPECT_EQ(canonical("fe80::1:2:3:4:5:6"), "fe80:0:1:2:3:4:5:6"); // a run of one is not compressed
    EXPECT_EQ(canonical("::ffff:198.18.0.1"), "::ffff:198.18.0.1");  // 5: IPv4-mapped
    EXPECT_EQ(canonical("::ffff:c612:1"), "::ffff:198.18.0.1");
    EXPECT_EQ(canonical("2001:db8::198.18.0.1"), "2001:db8::c612:1");
}

TEST(Address, Ipv6RefusesMalformed) {
    for (const char* bad : {"", ":", ":::", "fe80::1%eth0", "1:2:3:4:5:6:7:8:9", "1::2::3", "2001:db8::12345",
                            "2001:db8:::1", "2001:db8::g", "1:2:3:4:5:6:7", ":1::2", "1::2:", "2001:db8::1 ",
                            " 2001:db8::1", "::ffff:198.18.0.256", "::ffff:198.18.0", "1:2:3:4:5:6:7:8::"})
        EXPECT_FALSE(parse_ipv6(bad).has_value()) << bad;
}

TEST(Address, Ipv6ParsesToTheRightBits) {
    EXPECT_TRUE(*parse_ipv6("2001:db8::1") == ((uint128{0x20010db800000000ull} << 64) | 1));
    EXPECT_TRUE(*parse_ipv6("::ffff:198.18.0.1") == IpAddress::from_ipv4(0xc6120001).bits);
    const auto mapped = parse_ip("::ffff:198.18.0.1");
    ASSERT_TRUE(mapped);
    EXPECT_TRUE(mapped->is_ipv4());
    EXPECT_EQ(mapped->ipv4(), 0xc6120001u);
    EXPECT_EQ(format_ip(*mapped), "198.18.0.1");
    EXPECT_EQ(format_ip(*parse_ip("2001:DB8::1")), "2001:db8::1");
    char buf[max_ip_text];
    const std::size_t n = format_ipv6(~uint128{0}, buf);
    EXPECT_EQ(std::string(buf, n), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

TEST(Address, MacRoundTrip) {
    auto mac = parse_mac("02:00:5e:10:ab:FF");
    ASSERT_TRUE(mac);
    EXPECT_EQ(format_mac(*mac), "02:00:5e:10:ab:ff");
    EXPECT_FALSE(parse_mac("02:00:5e:10:ab"));
    EXPECT_FALSE(parse_mac("02:00:5e:10:ab:fg"));
    EXPECT_FALSE(parse_mac("02:00:5e:10:ab:ff:"));
}

} // namespace
} // namespace ws
