#pragma once
// Probe module: TCP SYN. A SYN-ACK is `open`, an RST `closed`, an ICMP
// unreachable quoting the SYN `filtered`. The cookie gives the source port,
// the ISN (acknowledged + 1 by the target) and the IP ID.
//
// A probe module is one header with these static members (see modules.hpp):
//   kind, proto, ip_protocol, name      identity
//   build(template, config, slot, payload, len)   the slot's frame + partial sums
//   patch<Offload>(frame, template, fields)       per-probe words (TX hot path)
//   classify(reply, l4, context)        a reply of ip_protocol -> result or reject
//   classify_quote(reply, quote, context)  an ICMP unreachable quoting our probe
//   reflect(out, probe...)               how the lab reflector answers (reflect.hpp)
#include "wirespeed/cookie.hpp"
#include "wirespeed/probe.hpp"
#include "wirespeed/probes/wire.hpp"
#include "wirespeed/reply.hpp"

namespace ws::probes {

struct TcpSyn {
    static constexpr ProbeKind kind = ProbeKind::tcp_syn;
    static constexpr Proto proto = Proto::tcp;
    static constexpr std::uint8_t ip_protocol = wire::proto_tcp;
    static constexpr const char* name = "tcp_syn";

    static constexpr std::size_t tcp_len = 20;
    static constexpr std::size_t sport_at = wire::l4_off + 0;
    static constexpr std::size_t dport_at = wire::l4_off + 2;
    static constexpr std::size_t seq_at = wire::l4_off + 4;
    static constexpr std::size_t sum_at = wire::l4_off + 16;
    static constexpr std::uint16_t mss = 1460;
    // A fixed, non-zero TSval: a zero TSval is itself unusual enough to
    // fingerprint the scanner, and a per-probe clock would cost a checksum word.
    static constexpr std::uint32_t timestamp_value = 0x01020304;

    static std::size_t write_options(std::uint8_t* p, TcpOptionsProfile profile) noexcept {
        p[0] = 2; // MSS
        p[1] = 4;
        wire::put16(p + 2, mss);
        if (profile == TcpOptionsProfile::mss_only) return 4;
        p[4] = 4; // SACK permitted
        p[5] = 2;
        p[6] = 8; // timestamps
        p[7] = 10;
        wire::put32(p + 8, timestamp_value);
        wire::put32(p + 12, 0); // TSecr: nothing to echo on a SYN
        p[16] = 1;              // NOP keeps the window scale option where Linux puts it
        p[17] = 3;              // window scale
        p[18] = 3;
        p[19] = 7;
        return 20;
    }

    // One template serves every TCP slot: the destination port is patched.
    static void build(ProbeTemplate& t, const ProbeConfig& config, const ProbeSlot&, const std::uint8_t*, std::size_t) noexcept {
        std::uint8_t* f = t.frame_;
        wire::put_ethernet(f, config.destination_mac, config.source_mac, wire::ethertype_ipv4);
        std::uint8_t* tcp = f + wire::l4_off;
        const std::size_t segment_len = tcp_len + write_options(tcp + tcp_len, config.options);
        t.size_ = wire::l4_off + segment_len;
        // Per-probe fields stay zero in the template, so the partial sums
        // cover exactly the constant words and patch() only adds the others.
        wire::put_ipv4(f + wire::ip_off, std::uint16_t(wire::ip_len + segment_len), 0, wire::ip_flag_df, config.ttl,
                       wire::proto_tcp, config.source_ip, 0);
        wire::put32(tcp + 8, 0); // ack
        tcp[12] = std::uint8_t((segment_len / 4) << 4);
        tcp[13] = 0x02; // SYN
        wire::put16(tcp + 14, config.window);
        const std::uint32_t pseudo = pseudo_header_sum(config.source_ip, 0, wire::proto_tcp, segment_len);
        t.kind_ = kind;
        t.l4_checksum_ = L4Checksum::tcp;
        t.ip_sum_base_ = wire::fold16(ones_sum(f + wire::ip_off, wire::ip_len));
        t.l4_sum_base_ = wire::fold16(ones_sum(tcp, segment_len, pseudo));
        t.pseudo_sum_base_ = wire::fold16(pseudo);
    }

    template <bool Offload>
    static void patch(std::uint8_t* frame, const ProbeTemplate& t, const ProbeFields& p) noexcept {
        wire::patch_ipv4<Offload>(frame, t.ip_sum_base_, p.destination_ip, p.ip_id);
        wire::put16(frame + sport_at, p.source_port);
        wire::put16(frame + dport_at, p.destination_port);
        wire::put32(frame + seq_at, p.sequence);
        const std::uint32_t dst = wire::address_sum(p.destination_ip);
        if constexpr (Offload)
            wire::put16(frame + sum_at, std::uint16_t(wire::fold16(t.pseudo_sum_base_ + dst)));
        else
            wire::put16(frame + sum_at, wire::finish(t.l4_sum_base_ + dst + p.source_port + p.destination_port +
                                                     (p.sequence >> 16) + (p.sequence & 0xffff)));
    }

    static void classify(ParsedReply& reply, const L4Reply& in, const ReplyContext& context) noexcept {
        constexpr std::uint8_t syn = 0x02, rst = 0x04, ack = 0x10;
        const std::uint8_t* tcp = in.l4;
        if (in.len < tcp_len) return reject(reply, RejectReason::truncated);
        // A data offset below 5 claims a header shorter than the fixed part.
        const std::size_t header_len = std::size_t(tcp[12] >> 4) * 4;
        if (header_len < tcp_len || header_len > in.len) return reject(reply, RejectReason::truncated);
        // The whole segment under the pseudo header; TCP has no "no checksum" 0.
        if (in.l4_hint == ChecksumHint::bad ||
            (in.l4_hint == ChecksumHint::unknown &&
             !checksum_ok(tcp, in.len, pseudo_header_sum(in.source, context.source_ip, wire::proto_tcp, in.len))))
            return reject(reply, RejectReason::bad_tcp_checksum);
        const std::uint16_t sport = wire::load16(tcp);
        const std::uint16_t dport = wire::load16(tcp + 2);
        const std::uint32_t seq = wire::load32(tcp + 4);
        const std::uint32_t ackno = wire::load32(tcp + 8);
        const std::uint8_t flags = tcp[13];
        // Cheap range check first: most stray traffic never pays for a PRF call.
        if (!in_range(context.cookies->source_ports(), dport)) return reject(reply, RejectReason::wrong_source_port);
        const Cookie cookie = context.cookies->make(in.source, sport, context.source_ip, proto);
        if (cookie.source_port != dport) return reject(reply, RejectReason::bad_cookie);
        const std::uint32_t isn = cookie.isn, isn1 = cookie.isn + 1;
        PortState state;
        Reason reason;
        if (flags & rst) {
            // Stacks disagree on what an RST to a SYN carries; accept the RFC
            // 793 answer (ACK of ISN+1), an RST echoing ISN+1 as its sequence,
            // or an off-by-one ack of the bare ISN.
            if (!(ackno == isn1 || (!(flags & ack) && seq == isn1) || ackno == isn))
                return reject(reply, RejectReason::bad_cookie);
            state = PortState::closed;
            reason = Reason::reset;
        } else if ((flags & (syn | ack)) == (syn | ack)) {
            if (ackno != isn1) return reject(reply, RejectReason::bad_cookie);
            state = PortState::open;
            reason = Reason::syn_ack;
        } else {
            return reject(reply, RejectReason::not_syn_ack_or_rst);
        }
        fill_result(reply, in.source, proto, sport, wire::load16(tcp + 14), in.ttl, state, reason);
        reply.tcp_seq = seq;
        reply.local_port = dport;
    }

    static void classify_quote(ParsedReply& reply, const QuotedProbe& q, const ReplyContext& context) noexcept {
        const std::uint16_t sport = wire::load16(q.l4);
        const std::uint16_t dport = wire::load16(q.l4 + 2);
        const std::uint32_t seq = wire::load32(q.l4 + 4);
        if (!in_range(context.cookies->source_ports(), sport)) return reject(reply, RejectReason::wrong_source_port);
        const Cookie cookie = context.cookies->make(q.target, dport, context.source_ip, proto);
        if (cookie.source_port != sport || cookie.isn != seq) return reject(reply, RejectReason::bad_cookie);
        fill_result(reply, q.target, proto, dport, 0, q.ttl, PortState::filtered, reason_from_unreach_code(q.code));
        reply.tcp_seq = 0; // no segment from the target: nothing to reset
        reply.local_port = sport;
    }
};

} // namespace ws::probes
