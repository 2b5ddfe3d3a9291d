#pragma once
// RAII owners at the DPDK boundary: mempool, result ring, ethdev port.
#include <cstdint>
#include <string>

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "wirespeed/record.hpp"
#include <rte_ring.h>

#include "wirespeed/address.hpp"

namespace ws::dp {

// Deep RX rings: when lcores share CPUs (2-core machines, CI), an RX lcore can
// be descheduled for a few milliseconds; 4096 descriptors hold ~20 ms of
// replies at 200 kpps, so a scheduling hiccup does not become lost answers.
constexpr unsigned default_rx_desc = 4096;
constexpr unsigned default_tx_desc = 1024;

// The smallest data room of a TX pool's mbufs (a SYN with every TCP option is
// 74 bytes): TX pools of small mbufs start faster and take less memory. A
// scan whose UDP payloads make larger frames gets larger mbufs
// (tx_data_room()).
constexpr unsigned max_probe_frame = 256;
inline unsigned tx_data_room(std::size_t largest_probe) noexcept {
    return largest_probe <= max_probe_frame ? max_probe_frame : unsigned((largest_probe + 63) & ~std::size_t{63});
}

class Mempool {
public:
    // n mbufs with a per-lcore cache; see mempool_size() for the formula.
    // data_room: bytes after the headroom; a full Ethernet frame by default
    // (RX), max_probe_frame for the TX pools whose mbufs only ever hold probes.
    Mempool(const std::string& name, unsigned n, unsigned cache, int socket, unsigned data_room = RTE_MBUF_DEFAULT_DATAROOM);
    ~Mempool();
    Mempool(const Mempool&) = delete;
    Mempool& operator=(const Mempool&) = delete;
    rte_mempool* get() const noexcept { return pool_; }

private:
    rte_mempool* pool_ = nullptr;
};

// l2fwd's rule, plus slack for in-flight TX bursts: every descriptor of every
// queue can hold an mbuf, every lcore cache can hold 1.5 x cache, and each
// lcore keeps one burst in hand. Rounded up to 2^q - 1 (mempool's sweet spot).
unsigned mempool_size(unsigned rx_queues, unsigned rx_desc, unsigned tx_queues, unsigned tx_desc, unsigned lcores,
                      unsigned cache, unsigned burst);

class ResultRing {
public:
    // SP/SC; ResultRecord elements (32 bytes), or ResultWithData for UDP answers.
    ResultRing(const std::string& name, unsigned count, int socket, unsigned element_size = sizeof(ResultRecord));
    ~ResultRing();
    ResultRing(const ResultRing&) = delete;
    ResultRing& operator=(const ResultRing&) = delete;
    rte_ring* get() const noexcept { return ring_; }

private:
    rte_ring* ring_ = nullptr;
};

class FrameRing { // SP/SC ring of mbuf pointers (RX lcore -> TX lcore control frames)
public:
    FrameRing(const std::string& name, unsigned count, int socket);
    ~FrameRing();
    FrameRing(const FrameRing&) = delete;
    FrameRing& operator=(const FrameRing&) = delete;
    rte_ring* get() const noexcept { return ring_; }

private:
    rte_ring* ring_ = nullptr;
};

struct PortCaps {
    std::string driver;
    std::uint16_t max_rx_queues = 1;
    std::uint16_t max_tx_queues = 1;
    std::uint64_t tx_offload_capa = 0;
    std::uint64_t rx_offload_capa = 0;
    std::uint64_t rss_offloads = 0;
};

struct PortStats {
    std::uint64_t opackets = 0, oerrors = 0, ipackets = 0, ierrors = 0, imissed = 0, rx_nombuf = 0;
};

class Port {
public:
    // Configures rx_queues/tx_queues (clamped to the device: throws if it
    // cannot offer them), RSS when offered, descriptor counts adjusted to the
    // device's limits; every downgrade is logged once.
    Port(std::uint16_t port_id, unsigned rx_queues, unsigned tx_queues, rte_mempool* rx_pool, int verbosity);
    ~Port();
    Port(const Port&) = delete;
    Port& operator=(const Port&) = delete;

    std::uint16_t id() const noexcept { return id_; }
    const PortCaps& caps() const noexcept { return caps_; }
    MacAddress mac() const;
    PortStats stats() const;
    std::uint16_t rx_desc() const noexcept { return rx_desc_; }
    std::uint16_t tx_desc() const noexcept { return tx_desc_; }
    bool rss() const noexcept { return rss_; }
    unsigned rx_queues() const noexcept { return rx_queues_; }
    unsigned tx_queues() const noexcept { return tx_queues_; }
    bool tx_checksum_offload() const noexcept { return tx_checksum_offload_; }
    // TX checksum offload for a scan: IPv4+TCP, and UDP too when it sends UDP.
    bool tx_checksum_offload(bool sends_udp) const noexcept {
        return tx_checksum_offload_ && (!sends_udp || tx_udp_checksum_offload_);
    }
    // The NIC verifies IPv4 + TCP checksums on RX and says so in the mbuf flags
    // (the RX lcore passes them to the parser, which then skips its own sums).
    bool rx_checksum_offload() const noexcept { return rx_checksum_offload_; }

private:
    std::uint16_t id_;
    PortCaps caps_;
    std::uint16_t rx_desc_ = default_rx_desc, tx_desc_ = default_tx_desc;
    unsigned rx_queues_ = 0, tx_queues_ = 0;
    bool rss_ = false;
    bool tx_checksum_offload_ = false;
    bool tx_udp_checksum_offload_ = false;
    bool rx_checksum_offload_ = false;
    bool started_ = false;
};

PortCaps read_caps(std::uint16_t port_id);

} // namespace ws::dp
