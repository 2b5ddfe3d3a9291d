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
    static void build(ProbeTemplate& t, const ProbeConfig& config, const ProbeSlot& slot, const std::uint8_t* payload,
                      std::size_t payload_len) noexcept {
        if (payload_len > ProbeTemplate::max_payload) payload_len = ProbeTemplate::max_payload;
        std::uint8_t* f = t.frame_;
        wire::put_ethernet(f, config.destination_mac, config.source_mac, wire::ethertype_ipv4);
        const std::size_t datagram_len = udp_len + payload_len;
        wire::put_ipv4(f + wire::ip_off, std::uint16_t(wire::ip_len + datagram_len), 0, wire::ip_flag_df, config.ttl,
                       wire::proto_udp, config.source_ip, 0);
        std::uint8_t* udp = f + wire::l4_off;
        wire::put16(udp + 0, 0); // source port: per probe
        wire::put16(udp + 2, 0); // destination port: per probe
        wire::put16(udp + 4, std::uint16_t(datagram_len));
        wire::put16(udp + 6, 0);
        if (payload_len) std::memcpy(udp + udp_len, payload, payload_len);
        t.app_id_at_ = -1;
        if (carries_dns_id(slot.port, payload_len)) {
            t.app_id_at_ = std::int16_t(wire::l4_off + udp_len);
            wire::put16(f + t.app_id_at_, 0); // per probe, so out of the partial sum
        }
        t.size_ = wire::l4_off + datagram_len;
        const std::uint32_t pseudo = pseudo_header_sum(config.source_ip, 0, wire::proto_udp, datagram_len);
        t.kind_ = kind;
        t.l4_checksum_ = L4Checksum::udp;
        t.ip_sum_base_ = wire::fold16(ones_sum(f + wire::ip_off, wire::ip_len));
        t.l4_sum_base_ = wire::fold16(ones_sum(udp, datagram_len, pseudo));
        t.pseudo_sum_base_ = wire::fold16(pseudo);
    }

    static std::uint16_t dns_id(std::uint32_t sequence) noexcept { return std::uint16_t(sequence); }

    template <bool Offload>
    static void patch(std::uint8_t* frame, const ProbeTemplate& t, const ProbeFields& p) noexcept {
        wire::patch_ipv4<Offload>(frame, t.ip_sum_base_, p.destination_ip, p.ip_id);
        wire::put16(frame + sport_at, p.source_port);
        wire::put16(frame + dport_at, p.destination_port);
        std::uint32_t app = 0;
        if (t.app_id_at_ >= 0) {
            app = dns_id(p.sequence);
            wire::put16(frame + t.app_id_at_, std::uint16_t(app));
        }
        const std::uint32_t dst = wire::address_sum(p.destination_ip);
        if constexpr (Offload) {
            wire::put16(frame + sum_at, std::uint16_t(wire::fold16(t.pseudo_sum_base_ + dst)));
        } else {
            const std::uint16_t sum = wire::finish(t.l4_sum_base_ + dst + p.source_port + p.destination_port + app);
            wire::put16(frame + sum_at, sum ? sum : 0xffff); // 0 means "no checksum" in UDP
        }
    }

    static void classify(ParsedReply& reply, const L4Reply& in, const ReplyContext& context) noexcept {
        const std::uint8_t* udp = in.l4;
        if (in.len < udp_len) return reject(reply, RejectReason::truncated);
        const std::size_t length = wire::load16(udp + 4);
        if (length < udp_len || length > in.len) return reject(reply, RejectReason::truncated);
        // A zero checksum is "none" over IPv4 (RFC 768); any other is checked.
        if (in.l4_hint == ChecksumHint::bad ||
            (in.l4_hint == ChecksumHint::unknown && wire::load16(udp + 6) != 0 &&
             !checksum_ok(udp, length, pseudo_header_sum(in.source, context.source_ip, wire::proto_udp, length))))
            return reject(reply, RejectReason::bad_udp_checksum);
        const std::uint16_t sport = wire::load16(udp);
        const std::uint16_t dport = wire::load16(udp + 2);
        if (!in_range(context.cookies->source_ports(), dport)) return reject(reply, RejectReason::wrong_source_port);
        const Cookie cookie = context.cookies->make(in.source, sport, context.source_ip, proto);
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

    static void classify_quote(ParsedReply& reply, const QuotedProbe& q, const ReplyContext& context) noexcept {
        const std::uint16_t sport = wire::load16(q.l4);
        const std::uint16_t dport = wire::load16(q.l4 + 2);
        if (!in_range(context.cookies->source_ports(), sport)) return reject(reply, RejectReason::wrong_source_port);
        const Cookie cookie = context.cookies->make(q.target, dport, context.source_ip, proto);
        // The quoted IP ID is ours too: 16 more bits than the source port alone.
        if (cookie.source_port != sport || wire::load16(q.ip + 4) != cookie.ip_id)
            return reject(reply, RejectReason::bad_cookie);
        // nmap's rule: port unreachable from the target itself is a closed
        // port; from anyone else (a firewall rejecting on the target's
        // behalf) the port is filtered, reason still port-unreach.
        const bool closed = q.code == 3 && q.from == q.target;
        fill_result(reply, q.target, proto, dport, 0, q.ttl, closed ? PortState::closed : PortState::filtered,
                    reason_from_unreach_code(q.code));
        reply.local_port = sport;
    }

    // ---- the lab reflector (reflect.hpp). Any datagram whose length fits is a probe.
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
        constexpr std::size_t quoted_ip_id_low = 5;
        if (verdict != Verdict::open)
            return reflect_unreachable(probe, verdict == Verdict::closed ? 3 : 13, from, quoted_ip_id_low, out, capacity);
        const std::size_t datagram_len = udp_len + probe.payload_len;
        if (capacity < wire::l4_off + datagram_len || wire::ip_len + datagram_len > 0xffff) return 0;
        wire::put_ethernet(out, probe.source_mac, from.mac, wire::ethertype_ipv4);
        wire::put_ipv4(out + wire::ip_off, std::uint16_t(wire::ip_len + datagram_len), 0, wire::ip_flag_df, 64,
                       wire::proto_udp, probe.destination_ip, probe.source_ip);
        wire::put16(out + wire::ip_sum_at, wire::finish(ones_sum(out + wire::ip_off, wire::ip_len)));
        std::uint8_t* udp = out + wire::l4_off;
        wire::put16(udp + 0, probe.destination_port);
        wire::put16(udp + 2, std::uint16_t(probe.source_port ^ (from.bad_cookie ? 1 : 0)));
        wire::put16(udp + 4, std::uint16_t(datagram_len));
        wire::put16(udp + 6, 0);
        if (probe.payload_len) std::memcpy(udp + udp_len, probe.payload, probe.payload_len);
        const std::uint16_t sum = wire::finish(
            ones_sum(udp, datagram_len, pseudo_header_sum(probe.destination_ip, probe.source_ip, wire::proto_udp, datagram_len)));
        wire::put16(udp + 6, sum ? sum : 0xffff);
        return wire::l4_off + datagram_len;
    }
};

} // namespace ws::probes
