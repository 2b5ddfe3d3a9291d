// DropCounter against real kernel sockets: an AF_PACKET socket whose receive
// buffer overflows must show up as our drops, accumulated over reads
// (PACKET_STATISTICS resets on every read), and a socket on another interface
// or another driver must not. Runs in a forked child inside a fresh network
// namespace (unshare), so every frame stays on that namespace's loopback.
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cstring>

#include <gtest/gtest.h>

#include "drop_counter.hpp"

namespace ws::dp {
namespace {

// Child-side checks: exit code = the number of the first failed check.
int child_main() {
    if (unshare(CLONE_NEWNET) != 0) return 100; // needs CAP_SYS_ADMIN, like the lab
    const int ctl = socket(AF_INET, SOCK_DGRAM, 0);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (ioctl(ctl, SIOCGIFFLAGS, &ifr) != 0) return 101;
    ifr.ifr_flags = short(ifr.ifr_flags | IFF_UP);
    if (ioctl(ctl, SIOCSIFFLAGS, &ifr) != 0) return 102;
    close(ctl);
    const int lo = int(if_nametoindex("lo"));

    // The "PMD" socket: bound to lo, a receive buffer that holds a few frames.
    const int rx = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (rx < 0) return 103;
    const int small = 1;
    setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &small, sizeof small); // the kernel rounds up to its minimum
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = lo;
    if (bind(rx, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return 104;

    DropCounter counter("net_af_packet", "lo");
    if (counter.sockets() != 1) return 1;
    DropCounter other_driver("net_ring", "lo");
    if (other_driver.sockets() != 0) return 2;
    DropCounter pci("net_ixgbe", "");
    if (pci.sockets() != 0 || pci.socket_drops() != 0) return 3;
    if (counter.socket_drops() != 0) return 4;

    const int tx = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (tx < 0) return 105;
    unsigned char frame[60] = {};
    frame[12] = 0x88; // local experimental ethertype: nobody else wants it
    frame[13] = 0xb5;
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = lo;
    to.sll_halen = 6;
    auto send_frames = [&](int n) {
        for (int i = 0; i < n; ++i)
            sendto(tx, frame, sizeof frame, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    };

    send_frames(200); // never read: nearly all overflow the receive buffer
    usleep(100'000);  // let the loopback backlog drain into the socket
    const std::uint64_t first = counter.socket_drops();
    if (first < 100) return 5;
    // Reading resets the kernel's counter; the DropCounter's total must not.
    if (counter.socket_drops() != first) return 6;
    send_frames(200);
    usleep(100'000);
    const std::uint64_t second = counter.socket_drops();
    if (second < first + 100) return 7;
    return 0;
}

TEST(DropCounter, CountsOurAfPacketSocketsDropsAcrossResettingReads) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) _exit(child_main());
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 100) GTEST_SKIP() << "no permission to create a network namespace";
    EXPECT_EQ(WEXITSTATUS(status), 0) << "check " << WEXITSTATUS(status) << " failed (see child_main)";
}

} // namespace
} // namespace ws::dp
