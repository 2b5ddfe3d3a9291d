#pragma once
// Probe module: UDP with a payload per slot (nmap's nmap-payloads, or
// --udp-payload). A datagram back from the probed port is `open`
// (udp-response, its first bytes kept), ICMP port unreachable from the target
// itself `closed`, any other unreachable (port unreachable from a router
// included) `filtered`; silence is open|filtered, which the scan reports at
// its end. The cookie gives the source port, the IP ID and, for DNS (port
// 53), the transaction ID the answer must echo.
#include "wirespeed/cookie.hpp"
#include "wirespeed/probe.hpp"
#include "wirespeed/reflect.hpp"
#include "wirespeed/probes/wire.hpp"
#include "wirespeed/reply.hpp"

namespace ws::probes {

struct Udp {
    static constexpr ProbeKind kind = ProbeKind::udp;
    static constexpr Proto proto = Proto::udp;
    static constexpr std::uint8_t ip_protocol = wire::proto_udp;
    static constexpr std::uint8_t ip_protocol6 = wire::proto_udp;
    static constexpr const char* name = "udp";

    static constexpr std::size_t udp_len = 8;
    static constexpr std::size_t sport_at = wire::l4_off + 0;
    static constexpr std::size_t dport_at = wire::l4_off + 2;
    static constexpr std::size_t sum_at = wire::l4_off + 6;
    static constexpr std::uint16_t dns_port = 53;
    static constexpr std::size_t dns_header_len = 12;
    // Bytes of a UDP reply kept with the result (DNS version, NTP, sysDescr...).
    static constexpr std::size_t kept_bytes = 512;

    // DNS queries carry the cookie's transaction ID in their first two bytes.
    static bool carries_dns_id(std::uint16_t port, std::size_t payload_len) noexcept {
        return port == dns_port && payload_len >= dns_header_len;
    }

    // One template per distinct payload: the destination port is patched.
    template <class F = wire::Ipv4>
    static void build(ProbeTemplate& t, const ProbeConfig& config, const ProbeSlot& slot, const std::uint8_t* payload,
                      std::size_t payload_len) noexcept {
        // The frame holds max_payload behind either family's headers.
        if (payload_len > ProbeTemplate::max_payload) payload_len = ProbeTemplate::max_payload;
        std::uint8_t* f = t.frame_;
        wire::put_ethernet(f, config.destination_mac, config.source_mac, F::ethertype);
        const std::size_t datagram_len = udp_len + payload_len;
        F::put_header(f + wire::ip_off, datagram_len, config.ttl, wire::proto_udp, F::source(config), 0);
        std::uint8_t* udp = f + F::l4_off;
        wire::put16(udp + 0, 0); // source port: per probe
        wire::put16(udp + 2, 0); // destination port: per probe
        wire::put16(udp + 4, std::uint16_t(datagram_len));
        wire::put16(udp + 6, 0);
        if (payload_len) std::memcpy(udp + udp_len, payload, payload_len);
        t.app_id_at_ = -1;
        if (carries_dns_id(slot.port, payload_len)) {
            t.app_id_at_ = std::int16_t(F::l4_off + udp_len);
            wire::put16(f + t.app_id_at_, 0); // per probe, so out of the partial sum
        }
        t.size_ = F::l4_off + datagram_len;
        const std::uint32_t pseudo = F::pseudo_sum(F::source(config), 0, wire::proto_udp, datagram_len);
        t.kind_ = kind;
        t.family_ = F::family;
        t.l4_checksum_ = L4Checksum::udp;
        t.ip_sum_base_ = F::header_sum(f + wire::ip_off);
        t.l4_sum_base_ = wire::fold16(ones_sum(udp, datagram_len, pseudo));
        t.pseudo_sum_base_ = wire::fold16(pseudo);
    }

    static std::uint16_t dns_id(std::uint32_t sequence) noexcept { return std::uint16_t(sequence); }

    template <class F, bool Offload>
    static void patch_as(std::uint8_t* frame, const ProbeTemplate& t, const typename F::Fields& p) noexcept {
        const std::uint32_t dst = F::template patch_header<Offload>(frame, t, p);
        constexpr std::size_t shift = F::l4_off - wire::l4_off; // 0 for IPv4, 20 for IPv6
        wire::put16(frame + shift + sport_at, p.source_port);
        wire::put16(frame + shift + dport_at, p.destination_port);
        std::uint32_t app = 0;
        if (t.app_id_at_ >= 0) { // already the family's offset
            app = dns_id(p.sequence);
            wire::put16(frame + t.app_id_at_, std::uint16_t(app));
        }
        if constexpr (Offload) {
            wire::put16(frame + shift + sum_at, std::uint16_t(wire::fold16(t.pseudo_sum_base_ + dst)));
        } else {
            const std::uint16_t sum = wire::finish(t.l4_sum_base_ + dst + p.source_port + p.destination_port + app);
            wire::put16(frame + shift + sum_at, sum ? sum : 0xffff); // 0 means "no checksum" in UDP
        }
    }
    template <bool Offload>
    static void patch(std::uint8_t* frame, const ProbeTemplate& t, const ProbeFields& p) noexcept {
        patch_as<wire::Ipv4, Offload>(frame, t, p);
    }
    template <bool Offload>
    static void patch6(std::uint8_t* frame, const ProbeTemplate& t, const ProbeFields6& p) noexcept {
        patch_as<wire::Ipv6, Offload>(frame, t, p);
    }

    template <class F>
    static void classify(ParsedReply& reply, const L4ReplyOf<F>& in, const ReplyContext& context) noexcept {
        const std::uint8_t* udp = in.l4;
        if (in.len < udp_len) return reject(reply, RejectReason::truncated);
        const std::size_t length = wire::load16(udp + 4);
        if (length < udp_len || length > in.len) return reject(reply, RejectReason::truncated);
        // A zero checksum is "none" over IPv4 (RFC 768) and invalid over
        // IPv6 (RFC 8200 8.1); any other is checked.
        const bool no_checksum = wire::load16(udp + 6) == 0;
        if (!F::udp_zero_checksum_ok && no_checksum) return reject(reply, RejectReason::bad_udp_checksum);
        if (in.l4_hint == ChecksumHint::bad ||
            (in.l4_hint == ChecksumHint::unknown && !no_checksum &&
             !checksum_ok(udp, length, F::pseudo_sum(in.source, in.destination, wire::proto_udp, length))))
            return reject(reply, RejectReason::bad_udp_checksum);
        const std::uint16_t sport = wire::load16(udp);
        const std::uint16_t dport = wire::load16(udp + 2);
        if (!in_range(context.cookies->source_ports(), dport)) return reject(reply, RejectReason::wrong_source_port);
        const Cookie cookie = F::cookie(*context.cookies, in.source, sport, in.destination, proto);
        if (cookie.source_port != dport) return reject(reply, RejectReason::bad_cookie);
        const std::uint8_t* data = udp + udp_len;
        const std::size_t data_len = length - udp_len;
        if (sport == dns_port && context.udp_dns_id &&
            (data_len < 2 || wire::load16(data) != dns_id(cookie.isn)))
            return reject(reply, RejectReason::bad_cookie);
        fill_result(reply, in.source, proto, sport, 0, in.ttl, PortState::open, Reason::udp_response);
        reply.local_port = dport;
        reply.data = data;
        reply.data_len = std::uint16_t(data_len < kept_bytes ? data_len : kept_bytes);
    }

    template <class F>
    static void classify_quote(ParsedReply& reply, const QuotedProbeOf<F>& q, const ReplyContext& context) noexcept {
        const std::uint16_t sport = wire::load16(q.l4);
        const std::uint16_t dport = wire::load16(q.l4 + 2);
        if (!in_range(context.cookies->source_ports(), sport)) return reject(reply, RejectReason::wrong_source_port);
        const Cookie cookie = F::cookie(*context.cookies, q.target, dport, q.source, proto);
        // The quoted IP ID (IPv6: the flow label's low 16 bits) is ours too:
        // 16 more bits than the source port alone.
        if (cookie.source_port != sport || F::quoted_ip_id(q.ip) != cookie.ip_id)
            return reject(reply, RejectReason::bad_cookie);
        // nmap's rule: port unreachable from the target itself is a closed
        // port; from anyone else (a firewall rejecting on the target's
        // behalf) the port is filtered, reason still port-unreach.
        const bool closed = q.reason == Reason::port_unreach && q.from == q.target;
        fill_result(reply, q.target, proto, dport, 0, q.ttl, closed ? PortState::closed : PortState::filtered, q.reason);
        reply.local_port = sport;
    }

    // ---- the lab reflector (reflect.hpp). Any datagram whose length fits is a probe.
    template <class F = wire::Ipv4> // the same over either family
    static bool parse_probe(ReflectRequest& out, const std::uint8_t* udp, std::size_t len) noexcept {
        if (len < udp_len) return false;
        const std::size_t length = wire::load16(udp + 4);
        if (length < udp_len || length > len) return false;
        out.proto = proto;
        out.source_port = wire::load16(udp);
        out.destination_port = wire::load16(udp + 2);
        out.payload = length > udp_len ? udp + udp_len : nullptr;
        out.payload_len = length - udp_len;
        return true;
    }

    // Open: a datagram from the probed port back to the probe's source port
    // echoing its payload (so a DNS query's ID comes back); closed: ICMP port
    // unreachable, filtered: ICMP admin-prohibited (code 13), each quoting the
    // probe. A bad cookie answers source port ^ 1 (inside any source-port
    // range that starts even and ends odd, like the default), or quotes the
    // probe's IP ID with its low bit flipped.
    static std::size_t reflect(const ReflectRequest& probe, Verdict verdict, const Responder& from, std::uint8_t* out,
                               std::size_t capacity) noexcept {
        // The byte of the quote that carries the cookie's IP ID: the IPv4 ID's
        // low byte, the IPv6 flow label's.
        const std::size_t quoted_ip_id_low = probe.family == AddressFamily::ipv6 ? 3 : 5;
        if (verdict != Verdict::open)
            return reflect_unreachable(probe, verdict == Verdict::closed ? 3 : 13, from, quoted_ip_id_low, out, capacity);
        return probe.family == AddressFamily::ipv6 ? answer<wire::Ipv6>(probe, from, out, capacity)
                                                   : answer<wire::Ipv4>(probe, from, out, capacity);
    }

    template <class F>
    static std::size_t answer(const ReflectRequest& probe, const Responder& from, std::uint8_t* out,
                              std::size_t capacity) noexcept {
        const std::size_t datagram_len = udp_len + probe.payload_len;
        if (capacity < F::l4_off + datagram_len || datagram_len > F::max_l4_len) return 0;
        const auto us = F::of(probe.destination), them = F::of(probe.source);
        wire::put_ethernet(out, probe.source_mac, from.mac, F::ethertype);
        F::put_header(out + wire::ip_off, datagram_len, 64, wire::proto_udp, us, them);
        F::finish_header(out + wire::ip_off);
        std::uint8_t* udp = out + F::l4_off;
        wire::put16(udp + 0, probe.destination_port);
        wire::put16(udp + 2, std::uint16_t(probe.source_port ^ (from.bad_cookie ? 1 : 0)));
        wire::put16(udp + 4, std::uint16_t(datagram_len));
        wire::put16(udp + 6, 0);
        if (probe.payload_len) std::memcpy(udp + udp_len, probe.payload, probe.payload_len);
        const std::uint16_t sum =
            wire::finish(ones_sum(udp, datagram_len, F::pseudo_sum(us, them, wire::proto_udp, datagram_len)));
        wire::put16(udp + 6, sum ? sum : 0xffff);
        return F::l4_off + datagram_len;
    }
};

} // namespace ws::probes
