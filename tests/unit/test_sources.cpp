#include "wirespeed/error.hpp"
#include "wirespeed/sources.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace ws {
namespace {

IpAddress a(const char* text) { return *parse_ip(text); }

std::string error_of(const char* list) {
    try {
        SourceAddresses::parse(list);
    } catch (const Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "no error for " << list;
    return "";
}

TEST(Sources, ListsRangesAndCidrsOfBothFamilies) {
    const auto s = SourceAddresses::parse("198.18.0.1,198.18.0.7, 2001:db8::1");
    EXPECT_EQ(s.ipv4_count(), 2u);
    EXPECT_EQ(s.ipv6_count(), 1u);
    EXPECT_TRUE(s.contains(a("198.18.0.7")));
    EXPECT_FALSE(s.contains(a("198.18.0.2"))); // between two listed sources
    EXPECT_TRUE(s.contains(a("2001:db8::1")));
    EXPECT_FALSE(s.contains(a("2001:db8::2")));
    // No power-of-two rule: a range of 5.
    const auto r = SourceAddresses::parse("198.18.0.10-198.18.0.14,2001:db8::/126");
    EXPECT_EQ(r.ipv4_count(), 5u);
    EXPECT_EQ(r.ipv6_count(), 4u);
    EXPECT_TRUE(r.contains_ipv4(0xc612000e));
    EXPECT_FALSE(r.contains_ipv4(0xc612000f));
    EXPECT_FALSE(r.contains_ipv4(0xc6120009)); // below the run: the unsigned subtract wraps
    // Duplicates collapse.
    EXPECT_EQ(SourceAddresses::parse("198.18.0.1,198.18.0.1").ipv4_count(), 1u);
}

TEST(Sources, BadItemsNamed) {
    EXPECT_NE(error_of("198.18.0.1,,198.18.0.2").find("empty item"), std::string::npos);
    EXPECT_NE(error_of("198.18.0.300").find("invalid --source-ip \"198.18.0.300\""), std::string::npos);
    EXPECT_NE(error_of("198.18.0.0/8").find("too many source addresses"), std::string::npos);
    EXPECT_NE(error_of("2001:db8::/64").find("too many source addresses"), std::string::npos);
    EXPECT_NE(error_of("198.18.0.9-198.18.0.1").find("range start is after its end"), std::string::npos);
    EXPECT_NE(error_of("198.18.0.1-2001:db8::1").find("different address families"), std::string::npos);
    EXPECT_NE(error_of("198.18.0.1/33").find("prefix length must be 0-32"), std::string::npos);
}

TEST(Sources, PickIsStableKeyedAndSpread) {
    auto s = SourceAddresses::parse("198.18.0.1-198.18.0.3,2001:db8::1-2001:db8::2");
    s.set_key(42);
    std::map<std::uint32_t, int> use;
    for (std::uint32_t t = 0; t < 30000; ++t) {
        const std::uint32_t k = s.pick_ipv4(0xc6130000 + t);
        ASSERT_LT(k, 3u);
        EXPECT_EQ(k, s.pick_ipv4(0xc6130000 + t)); // retries and repairs: the same source
        ++use[k];
    }
    for (const auto& [k, n] : use) EXPECT_GT(n, 9000) << k; // about a third each
    // Another key, another assignment (a different scan spreads differently).
    auto other = s;
    other.set_key(43);
    int moved = 0;
    for (std::uint32_t t = 0; t < 3000; ++t) moved += other.pick_ipv4(t) != s.pick_ipv4(t);
    EXPECT_GT(moved, 1000);
    EXPECT_EQ(s.source_for(a("2001:db8:1::5")), s.source_for(a("2001:db8:1::5")));
    EXPECT_FALSE(s.source_for(a("2001:db8:1::5")).is_ipv4());
    EXPECT_TRUE(s.source_for(a("198.19.0.5")).is_ipv4());
}

} // namespace
} // namespace ws
