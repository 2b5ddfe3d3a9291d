#include "port.hpp"

#include <algorithm>
#include <bit>

#include <fmt/format.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

#include "wirespeed/error.hpp"
#include "wirespeed/record.hpp"

namespace ws::dp {

Mempool::Mempool(const std::string& name, unsigned n, unsigned cache, int socket, unsigned data_room) {
    pool_ = rte_pktmbuf_pool_create(name.c_str(), n, cache, 0, std::uint16_t(RTE_PKTMBUF_HEADROOM + data_room), socket);
    if (!pool_) throw Error(fmt::format("cannot create mempool \"{}\" of {} mbufs: {}", name, n, rte_strerror(rte_errno)));
}

Mempool::~Mempool() { rte_mempool_free(pool_); }

unsigned mempool_size(unsigned rx_queues, unsigned rx_desc, unsigned tx_queues, unsigned tx_desc, unsigned lcores,
                      unsigned cache, unsigned burst) {
    const unsigned need = rx_queues * rx_desc + tx_queues * tx_desc + lcores * (cache * 3 / 2 + burst);
    // At least 8192 (so 16383 after rounding): af_xdp's fill ring and RX ring
    // both hold mbufs of this pool on top of the descriptors counted above;
    // with 8191 it runs dry and counts every failed refill as rx_nombuf.
    const unsigned wanted = std::max(need, 8192u);
    return std::bit_ceil(wanted + 1) - 1;
}

ResultRing::ResultRing(const std::string& name, unsigned count, int socket, unsigned element_size) {
    ring_ = rte_ring_create_elem(name.c_str(), element_size, count, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!ring_) throw Error(fmt::format("cannot create ring \"{}\": {}", name, rte_strerror(rte_errno)));
}

ResultRing::~ResultRing() { rte_ring_free(ring_); }

FrameRing::FrameRing(const std::string& name, unsigned count, int socket) {
    ring_ = rte_ring_create(name.c_str(), count, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!ring_) throw Error(fmt::format("cannot create ring \"{}\": {}", name, rte_strerror(rte_errno)));
}

FrameRing::~FrameRing() {
    void* m = nullptr;
    while (rte_ring_sc_dequeue(ring_, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
    rte_ring_free(ring_);
}

PortCaps read_caps(std::uint16_t port_id) {
    rte_eth_dev_info info{};
    const int rc = rte_eth_dev_info_get(port_id, &info);
    if (rc != 0) throw Error(fmt::format("cannot read port {} info: {}", port_id, rte_strerror(-rc)));
    PortCaps caps;
    caps.driver = info.driver_name ? info.driver_name : "unknown";
    caps.max_rx_queues = info.max_rx_queues;
    caps.max_tx_queues = info.max_tx_queues;
    caps.tx_offload_capa = info.tx_offload_capa;
    caps.rx_offload_capa = info.rx_offload_capa;
    caps.rss_offloads = info.flow_type_rss_offloads;
    return caps;
}

Port::Port(std::uint16_t port_id, unsigned rx_queues, unsigned tx_queues, rte_mempool* rx_pool, int verbosity)
    : id_(port_id), caps_(read_caps(port_id)), rx_queues_(rx_queues), tx_queues_(tx_queues) {
    if (rx_queues > caps_.max_rx_queues || tx_queues > caps_.max_tx_queues)
        throw Error(fmt::format("port {} ({}) offers {} RX / {} TX queues; {} RX and {} TX lcores need one each",
                                port_id, caps_.driver, caps_.max_rx_queues, caps_.max_tx_queues, rx_queues, tx_queues));
    rte_eth_conf conf{};
    // UDP answers spread like TCP ones; ICMP hashes on addresses (RSS_IP).
    const std::uint64_t rss_wanted = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP;
    if (rx_queues > 1) {
        const std::uint64_t rss_hf = rss_wanted & caps_.rss_offloads;
        if (rss_hf) {
            conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
            rss_ = true;
        } else if (caps_.driver != "net_af_packet" && caps_.driver != "net_af_xdp") {
            // af_packet: its PACKET_FANOUT group spreads replies by flow hash;
            // af_xdp: each XSK gets what the interface's own RX queue gets.
            fmt::print(stderr, "wirespeed: port {} ({}) has no RSS; replies arrive on RX queue 0 only\n", port_id,
                       caps_.driver);
        }
    }
    // IPv4 + TCP checksum offload when the device has both; otherwise the
    // template's incremental sums finish them in software (a few adds).
    constexpr std::uint64_t checksum_offloads = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
    if ((caps_.tx_offload_capa & checksum_offloads) == checksum_offloads) {
        conf.txmode.offloads |= checksum_offloads;
        tx_checksum_offload_ = true;
        if (caps_.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) {
            conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
            tx_udp_checksum_offload_ = true;
        }
    } else if (verbosity >= 1) {
        fmt::print(stderr, "wirespeed: port {} ({}) has no IPv4+TCP checksum offload; checksums in software\n", port_id,
                   caps_.driver);
    }
    // RX: the reply parser verifies IPv4 and TCP checksums in software unless
    // the NIC does (it then reads the verdict from the mbuf flags). Asked only
    // when offered: af_packet, af_xdp and net_ring offer neither.
    constexpr std::uint64_t rx_checksum_offloads = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
    if ((caps_.rx_offload_capa & rx_checksum_offloads) == rx_checksum_offloads) {
        conf.rxmode.offloads |= rx_checksum_offloads;
        // UDP too when offered; a NIC not asked to check UDP reports its L4
        // verdict as unknown, and the parser then sums in software.
        if (caps_.rx_offload_capa & RTE_ETH_RX_OFFLOAD_UDP_CKSUM) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
        rx_checksum_offload_ = true;
    } else if (verbosity >= 1) {
        fmt::print(stderr, "wirespeed: port {} ({}) has no IPv4+TCP RX checksum offload; replies verified in software\n",
                   port_id, caps_.driver);
    }
    int rc = rte_eth_dev_configure(port_id, std::uint16_t(rx_queues), std::uint16_t(tx_queues), &conf);
    if (rc != 0) throw Error(fmt::format("cannot configure port {} ({}): {}", port_id, caps_.driver, rte_strerror(-rc)));
    std::uint16_t rxd = rx_desc_, txd = tx_desc_;
    rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rxd, &txd);
    if (rc != 0) throw Error(fmt::format("cannot adjust descriptors of port {}: {}", port_id, rte_strerror(-rc)));
    if ((rxd != rx_desc_ || txd != tx_desc_) && verbosity >= 1)
        fmt::print(stderr, "wirespeed: port {} descriptors clamped to {} RX / {} TX\n", port_id, rxd, txd);
    rx_desc_ = rxd;
    tx_desc_ = txd;
    const int socket = rte_eth_dev_socket_id(port_id);
    for (unsigned q = 0; q < rx_queues; ++q) {
        rc = rte_eth_rx_queue_setup(port_id, std::uint16_t(q), rxd, socket < 0 ? SOCKET_ID_ANY : socket, nullptr, rx_pool);
        if (rc != 0) throw Error(fmt::format("cannot set up RX queue {} of port {}: {}", q, port_id, rte_strerror(-rc)));
    }
    for (unsigned q = 0; q < tx_queues; ++q) {
        rc = rte_eth_tx_queue_setup(port_id, std::uint16_t(q), txd, socket < 0 ? SOCKET_ID_ANY : socket, nullptr);
        if (rc != 0) throw Error(fmt::format("cannot set up TX queue {} of port {}: {}", q, port_id, rte_strerror(-rc)));
    }
    rc = rte_eth_dev_start(port_id);
    if (rc != 0) throw Error(fmt::format("cannot start port {} ({}): {}", port_id, caps_.driver, rte_strerror(-rc)));
    started_ = true;
    rte_eth_promiscuous_enable(port_id); // best effort: some PMDs do not support it
    rte_eth_stats_reset(port_id);
}

Port::~Port() {
    if (started_) rte_eth_dev_stop(id_);
    rte_eth_dev_close(id_);
}

MacAddress Port::mac() const {
    rte_ether_addr addr{};
    rte_eth_macaddr_get(id_, &addr);
    MacAddress mac;
    std::copy(std::begin(addr.addr_bytes), std::end(addr.addr_bytes), mac.begin());
    return mac;
}

PortStats Port::stats() const {
    rte_eth_stats s{};
    rte_eth_stats_get(id_, &s);
    return {s.opackets, s.oerrors, s.ipackets, s.ierrors, s.imissed, s.rx_nombuf};
}

} // namespace ws::dp
