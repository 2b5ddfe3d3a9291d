#include "reflector.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>

#include "wirespeed/probe.hpp"
#include "wirespeed/reply.hpp"

namespace ws::dp {
namespace {

// The reflector's ISN for a connection: any deterministic value works.
std::uint32_t reflector_isn(const SynProbe& syn) noexcept {
    return (syn.destination_ip * 2654435761u) ^ (std::uint32_t{syn.destination_port} << 16) ^ syn.source_port;
}

// The answers to one SYN: the real one, then the forgeries the rules ask for.
enum class Forgery : std::uint8_t { none, bad_cookie, bad_tcp_checksum, bad_ip_checksum };

std::size_t answer(const Reflector& r, const SynProbe& syn, Verdict verdict, Forgery forgery, std::uint8_t* out) {
    const bool forged = forgery != Forgery::none;
    if (verdict == Verdict::filtered && !forged)
        return build_icmp_unreachable(out, r.mac, syn.source_mac, syn.destination_ip, syn.source_ip, 3, syn.ip_header,
                                      syn.ip_length);
    TcpSegment seg{};
    seg.source_mac = r.mac;
    seg.destination_mac = syn.source_mac;
    seg.source_ip = syn.destination_ip;
    seg.destination_ip = syn.source_ip;
    seg.source_port = syn.destination_port;
    seg.destination_port = syn.source_port;
    seg.ttl = 64;
    seg.ip_id = std::uint16_t(syn.sequence);
    if (verdict == Verdict::open || forged) {
        seg.flags = 0x12;
        seg.sequence = reflector_isn(syn);
        // A bad-cookie forgery acknowledges the wrong ISN; a bad-checksum one
        // the right ISN, so only the checksum stands between it and "open".
        seg.acknowledgment = syn.sequence + (forgery == Forgery::bad_cookie ? 2 : 1);
        seg.window = 65535;
        seg.with_mss = true;
    } else {
        seg.flags = 0x14; // RST+ACK, like Linux for a closed port
        seg.sequence = 0;
        seg.acknowledgment = syn.sequence + 1;
        seg.window = 0;
    }
    const std::size_t len = build_tcp_segment(out, seg);
    if (forgery == Forgery::bad_tcp_checksum) out[14 + 20 + 17] ^= 0x01;
    if (forgery == Forgery::bad_ip_checksum) out[14 + 11] ^= 0x01;
    return len;
}

} // namespace

int reflector_main(void* arg) {
    Reflector& r = *static_cast<Reflector*>(arg);
    const ReplyContext arp_context{0, nullptr};
    rte_mbuf* in[burst_size];
    rte_mbuf* out[burst_size * 4];
    unsigned idle = 0;
    while (!r.stop->load(std::memory_order_relaxed)) {
        const std::uint16_t n = rte_eth_rx_burst(r.port, r.queue, in, burst_size);
        if (n == 0) {
            if (++idle > 256) rte_delay_us_sleep(idle > 4096 ? 200 : 20);
            else rte_pause();
            continue;
        }
        idle = 0;
        unsigned count = 0;
        for (std::uint16_t i = 0; i < n; ++i) {
            const auto* data = rte_pktmbuf_mtod(in[i], const std::uint8_t*);
            const std::size_t len = in[i]->data_len;
            SynProbe syn;
            if (parse_syn(data, len, syn) && r.rules->hosts.contains(syn.destination_ip)) {
                r.syns.add(1);
                const Verdict verdict = r.rules->verdict(syn.destination_ip, syn.destination_port);
                // Forgeries go out before the real answer: one believed would
                // be the record the scanner keeps (dedup keeps the first).
                Forgery answers[4];
                unsigned n_answers = 0;
                if (r.rules->forge_bad_cookies) answers[n_answers++] = Forgery::bad_cookie;
                if (r.rules->forge_bad_checksums) {
                    answers[n_answers++] = Forgery::bad_tcp_checksum;
                    answers[n_answers++] = Forgery::bad_ip_checksum;
                }
                answers[n_answers++] = Forgery::none;
                for (unsigned a = 0; a < n_answers; ++a) {
                    const bool forged = answers[a] != Forgery::none;
                    rte_mbuf* m = rte_pktmbuf_alloc(r.pool);
                    if (!m) break;
                    const std::size_t out_len = answer(r, syn, verdict, answers[a], rte_pktmbuf_mtod(m, std::uint8_t*));
                    m->data_len = std::uint16_t(out_len);
                    m->pkt_len = std::uint32_t(out_len);
                    out[count++] = m;
                    if (forged) continue;
                    if (verdict == Verdict::open) r.syn_acks.add(1);
                    else if (verdict == Verdict::closed) r.resets.add(1);
                    else r.unreachables.add(1);
                }
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
                }
                continue;
            }
            r.ignored.add(1);
        }
        rte_pktmbuf_free_bulk(in, n);
        r.tx_dropped.add(count - send_or_free(r.port, r.queue, out, count, 64));
    }
    return 0;
}

} // namespace ws::dp
