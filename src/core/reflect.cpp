#include "wirespeed/reflect.hpp"

#include <cstring>

#include "wirespeed/probe.hpp"
#include "wirespeed/probes/modules.hpp"

namespace ws {
namespace {

std::uint64_t mix(std::uint64_t x) noexcept { // splitmix64 finaliser
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// An ICMP error frame is at most this long (build_icmp_unreachable's bound).
constexpr std::size_t unreachable_frame = 128;
constexpr std::size_t icmp_header_len = 8;
constexpr std::size_t max_quote = unreachable_frame - wire::l4_off - icmp_header_len;
constexpr std::size_t max_quote6 = unreachable_frame - wire::l4_off6 - icmp_header_len;

// The modules speak ICMPv4 codes; an IPv6 probe is answered with ICMPv6's
// code for the same thing (RFC 4443 3.1).
std::uint8_t unreach_code6(std::uint8_t code) noexcept {
    switch (code) {
    case 3: return 4;  // port unreachable
    case 9:
    case 10:
    case 13: return 1; // administratively prohibited
    case 1: return 3;  // host -> address unreachable
    default: return 0; // no route to destination
    }
}

// A checksum field changed so that it no longer checks: never to 0 (UDP's
// "no checksum") nor to the other zero of the ones' complement (0xffff <-> 0).
void spoil16(std::uint8_t* p) noexcept {
    const std::uint16_t v = wire::load16(p);
    wire::put16(p, std::uint16_t(v ^ (v == 0x0101 ? 0x0003 : 0x0101)));
}

} // namespace

Verdict ReflectRules::verdict(std::uint32_t address, Proto proto, std::uint16_t port) const noexcept {
    // TCP keeps the protocol word 0: its draws are the TCP-only reflector's.
    const std::uint64_t word = proto == Proto::tcp ? 0 : std::uint64_t(proto) << 48;
    const std::uint64_t h = mix(seed ^ word ^ ((std::uint64_t{address} << 16) | port)) % 1000;
    if (proto == Proto::icmp) return h < filtered_permille ? Verdict::filtered : Verdict::open;
    if ((proto == Proto::udp ? open_everywhere.udp : open_everywhere.tcp).contains(port)) return Verdict::open;
    if (h < open_permille) return Verdict::open;
    if (h < open_permille + filtered_permille) return Verdict::filtered;
    return Verdict::closed;
}

Verdict ReflectRules::verdict(IpAddress address, Proto proto, std::uint16_t port) const noexcept {
    if (address.is_ipv4()) return verdict(address.ipv4(), proto, port);
    // The 128 bits mixed down to 64 first; then the same draw as IPv4's.
    const std::uint64_t word = proto == Proto::tcp ? 0 : std::uint64_t(proto) << 48;
    const std::uint64_t a = mix(address.high() ^ mix(address.low()));
    const std::uint64_t h = mix(seed ^ word ^ a ^ port) % 1000;
    if (proto == Proto::icmp) return h < filtered_permille ? Verdict::filtered : Verdict::open;
    if ((proto == Proto::udp ? open_everywhere.udp : open_everywhere.tcp).contains(port)) return Verdict::open;
    if (h < open_permille) return Verdict::open;
    if (h < open_permille + filtered_permille) return Verdict::filtered;
    return Verdict::closed;
}

bool ReflectRules::answers_for(IpAddress address) const noexcept {
    if (address.is_ipv4()) return hosts.contains(address.ipv4());
    for (const Ipv6Range& r : hosts6) // a lab's handful of ranges
        if (address.bits >= r.first && address.bits <= r.last) return true;
    return false;
}

void ReflectRules::set_hosts(const TargetSet& set) {
    hosts = TargetSet::from_intervals(set.intervals());
    hosts6 = set.ipv6_intervals();
}

bool ReflectRules::drops(std::uint64_t n) const noexcept {
    return drop_permille && mix(seed ^ 0x64726f7000000000ull ^ n) % 1000 < drop_permille;
}

std::uint64_t write_ground_truth(const ReflectRules& rules, const ProtocolPorts& ports, bool ping, std::FILE* out) {
    std::uint64_t written = 0;
    char ip[16];
    for (const auto& interval : rules.hosts.intervals())
        for (std::uint64_t a = interval.first; a <= interval.last; ++a) {
            const auto address = std::uint32_t(a);
            format_ipv4(address, ip);
            auto line = [&](Proto proto, std::uint16_t port) {
                if (rules.verdict(address, proto, port) != Verdict::open) return;
                std::fprintf(out, "%s:%s:%u\n", to_string(proto).data(), ip, unsigned(port));
                ++written;
            };
            for (std::uint16_t port : ports.tcp.ports()) line(Proto::tcp, port);
            for (std::uint16_t port : ports.udp.ports()) line(Proto::udp, port);
            if (ping) line(Proto::icmp, 0);
        }
    char ip6[max_ip_text];
    for (const Ipv6Range& range : rules.hosts6)
        for (uint128 a = range.first;; ++a) {
            const IpAddress address = IpAddress::from_ipv6(a);
            format_ipv6(a, ip6);
            auto line = [&](Proto proto, std::uint16_t port) {
                if (rules.verdict(address, proto, port) != Verdict::open) return;
                std::fprintf(out, "%s:[%s]:%u\n", to_string(proto).data(), ip6, unsigned(port));
                ++written;
            };
            for (std::uint16_t port : ports.tcp.ports()) line(Proto::tcp, port);
            for (std::uint16_t port : ports.udp.ports()) line(Proto::udp, port);
            if (ping) line(Proto::icmp, 0);
            if (a == range.last) break; // also ends a range reaching the last address
        }
    return written;
}

namespace {

// An IPv6 probe: the fixed header, no extension header (our probes carry
// none), then the module of the next header.
bool parse_probe6(const std::uint8_t* frame, std::size_t len, ReflectRequest& out) noexcept {
    if (len < wire::l4_off6) return false;
    const std::uint8_t* ip = frame + wire::eth_len;
    const std::size_t payload = wire::load16(ip + 4);
    if ((ip[0] >> 4) != 6 || payload > len - wire::l4_off6) return false;
    out = ReflectRequest{};
    out.family = AddressFamily::ipv6;
    std::memcpy(out.source_mac.data(), frame + 6, 6);
    out.source = IpAddress::from_ipv6(wire::load128(ip + 8));
    out.destination = IpAddress::from_ipv6(wire::load128(ip + 24));
    // IPv4-mapped addresses never appear on the wire (RFC 4291 2.5.5.2): not a probe of ours.
    if (out.source.is_ipv4() || out.destination.is_ipv4()) return false;
    out.ip = ip;
    out.ip_length = wire::ip6_len + payload;
    out.l4 = ip + wire::ip6_len;
    bool ok = false;
    probes::Modules::with_ip_protocol6(
        ip[6], [&]<class M>() { ok = M::template parse_probe<wire::Ipv6>(out, out.l4, payload); });
    return ok;
}

} // namespace

bool parse_probe(const std::uint8_t* frame, std::size_t len, ReflectRequest& out) noexcept {
    if (len >= wire::eth_len && wire::load16(frame + 12) == wire::ethertype_ipv6) return parse_probe6(frame, len, out);
    if (len < wire::eth_len + wire::ip_len || wire::load16(frame + 12) != wire::ethertype_ipv4) return false;
    const std::uint8_t* ip = frame + wire::eth_len;
    const std::size_t ihl = std::size_t(ip[0] & 0x0f) * 4;
    if ((ip[0] >> 4) != 4 || ihl < wire::ip_len) return false;
    const std::size_t total = wire::load16(ip + 2);
    if (total < ihl || wire::eth_len + total > len) return false;
    if (wire::load16(ip + 6) & 0x3fff) return false; // a fragment: our probes never are
    out = ReflectRequest{};
    std::memcpy(out.source_mac.data(), frame + 6, 6);
    out.source_ip = wire::load32(ip + 12);
    out.destination_ip = wire::load32(ip + 16);
    out.source = IpAddress::from_ipv4(out.source_ip);
    out.destination = IpAddress::from_ipv4(out.destination_ip);
    out.ip = ip;
    out.ip_length = total;
    out.l4 = ip + ihl;
    bool ok = false;
    probes::Modules::with_ip_protocol(ip[9], [&]<class M>() { ok = M::parse_probe(out, ip + ihl, total - ihl); });
    return ok;
}

std::size_t reflect_answer(const ReflectRequest& probe, Verdict verdict, const Responder& from, std::uint8_t* out,
                           std::size_t capacity) noexcept {
    std::size_t len = 0;
    probes::Modules::with_kind(probes::kind_of(probe.proto),
                               [&]<class M>() { len = M::reflect(probe, verdict, from, out, capacity); });
    return len;
}

unsigned answer_plan(const ReflectRules& rules, Forgery* out) noexcept {
    unsigned n = 0;
    if (rules.forge_bad_cookies) out[n++] = Forgery::bad_cookie;
    if (rules.forge_bad_checksums) {
        out[n++] = Forgery::bad_l4_checksum;
        out[n++] = Forgery::bad_ip_checksum;
    }
    out[n++] = Forgery::none;
    return n;
}

std::size_t reflect_forged(const ReflectRequest& probe, Verdict verdict, Forgery forgery, const MacAddress& mac,
                           std::uint8_t* out, std::size_t capacity) noexcept {
    if (forgery == Forgery::none) return reflect_answer(probe, verdict, Responder{mac, false}, out, capacity);
    // Every forgery claims the pair open (the host up): believed, it would be a wrong record.
    if (probe.family == AddressFamily::ipv6) {
        if (forgery == Forgery::bad_ip_checksum) return 0; // IPv6 has no header checksum to spoil
        const std::size_t len = reflect_answer(probe, Verdict::open, Responder{mac, forgery == Forgery::bad_cookie}, out, capacity);
        if (len < wire::l4_off6 || forgery != Forgery::bad_l4_checksum) return len;
        std::size_t at = 0; // the module's checksum offset, moved behind the 40-byte header
        probes::Modules::with_kind(probes::kind_of(probe.proto),
                                   [&]<class M>() { at = M::sum_at - wire::l4_off + wire::l4_off6; });
        if (at + 2 <= len) spoil16(out + at);
        return len;
    }
    const std::size_t len = reflect_answer(probe, Verdict::open, Responder{mac, forgery == Forgery::bad_cookie}, out, capacity);
    if (len < wire::l4_off) return len;
    if (forgery == Forgery::bad_ip_checksum) {
        spoil16(out + wire::ip_sum_at);
    } else if (forgery == Forgery::bad_l4_checksum) {
        std::size_t at = 0;
        probes::Modules::with_ip_protocol(out[wire::ip_off + 9], [&]<class M>() { at = M::sum_at; });
        if (at && at + 2 <= len) spoil16(out + at);
    }
    return len;
}

std::size_t reflect_unreachable(const ReflectRequest& probe, std::uint8_t code, const Responder& from,
                                std::size_t cookie_byte, std::uint8_t* out, std::size_t capacity) noexcept {
    if (probe.family == AddressFamily::ipv6) {
        const std::size_t quote = probe.ip_length < max_quote6 ? probe.ip_length : max_quote6;
        if (capacity < wire::l4_off6 + icmp_header_len + quote) return 0;
        std::uint8_t quoted[max_quote6];
        std::memcpy(quoted, probe.ip, quote);
        if (from.bad_cookie && cookie_byte < quote) quoted[cookie_byte] ^= 0x01;
        return build_icmp6_unreachable(out, from.mac, probe.source_mac, probe.destination.bits, probe.source.bits,
                                       unreach_code6(code), quoted, quote);
    }
    const std::size_t quote = probe.ip_length < max_quote ? probe.ip_length : max_quote;
    if (capacity < wire::l4_off + icmp_header_len + quote) return 0;
    std::uint8_t quoted[max_quote];
    std::memcpy(quoted, probe.ip, quote);
    if (from.bad_cookie && cookie_byte < quote) quoted[cookie_byte] ^= 0x01;
    return build_icmp_unreachable(out, from.mac, probe.source_mac, probe.destination_ip, probe.source_ip, code, quoted,
                                  quote);
}

std::size_t reflect_neighbor(const ReflectRules& rules, const std::uint8_t* frame, std::size_t len,
                             const MacAddress& mac, std::uint8_t* out, std::size_t capacity) noexcept {
    constexpr std::size_t advert_len = wire::l4_off6 + 32;
    // NDP is parsed before any "for us" check: no sources, no cookies needed.
    const ReplyContext context{0, nullptr};
    const ParsedReply r = parse_reply(frame, len, context);
    if (r.kind != ReplyKind::ndp_solicit || capacity < advert_len) return 0;
    if (!rules.answers_for(IpAddress::from_ipv6(r.ndp.target_ip))) return 0;
    return build_neighbor_advert(out, mac, r.ndp.target_ip, r.ndp.sender_mac, r.ndp.sender_ip, true);
}

} // namespace ws
