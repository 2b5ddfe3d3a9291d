#pragma once
// Replies lost in *our* kernel socket: the af_packet / af_xdp ring between
// the interface and the PMD was full. DPDK 22.11's PMDs do not report it:
//   - net_af_packet: eth_stats_get has no imissed at all; the socket's
//     PACKET_STATISTICS tp_drops (reset on every read, so accumulated here)
//     counts the frames the full RX ring refused.
//   - net_af_xdp: imissed already holds XDP_STATISTICS.rx_dropped (fill ring
//     empty); a full RX ring is XDP_STATISTICS.rx_ring_full (cumulative),
//     which no ethdev counter carries. Only rx_ring_full is taken here, so
//     imissed + socket_drops() never counts a frame twice.
// Not the interface's /sys/.../rx_dropped: the kernel counts there every frame
// no protocol handler wanted (802.1ad, unknown ethertypes), which anyone on
// the segment can send; those frames still reached our socket.
//
// The PMD's socket fds live in this process: found once, at construction, by
// scanning /proc/self/fd (SO_DOMAIN, and for af_packet the bound ifindex).
// socket_drops() costs one getsockopt per socket: the control loop only.
#include <cstdint>
#include <string>
#include <vector>

namespace ws::dp {

class DropCounter {
public:
    // driver: the port's driver name ("net_af_packet", "net_af_xdp"; anything
    // else has no kernel socket and counts 0); interface: its kernel interface.
    DropCounter(const std::string& driver, const std::string& interface);
    DropCounter(const DropCounter&) = delete;
    DropCounter& operator=(const DropCounter&) = delete;

    // Frames our sockets dropped since construction (cumulative, monotonic).
    std::uint64_t socket_drops();
    // How many sockets are watched (0 for a NIC; shown in verbose output).
    std::size_t sockets() const noexcept { return packet_fds_.size() + xdp_fds_.size(); }

private:
    std::vector<int> packet_fds_;
    std::vector<int> xdp_fds_;
    std::vector<std::uint64_t> xdp_base_; // rx_ring_full of each xsk at construction
    std::uint64_t packet_drops_ = 0;      // tp_drops accumulated over reads
    std::uint64_t xdp_drops_ = 0;         // last sum of rx_ring_full - base
};

} // namespace ws::dp
