#pragma once
// Probe module: TCP SYN. A SYN-ACK is `open`, an RST `closed`, an ICMP
// unreachable quoting the SYN `filtered`. The cookie gives the source port,
// the ISN (acknowledged + 1 by the target) and the IP ID.
//
// A probe module is one header with these static members (see modules.hpp):
//   kind, proto, ip_protocol, ip_protocol6, name   identity (IPv4 protocol, IPv6 next header)
//   build<F>(template, config, slot, payload, len)   the slot's frame + partial sums
//   patch<Offload>(frame, template, fields)        per-probe words, IPv4 (TX hot path)
//   patch6<Offload>(frame, template, fields6)      the same for an IPv6 template
//   classify<F>(reply, l4, context)     a reply of ip_protocol -> result or reject
//   classify_quote<F>(reply, quote, context)  an ICMP / ICMPv6 unreachable quoting our probe
//   parse_probe<F>(request, l4, len)    the lab reflector: is this segment such a probe? (reflect.hpp)
//   reflect(request, verdict, from, out, capacity)  how the lab reflector answers it
// F is the address family, wire::Ipv4 or wire::Ipv6 (probes/wire.hpp): every
// L3 difference (header, offsets, pseudo header, ICMP types, cookie input)
// lives there, so each member is written once for both families; patch and
// patch6 are patch_as<F> of one body.
#include "wirespeed/cookie.hpp"
#include "wirespeed/probe.hpp"
#include "wirespeed/reflect.hpp"
#include "wirespeed/probes/wire.hpp"
#include "wirespeed/reply.hpp"

namespace ws::probes {

struct TcpSyn {
    static constexpr ProbeKind kind = ProbeKind::tcp_syn;
    static constexpr Proto proto = Proto::tcp;
    static constexpr std::uint8_t ip_protocol = wire::proto_tcp;
    static constexpr std::uint8_t ip_protocol6 = wire::proto_tcp; // its replies' next header over IPv6
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
    // F is the address family (wire::Ipv4 or wire::Ipv6).
    template <class F = wire::Ipv4>
    static void build(ProbeTemplate& t, const ProbeConfig& config, const ProbeSlot&, const std::uint8_t*, std::size_t) noexcept {
        std::uint8_t* f = t.frame_;
        wire::put_ethernet(f, config.destination_mac, config.source_mac, F::ethertype);
        std::uint8_t* tcp = f + F::l4_off;
        const std::size_t segment_len = tcp_len + write_options(tcp + tcp_len, config.options);
        t.size_ = F::l4_off + segment_len;
        // Per-probe fields stay zero in the template, so the partial sums
        // cover exactly the constant words and patch() only adds the others.
        F::put_header(f + wire::ip_off, segment_len, config.ttl, wire::proto_tcp, F::source(config), 0);
        wire::put32(tcp + 8, 0); // ack
        tcp[12] = std::uint8_t((segment_len / 4) << 4);
        tcp[13] = 0x02; // SYN
        wire::put16(tcp + 14, config.window);
        const std::uint32_t pseudo = F::pseudo_sum(F::source(config), 0, wire::proto_tcp, segment_len);
        t.kind_ = kind;
        t.family_ = F::family;
        t.l4_checksum_ = L4Checksum::tcp;
        t.ip_sum_base_ = F::header_sum(f + wire::ip_off);
        t.l4_sum_base_ = wire::fold16(ones_sum(tcp, segment_len, pseudo));
        t.pseudo_sum_base_ = wire::fold16(pseudo);
    }

    // The per-probe words, written once over the family: the IP words (F),
    // then ports, sequence and the checksum finished from the partial sums.
    template <class F, bool Offload>
    static void patch_as(std::uint8_t* frame, const ProbeTemplate& t, const typename F::Fields& p) noexcept {
        const std::uint32_t dst = F::template patch_header<Offload>(frame, t, p);
        constexpr std::size_t shift = F::l4_off - wire::l4_off; // 0 for IPv4, 20 for IPv6
        wire::put16(frame + shift + sport_at, p.source_port);
        wire::put16(frame + shift + dport_at, p.destination_port);
        wire::put32(frame + shift + seq_at, p.sequence);
        if constexpr (Offload)
            wire::put16(frame + shift + sum_at, std::uint16_t(wire::fold16(t.pseudo_sum_base_ + dst)));
        else
            wire::put16(frame + shift + sum_at, wire::finish(t.l4_sum_base_ + dst + p.source_port + p.destination_port +
                                                             (p.sequence >> 16) + (p.sequence & 0xffff)));
    }
    template <bool Offload>
    static void patch(std::uint8_t* frame, const ProbeTemplate& t, const ProbeFields& p) noexcept {
        patch_as<wire::Ipv4, Offload>(frame, t, p);
    }
    template <bool Offload>
    static void patch6(std::uint8_t* frame, const ProbeTemplate& t, const ProbeFields6& p) noexcept {
        patch_as<wire::Ipv6, Offload>(frame, t, p);
    }

    // A segment of a service-detection connection: the fields the user-mode
    // TCP needs (tcp_stream.hpp); the MSS option is read from a SYN's options,
    // each option's length checked against the header.
    template <class F>
    static void stream_segment(ParsedReply& reply, const L4ReplyOf<F>& in, std::size_t header_len) noexcept {
        const std::uint8_t* tcp = in.l4;
        StreamSegment& s = reply.segment;
        s.peer = F::ip(in.source);
        s.local = F::ip(in.destination);
        s.peer_port = wire::load16(tcp);
        s.local_port = wire::load16(tcp + 2);
        s.sequence = wire::load32(tcp + 4);
        s.acknowledgment = wire::load32(tcp + 8);
        s.flags = tcp[13];
        s.window = wire::load16(tcp + 14);
        s.mss = 0;
        if (s.flags & 0x02) {
            for (std::size_t at = tcp_len; at < header_len;) {
                const std::uint8_t kind = tcp[at];
                if (kind == 0) break; // end of options
                if (kind == 1) { ++at; continue; } // NOP
                if (header_len - at < 2 || tcp[at + 1] < 2 || tcp[at + 1] > header_len - at) break;
                if (kind == 2 && tcp[at + 1] == 4) s.mss = wire::load16(tcp + at + 2);
                at += tcp[at + 1];
            }
        }
        s.payload = tcp + header_len;
        s.payload_len = std::uint16_t(in.len - header_len);
        reply.kind = ReplyKind::stream_segment;
    }

    template <class F>
    static void classify(ParsedReply& reply, const L4ReplyOf<F>& in, const ReplyContext& context) noexcept {
        constexpr std::uint8_t syn = 0x02, rst = 0x04, ack = 0x10;
        const std::uint8_t* tcp = in.l4;
        if (in.len < tcp_len) return reject(reply, RejectReason::truncated);
        // A data offset below 5 claims a header shorter than the fixed part.
        const std::size_t header_len = std::size_t(tcp[12] >> 4) * 4;
        if (header_len < tcp_len || header_len > in.len) return reject(reply, RejectReason::truncated);
        // The whole segment under the pseudo header; TCP has no "no checksum" 0.
        if (in.l4_hint == ChecksumHint::bad ||
            (in.l4_hint == ChecksumHint::unknown &&
             !checksum_ok(tcp, in.len, F::pseudo_sum(in.source, in.destination, wire::proto_tcp, in.len))))
            return reject(reply, RejectReason::bad_tcp_checksum);
        const std::uint16_t sport = wire::load16(tcp);
        const std::uint16_t dport = wire::load16(tcp + 2);
        const std::uint32_t seq = wire::load32(tcp + 4);
        const std::uint32_t ackno = wire::load32(tcp + 8);
        const std::uint8_t flags = tcp[13];
        if (context.stream_ports.last != 0 && in_range(context.stream_ports, dport))
            return stream_segment<F>(reply, in, header_len);
        // Cheap range check first: most stray traffic never pays for a PRF call.
        if (!in_range(context.cookies->source_ports(), dport)) return reject(reply, RejectReason::wrong_source_port);
        const Cookie cookie = F::cookie(*context.cookies, in.source, sport, in.destination, proto);
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

    template <class F>
    static void classify_quote(ParsedReply& reply, const QuotedProbeOf<F>& q, const ReplyContext& context) noexcept {
        const std::uint16_t sport = wire::load16(q.l4);
        const std::uint16_t dport = wire::load16(q.l4 + 2);
        const std::uint32_t seq = wire::load32(q.l4 + 4);
        if (!in_range(context.cookies->source_ports(), sport)) return reject(reply, RejectReason::wrong_source_port);
        const Cookie cookie = F::cookie(*context.cookies, q.target, dport, q.source, proto);
        if (cookie.source_port != sport || cookie.isn != seq) return reject(reply, RejectReason::bad_cookie);
        fill_result(reply, q.target, proto, dport, 0, q.ttl, PortState::filtered, q.reason);
        reply.tcp_seq = 0; // no segment from the target: nothing to reset
        reply.local_port = sport;
    }

    // ---- the lab reflector (reflect.hpp). A SYN without ACK, RST or FIN is a probe.
    template <class F = wire::Ipv4> // the same over either family
    static bool parse_probe(ReflectRequest& out, const std::uint8_t* tcp, std::size_t len) noexcept {
        if (len < tcp_len) return false;
        const std::size_t header_len = std::size_t(tcp[12] >> 4) * 4;
        if (header_len < tcp_len || header_len > len || (tcp[13] & 0x17) != 0x02) return false;
        out.proto = proto;
        out.source_port = wire::load16(tcp);
        out.destination_port = wire::load16(tcp + 2);
        out.sequence = wire::load32(tcp + 4);
        return true;
    }

    // The reflector's ISN for a connection: any deterministic value works.
    // (An IPv4 address's mapped form folds back to the address itself.)
    static std::uint32_t reflector_isn(const ReflectRequest& probe) noexcept {
        const uint128 d = probe.destination.bits;
        const auto folded = std::uint32_t(d ^ (d >> 64) ^ (d >> 96));
        return (folded * 2654435761u) ^ (std::uint32_t{probe.destination_port} << 16) ^ probe.source_port;
    }

    // Open: a SYN-ACK (MSS 1460); closed: RST+ACK, like Linux; filtered: ICMP
    // port unreachable quoting the SYN. A bad cookie flips the top bit of the
    // acknowledgment (far outside the ISN or ISN + 1 an RST may carry), or
    // quotes the sequence number with its low bit flipped.
    static std::size_t reflect(const ReflectRequest& probe, Verdict verdict, const Responder& from, std::uint8_t* out,
                               std::size_t capacity) noexcept {
        if (verdict == Verdict::filtered)
            return reflect_unreachable(probe, 3, from, std::size_t(probe.l4 - probe.ip) + 7, out, capacity);
        const bool open = verdict == Verdict::open;
        if (probe.family == AddressFamily::ipv6) {
            if (capacity < wire::l4_off6 + tcp_len + (open ? 4 : 0)) return 0;
            TcpSegment6 seg{};
            seg.source_mac = from.mac;
            seg.destination_mac = probe.source_mac;
            seg.source_ip = probe.destination.bits;
            seg.destination_ip = probe.source.bits;
            seg.source_port = probe.destination_port;
            seg.destination_port = probe.source_port;
            seg.hop_limit = 64;
            seg.acknowledgment = (probe.sequence + 1) ^ (from.bad_cookie ? 0x80000000u : 0u);
            seg.flags = open ? 0x12 : 0x14;
            seg.sequence = open ? reflector_isn(probe) : 0;
            seg.window = open ? 65535 : 0;
            seg.with_mss = open;
            return build_tcp_segment6(out, seg);
        }
        if (capacity < wire::l4_off + tcp_len + (open ? 4 : 0)) return 0; // MSS on the SYN-ACK
        TcpSegment seg{};
        seg.source_mac = from.mac;
        seg.destination_mac = probe.source_mac;
        seg.source_ip = probe.destination_ip;
        seg.destination_ip = probe.source_ip;
        seg.source_port = probe.destination_port;
        seg.destination_port = probe.source_port;
        seg.ttl = 64;
        seg.ip_id = std::uint16_t(probe.sequence);
        seg.acknowledgment = (probe.sequence + 1) ^ (from.bad_cookie ? 0x80000000u : 0u);
        if (open) {
            seg.flags = 0x12;
            seg.sequence = reflector_isn(probe);
            seg.window = 65535;
            seg.with_mss = true;
        } else {
            seg.flags = 0x14;
            seg.sequence = 0;
            seg.window = 0;
        }
        return build_tcp_segment(out, seg);
    }
};

} // namespace ws::probes
