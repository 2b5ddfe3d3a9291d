#pragma once
// Per-lcore state: one cache-aligned struct per TX or RX lcore, written by
// that lcore only. Counters are single-writer atomics (relaxed load + store,
// no lock prefix) that the control loop reads; flags from the control loop
// live on their own cache lines.
#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "wirespeed/cookie.hpp"
#include "wirespeed/probe.hpp"
#include "wirespeed/reply.hpp"
#include "wirespeed/scan_space.hpp"

namespace ws::dp {

constexpr unsigned burst_size = 32;

// Single-writer counter: the owner bumps it without a locked instruction.
struct Counter {
    std::atomic<std::uint64_t> value{0};
    void add(std::uint64_t n) noexcept { value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    std::uint64_t get() const noexcept { return value.load(std::memory_order_relaxed); }
};

struct alignas(64) RunFlags {
    alignas(64) std::atomic<bool> stop_tx{false}; // stop sending probes (signal, guard)
    alignas(64) std::atomic<bool> stop_rx{false}; // wait window over: RX and TX lcores exit
    alignas(64) std::atomic<bool> backoff_idle{true}; // sleep when idle (shared CPUs)
};

struct alignas(64) TxLcore {
    // --- read-only after launch
    std::uint16_t port = 0;
    std::uint16_t queue = 0;
    rte_mempool* pool = nullptr;
    const ScanSpace* space = nullptr;
    const RetrySchedule* schedule = nullptr; // this lcore's slots
    const ProbeTemplate* probe = nullptr;
    const CookieMaker* cookies = nullptr;
    std::uint32_t source_ip = 0;
    bool checksum_offload = false; // the NIC finishes IPv4/TCP checksums
    std::vector<rte_ring*> control_rings; // frames from RX lcores (ARP replies, RSTs)
    const RunFlags* flags = nullptr;
    std::uint64_t tsc_hz = 0;

    // --- written by the control loop, read once per burst by this lcore
    alignas(64) std::atomic<std::uint64_t> rate_pps{0};
    // Re-send slots [repair_begin, repair_end): replies were dropped on our
    // side while they were out. Published by bumping repair_generation.
    std::atomic<std::uint64_t> repair_begin{0}, repair_end{0};
    std::atomic<std::uint64_t> repair_generation{0};

    // --- written by this lcore only
    alignas(64) std::atomic<std::uint64_t> next_slot{0}; // every slot before it has been crafted
    std::uint64_t repair_seen = 0;   // last repair_generation taken
    std::uint64_t repair_cursor = 0; // next slot to re-send
    std::uint64_t repair_until = 0;
    Counter resent;        // probes re-sent by repairs
    Counter sent;          // probes accepted by the PMD
    Counter short_bursts;  // tx_burst took fewer than offered (retried, never dropped)
    Counter nombuf;        // mbuf allocation failures (retried)
    Counter control_sent;  // ARP replies and RSTs sent for RX lcores
    Counter control_dropped;
    std::atomic<bool> done{false}; // every slot sent
};

struct alignas(64) RxLcore {
    // --- read-only after launch
    std::uint16_t port = 0;
    std::uint16_t queue = 0;
    rte_mempool* pool = nullptr;       // for ARP replies / RSTs
    rte_ring* results = nullptr;       // SP/SC, ResultRecord elements
    rte_ring* control = nullptr;       // SP/SC, mbufs to the TX lcore that sends them
    ReplyContext context{};
    MacAddress our_mac{};
    bool send_reset = false;
    std::uint64_t start_tsc = 0;
    std::uint64_t ms_per_tsc_q32 = 0;  // milliseconds per TSC cycle in 32.32 fixed point
    const RunFlags* flags = nullptr;

    // --- written by this lcore only
    alignas(64) Counter received;
    Counter results_pushed;
    Counter ring_full;  // records lost because the collector fell behind: counted, never silent
    Counter arp_answered;
    Counter resets_sent;
    Counter control_full;
    std::array<Counter, reject_reason_count> rejected;
};

// Sends frames with a bounded number of tx_burst attempts, frees what the
// queue still refuses and returns how many went out (the caller counts the rest).
unsigned send_or_free(std::uint16_t port, std::uint16_t queue, rte_mbuf** frames, unsigned count, int attempts);

// One probe into an mbuf of a template-filled TX pool: only the per-probe
// fields are patched (checksums finished here, or by the NIC with offload).
// The TX lcores' burst path and the control loop's canaries both use it.
inline void patch_probe(rte_mbuf* m, const ProbeTemplate& probe, bool checksum_offload, const ProbeFields& fields) noexcept {
    if (checksum_offload) {
        probe.patch_for_offload(rte_pktmbuf_mtod(m, std::uint8_t*), fields);
        m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
        m->l2_len = 14;
        m->l3_len = 20;
    } else {
        probe.patch(rte_pktmbuf_mtod(m, std::uint8_t*), fields);
    }
    m->data_len = std::uint16_t(probe.size());
    m->pkt_len = std::uint32_t(probe.size());
}

// Writes the probe template into every mbuf of a TX pool (before any is
// allocated), so the TX lcore patches probes instead of copying them.
void prefill_tx_pool(rte_mempool* pool, const ProbeTemplate& probe);
int tx_lcore_main(void* arg); // arg: TxLcore*
int rx_lcore_main(void* arg); // arg: RxLcore*

} // namespace ws::dp
