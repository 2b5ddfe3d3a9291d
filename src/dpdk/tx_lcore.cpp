// TX lcore: walk this lcore's slice of the permutation, craft probes from the
// template, pace bursts with the token bucket, and send the control frames
// (ARP replies, RSTs) that RX lcores hand over. Nothing here allocates
// (beyond mbufs from the lcore's pool cache), locks or makes a syscall while
// there is work; idle waits sleep so lcores sharing a CPU are not starved.
#include <sys/prctl.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_errno.h>
#include <rte_mbuf_dyn.h>
#include <rte_pause.h>

#include <fmt/format.h>

#include "wirespeed/error.hpp"

#include "lcores.hpp"
#include "wirespeed/token_bucket.hpp"

namespace ws::dp {
namespace {

// Sleeps when the wait is long enough to be worth a syscall, spins otherwise.
void wait_cycles(std::uint64_t cycles, std::uint64_t tsc_hz, bool may_sleep) {
    const std::uint64_t us = cycles * 1'000'000 / tsc_hz;
    if (may_sleep && us >= 20) {
        rte_delay_us_sleep(unsigned(us > 1000 ? 1000 : us - 10));
        return;
    }
    const std::uint64_t until = rte_rdtsc() + cycles;
    while (rte_rdtsc() < until) rte_pause();
}

void send_control_frames(TxLcore& tx) {
    for (rte_ring* ring : tx.control_rings) {
        rte_mbuf* frames[burst_size];
        const unsigned n = rte_ring_sc_dequeue_burst(ring, reinterpret_cast<void**>(frames), burst_size, nullptr);
        if (n == 0) continue;
        const unsigned sent = send_or_free(tx.port, tx.queue, frames, n, 8);
        tx.control_dropped.add(n - sent);
        tx.control_sent.add(sent);
    }
}

// Targets of the schedule's slots [cursor, end), at most `want`; advances cursor.
unsigned take_targets(const TxLcore& tx, std::uint64_t& cursor, std::uint64_t end, Target* targets, unsigned want) {
    unsigned filled = 0;
    if (tx.schedule->retries() == 0) {
        // Without retries a slot is a position: no schedule arithmetic.
        const std::uint64_t begin = tx.schedule->range().begin;
        filled = unsigned(std::min<std::uint64_t>(want, end - cursor));
        tx.space->at_burst(begin + cursor, filled, targets);
        cursor += filled;
    } else {
        while (filled < want && cursor < end) {
            const RetrySchedule::Step step = tx.schedule->at(cursor++);
            if (step.valid) targets[filled++] = tx.space->at(step.position);
        }
    }
    return filled;
}

bool answered(const TxLcore& tx, const Target& t) {
    const std::uint64_t index = tx.space->dense_index(t);
    if (index == UINT64_MAX) return false;
    // Written by the collector thread (atomic_ref stores); never written here.
    auto& shared = const_cast<std::uint64_t&>(tx.answered_bits[index >> 6]);
    const std::uint64_t word = std::atomic_ref<std::uint64_t>(shared).load(std::memory_order_relaxed);
    return (word >> (index & 63)) & 1;
}

// Up to `want` targets of the repair range that have not answered (a repair
// re-sends non-responders only; pairs that answered stay answered). Looks at
// no more than 8 bursts' worth of slots per call, so a range that has mostly
// answered does not hold up the lcore loop; returns fewer then.
unsigned take_repair_targets(TxLcore& tx, Target* targets, unsigned want) {
    if (!tx.answered_bits) return take_targets(tx, tx.repair_cursor, tx.repair_until, targets, want);
    unsigned filled = 0;
    for (int round = 0; round < 8 && filled < want && tx.repair_cursor < tx.repair_until; ++round) {
        const unsigned got = take_targets(tx, tx.repair_cursor, tx.repair_until, targets + filled, want - filled);
        const unsigned end = filled + got;
        for (unsigned i = filled; i < end; ++i)
            if (!answered(tx, targets[i])) targets[filled++] = targets[i];
    }
    return filled;
}

// Takes a repair request from the control loop, merging it with one in progress.
void take_repair(TxLcore& tx) {
    const std::uint64_t generation = tx.repair_generation.load(std::memory_order_acquire);
    if (generation == tx.repair_seen) return;
    tx.repair_seen = generation;
    const std::uint64_t begin = tx.repair_begin.load(std::memory_order_relaxed);
    const std::uint64_t end = std::min(tx.repair_end.load(std::memory_order_relaxed),
                                       tx.next_slot.load(std::memory_order_relaxed)); // only what was sent
    if (tx.repair_cursor < tx.repair_until) {
        tx.repair_cursor = std::min(tx.repair_cursor, begin);
        tx.repair_until = std::max(tx.repair_until, end);
    } else {
        tx.repair_cursor = begin;
        tx.repair_until = end;
    }
}

// The frames of a burst, module M's patch inlined (offload decided per burst).
template <class M, bool Offload>
void write_burst(const TxLcore& tx, rte_mbuf** mbufs, const Target* targets, const Cookie* cookies, unsigned count) {
    if (tx.template_tag < 0 && count > 0) {
        // One template (the engine tags mbufs only when there are several):
        // no per-probe template lookup, and write_probe's tag check folds away.
        const ProbeTemplate& t = tx.probes->for_slot(targets[0].slot);
        for (unsigned i = 0; i < count; ++i) {
            const ProbeFields fields{targets[i].address, targets[i].port, cookies[i].source_port, cookies[i].isn, cookies[i].ip_id};
            write_probe<M, Offload>(mbufs[i], t, -1, 0, fields);
        }
        return;
    }
    for (unsigned i = 0; i < count; ++i) {
        const ProbeFields fields{targets[i].address, targets[i].port, cookies[i].source_port, cookies[i].isn, cookies[i].ip_id};
        const std::uint32_t slot = targets[i].slot;
        write_probe<M, Offload>(mbufs[i], tx.probes->for_slot(slot), tx.template_tag, tx.probes->template_index(slot), fields);
    }
}

// Fills up to `want` mbufs with the next probes: repairs first, then the
// schedule; returns how many it filled (fewer only when both are exhausted).
// Staged: all targets, then all cookies, then all frames, so the independent
// permutation and PRF computations of a burst overlap instead of waiting on
// each other.
template <class M, bool General>
unsigned craft_probes(TxLcore& tx, rte_mbuf** mbufs, unsigned want) {
    Target targets[burst_size];
    unsigned filled = 0;
    if (tx.repair_cursor < tx.repair_until) {
        filled = take_repair_targets(tx, targets, want);
        tx.resent.add(filled);
    }
    if (filled < want) {
        std::uint64_t slot = tx.next_slot.load(std::memory_order_relaxed);
        filled += take_targets(tx, slot, tx.schedule->slots(), targets + filled, want - filled);
        tx.next_slot.store(slot, std::memory_order_relaxed);
    }
    if constexpr (General) {
        // IPv6 targets or several sources: per probe, the target's source
        // and family pick the template and go into the cookie.
        if (tx.checksum_offload) write_target_burst<M, true>(mbufs, *tx.source_sets, tx.template_tag, targets, filled);
        else write_target_burst<M, false>(mbufs, *tx.source_sets, tx.template_tag, targets, filled);
        return filled;
    }
    Cookie cookies[burst_size];
    tx.cookies->make_burst(targets, filled, tx.source_ip, cookies);
    if (tx.checksum_offload) write_burst<M, true>(tx, mbufs, targets, cookies, filled);
    else write_burst<M, false>(tx, mbufs, targets, cookies, filled);
    return filled;
}

} // namespace

unsigned send_or_free(std::uint16_t port, std::uint16_t queue, rte_mbuf** frames, unsigned count, int attempts) {
    unsigned sent = 0;
    for (int attempt = 0; attempt < attempts && sent < count; ++attempt)
        sent += rte_eth_tx_burst(port, queue, frames + sent, std::uint16_t(count - sent));
    if (sent < count) rte_pktmbuf_free_bulk(frames + sent, count - sent);
    return sent;
}

void prefill_tx_pool(rte_mempool* pool, const ProbeSet& probes, int template_tag) {
    struct Fill {
        const ProbeTemplate* probe;
        std::uint32_t index;
        int tag;
    } fill{&probes.at(probes.most_used()), probes.most_used(), template_tag};
    rte_mempool_obj_iter(
        pool,
        [](rte_mempool*, void* opaque, void* object, unsigned) {
            const auto& f = *static_cast<const Fill*>(opaque);
            auto* m = static_cast<rte_mbuf*>(object);
            std::memcpy(static_cast<std::uint8_t*>(m->buf_addr) + RTE_PKTMBUF_HEADROOM, f.probe->bytes(), f.probe->size());
            if (f.tag >= 0) *RTE_MBUF_DYNFIELD(m, f.tag, std::uint32_t*) = f.index;
        },
        &fill);
}

int template_tag_field() {
    static const rte_mbuf_dynfield field{"wirespeed_probe_template", sizeof(std::uint32_t), alignof(std::uint32_t), 0};
    const int offset = rte_mbuf_dynfield_register(&field);
    if (offset < 0) throw Error(fmt::format("cannot register the mbuf field for probe templates: {}", rte_strerror(rte_errno)));
    return offset;
}

template <class M, bool General>
int tx_lcore_main(void* arg) {
    TxLcore& tx = *static_cast<TxLcore*>(arg);
    const RunFlags& flags = *tx.flags;
    // Pacing sleeps are tens of microseconds; Linux's default 50 us timer
    // slack would make each one late by more than it lasts.
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    std::uint64_t rate = tx.rate_pps.load(std::memory_order_relaxed);
    TokenBucket bucket(tx.tsc_hz, rate, rte_rdtsc());
    rte_mbuf* pending[burst_size];
    unsigned pending_count = 0;
    unsigned pending_first = 0;

    while (!flags.stop_rx.load(std::memory_order_relaxed)) {
        send_control_frames(tx);
        take_repair(tx);
        const bool finished = tx.next_slot.load(std::memory_order_relaxed) >= tx.schedule->slots() &&
                              tx.repair_cursor >= tx.repair_until && pending_count == 0;
        tx.done.store(finished, std::memory_order_release);
        if (finished || flags.stop_tx.load(std::memory_order_relaxed)) {
            rte_delay_us_sleep(200); // only ARP/RST hand-offs are left: poll them gently
            continue;
        }
        const std::uint64_t now = rte_rdtsc();
        if (pending_count == 0) {
            const std::uint64_t wanted_rate = tx.rate_pps.load(std::memory_order_relaxed);
            if (wanted_rate != rate) {
                rate = wanted_rate;
                bucket.set_rate(rate);
            }
            const unsigned grant = bucket.grant(now);
            if (grant == 0) {
                wait_cycles(bucket.cycles_until_next(now), tx.tsc_hz, flags.backoff_idle.load(std::memory_order_relaxed));
                continue;
            }
            if (rte_pktmbuf_alloc_bulk(tx.pool, pending, grant) != 0) {
                tx.nombuf.add(1);
                bucket.refund(grant);
                continue;
            }
            pending_first = 0;
            pending_count = craft_probes<M, General>(tx, pending, grant);
            if (pending_count < grant) rte_pktmbuf_free_bulk(pending + pending_count, grant - pending_count);
        }
        const std::uint16_t sent = rte_eth_tx_burst(tx.port, tx.queue, pending + pending_first, std::uint16_t(pending_count));
        tx.sent.add(sent);
        pending_first += sent;
        pending_count -= sent;
        if (pending_count) {
            // The queue is full: keep the rest and retry, never drop a probe.
            tx.short_bursts.add(1);
            rte_pause();
        }
    }
    if (pending_count) rte_pktmbuf_free_bulk(pending + pending_first, pending_count);
    return 0;
}

lcore_function_t* tx_lcore_function(const ProbeSet& probes, bool general) {
    lcore_function_t* chosen = general ? &tx_lcore_main<MixedModules, true> : &tx_lcore_main<MixedModules, false>;
    if (probes.single_kind())
        probes::Modules::with_kind(probes.kind(), [&]<class M>() {
            chosen = general ? &tx_lcore_main<M, true> : &tx_lcore_main<M, false>;
        });
    return chosen;
}

} // namespace ws::dp
