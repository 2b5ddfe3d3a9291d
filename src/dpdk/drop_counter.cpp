#include "drop_counter.hpp"

#include <dirent.h>
#include <linux/if_packet.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace ws::dp {
namespace {

int socket_domain(int fd) {
    int domain = -1;
    socklen_t len = sizeof domain;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) return -1;
    return domain;
}

int bound_ifindex(int fd) {
    sockaddr_ll addr{};
    socklen_t len = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 || addr.sll_family != AF_PACKET) return -1;
    return addr.sll_ifindex;
}

// Every fd of this process that is a socket (the PMD's are among them).
std::vector<int> socket_fds() {
    std::vector<int> fds;
    DIR* dir = opendir("/proc/self/fd");
    if (!dir) return fds;
    const int own = dirfd(dir);
    while (const dirent* entry = readdir(dir)) {
        char* end = nullptr;
        const long fd = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0' || fd == own) continue;
        char target[64] = {};
        const std::string link = std::string("/proc/self/fd/") + entry->d_name;
        const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
        if (n > 0 && std::strncmp(target, "socket:", 7) == 0) fds.push_back(int(fd));
    }
    closedir(dir);
    return fds;
}

// tp_drops since the last read (PACKET_STATISTICS resets on read).
std::uint64_t read_packet_drops(int fd) {
    tpacket_stats stats{};
    socklen_t len = sizeof stats;
    if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &stats, &len) != 0) return 0;
    return stats.tp_drops;
}

// rx_ring_full (cumulative); 0 on kernels whose xdp_statistics predate it.
std::uint64_t read_xdp_ring_full(int fd) {
    xdp_statistics stats{};
    socklen_t len = sizeof stats;
    if (getsockopt(fd, SOL_XDP, XDP_STATISTICS, &stats, &len) != 0) return 0;
    if (len < offsetof(xdp_statistics, rx_ring_full) + sizeof stats.rx_ring_full) return 0;
    return stats.rx_ring_full;
}

} // namespace

DropCounter::DropCounter(const std::string& driver, const std::string& interface) {
    const bool af_packet = driver == "net_af_packet";
    const bool af_xdp = driver == "net_af_xdp";
    if (!af_packet && !af_xdp) return;
    const int ifindex = interface.empty() ? 0 : int(if_nametoindex(interface.c_str()));
    for (const int fd : socket_fds()) {
        const int domain = socket_domain(fd);
        if (af_packet && domain == AF_PACKET && ifindex != 0 && bound_ifindex(fd) == ifindex) {
            packet_fds_.push_back(fd);
            read_packet_drops(fd); // drops before the scan are not ours to repair: start from zero
        } else if (af_xdp && domain == AF_XDP) {
            // xsk sockets cannot report their interface (no getsockname); the
            // PMD of this one port is the only user of AF_XDP in the process.
            xdp_fds_.push_back(fd);
            xdp_base_.push_back(read_xdp_ring_full(fd));
        }
    }
}

std::uint64_t DropCounter::socket_drops() {
    for (const int fd : packet_fds_) packet_drops_ += read_packet_drops(fd);
    std::uint64_t xdp = 0;
    for (std::size_t i = 0; i < xdp_fds_.size(); ++i) {
        const std::uint64_t now = read_xdp_ring_full(xdp_fds_[i]);
        xdp += now >= xdp_base_[i] ? now - xdp_base_[i] : 0;
    }
    if (xdp > xdp_drops_) xdp_drops_ = xdp; // monotonic even if a read fails
    return packet_drops_ + xdp_drops_;
}

} // namespace ws::dp
