#pragma once
// Per-lcore state: one cache-aligned struct per TX or RX lcore, written by
// that lcore only. Counters are single-writer atomics (relaxed load + store,
// no lock prefix) that the control loop reads; flags from the control loop
// live on their own cache lines.
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_launch.h>
#include <rte_ring.h>

#include "wirespeed/cookie.hpp"
#include "wirespeed/probe.hpp"
#include "wirespeed/probe_set.hpp"
#include "wirespeed/probes/modules.hpp"
#include "wirespeed/reply.hpp"
#include "wirespeed/tcp_stream.hpp"
#include "wirespeed/scan_space.hpp"
#include "wirespeed/sources.hpp"

namespace ws::dp {

constexpr unsigned burst_size = 32;

// One queue of one port. A scan's queues are usually all on one port; af_xdp
// on an interface without combined channels (veth) takes one port per queue.
struct QueueRef {
    std::uint16_t port = 0;
    std::uint16_t queue = 0;
};

// Single-writer counter: the owner bumps it without a locked instruction.
struct Counter {
    std::atomic<std::uint64_t> value{0};
    void add(std::uint64_t n) noexcept { value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    std::uint64_t get() const noexcept { return value.load(std::memory_order_relaxed); }
};

// The templates of a scan that probes IPv6 targets or leaves from several
// source addresses: a template's source address is part of its frame and of
// its partial checksums, so there is one ProbeSet per source, per family.
// Every template has a tag number (its set's base + its index in the set),
// which the TX mbufs record to know which frame they hold.
struct SourceProbeSets {
    const ScanSpace* space = nullptr;
    const SourceAddresses* sources = nullptr;
    const CookieMaker* cookies = nullptr;
    std::vector<ProbeSet> ipv4, ipv6; // in SourceAddresses order
    std::vector<std::uint32_t> ipv4_tag, ipv6_tag;
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
    const ProbeSet* probes = nullptr;  // the slots' templates
    // Several templates (UDP payloads): the dynfield offset where each mbuf of
    // the pool records which template its data holds, so a probe copies its
    // template only when the mbuf holds another one. -1: one template, the
    // pool is pre-filled with it and probes are only patched.
    int template_tag = -1;
    const CookieMaker* cookies = nullptr;
    std::uint32_t source_ip = 0;
    // IPv6 targets or several sources: each probe picks its source and its
    // family's template from these (the TX loop is the general one then).
    const SourceProbeSets* source_sets = nullptr;
    bool checksum_offload = false; // the NIC finishes IPv4 and TCP/UDP checksums
    std::vector<rte_ring*> control_rings; // frames from RX lcores (ARP replies, RSTs)
    const RunFlags* flags = nullptr;
    std::uint64_t tsc_hz = 0;
    // The collector's dedup bitmap (ResultSink::answered_bitmap): repairs
    // skip pairs that answered. nullptr: too large a scan, repairs re-send all.
    const std::uint64_t* answered_bits = nullptr;

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
    // RX queues polled in turn (sources[0..source_count)). More than one
    // when the port has more RX queues than there are RX lcores: an
    // --interface port opens as many pairs as the busier side has lcores,
    // and every af_packet socket of the fanout group gets replies.
    static constexpr unsigned max_sources = 16;
    std::array<QueueRef, max_sources> sources{};
    std::uint16_t source_count = 1;
    rte_mempool* pool = nullptr;       // for ARP replies / RSTs
    rte_ring* results = nullptr;       // SP/SC, ResultRecord elements
    rte_ring* data_results = nullptr;  // SP/SC, ResultWithData elements (UDP answers and their bytes)
    rte_ring* control = nullptr;       // SP/SC, mbufs to the TX lcore that sends them
    ReplyContext context{};
    MacAddress our_mac{};
    bool send_reset = false;
    std::uint64_t start_tsc = 0;
    std::uint64_t ms_per_tsc_q32 = 0;  // milliseconds per TSC cycle in 32.32 fixed point
    const RunFlags* flags = nullptr;
    // Service detection (scan --service; all null when off). RX lcore 0 runs
    // the user-mode TCP (`streams`, owned by it) and takes the commands;
    // every RX lcore reports open ports as events, and hands the stream
    // segments it receives to lcore 0 (`stream_handoff`, mbufs) so a
    // connection lives on one lcore whatever queue RSS puts its replies on.
    StreamTable* streams = nullptr;
    rte_ring* stream_events = nullptr;   // SP/SC StreamEvent elements, to the service thread
    rte_ring* stream_commands = nullptr; // SP/SC StreamCommand elements, lcore 0 only
    rte_ring* stream_handoff = nullptr;  // SP/SC mbufs to lcore 0 (lcores 1..n)
    std::array<rte_ring*, 16> handoffs_in{}; // lcore 0: the other lcores' stream_handoff rings
    unsigned handoff_count = 0;

    // --- written by this lcore only
    alignas(64) Counter received;
    Counter results_pushed;
    Counter ring_full;  // records lost because the collector fell behind: counted, never silent
    Counter arp_answered;
    Counter resets_sent;
    Counter control_full;
    std::array<Counter, reject_reason_count> rejected;
    Counter stream_events_lost; // port_open events the service thread's ring had no room for
};

// Sends frames with a bounded number of tx_burst attempts, frees what the
// queue still refuses and returns how many went out (the caller counts the rest).
unsigned send_or_free(std::uint16_t port, std::uint16_t queue, rte_mbuf** frames, unsigned count, int attempts);

// The mbuf side of TX checksum offload: the NIC finishes the IPv4 header
// checksum and, for TCP and UDP, the L4 one (ICMP is always finished in software).
inline void request_checksum_offload(rte_mbuf* m, L4Checksum l4) noexcept {
    m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM |
                   (l4 == L4Checksum::tcp ? RTE_MBUF_F_TX_TCP_CKSUM : l4 == L4Checksum::udp ? RTE_MBUF_F_TX_UDP_CKSUM : 0);
    m->l2_len = 14;
    m->l3_len = 20;
}
// IPv6 has no header checksum: only the L4 one is the NIC's.
inline void request_checksum_offload6(rte_mbuf* m, L4Checksum l4) noexcept {
    m->ol_flags |= RTE_MBUF_F_TX_IPV6 |
                   (l4 == L4Checksum::tcp ? RTE_MBUF_F_TX_TCP_CKSUM : l4 == L4Checksum::udp ? RTE_MBUF_F_TX_UDP_CKSUM : 0);
    m->l2_len = 14;
    m->l3_len = 40;
}

// One probe of module M into an mbuf of a pre-filled TX pool (mbuf data
// survives free/alloc): the template copied first only when the mbuf holds
// another one (template_tag >= 0 and its tag differs), then only the
// per-probe fields patched: ProbeFields with the module's IPv4 patch,
// ProbeFields6 with its IPv6 one. The TX lcores' burst loop instantiates it
// per module, so no probe pays a dispatch.
template <class M, bool Offload, class Fields>
inline void write_probe(rte_mbuf* m, const ProbeTemplate& t, int template_tag, std::uint32_t template_index,
                        const Fields& fields) noexcept {
    constexpr bool ipv6 = std::is_same_v<Fields, ProbeFields6>;
    auto* frame = rte_pktmbuf_mtod(m, std::uint8_t*);
    if (template_tag >= 0) {
        auto* held = RTE_MBUF_DYNFIELD(m, template_tag, std::uint32_t*);
        if (*held != template_index) {
            std::memcpy(frame, t.bytes(), t.size());
            *held = template_index;
        }
    }
    if constexpr (ipv6) M::template patch6<Offload>(frame, t, fields);
    else M::template patch<Offload>(frame, t, fields);
    if constexpr (Offload) {
        if constexpr (ipv6) request_checksum_offload6(m, t.l4_checksum());
        else request_checksum_offload(m, t.l4_checksum());
    }
    m->data_len = std::uint16_t(t.size());
    m->pkt_len = std::uint32_t(t.size());
}

// A burst of the general path (IPv6 targets or several sources), staged as
// the fast path is: every target's address and its source (a keyed pick)
// first, then the cookies over (target, port, protocol, source) (IPv6 ones
// four AES chains at a time), then the frames, each from its source's
// template of its family. M is the module, or MixedModules.
template <class M, bool Offload>
inline void write_target_burst(rte_mbuf** mbufs, const SourceProbeSets& sets, int template_tag, const Target* targets,
                               unsigned count) noexcept {
    uint128 targets6[burst_size], sources6[burst_size];
    Target lanes6[burst_size];
    unsigned index6[burst_size], n6 = 0;
    std::uint32_t source_index[burst_size];
    Cookie cookies[burst_size], cookies6[burst_size];
    for (unsigned i = 0; i < count; ++i) {
        const Target& t = targets[i];
        if (t.v6) {
            const uint128 a = sets.space->targets().at_ipv6(t.address);
            const std::uint32_t k = sets.sources->pick_ipv6(a);
            source_index[i] = k;
            targets6[n6] = a;
            sources6[n6] = sets.sources->ipv6(k);
            lanes6[n6] = t;
            index6[n6++] = i;
        } else {
            const std::uint32_t k = sets.sources->pick_ipv4(t.address);
            source_index[i] = k;
            cookies[i] = sets.cookies->make(t.address, t.port, sets.sources->ipv4(k), t.proto);
        }
    }
    sets.cookies->make_burst6(targets6, lanes6, sources6, n6, cookies6);
    for (unsigned j = 0; j < n6; ++j) cookies[index6[j]] = cookies6[j];
    // A set of one template (every TCP scan) skips the slot -> template table.
    const auto template_of = [](const ProbeSet& set, std::uint32_t slot) -> std::uint32_t {
        return set.single_template() ? 0 : set.template_index(slot);
    };
    for (unsigned i = 0, j = 0; i < count; ++i) {
        const Target& t = targets[i];
        const Cookie& c = cookies[i];
        const std::uint32_t k = source_index[i];
        if (t.v6) {
            const ProbeSet& set = sets.ipv6[k];
            const std::uint32_t index = template_of(set, t.slot);
            write_probe<M, Offload>(mbufs[i], set.at(index), template_tag, sets.ipv6_tag[k] + index,
                                    ProbeFields6{targets6[j++], t.port, c.source_port, c.isn, c.ip_id});
        } else {
            const ProbeSet& set = sets.ipv4[k];
            const std::uint32_t index = template_of(set, t.slot);
            write_probe<M, Offload>(mbufs[i], set.at(index), template_tag, sets.ipv4_tag[k] + index,
                                    ProbeFields{t.address, t.port, c.source_port, c.isn, c.ip_id});
        }
    }
}

// Any module, chosen per probe (the control loop's canaries and verify probes).
inline void write_any_probe(rte_mbuf* m, const ProbeSet& probes, std::uint32_t slot, bool offload, int template_tag,
                            const ProbeFields& fields) noexcept {
    const ProbeTemplate& t = probes.for_slot(slot);
    const std::uint32_t index = probes.template_index(slot);
    probes::Modules::with_kind(t.kind(), [&]<class M>() {
        if (offload) write_probe<M, true>(m, t, template_tag, index, fields);
        else write_probe<M, false>(m, t, template_tag, index, fields);
    });
}

// A scan mixing probe types: a module-shaped patch that switches on the
// template's kind (a jump table over the module list, not a virtual call).
struct MixedModules {
    template <bool Offload>
    static void patch(std::uint8_t* frame, const ProbeTemplate& t, const ProbeFields& fields) noexcept {
        probes::Modules::with_kind(t.kind(), [&]<class M>() { M::template patch<Offload>(frame, t, fields); });
    }
    template <bool Offload>
    static void patch6(std::uint8_t* frame, const ProbeTemplate& t, const ProbeFields6& fields) noexcept {
        probes::Modules::with_kind(t.kind(), [&]<class M>() { M::template patch6<Offload>(frame, t, fields); });
    }
};

// A control-plane probe (canaries, verify) for any target, on whichever path the TX lcores use.
inline void write_any_target(rte_mbuf* m, const SourceProbeSets& sets, int template_tag, bool offload, const Target& t) noexcept {
    if (offload) write_target_burst<MixedModules, true>(&m, sets, template_tag, &t, 1);
    else write_target_burst<MixedModules, false>(&m, sets, template_tag, &t, 1);
}

// Writes the most used template into every mbuf of a TX pool (before any is
// allocated), and its index into each mbuf's tag when the scan has several
// (template_tag >= 0), so the TX lcore patches probes instead of copying them.
void prefill_tx_pool(rte_mempool* pool, const ProbeSet& probes, int template_tag);
// The mbuf dynfield that records which template an mbuf holds (registered once).
int template_tag_field();
// The TX lcore function for a scan's probes, chosen at launch: one module's
// loop when every slot is of that module, MixedModules' otherwise.
// `general`: the scan has IPv6 targets or several sources (TxLcore::source_sets).
lcore_function_t* tx_lcore_function(const ProbeSet& probes, bool general);
int rx_lcore_main(void* arg); // arg: RxLcore*

} // namespace ws::dp
