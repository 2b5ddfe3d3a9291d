#pragma once
// Probe module: ICMP echo (--ping), one slot per host (port 0). An echo
// reply is the host `up` (echo-reply); an unreachable quoting the echo means
// something answers for the host but filters it (`filtered`). Identifier and
// sequence number come from the cookie's 32 bits, so a reply validates like
// a SYN-ACK does.
#include "wirespeed/cookie.hpp"
#include "wirespeed/probe.hpp"
#include "wirespeed/probes/wire.hpp"
#include "wirespeed/reply.hpp"

namespace ws::probes {

struct IcmpEcho {
    static constexpr ProbeKind kind = ProbeKind::icmp_echo;
    static constexpr Proto proto = Proto::icmp;
    static constexpr std::uint8_t ip_protocol = wire::proto_icmp;
    static constexpr const char* name = "icmp_echo";

    static constexpr std::size_t icmp_len = 8; // no data: what nmap's -PE sends
    static constexpr std::uint8_t type_echo_reply = 0;
    static constexpr std::uint8_t type_echo_request = 8;
    static constexpr std::size_t sum_at = wire::l4_off + 2;
    static constexpr std::size_t id_at = wire::l4_off + 4;
    static constexpr std::size_t seq_at = wire::l4_off + 6;

    static std::uint16_t identifier(std::uint32_t sequence) noexcept { return std::uint16_t(sequence >> 16); }
    static std::uint16_t echo_sequence(std::uint32_t sequence) noexcept { return std::uint16_t(sequence); }

    static void build(ProbeTemplate& t, const ProbeConfig& config, const ProbeSlot&, const std::uint8_t*, std::size_t) noexcept {
        std::uint8_t* f = t.frame_;
        wire::put_ethernet(f, config.destination_mac, config.source_mac, wire::ethertype_ipv4);
        wire::put_ipv4(f + wire::ip_off, std::uint16_t(wire::ip_len + icmp_len), 0, wire::ip_flag_df, config.ttl,
                       wire::proto_icmp, config.source_ip, 0);
        std::uint8_t* icmp = f + wire::l4_off;
        std::memset(icmp, 0, icmp_len);
        icmp[0] = type_echo_request;
        t.size_ = wire::l4_off + icmp_len;
        t.kind_ = kind;
        t.l4_checksum_ = L4Checksum::none; // no NIC offloads ICMP: always finished here
        t.ip_sum_base_ = wire::fold16(ones_sum(f + wire::ip_off, wire::ip_len));
        t.l4_sum_base_ = wire::fold16(ones_sum(icmp, icmp_len));
        t.pseudo_sum_base_ = 0;
    }

    template <bool Offload>
    static void patch(std::uint8_t* frame, const ProbeTemplate& t, const ProbeFields& p) noexcept {
        wire::patch_ipv4<Offload>(frame, t.ip_sum_base_, p.destination_ip, p.ip_id);
        const std::uint16_t id = identifier(p.sequence), seq = echo_sequence(p.sequence);
        wire::put16(frame + id_at, id);
        wire::put16(frame + seq_at, seq);
        wire::put16(frame + sum_at, wire::finish(t.l4_sum_base_ + id + seq));
    }

    // An ICMP message that is not an error (parse_reply sends type 3 to the
    // quote path): only an echo reply to our own request is a result.
    static void classify(ParsedReply& reply, const L4Reply& in, const ReplyContext& context) noexcept {
        const std::uint8_t* icmp = in.l4;
        if (in.len < icmp_len) return reject(reply, RejectReason::truncated);
        if (!checksum_ok(icmp, in.len)) return reject(reply, RejectReason::bad_icmp_checksum);
        if (icmp[0] != type_echo_reply || icmp[1] != 0) return reject(reply, RejectReason::icmp_not_unreach);
        const Cookie cookie = context.cookies->make(in.source, 0, context.source_ip, proto);
        if (wire::load16(icmp + 4) != identifier(cookie.isn) || wire::load16(icmp + 6) != echo_sequence(cookie.isn))
            return reject(reply, RejectReason::bad_cookie);
        fill_result(reply, in.source, proto, 0, 0, in.ttl, PortState::up, Reason::echo_reply);
        reply.local_port = 0;
    }

    static void classify_quote(ParsedReply& reply, const QuotedProbe& q, const ReplyContext& context) noexcept {
        if (q.l4[0] != type_echo_request) return reject(reply, RejectReason::bad_cookie);
        const Cookie cookie = context.cookies->make(q.target, 0, context.source_ip, proto);
        if (wire::load16(q.l4 + 4) != identifier(cookie.isn) || wire::load16(q.l4 + 6) != echo_sequence(cookie.isn))
            return reject(reply, RejectReason::bad_cookie);
        fill_result(reply, q.target, proto, 0, 0, q.ttl, PortState::filtered, reason_from_unreach_code(q.code));
        reply.local_port = 0;
    }
};

} // namespace ws::probes
