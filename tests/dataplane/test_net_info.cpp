// The interface lookups of src/dpdk/net_info: the pure /proc parsers over
// captured and edge-case text, then the real functions against a real kernel
// in a forked child inside a fresh network namespace (unshare; a veth pair
// whose both ends stay in it, so no frame reaches any other namespace).
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "net_info.hpp"
#include "wirespeed/address.hpp"

namespace ws::dp {
namespace {

uint128 v6(const char* text) { return *parse_ipv6(text); }

// Captured from the lab's scanner namespace (scripts/lab.sh up), plus a second
// interface and a link-local default route of higher metric.
constexpr const char* lab_ipv6_route =
    "20010db8000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001    v6t-s\n"
    "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001    v6t-s\n"
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000800 00000001 00000000 00000003    v6t-s\n"
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 20010db8000000000000000000000002 00000400 00000002 00000000 00000003    v6t-s\n"
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 20010db8000000000000000000000009 00000001 00000001 00000000 00000003     eth9\n"
    "00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000003 00000000 80200001       lo\n"
    "20010db8000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000003 00000000 80200001    v6t-s\n"
    "ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000003 00000000 00000001    v6t-s\n"
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n";

TEST(NetInfo, DefaultRouteNextHopOfThatInterfaceLowestMetric) {
    EXPECT_EQ(parse_ipv6_route_default(lab_ipv6_route, "v6t-s"), v6("2001:db8::2")); // metric 0x400 < 0x800
    EXPECT_EQ(parse_ipv6_route_default(lab_ipv6_route, "eth9"), v6("2001:db8::9"));
    EXPECT_EQ(parse_ipv6_route_default(lab_ipv6_route, "lo"), std::nullopt);   // the reject route is no gateway
    EXPECT_EQ(parse_ipv6_route_default(lab_ipv6_route, "v6t"), std::nullopt);  // whole names only
    EXPECT_EQ(parse_ipv6_route_default(lab_ipv6_route, "eth99"), std::nullopt);
}

TEST(NetInfo, DefaultRouteLinkLocalNextHop) {
    // As a router advertisement installs it: the next hop is the router's fe80:: address.
    const char* ra =
        "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe80000000000000022233fffe445566 00000400 00000001 00000000 00450003     eno1\n";
    EXPECT_EQ(parse_ipv6_route_default(ra, "eno1"), v6("fe80::222:33ff:fe44:5566"));
}

TEST(NetInfo, DefaultRouteIgnoresNonDefaultDownAndMalformed) {
    const char* text =
        // 2000::/3 via a gateway: not the default route
        "20000000000000000000000000000000 03 00000000000000000000000000000000 00 20010db8000000000000000000000007 00000001 00000001 00000000 00000003     eno1\n"
        // ::/0 without RTF_GATEWAY (a device route): no next hop to resolve
        "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 00000001 00000001 00000000 00000001     eno1\n"
        // ::/0 not RTF_UP
        "00000000000000000000000000000000 00 00000000000000000000000000000000 00 20010db8000000000000000000000008 00000001 00000001 00000000 00000002     eno1\n"
        // truncated, bad hex, too few fields
        "00000000000000000000000000000000 00 00000000000000000000000000000000 00 20010db8\n"
        "0000000000000000000000000000000g 00 00000000000000000000000000000000 00 20010db8000000000000000000000003 00000001 00000001 00000000 00000003     eno1\n"
        "garbage\n"
        "\n";
    EXPECT_EQ(parse_ipv6_route_default(text, "eno1"), std::nullopt);
    EXPECT_EQ(parse_ipv6_route_default("", "eno1"), std::nullopt);
    // The same without a trailing newline still parses its last line.
    const char* last =
        "00000000000000000000000000000000 00 00000000000000000000000000000000 00 20010db8000000000000000000000003 00000001 00000001 00000000 00000003     eno1";
    EXPECT_EQ(parse_ipv6_route_default(last, "eno1"), v6("2001:db8::3"));
}

TEST(NetInfo, GlobalAddressOfThatInterface) {
    // Captured from the lab's scanner namespace.
    const char* lab =
        "20010db8000000000000000000000001 02 40 00 82    v6t-s\n"
        "00000000000000000000000000000001 01 80 10 80       lo\n"
        "fe80000000000000c47f3efffead8d95 02 40 20 80    v6t-s\n";
    EXPECT_EQ(parse_if_inet6(lab, "v6t-s"), v6("2001:db8::1"));
    EXPECT_EQ(parse_if_inet6(lab, "lo"), std::nullopt); // ::1 is host scope
    EXPECT_EQ(parse_if_inet6(lab, "v6t"), std::nullopt);
}

TEST(NetInfo, AddressSkipsLinkLocalTentativeAndPrefersPermanent) {
    const char* text =
        "fe80000000000000c47f3efffead8d95 02 40 20 80     eno1\n"  // link-local
        "20010db8000000000000000000000005 02 40 00 40     eno1\n"  // tentative (DAD running)
        "20010db8000000000000000000000006 02 40 00 88     eno1\n"  // DAD failed
        "20010db8000000000000000000000007 02 40 00 01     eno1\n"  // temporary (privacy)
        "20010db8000000000000000000000008 02 40 00 a0     eno1\n"  // permanent but deprecated
        "20010db8000000000000000000000009 02 40 00 00     eno1\n"  // autoconfigured (SLAAC)
        "20010db800000000000000000000000a 02 40 00 80     eno1\n"  // permanent
        "20010db800000000000000000000000b 02 40 00 80     eno1\n"; // permanent too: the first one wins
    EXPECT_EQ(parse_if_inet6(text, "eno1"), v6("2001:db8::a"));
    // Without the permanent ones: a stable SLAAC address before a deprecated
    // permanent one, which comes before a temporary one.
    const char* slaac =
        "20010db8000000000000000000000007 02 40 00 01     eno1\n"
        "20010db8000000000000000000000009 02 40 00 00     eno1\n";
    EXPECT_EQ(parse_if_inet6(slaac, "eno1"), v6("2001:db8::9"));
    const char* only_temporary = "20010db8000000000000000000000007 02 40 00 01     eno1\n";
    EXPECT_EQ(parse_if_inet6(only_temporary, "eno1"), v6("2001:db8::7"));
    const char* none =
        "fe80000000000000c47f3efffead8d95 02 40 20 80     eno1\n"
        "20010db8000000000000000000000005 02 40 00 40     eno1\n"
        "ff020000000000000000000000000001 02 40 00 80     eno1\n" // multicast can never be a source
        "2001 02 40 00 80     eno1\n";
    EXPECT_EQ(parse_if_inet6(none, "eno1"), std::nullopt);
    EXPECT_EQ(parse_if_inet6("", "eno1"), std::nullopt);
}

// ---- against the kernel: a child in a new network namespace.

int sh(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()); }

// Exit code = the number of the first failed check (0: all passed).
int child_main() {
    if (unshare(CLONE_NEWNET) != 0) return 100; // needs CAP_SYS_ADMIN, like the lab
    if (sh("ip link set lo up") != 0) return 101;
    // Both veth ends in this namespace: nothing can leave it.
    if (sh("ip link add wsni0 type veth peer name wsni1") != 0) return 102;
    if (interface_ipv6("wsni0") || default_gateway6("wsni0")) return 1; // nothing configured yet
    if (sh("ip addr add 198.18.0.1/24 dev wsni0") != 0) return 103;
    if (sh("ip -6 addr add 2001:db8::1/64 dev wsni0 nodad") != 0) return 104;
    if (sh("ip -6 addr add 2001:db8::2/64 dev wsni1 nodad") != 0) return 105;
    if (sh("ip link set wsni0 up") != 0 || sh("ip link set wsni1 up") != 0) return 106;
    if (sh("ip route add default via 198.18.0.2") != 0) return 107; // (wsni1 has no IPv4 address)
    // (Not via 2001:db8::2: that is local here, wsni1 being in this namespace too.)
    if (sh("ip -6 route add default via 2001:db8::fe dev wsni0") != 0) return 108;
    if (interface_ipv6("wsni0") != v6("2001:db8::1")) return 2;
    if (default_gateway6("wsni0") != v6("2001:db8::fe")) return 3;
    if (interface_ipv6("wsni1") != v6("2001:db8::2")) return 4;
    if (default_gateway6("wsni1")) return 5; // no default route there
    if (interface_ipv4("wsni0") != parse_ipv4("198.18.0.1")) return 6;
    if (default_gateway("wsni0") != parse_ipv4("198.18.0.2")) return 7;
    // A link-local next hop of lower metric (as an RA installs it) wins.
    if (sh("ip -6 route add default via fe80::1 dev wsni0 metric 5") != 0) return 109;
    if (default_gateway6("wsni0") != v6("fe80::1")) return 8;
    return 0;
}

TEST(NetInfo, KernelAddressesAndDefaultRoutes) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (a network namespace)";
    if (std::system("command -v ip >/dev/null 2>&1") != 0) GTEST_SKIP() << "needs iproute2's ip";
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) _exit(child_main());
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 100) GTEST_SKIP() << "unshare(CLONE_NEWNET) refused";
    EXPECT_EQ(WEXITSTATUS(status), 0) << "the first failed check in child_main (1xx: setting it up)";
}

} // namespace
} // namespace ws::dp
