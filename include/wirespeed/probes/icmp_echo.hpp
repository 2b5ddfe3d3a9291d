#pragma once
// Probe module: ICMP echo (--ping), one slot per host (port 0). An echo
// reply is the host `up` (echo-reply); an unreachable quoting the echo means
// something answers for the host but filters it (`filtered`). Identifier and
// sequence number come from the cookie's 32 bits, so a reply validates like
// a SYN-ACK does. Over IPv6 it is ICMPv6 echo (types 128/129, next header
// 58), whose checksum covers the IPv6 pseudo header too.
#include "wirespeed/cookie.hpp"
#include "wirespeed/probe.hpp"
#include "wirespeed/reflect.hpp"
#include "wirespeed/probes/wire.hpp"
#include "wirespeed/reply.hpp"

namespace ws::probes {

struct IcmpEcho {
    static constexpr ProbeKind kind = ProbeKind::icmp_echo;
    static constexpr Proto proto = Proto::icmp;
    static constexpr std::uint8_t ip_protocol = wire::proto_icmp;
    static constexpr std::uint8_t ip_protocol6 = wire::proto_icmpv6; // ICMPv6 echo
    static constexpr const char* name = "icmp_echo";

    static constexpr std::size_t icmp_len = 8; // no data: what nmap's -PE sends
    static constexpr std::uint8_t type_echo_reply = 0;
    static constexpr std::uint8_t type_echo_request = 8;
    static constexpr std::size_t sum_at = wire::l4_off + 2;
    static constexpr std::size_t id_at = wire::l4_off + 4;
    static constexpr std::size_t seq_at = wire::l4_off + 6;

    static std::uint16_t identifier(std::uint32_t sequence) noexcept { return std::uint16_t(sequence >> 16); }
    static std::uint16_t echo_sequence(std::uint32_t sequence) noexcept { return std::uint16_t(sequence); }

    template <class F = wire::Ipv4>
    static void build(ProbeTemplate& t, const ProbeConfig& config, const ProbeSlot&, const std::uint8_t*, std::size_t) noexcept {
        std::uint8_t* f = t.frame_;
        wire::put_ethernet(f, config.destination_mac, config.source_mac, F::ethertype);
        F::put_header(f + wire::ip_off, icmp_len, config.ttl, F::icmp_protocol, F::source(config), 0);
        std::uint8_t* icmp = f + F::l4_off;
        std::memset(icmp, 0, icmp_len);
        icmp[0] = F::echo_request;
        t.size_ = F::l4_off + icmp_len;
        t.kind_ = kind;
        t.family_ = F::family;
        t.l4_checksum_ = L4Checksum::none; // no NIC offloads ICMP: always finished here
        t.ip_sum_base_ = F::header_sum(f + wire::ip_off);
        const std::uint32_t pseudo =
            F::icmp_pseudo_header ? F::pseudo_sum(F::source(config), 0, F::icmp_protocol, icmp_len) : 0;
        t.l4_sum_base_ = wire::fold16(ones_sum(icmp, icmp_len, pseudo));
        t.pseudo_sum_base_ = 0;
    }

    template <class F, bool Offload>
    static void patch_as(std::uint8_t* frame, const ProbeTemplate& t, const typename F::Fields& p) noexcept {
        const std::uint32_t dst = F::template patch_header<Offload>(frame, t, p);
        constexpr std::size_t shift = F::l4_off - wire::l4_off; // 0 for IPv4, 20 for IPv6
        const std::uint16_t id = identifier(p.sequence), seq = echo_sequence(p.sequence);
        wire::put16(frame + shift + id_at, id);
        wire::put16(frame + shift + seq_at, seq);
        // ICMPv6 sums the destination address (pseudo header); ICMPv4 does not.
        const std::uint32_t sum = t.l4_sum_base_ + id + seq;
        wire::put16(frame + shift + sum_at, wire::finish(F::icmp_pseudo_header ? sum + dst : sum));
    }
    template <bool Offload>
    static void patch(std::uint8_t* frame, const ProbeTemplate& t, const ProbeFields& p) noexcept {
        patch_as<wire::Ipv4, Offload>(frame, t, p);
    }
    template <bool Offload>
    static void patch6(std::uint8_t* frame, const ProbeTemplate& t, const ProbeFields6& p) noexcept {
        patch_as<wire::Ipv6, Offload>(frame, t, p);
    }

    // An ICMP message that is not an error (parse_reply sends unreachables to
    // the quote path): only an echo reply to our own request is a result.
    // ICMPv4's checksum is verified here; ICMPv6's (pseudo header included)
    // was verified by parse_reply before it looked at the type.
    template <class F>
    static void classify(ParsedReply& reply, const L4ReplyOf<F>& in, const ReplyContext& context) noexcept {
        const std::uint8_t* icmp = in.l4;
        if (in.len < icmp_len) return reject(reply, RejectReason::truncated);
        if (!F::icmp_pseudo_header && !checksum_ok(icmp, in.len)) return reject(reply, RejectReason::bad_icmp_checksum);
        if (icmp[0] != F::echo_reply || icmp[1] != 0) return reject(reply, RejectReason::icmp_not_unreach);
        const Cookie cookie = F::cookie(*context.cookies, in.source, 0, in.destination, proto);
        if (wire::load16(icmp + 4) != identifier(cookie.isn) || wire::load16(icmp + 6) != echo_sequence(cookie.isn))
            return reject(reply, RejectReason::bad_cookie);
        fill_result(reply, in.source, proto, 0, 0, in.ttl, PortState::up, Reason::echo_reply);
        reply.local_port = 0;
    }

    template <class F>
    static void classify_quote(ParsedReply& reply, const QuotedProbeOf<F>& q, const ReplyContext& context) noexcept {
        if (q.l4[0] != F::echo_request) return reject(reply, RejectReason::bad_cookie);
        const Cookie cookie = F::cookie(*context.cookies, q.target, 0, q.source, proto);
        if (wire::load16(q.l4 + 4) != identifier(cookie.isn) || wire::load16(q.l4 + 6) != echo_sequence(cookie.isn))
            return reject(reply, RejectReason::bad_cookie);
        fill_result(reply, q.target, proto, 0, 0, q.ttl, PortState::filtered, q.reason);
        reply.local_port = 0;
    }

    // ---- the lab reflector (reflect.hpp). An echo request (code 0) is a probe.
    template <class F = wire::Ipv4>
    static bool parse_probe(ReflectRequest& out, const std::uint8_t* icmp, std::size_t len) noexcept {
        if (len < icmp_len || icmp[0] != F::echo_request || icmp[1] != 0) return false;
        out.proto = proto;
        out.sequence = wire::load32(icmp + 4); // identifier, sequence number
        out.payload = len > icmp_len ? icmp + icmp_len : nullptr;
        out.payload_len = len - icmp_len;
        return true;
    }

    // Open (up): an echo reply with the request's identifier, sequence number
    // and data; filtered: ICMP host unreachable (ICMPv6 address unreachable)
    // quoting the request; closed: silence. A bad cookie flips the
    // identifier's low bit (in the reply or the quote).
    static std::size_t reflect(const ReflectRequest& probe, Verdict verdict, const Responder& from, std::uint8_t* out,
                               std::size_t capacity) noexcept {
        if (verdict == Verdict::closed) return 0;
        if (verdict == Verdict::filtered)
            return reflect_unreachable(probe, 1, from, std::size_t(probe.l4 - probe.ip) + 5, out, capacity);
        return probe.family == AddressFamily::ipv6 ? answer<wire::Ipv6>(probe, from, out, capacity)
                                                   : answer<wire::Ipv4>(probe, from, out, capacity);
    }

    template <class F>
    static std::size_t answer(const ReflectRequest& probe, const Responder& from, std::uint8_t* out,
                              std::size_t capacity) noexcept {
        const std::size_t message_len = icmp_len + probe.payload_len;
        if (capacity < F::l4_off + message_len || message_len > F::max_l4_len) return 0;
        const auto us = F::of(probe.destination), them = F::of(probe.source);
        wire::put_ethernet(out, probe.source_mac, from.mac, F::ethertype);
        F::put_header(out + wire::ip_off, message_len, 64, F::icmp_protocol, us, them, false);
        F::finish_header(out + wire::ip_off);
        std::uint8_t* icmp = out + F::l4_off;
        icmp[0] = F::echo_reply;
        icmp[1] = 0;
        wire::put16(icmp + 2, 0);
        wire::put32(icmp + 4, probe.sequence ^ (from.bad_cookie ? 0x10000u : 0u));
        if (probe.payload_len) std::memcpy(icmp + icmp_len, probe.payload, probe.payload_len);
        const std::uint32_t pseudo = F::icmp_pseudo_header ? F::pseudo_sum(us, them, F::icmp_protocol, message_len) : 0;
        wire::put16(icmp + 2, wire::finish(ones_sum(icmp, message_len, pseudo)));
        return F::l4_off + message_len;
    }
};

} // namespace ws::probes
