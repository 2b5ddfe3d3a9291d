#include "reflector.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>

#include <cstring>
#include <memory>

#include "wirespeed/probe.hpp"
#include "wirespeed/reply.hpp"

namespace ws::dp {
namespace {

Counter& probes_of(Reflector& r, Proto proto) noexcept {
    return proto == Proto::udp ? r.udp_probes : proto == Proto::icmp ? r.echo_requests : r.syns;
}

Counter& answers_of(Reflector& r, Verdict verdict) noexcept {
    return verdict == Verdict::open ? r.open_answers : verdict == Verdict::closed ? r.closed_answers : r.filtered_answers;
}

// Ethernet type IPv6, next header ICMPv6, ICMPv6 type 135: worth a full
// look (no extension header: a solicitation for a host carries none).
bool is_neighbor_solicitation(const std::uint8_t* data, std::size_t len) noexcept {
    constexpr std::size_t next_header = 14 + 6, icmp_type = 14 + 40;
    return len > icmp_type && data[12] == 0x86 && data[13] == 0xdd && data[next_header] == 58 && data[icmp_type] == 135;
}

// Answers of one queue not yet taken by its TX queue: at most one burst's
// worth (each of up to burst_size probes draws up to 4 answers).
struct Held {
    rte_mbuf* frames[burst_size * 4];
    unsigned first = 0, count = 0;
    // Hands what it can to the TX queue; true when nothing is left.
    bool flush(Reflector& r, std::uint16_t queue) noexcept {
        if (count == 0) return true;
        const std::uint16_t n = rte_eth_tx_burst(r.port, queue, frames + first, std::uint16_t(count));
        r.sent.add(n);
        first += n;
        count -= n;
        if (count == 0) first = 0;
        else r.tx_full.add(1);
        return count == 0;
    }
    void free_all(Reflector& r) noexcept {
        if (count) rte_pktmbuf_free_bulk(frames + first, count);
        r.tx_dropped.add(count);
        first = count = 0;
    }
};

// One burst of probes from `queue`: every answer goes into `held` (empty on entry).
void answer_burst(Reflector& r, rte_mbuf** in, std::uint16_t n, Held& held, const Forgery* answers,
                  unsigned answers_per_probe, std::uint64_t& seen, BannerServer* banner) {
    const ReplyContext arp_context{0, nullptr};
    rte_mbuf** out = held.frames;
    unsigned count = 0;
    for (std::uint16_t i = 0; i < n; ++i) {
        const auto* data = rte_pktmbuf_mtod(in[i], const std::uint8_t*);
        const std::size_t len = in[i]->data_len;
        ReflectRequest probe;
        if (parse_probe(data, len, probe) && r.rules->answers_for(probe.destination)) {
            probes_of(r, probe.proto).add(1);
            if (probe.family == AddressFamily::ipv6) r.ipv6_probes.add(1);
            if (r.by_source) [[unlikely]] r.by_source->record(probe.source);
            if (r.rules->drops(seen++)) {
                r.dropped.add(1);
                continue;
            }
            const Verdict verdict = r.rules->verdict(probe.destination, probe.proto, probe.destination_port);
            for (unsigned a = 0; a < answers_per_probe; ++a) {
                rte_mbuf* m = rte_pktmbuf_alloc(r.pool);
                if (!m) {
                    r.nombuf.add(1);
                    break;
                }
                const BannerPort* port = banner && probe.proto == Proto::tcp && verdict == Verdict::open &&
                                                 answers[a] == Forgery::none
                                             ? r.rules->banner_for(probe.destination_port)
                                             : nullptr;
                const std::size_t out_len =
                    port ? banner->syn_ack(probe, *port, r.mac, rte_pktmbuf_mtod(m, std::uint8_t*), rte_pktmbuf_tailroom(m))
                         : reflect_forged(probe, verdict, answers[a], r.mac, rte_pktmbuf_mtod(m, std::uint8_t*),
                                          rte_pktmbuf_tailroom(m));
                if (out_len == 0) { // no answer (ping's closed), or one too large for the mbuf
                    rte_pktmbuf_free(m);
                    continue;
                }
                m->data_len = std::uint16_t(out_len);
                m->pkt_len = std::uint32_t(out_len);
                out[count++] = m;
                if (answers[a] == Forgery::none) answers_of(r, verdict).add(1);
            }
            continue;
        }
        // Banner mode: the rest of a connection to a banner port (at most
        // BannerServer::max_frames answers: the room a probe has in `held`).
        TcpSegmentIn segment;
        if (banner && parse_tcp_segment(data, len, segment) && r.rules->answers_for(segment.destination)) {
            const unsigned frames = banner->on_segment(segment, r.mac);
            for (unsigned f = 0; f < frames; ++f) {
                rte_mbuf* m = rte_pktmbuf_alloc(r.pool);
                if (!m) {
                    r.nombuf.add(1);
                    break;
                }
                const BannerServer::Frame& frame = banner->frame(f);
                if (frame.len > rte_pktmbuf_tailroom(m)) {
                    rte_pktmbuf_free(m);
                    continue;
                }
                std::memcpy(rte_pktmbuf_mtod(m, std::uint8_t*), frame.bytes, frame.len);
                m->data_len = frame.len;
                m->pkt_len = frame.len;
                out[count++] = m;
            }
            continue;
        }
        // A Neighbor Solicitation (IPv6, next header ICMPv6, type 135) is
        // answered by reflect_neighbor, which checks the rest; the cheap
        // look first keeps an mbuf from being drawn for every other frame.
        if (is_neighbor_solicitation(data, len)) {
            rte_mbuf* m = rte_pktmbuf_alloc(r.pool);
            if (!m) {
                r.nombuf.add(1);
                continue;
            }
            const std::size_t out_len = reflect_neighbor(*r.rules, data, len, r.mac, rte_pktmbuf_mtod(m, std::uint8_t*),
                                                         rte_pktmbuf_tailroom(m));
            if (out_len == 0) { // not for one of our hosts, or malformed
                rte_pktmbuf_free(m);
                r.ignored.add(1);
                continue;
            }
            m->data_len = std::uint16_t(out_len);
            m->pkt_len = std::uint32_t(out_len);
            out[count++] = m;
            r.ndp_replies.add(1);
            continue;
        }
        // Only ARP goes to the reply parser: anything else would need our cookies.
        const bool is_arp = len >= 14 && data[12] == 0x08 && data[13] == 0x06;
        const ParsedReply arp = is_arp ? parse_reply(data, len, arp_context) : ParsedReply{};
        if (is_arp && arp.kind == ReplyKind::arp_request && r.rules->hosts.contains(arp.arp.target_ip)) {
            if (rte_mbuf* m = rte_pktmbuf_alloc(r.pool)) {
                const std::size_t out_len = build_arp(rte_pktmbuf_mtod(m, std::uint8_t*), true, r.mac, arp.arp.target_ip,
                                                      arp.arp.sender_mac, arp.arp.sender_ip);
                m->data_len = std::uint16_t(out_len);
                m->pkt_len = std::uint32_t(out_len);
                out[count++] = m;
                r.arp_replies.add(1);
            } else {
                r.nombuf.add(1);
            }
            continue;
        }
        r.ignored.add(1);
    }
    rte_pktmbuf_free_bulk(in, n);
    held.first = 0;
    held.count = count;
}

} // namespace

int reflector_main(void* arg) {
    Reflector& r = *static_cast<Reflector*>(arg);
    Forgery answers[4];
    const unsigned answers_per_probe = answer_plan(*r.rules, answers);
    const unsigned queues = r.queue_count < 1 ? 1 : r.queue_count > Reflector::max_queues ? Reflector::max_queues : r.queue_count;
    Held held[Reflector::max_queues];
    rte_mbuf* in[burst_size];
    std::uint64_t seen = 0; // probes so far: the index of the --drop-permille draw
    const std::unique_ptr<BannerServer> banner = r.rules->banners.empty() ? nullptr : std::make_unique<BannerServer>(*r.rules);
    unsigned idle = 0;
    while (!r.stop->load(std::memory_order_relaxed)) {
        bool moved = false;
        for (unsigned q = 0; q < queues; ++q) {
            const auto queue = std::uint16_t(r.queue + q);
            if (held[q].count) {
                const unsigned before = held[q].count;
                const bool empty = held[q].flush(r, queue);
                moved = moved || held[q].count < before;
                if (!empty) continue; // back-pressure: no new probe from this queue until its answers are out
            }
            const std::uint16_t n = rte_eth_rx_burst(r.port, queue, in, burst_size);
            if (n == 0) continue;
            moved = true;
            r.received.add(n);
            answer_burst(r, in, n, held[q], answers, answers_per_probe, seen, banner.get());
            held[q].flush(r, queue);
        }
        if (moved) {
            idle = 0;
            continue;
        }
        // Nothing came in and nothing went out (idle, or every queue held
        // back): sleep after a while, so a CPU shared with the scanner frees up.
        if (++idle > 256) rte_delay_us_sleep(idle > 4096 ? 200 : 20);
        else rte_pause();
    }
    for (unsigned q = 0; q < queues; ++q) held[q].free_all(r);
    if (banner) r.banner = banner->counters();
    return 0;
}

} // namespace ws::dp
