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
