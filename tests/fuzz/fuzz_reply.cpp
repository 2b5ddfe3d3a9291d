// libFuzzer target for the reply parser: arbitrary bytes must never read past
// len, and whatever comes back must be internally consistent. Random bytes
// almost never carry valid checksums, so each input is also parsed with its
// IPv4 / TCP / UDP / ICMP checksums fixed up (by the byte-wise reference sum)
// and with the NIC's "already verified" hints: mutations behind the checksum
// checks stay reachable. The fast RX sum is held against the reference on
// every input, and a result from the raw bytes must verify by the reference.
// Every result is checked against the frame it came from: which protocol
// carried it, which states and reasons that protocol can give, and where a
// UDP answer's data lies. IPv6 the same way (extension headers walked as the
// parser walks them, results only for our IPv6 source), and NDP only from
// hop-limit-255 ICMPv6 of its types.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "wirespeed/checksum.hpp"
#include "wirespeed/probe.hpp"
#include "wirespeed/reply.hpp"
#include "wirespeed/sources.hpp"

namespace {

// Must match the key, range and address the seed corpus was generated with,
// or the valid seeds would all die at the cookie check.
const ws::CookieMaker cookies{ws::CookieKey{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull},
                              ws::PortRange{40000, 40999}};
constexpr std::uint32_t source_ip = 0x0a000001; // 10.0.0.1

void check(bool ok) {
    if (!ok)
        __builtin_trap();
}

std::uint16_t load16(const std::uint8_t* p) { return std::uint16_t((p[0] << 8) | p[1]); }
void store16(std::uint8_t* p, std::uint16_t v) {
    p[0] = std::uint8_t(v >> 8);
    p[1] = std::uint8_t(v);
}

// Where the IPv4 packet is, if the frame holds a plausible one: the bounds
// the parser itself checks, so fix-ups never write past size.
struct Layout {
    std::size_t ip = 0, ihl = 0, total = 0;
};
bool layout(const std::uint8_t* f, std::size_t size, Layout& out) {
    if (size < 14) return false;
    std::size_t ip = 14;
    std::uint16_t type = load16(f + 12);
    if (type == 0x8100) {
        if (size < 18) return false;
        type = load16(f + 16);
        ip = 18;
    }
    if (type != 0x0800 || size < ip + 20) return false;
    const std::size_t ihl = std::size_t(f[ip] & 0x0f) * 4;
    const std::size_t total = load16(f + ip + 2);
    if ((f[ip] >> 4) != 4 || ihl < 20 || ihl > total || ip + total > size) return false;
    out = {ip, ihl, total};
    return true;
}

std::uint32_t load32(const std::uint8_t* p) { return (std::uint32_t(load16(p)) << 16) | load16(p + 2); }

constexpr std::uint8_t ip_icmp = 1, ip_tcp = 6, ip_udp = 17;

// An ICMP error's quote: the probe of `protocol` we sent to the result's address.
bool quoted(const std::uint8_t* icmp, std::uint8_t protocol, const ws::ResultRecord& rec) {
    const std::uint8_t* q = icmp + 8;
    return q[9] == protocol && load32(q + 12) == source_ip && load32(q + 16) == rec.ipv4();
}

bool unreach_reason(ws::Reason r) { return r >= ws::Reason::port_unreach && r <= ws::Reason::unreach_other; }

// A result, against the frame it came from (`l`: the parser accepted the
// IPv4 packet, so the layout exists).
void check_result(const ws::ParsedReply& r, const std::uint8_t* f, std::size_t size, const Layout& l) {
    const ws::ResultRecord& rec = r.record;
    const std::uint8_t* ip = f + l.ip;
    const std::uint8_t* l4 = ip + l.ihl;
    const std::uint8_t outer = ip[9];
    check(rec.family == ws::AddressFamily::ipv4);
    check(rec.elapsed_ms == 0);
    check(rec.reserved[0] == 0 && rec.reserved[1] == 0 && rec.reserved[2] == 0);
    const bool our_port = r.local_port >= 40000 && r.local_port <= 40999;
    // Data only with an open UDP port; everything else carries none.
    if (r.data != nullptr || r.data_len != 0)
        check(rec.proto == ws::Proto::udp && rec.state == ws::PortState::open);
    // A TCP sequence to reset only from a SYN-ACK or RST.
    if (r.tcp_seq != 0) check(rec.proto == ws::Proto::tcp && outer == ip_tcp);
    switch (rec.proto) {
    case ws::Proto::tcp:
        check(our_port);
        if (outer == ip_tcp) {
            // A SYN-ACK or RST from the replying address itself.
            check((rec.state == ws::PortState::open && rec.reason == ws::Reason::syn_ack) ||
                  (rec.state == ws::PortState::closed && rec.reason == ws::Reason::reset));
            check(rec.ipv4() == load32(ip + 12));
        } else {
            check(outer == ip_icmp && l4[0] == 3 && quoted(l4, ip_tcp, rec)); // an unreachable quoting our SYN
            check(rec.state == ws::PortState::filtered && unreach_reason(rec.reason) && rec.window == 0);
        }
        break;
    case ws::Proto::udp:
        check(our_port);
        check(rec.window == 0);
        if (outer == ip_udp) {
            check(rec.state == ws::PortState::open && rec.reason == ws::Reason::udp_response);
            check(rec.ipv4() == load32(ip + 12) && rec.port == load16(l4));
            // The datagram's own bytes after its header, up to its UDP length
            // (never Ethernet padding or bytes past it), at most 512.
            const std::size_t udp_length = load16(l4 + 4);
            check(udp_length >= 8 && udp_length <= l.total - l.ihl);
            const std::size_t want = udp_length - 8 < 512 ? udp_length - 8 : 512;
            check(r.data == l4 + 8 && r.data_len == want);
            check(r.data_len <= ws::ResultWithData::max_data);
            check(r.data >= f && r.data + r.data_len <= f + size);
        } else {
            check(outer == ip_icmp && l4[0] == 3 && quoted(l4, ip_udp, rec));
            // Port unreachable from the target itself is a closed UDP port;
            // from anyone else, and every other code, filtered.
            check(unreach_reason(rec.reason) && (rec.reason == ws::Reason::port_unreach) == (l4[1] == 3));
            if (l4[1] == 3 && load32(ip + 12) == rec.ipv4())
                check(rec.state == ws::PortState::closed);
            else
                check(rec.state == ws::PortState::filtered);
        }
        break;
    case ws::Proto::icmp:
        check(outer == ip_icmp);
        check(rec.port == 0 && r.local_port == 0 && rec.window == 0);
        if (l4[0] == 0) {
            check(rec.state == ws::PortState::up && rec.reason == ws::Reason::echo_reply);
            check(rec.ipv4() == load32(ip + 12));
        } else {
            check(l4[0] == 3 && quoted(l4, ip_icmp, rec)); // an unreachable quoting our echo request
            check(rec.state == ws::PortState::filtered && unreach_reason(rec.reason));
        }
        break;
    default: check(false);
    }
    // `up` is an echo reply and nothing else.
    if (rec.state == ws::PortState::up) check(rec.proto == ws::Proto::icmp && rec.port == 0);
}

// ---- IPv6

// Our IPv6 source (the seeds' replies go to it).
const ws::uint128 source_ip6 = (ws::uint128{0x20010db800000000ull} << 64) | 1; // 2001:db8::1
constexpr std::uint8_t ip_icmpv6 = 58;

ws::uint128 load128(const std::uint8_t* p) {
    ws::uint128 v = 0;
    for (int i = 0; i < 16; ++i) v = (v << 8) | p[i];
    return v;
}

// The IPv6 packet and its upper-layer header, with the walk the parser does
// (hop-by-hop, routing, destination options; at most 8; no fragment).
struct Layout6 {
    std::size_t ip = 0, l4 = 0, end = 0; // offsets in the frame
    std::uint8_t next = 0;
};
bool layout6(const std::uint8_t* f, std::size_t size, Layout6& out) {
    if (size < 14) return false;
    std::size_t ip = 14;
    std::uint16_t type = load16(f + 12);
    if (type == 0x8100) {
        if (size < 18) return false;
        type = load16(f + 16);
        ip = 18;
    }
    if (type != 0x86dd || size < ip + 40 || (f[ip] >> 4) != 6) return false;
    const std::size_t payload = load16(f + ip + 4);
    if (payload == 0 || ip + 40 + payload > size) return false;
    const std::size_t end = ip + 40 + payload;
    std::size_t at = ip + 40;
    std::uint8_t next = f[ip + 6];
    for (int n = 0; next == 0 || next == 43 || next == 60; ++n) {
        if (n == 8 || end - at < 8) return false;
        const std::size_t len = (std::size_t(f[at + 1]) + 1) * 8;
        if (len > end - at) return false;
        next = f[at];
        at += len;
    }
    if (next == 44) return false;
    out = {ip, at, end, next};
    return true;
}

// The IPv6 pseudo-header sum, word by word.
std::uint32_t pseudo6(const std::uint8_t* ip, std::uint8_t next, std::size_t len) {
    std::uint32_t sum = next + std::uint32_t(len >> 16) + std::uint32_t(len & 0xffff);
    for (int i = 8; i < 40; i += 2) sum += load16(ip + i);
    return sum;
}

// An ICMPv6 error's quote: the probe with next header `protocol` we sent to the result's address.
bool quoted6(const std::uint8_t* icmp, std::size_t len, std::uint8_t protocol, const ws::ResultRecord& rec) {
    const std::uint8_t* q = icmp + 8;
    return len >= 8 + 40 + 8 && q[6] == protocol && load128(q + 8) == source_ip6 &&
           ws::IpAddress::from_ipv6(load128(q + 24)) == rec.address();
}

void check_result6(const ws::ParsedReply& r, const std::uint8_t* f, std::size_t size, const Layout6& l) {
    const ws::ResultRecord& rec = r.record;
    const std::uint8_t* ip = f + l.ip;
    const std::uint8_t* l4 = f + l.l4;
    const std::size_t l4_len = l.end - l.l4;
    const ws::IpAddress from = ws::IpAddress::from_ipv6(load128(ip + 8));
    check(rec.family == ws::AddressFamily::ipv6 || rec.address().is_ipv4()); // a mapped target is IPv4 in the record
    check(rec.elapsed_ms == 0);
    check(rec.reserved[0] == 0 && rec.reserved[1] == 0 && rec.reserved[2] == 0);
    check(r.local_address == ws::IpAddress::from_ipv6(source_ip6) && load128(ip + 24) == source_ip6);
    const bool our_port = r.local_port >= 40000 && r.local_port <= 40999;
    if (r.data != nullptr || r.data_len != 0)
        check(rec.proto == ws::Proto::udp && rec.state == ws::PortState::open);
    const bool quote = l.next == ip_icmpv6 && l4[0] == 1;
    switch (rec.proto) {
    case ws::Proto::tcp:
        check(our_port);
        if (l.next == ip_tcp) {
            check((rec.state == ws::PortState::open && rec.reason == ws::Reason::syn_ack) ||
                  (rec.state == ws::PortState::closed && rec.reason == ws::Reason::reset));
            check(rec.address() == from);
        } else {
            check(quote && quoted6(l4, l4_len, ip_tcp, rec));
            check(rec.state == ws::PortState::filtered && unreach_reason(rec.reason) && rec.window == 0);
        }
        break;
    case ws::Proto::udp:
        check(our_port && rec.window == 0);
        if (l.next == ip_udp) {
            check(rec.state == ws::PortState::open && rec.reason == ws::Reason::udp_response);
            check(rec.address() == from && rec.port == load16(l4));
            const std::size_t udp_length = load16(l4 + 4);
            check(udp_length >= 8 && udp_length <= l4_len);
            const std::size_t want = udp_length - 8 < 512 ? udp_length - 8 : 512;
            check(r.data == l4 + 8 && r.data_len == want);
            check(r.data >= f && r.data + r.data_len <= f + size);
        } else {
            check(quote && quoted6(l4, l4_len, ip_udp, rec));
            check(unreach_reason(rec.reason) && (rec.reason == ws::Reason::port_unreach) == (l4[1] == 4));
            if (l4[1] == 4 && from == rec.address())
                check(rec.state == ws::PortState::closed);
            else
                check(rec.state == ws::PortState::filtered);
        }
        break;
    case ws::Proto::icmp:
        check(l.next == ip_icmpv6 && rec.port == 0 && r.local_port == 0 && rec.window == 0);
        if (l4[0] == 129) {
            check(rec.state == ws::PortState::up && rec.reason == ws::Reason::echo_reply && rec.address() == from);
        } else {
            check(quote && quoted6(l4, l4_len, ip_icmpv6, rec));
            check(rec.state == ws::PortState::filtered && unreach_reason(rec.reason));
        }
        break;
    default: check(false);
    }
}

// NDP only from an ICMPv6 message of the right type, sent with hop limit 255.
void check_ndp(const ws::ParsedReply& r, const std::uint8_t* f, std::size_t size) {
    Layout6 l;
    check(layout6(f, size, l) && l.next == ip_icmpv6 && f[l.ip + 7] == 255);
    const std::uint8_t type = f[l.l4];
    check(r.kind == (type == 135 ? ws::ReplyKind::ndp_solicit
                     : type == 136 ? ws::ReplyKind::ndp_advert
                                   : ws::ReplyKind::router_advert));
    check(type >= 134 && type <= 136 && f[l.l4 + 1] == 0);
    check(r.ndp.sender_ip == load128(f + l.ip + 8));
    check(r.data == nullptr && r.data_len == 0);
}

void check_any(const ws::ParsedReply& r, const std::uint8_t* f, std::size_t size) {
    switch (r.kind) {
    case ws::ReplyKind::result: {
        Layout l;
        Layout6 l6;
        if (layout(f, size, l))
            check_result(r, f, size, l);
        else
            check(layout6(f, size, l6)), check_result6(r, f, size, l6);
        break;
    }
    case ws::ReplyKind::ndp_solicit:
    case ws::ReplyKind::ndp_advert:
    case ws::ReplyKind::router_advert: check_ndp(r, f, size); break;
    case ws::ReplyKind::arp_request:
    case ws::ReplyKind::arp_reply: check(r.data == nullptr && r.data_len == 0); break;
    case ws::ReplyKind::rejected:
        check(std::size_t(r.reject) < ws::reject_reason_count);
        check(ws::to_string(r.reject) != "unknown");
        break;
    default: check(false);
    }
}

// Fixes every checksum with the byte-wise reference implementation.
void fix_checksums(std::uint8_t* f, const Layout& l) {
    std::uint8_t* ip = f + l.ip;
    store16(ip + 10, 0);
    store16(ip + 10, ws::checksum_fold(ws::checksum_partial(ip, l.ihl)));
    std::uint8_t* l4 = ip + l.ihl;
    const std::size_t len = l.total - l.ihl;
    if (ip[9] == 6 && len >= 20) {
        const std::uint32_t src = (std::uint32_t(load16(ip + 12)) << 16) | load16(ip + 14);
        const std::uint32_t dst = (std::uint32_t(load16(ip + 16)) << 16) | load16(ip + 18);
        store16(l4 + 16, 0);
        store16(l4 + 16, ws::checksum_fold(ws::checksum_partial(l4, len, ws::pseudo_header_sum(src, dst, 6, len))));
    } else if (ip[9] == 17 && len >= 8) {
        // Over the UDP length when it is consistent (what is summed); a zero
        // field is left as is ("no checksum" is a case of its own).
        const std::size_t udp_length = load16(l4 + 4);
        if (udp_length >= 8 && udp_length <= len && load16(l4 + 6) != 0) {
            const std::uint32_t src = (std::uint32_t(load16(ip + 12)) << 16) | load16(ip + 14);
            const std::uint32_t dst = (std::uint32_t(load16(ip + 16)) << 16) | load16(ip + 18);
            store16(l4 + 6, 0);
            const std::uint16_t sum =
                ws::checksum_fold(ws::checksum_partial(l4, udp_length, ws::pseudo_header_sum(src, dst, 17, udp_length)));
            store16(l4 + 6, sum == 0 ? 0xffff : sum);
        }
    } else if (ip[9] == 1 && len >= 8) {
        store16(l4 + 2, 0);
        store16(l4 + 2, ws::checksum_fold(ws::checksum_partial(l4, len)));
    }
}

// The reference says the packet's checksums hold (what a result requires).
bool checksums_hold(const std::uint8_t* f, const Layout& l) {
    const std::uint8_t* ip = f + l.ip;
    if (ws::checksum_fold(ws::checksum_partial(ip, l.ihl)) != 0) return false;
    const std::uint8_t* l4 = ip + l.ihl;
    const std::size_t len = l.total - l.ihl;
    if (ip[9] == 6) {
        const std::uint32_t src = (std::uint32_t(load16(ip + 12)) << 16) | load16(ip + 14);
        const std::uint32_t dst = (std::uint32_t(load16(ip + 16)) << 16) | load16(ip + 18);
        return ws::checksum_fold(ws::checksum_partial(l4, len, ws::pseudo_header_sum(src, dst, 6, len))) == 0;
    }
    if (ip[9] == 17) {
        if (len < 8) return false;
        const std::size_t udp_length = load16(l4 + 4);
        if (udp_length < 8 || udp_length > len) return false;
        if (load16(l4 + 6) == 0) return true; // none
        const std::uint32_t src = (std::uint32_t(load16(ip + 12)) << 16) | load16(ip + 14);
        const std::uint32_t dst = (std::uint32_t(load16(ip + 16)) << 16) | load16(ip + 18);
        return ws::checksum_fold(
                   ws::checksum_partial(l4, udp_length, ws::pseudo_header_sum(src, dst, 17, udp_length))) == 0;
    }
    return ws::checksum_fold(ws::checksum_partial(l4, len)) == 0;
}

// The upper-layer checksum of an IPv6 packet, fixed by the reference sum
// (TCP, UDP over its own length when consistent, ICMPv6).
void fix_checksums6(std::uint8_t* f, const Layout6& l) {
    std::uint8_t* ip = f + l.ip;
    std::uint8_t* l4 = f + l.l4;
    std::size_t len = l.end - l.l4;
    std::size_t at = 0;
    if (l.next == ip_tcp && len >= 20) {
        at = 16;
    } else if (l.next == ip_udp && len >= 8) {
        const std::size_t udp_length = load16(l4 + 4);
        if (udp_length < 8 || udp_length > len) return;
        len = udp_length;
        at = 6;
    } else if (l.next == ip_icmpv6 && len >= 4) {
        at = 2;
    } else {
        return;
    }
    store16(l4 + at, 0);
    const std::uint16_t sum = ws::checksum_fold(ws::checksum_partial(l4, len, pseudo6(ip, l.next, len)));
    store16(l4 + at, l.next == ip_udp && sum == 0 ? 0xffff : sum);
}

bool checksums_hold6(const std::uint8_t* f, const Layout6& l) {
    const std::uint8_t* l4 = f + l.l4;
    std::size_t len = l.end - l.l4;
    if (l.next == ip_udp) {
        if (len < 8 || load16(l4 + 6) == 0) return false; // zero is no checksum, refused over IPv6
        const std::size_t udp_length = load16(l4 + 4);
        if (udp_length < 8 || udp_length > len) return false;
        len = udp_length;
    }
    return ws::checksum_fold(ws::checksum_partial(l4, len, pseudo6(f + l.ip, l.next, len))) == 0;
}

// The scan's sources: the IPv4 one of the seeds and one IPv6 address.
const ws::SourceAddresses& sources() {
    static const ws::SourceAddresses s = [] {
        ws::SourceAddresses a;
        a.add(ws::IpAddress::from_ipv4(source_ip));
        a.add(ws::IpAddress::from_ipv6(source_ip6));
        return a;
    }();
    return s;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // The classic context (one IPv4 source, no source set) must behave as
    // before on everything; the rest runs with both families' sources.
    const ws::ReplyContext v4_only{source_ip, &cookies};
    check_any(ws::parse_reply(data, size, v4_only), data, size);
    ws::ReplyContext context{source_ip, &cookies};
    context.sources = &sources();

    // The fast sum equals the reference on every byte string (both zeros equal).
    const std::uint16_t fast = ws::ones_sum(data, size);
    const std::uint16_t reference = std::uint16_t(~ws::checksum_fold(ws::checksum_partial(data, size)));
    check(fast == reference || ((fast == 0 || fast == 0xffff) && (reference == 0 || reference == 0xffff)));

    const ws::ParsedReply raw = ws::parse_reply(data, size, context);
    check_any(raw, data, size);
    Layout l;
    const bool ipv4 = layout(data, size, l);
    Layout6 l6;
    const bool ipv6 = layout6(data, size, l6);
    if (raw.kind == ws::ReplyKind::result)
        check((ipv4 && checksums_hold(data, l)) || (ipv6 && checksums_hold6(data, l6)));

    // The NIC vouched for both checksums: the parser must not sum, and
    // anything the raw parse accepted is accepted the same way.
    const ws::ParsedReply hinted =
        ws::parse_reply(data, size, context, ws::RxChecksums{ws::ChecksumHint::good, ws::ChecksumHint::good});
    check_any(hinted, data, size);
    if (raw.kind == ws::ReplyKind::result)
        check(hinted.kind == ws::ReplyKind::result && std::memcmp(&hinted.record, &raw.record, sizeof raw.record) == 0 &&
              hinted.local_port == raw.local_port && hinted.data == raw.data && hinted.data_len == raw.data_len);
    const ws::ParsedReply bad =
        ws::parse_reply(data, size, context, ws::RxChecksums{ws::ChecksumHint::bad, ws::ChecksumHint::bad});
    check_any(bad, data, size);
    // A bad IPv4 verdict rejects every IPv4 frame, a bad L4 verdict every
    // TCP and UDP one; ICMPv6 is always summed in software.
    if (bad.kind == ws::ReplyKind::result) check(ipv6 && l6.next == ip_icmpv6);

    if (ipv6) {
        auto fixed = std::make_unique<std::uint8_t[]>(size);
        std::memcpy(fixed.get(), data, size);
        fix_checksums6(fixed.get(), l6);
        const ws::ParsedReply deep = ws::parse_reply(fixed.get(), size, context);
        check_any(deep, fixed.get(), size);
        if (deep.kind == ws::ReplyKind::rejected)
            check(deep.reject != ws::RejectReason::bad_tcp_checksum && deep.reject != ws::RejectReason::bad_icmp_checksum &&
                  deep.reject != ws::RejectReason::bad_udp_checksum);
    }
    if (ipv4) {
        // An exactly-sized copy (ASan sees any read past it) with fixed checksums.
        auto fixed = std::make_unique<std::uint8_t[]>(size);
        std::memcpy(fixed.get(), data, size);
        fix_checksums(fixed.get(), l);
        const ws::ParsedReply deep = ws::parse_reply(fixed.get(), size, context);
        check_any(deep, fixed.get(), size);
        if (deep.kind == ws::ReplyKind::rejected)
            check(deep.reject != ws::RejectReason::bad_ip_checksum && deep.reject != ws::RejectReason::bad_tcp_checksum &&
                  deep.reject != ws::RejectReason::bad_icmp_checksum && deep.reject != ws::RejectReason::bad_udp_checksum);
    }
    return 0;
}
