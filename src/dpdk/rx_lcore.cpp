// RX lcore: parse and validate replies with the core parser, free mbufs
// here (so they return to this lcore's cache), push fixed-size records into
// this lcore's SPSC ring, and hand ARP replies / RSTs to a TX lcore.
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_prefetch.h>

#include "lcores.hpp"
#include "wirespeed/probe.hpp"
#include "wirespeed/sources.hpp"

namespace ws::dp {
namespace {

void hand_over(RxLcore& rx, rte_mbuf* m) {
    if (rte_ring_sp_enqueue(rx.control, m) != 0) {
        rte_pktmbuf_free(m);
        rx.control_full.add(1);
    }
}

// Asked for arp.target_ip, one of our sources.
void answer_arp(RxLcore& rx, const ArpInfo& arp) {
    rte_mbuf* m = rte_pktmbuf_alloc(rx.pool);
    if (!m) return;
    const std::size_t len = build_arp(rte_pktmbuf_mtod(m, std::uint8_t*), true, rx.our_mac, arp.target_ip,
                                      arp.sender_mac, arp.sender_ip);
    m->data_len = std::uint16_t(len);
    m->pkt_len = std::uint32_t(len);
    hand_over(rx, m);
    rx.arp_answered.add(1);
}

// A Neighbor Solicitation for one of our IPv6 sources (DAD probes, from ::, are not answered).
void answer_ndp(RxLcore& rx, const NdpInfo& ndp) {
    rte_mbuf* m = rte_pktmbuf_alloc(rx.pool);
    if (!m) return;
    const std::size_t len = build_neighbor_advert(rte_pktmbuf_mtod(m, std::uint8_t*), rx.our_mac, ndp.target_ip, ndp.sender_mac,
                                                  ndp.sender_ip, true);
    m->data_len = std::uint16_t(len);
    m->pkt_len = std::uint32_t(len);
    hand_over(rx, m);
    rx.arp_answered.add(1);
}

bool ours(const RxLcore& rx, std::uint32_t address) noexcept {
    return rx.context.sources ? rx.context.sources->contains_ipv4(address) : address == rx.context.source_ip;
}

// A kernel-bypassed scanner has no kernel to reset half-open connections for
// it: an RST from the address the SYN-ACK came to, either family.
void send_reset(RxLcore& rx, const ParsedReply& reply, const MacAddress& peer_mac) {
    rte_mbuf* m = rte_pktmbuf_alloc(rx.pool);
    if (!m) return;
    const std::size_t len = build_reset(rte_pktmbuf_mtod(m, std::uint8_t*), reply, rx.our_mac, peer_mac, *rx.context.cookies);
    m->data_len = std::uint16_t(len);
    m->pkt_len = std::uint32_t(len);
    hand_over(rx, m);
    rx.resets_sent.add(1);
}

// UDP answers are rare next to SYN-ACKs and carry up to 512 bytes: one at a
// time through the second ring (copied straight from the frame into the ring slot would
// need the zero-copy API; a 560-byte stack copy is cheap at these rates).
void push_with_data(RxLcore& rx, const ParsedReply& reply, std::uint32_t elapsed_ms) {
    ResultWithData item;
    item.record = reply.record;
    item.record.elapsed_ms = elapsed_ms;
    item.data_len = std::uint16_t(reply.data_len < ResultWithData::max_data ? reply.data_len : ResultWithData::max_data);
    std::memset(item.reserved, 0, sizeof item.reserved);
    std::memcpy(item.data, reply.data, item.data_len);
    if (rte_ring_sp_enqueue_elem(rx.data_results, &item, sizeof item) == 0) rx.results_pushed.add(1);
    else rx.ring_full.add(1);
}

// The NIC's checksum verdicts (zero flags when RX checksum offload is off:
// unknown, so the parser sums in software). NONE means the packet's checksum
// field is not filled but the data was verified (virtio and the like): good.
inline ChecksumHint hint_from(std::uint64_t flags, std::uint64_t mask, std::uint64_t good, std::uint64_t bad) noexcept {
    const std::uint64_t f = flags & mask;
    if (f == bad) return ChecksumHint::bad;
    if (f == good || f == (good | bad)) return ChecksumHint::good; // GOOD or NONE
    return ChecksumHint::unknown;
}

inline RxChecksums checksum_hints(const rte_mbuf* m) noexcept {
    return RxChecksums{hint_from(m->ol_flags, RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_GOOD,
                                 RTE_MBUF_F_RX_IP_CKSUM_BAD),
                       hint_from(m->ol_flags, RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD,
                                 RTE_MBUF_F_RX_L4_CKSUM_BAD)};
}

// ---- service detection (scan --service)

inline std::uint64_t now_ms(const RxLcore& rx) noexcept {
    return ((rte_rdtsc() - rx.start_tsc) * rx.ms_per_tsc_q32) >> 32;
}

// What the stream table staged: frames to the TX lcore, events to the
// service thread (those that do not fit cut their connections: counted).
void flush_streams(RxLcore& rx, std::uint64_t now) {
    StreamTable& t = *rx.streams;
    for (const StreamTable::Frame& f : t.frames()) {
        rte_mbuf* m = rte_pktmbuf_alloc(rx.pool);
        if (!m) {
            rx.control_full.add(1); // the peer's retransmission or ours repairs it
            continue;
        }
        std::memcpy(rte_pktmbuf_mtod(m, std::uint8_t*), f.bytes, f.len);
        m->data_len = f.len;
        m->pkt_len = f.len;
        hand_over(rx, m);
    }
    const auto events = t.events();
    if (!events.empty()) {
        const unsigned pushed = rte_ring_sp_enqueue_burst_elem(rx.stream_events, events.data(), sizeof(StreamEvent),
                                                               unsigned(events.size()), nullptr);
        if (pushed < events.size()) t.events_not_delivered(pushed, now);
    }
    t.clear_staged();
}

void stream_segment(RxLcore& rx, const ParsedReply& reply, std::uint64_t now) {
    rx.streams->on_segment(reply.segment, now);
    if (rx.streams->staging_nearly_full()) flush_streams(rx, now);
}

// Lcore 0, every turn of its loop: segments other lcores handed over, the
// service thread's commands, the timers.
void serve_streams(RxLcore& rx) {
    const std::uint64_t now = now_ms(rx);
    for (unsigned h = 0; h < rx.handoff_count; ++h) {
        rte_mbuf* frames[burst_size];
        const unsigned n = rte_ring_sc_dequeue_burst(rx.handoffs_in[h], reinterpret_cast<void**>(frames), burst_size, nullptr);
        for (unsigned i = 0; i < n; ++i) {
            const ParsedReply reply = parse_reply(rte_pktmbuf_mtod(frames[i], const std::uint8_t*), frames[i]->data_len,
                                                  rx.context);
            if (reply.kind == ReplyKind::stream_segment) stream_segment(rx, reply, now);
        }
        if (n) rte_pktmbuf_free_bulk(frames, n);
    }
    StreamCommand commands[8];
    const unsigned n = rte_ring_sc_dequeue_burst_elem(rx.stream_commands, commands, sizeof(StreamCommand), 8, nullptr);
    for (unsigned i = 0; i < n; ++i) {
        rx.streams->on_command(commands[i], now);
        if (rx.streams->staging_nearly_full()) flush_streams(rx, now);
    }
    rx.streams->advance(now);
    flush_streams(rx, now);
}

// The scan found a TCP port open: the service thread decides what to send.
void report_open(RxLcore& rx, const ResultRecord& record) {
    if (rx.streams) {
        rx.streams->port_open(record.address(), record.port, record.elapsed_ms);
        return; // flushed with the lcore's next turn
    }
    StreamEvent e;
    e.kind = StreamEventKind::port_open;
    record.address().to_bytes(e.peer);
    e.port = record.port;
    e.elapsed_ms = record.elapsed_ms;
    if (rte_ring_sp_enqueue_elem(rx.stream_events, &e, sizeof e) != 0) rx.stream_events_lost.add(1);
}

} // namespace

int rx_lcore_main(void* arg) {
    RxLcore& rx = *static_cast<RxLcore*>(arg);
    const RunFlags& flags = *rx.flags;
    rte_mbuf* frames[burst_size];
    ResultRecord records[burst_size];
    unsigned idle_polls = 0;
    std::uint16_t turn = 0; // which of this lcore's queues is polled next

    while (!flags.stop_rx.load(std::memory_order_relaxed)) {
        if (rx.streams) serve_streams(rx);
        const QueueRef source = rx.sources[turn];
        if (++turn == rx.source_count) turn = 0;
        const std::uint16_t n = rte_eth_rx_burst(source.port, source.queue, frames, burst_size);
        if (n == 0) {
            // Back off only when idle: a few hundred empty polls cost
            // microseconds, then sleep so a CPU shared with other lcores frees up.
            if (++idle_polls > 256 && flags.backoff_idle.load(std::memory_order_relaxed))
                rte_delay_us_sleep(idle_polls > 4096 ? 200 : 20);
            else
                rte_pause();
            continue;
        }
        idle_polls = 0;
        const std::uint32_t elapsed_ms = std::uint32_t(now_ms(rx));
        unsigned results = 0;
        for (std::uint16_t i = 0; i < n; ++i) {
            if (i + 3 < n) rte_prefetch0(rte_pktmbuf_mtod(frames[i + 3], void*));
            rte_mbuf* m = frames[i];
            const auto* data = rte_pktmbuf_mtod(m, const std::uint8_t*);
            // Multi-segment frames are parsed on their first segment only: every
            // header we need fits there, and the parser never reads past data_len.
            const ParsedReply reply = parse_reply(data, m->data_len, rx.context, checksum_hints(m));
            switch (reply.kind) {
            case ReplyKind::result:
                if (reply.data) { // a UDP answer: its bytes go with it, through the data ring
                    push_with_data(rx, reply, elapsed_ms);
                    break;
                }
                records[results] = reply.record;
                records[results].elapsed_ms = elapsed_ms;
                ++results;
                if (reply.record.state == PortState::open && reply.record.proto == Proto::tcp) {
                    if (rx.send_reset) {
                        MacAddress peer;
                        std::memcpy(peer.data(), data + 6, 6);
                        send_reset(rx, reply, peer);
                    }
                    if (rx.stream_events) {
                        records[results - 1].elapsed_ms = elapsed_ms;
                        report_open(rx, records[results - 1]);
                    }
                }
                break;
            case ReplyKind::stream_segment:
                if (rx.streams) {
                    stream_segment(rx, reply, now_ms(rx));
                } else if (rx.stream_handoff && rte_ring_sp_enqueue(rx.stream_handoff, frames[i]) == 0) {
                    frames[i] = nullptr; // lcore 0 owns it now (free_bulk skips nulls)
                } else {
                    rx.rejected[std::size_t(RejectReason::wrong_source_port)].add(1);
                }
                break;
            case ReplyKind::arp_request:
                if (ours(rx, reply.arp.target_ip)) answer_arp(rx, reply.arp);
                break;
            case ReplyKind::ndp_solicit:
                if (reply.ndp.sender_ip != 0 && rx.context.sources && rx.context.sources->contains_ipv6(reply.ndp.target_ip))
                    answer_ndp(rx, reply.ndp);
                break;
            case ReplyKind::ndp_advert:
            case ReplyKind::router_advert:
                break;
            case ReplyKind::arp_reply:
                break;
            case ReplyKind::rejected:
                rx.rejected[std::size_t(reply.reject)].add(1);
                break;
            }
        }
        rte_pktmbuf_free_bulk(frames, n);
        rx.received.add(n);
        if (results) {
            const unsigned pushed = rte_ring_sp_enqueue_burst_elem(rx.results, records, sizeof(ResultRecord), results, nullptr);
            rx.results_pushed.add(pushed);
            if (pushed < results) rx.ring_full.add(results - pushed);
        }
    }
    return 0;
}

} // namespace ws::dp
