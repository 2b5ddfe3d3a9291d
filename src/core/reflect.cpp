#include "wirespeed/reflect.hpp"

#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "wirespeed/error.hpp"
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

// ---- banner mode

std::string_view to_string(BannerFault fault) noexcept {
    switch (fault) {
    case BannerFault::none: return "none";
    case BannerFault::lose_first: return "lose-first";
    case BannerFault::out_of_order: return "out-of-order";
    case BannerFault::reset_mid: return "reset-mid";
    case BannerFault::zero_window: return "zero-window";
    case BannerFault::silent: return "silent";
    case BannerFault::forge: return "forge";
    }
    return "unknown";
}

const BannerPort* ReflectRules::banner_for(std::uint16_t port) const noexcept {
    for (const BannerPort& b : banners) // a test's handful
        if (b.port == port) return &b;
    return nullptr;
}

BannerPort& ReflectRules::banner_port(std::uint16_t port) {
    for (BannerPort& b : banners)
        if (b.port == port) return b;
    banners.push_back(BannerPort{port, {}, {}, BannerFault::none});
    return banners.back();
}

namespace {

// "PORT:" of a banner option: the port (1-65535) and the rest.
std::pair<std::uint16_t, std::string_view> banner_port_of(std::string_view spec, std::string_view option,
                                                          std::string_view what) {
    const std::size_t colon = spec.find(':');
    if (colon == std::string_view::npos)
        throw Error(fmt::format("invalid {} \"{}\": expected PORT:{}", option, spec, what));
    const std::string_view digits = spec.substr(0, colon);
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || port == 0 || port > 65535)
        throw Error(fmt::format("invalid {} \"{}\": port \"{}\" is not 1-65535", option, spec, digits));
    return {std::uint16_t(port), spec.substr(colon + 1)};
}

int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

} // namespace

std::pair<std::uint16_t, std::string> parse_banner_spec(std::string_view spec, std::string_view option) {
    const auto [port, text] = banner_port_of(spec, option, "TEXT");
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\') {
            out.push_back(text[i]);
        } else {
            if (i + 1 == text.size())
                throw Error(fmt::format("invalid {} \"{}\": a lone \\ at the end", option, spec));
            const char e = text[++i];
            if (e == 'r') out.push_back('\r');
            else if (e == 'n') out.push_back('\n');
            else if (e == 't') out.push_back('\t');
            else if (e == '\\') out.push_back('\\');
            else if (e == 'x') {
                const int hi = i + 1 < text.size() ? hex_digit(text[i + 1]) : -1;
                const int lo = i + 2 < text.size() ? hex_digit(text[i + 2]) : -1;
                if (hi < 0 || lo < 0)
                    throw Error(fmt::format("invalid {} \"{}\": \\x needs two hex digits", option, spec));
                out.push_back(char(hi * 16 + lo));
                i += 2;
            } else {
                throw Error(fmt::format("invalid {} \"{}\": unknown escape \\{} (\\r \\n \\t \\\\ \\xHH)", option, spec, e));
            }
        }
        if (out.size() > BannerServer::max_text)
            throw Error(fmt::format("invalid {} \"{}\": longer than {} bytes", option, spec, BannerServer::max_text));
    }
    return {port, std::move(out)};
}

std::pair<std::uint16_t, BannerFault> parse_banner_fault(std::string_view spec) {
    const auto [port, name] = banner_port_of(spec, "--banner-fault", "FAULT");
    for (BannerFault f : {BannerFault::none, BannerFault::lose_first, BannerFault::out_of_order, BannerFault::reset_mid,
                          BannerFault::zero_window, BannerFault::silent, BannerFault::forge})
        if (name == to_string(f)) return {port, f};
    throw Error(fmt::format("invalid --banner-fault \"{}\": fault \"{}\" is not one of none, lose-first, out-of-order, "
                            "reset-mid, zero-window, silent, forge",
                            spec, name));
}

namespace {

// The TCP header at `tcp` (`len` bytes of segment) into `out`.
bool parse_tcp_header(const std::uint8_t* tcp, std::size_t len, TcpSegmentIn& out) noexcept {
    constexpr std::size_t tcp_len = 20;
    if (len < tcp_len) return false;
    const std::size_t header_len = std::size_t(tcp[12] >> 4) * 4;
    if (header_len < tcp_len || header_len > len) return false;
    out.source_port = wire::load16(tcp);
    out.destination_port = wire::load16(tcp + 2);
    out.sequence = wire::load32(tcp + 4);
    out.acknowledgment = wire::load32(tcp + 8);
    out.flags = tcp[13];
    out.window = wire::load16(tcp + 14);
    out.payload_len = len - header_len;
    out.payload = out.payload_len ? tcp + header_len : nullptr;
    return true;
}

} // namespace

bool parse_tcp_segment(const std::uint8_t* frame, std::size_t len, TcpSegmentIn& out) noexcept {
    constexpr std::uint8_t tcp_protocol = 6;
    if (len < wire::eth_len) return false;
    const std::uint16_t type = wire::load16(frame + 12);
    const std::uint8_t* ip = frame + wire::eth_len;
    if (type == wire::ethertype_ipv6) {
        if (len < wire::l4_off6) return false;
        const std::size_t payload = wire::load16(ip + 4);
        if ((ip[0] >> 4) != 6 || ip[6] != tcp_protocol || payload > len - wire::l4_off6) return false;
        out = TcpSegmentIn{};
        out.family = AddressFamily::ipv6;
        std::memcpy(out.source_mac.data(), frame + 6, 6);
        out.source = IpAddress::from_ipv6(wire::load128(ip + 8));
        out.destination = IpAddress::from_ipv6(wire::load128(ip + 24));
        if (out.source.is_ipv4() || out.destination.is_ipv4()) return false;
        return parse_tcp_header(ip + wire::ip6_len, payload, out);
    }
    if (type != wire::ethertype_ipv4 || len < wire::eth_len + wire::ip_len) return false;
    const std::size_t ihl = std::size_t(ip[0] & 0x0f) * 4;
    if ((ip[0] >> 4) != 4 || ihl < wire::ip_len || ip[9] != tcp_protocol) return false;
    const std::size_t total = wire::load16(ip + 2);
    if (total < ihl || total > len - wire::eth_len) return false;
    if (wire::load16(ip + 6) & 0x3fff) return false; // a fragment
    out = TcpSegmentIn{};
    std::memcpy(out.source_mac.data(), frame + 6, 6);
    out.source = IpAddress::from_ipv4(wire::load32(ip + 12));
    out.destination = IpAddress::from_ipv4(wire::load32(ip + 16));
    return parse_tcp_header(ip + ihl, total - ihl, out);
}

namespace {

constexpr std::uint8_t tcp_fin = 0x01, tcp_syn = 0x02, tcp_rst = 0x04, tcp_psh = 0x08, tcp_ack = 0x10;
constexpr std::size_t lost_slots = 4096;
constexpr std::uint32_t far_away = 0x40000000; // far outside any window: a forgery's offset
constexpr std::uint16_t open_window = 65535;
constexpr char forged_text[] = "HTTP/1.0 200 OK\r\nServer: forged/6.6.6\r\n\r\n";

} // namespace

BannerServer::BannerServer(const ReflectRules& rules)
    : rules_(rules), key_(mix(rules.seed ^ 0x62616e6e65726b79ull)), lost_(new std::uint64_t[lost_slots]()),
      frames_(new Frame[max_frames]) {}

std::uint32_t BannerServer::isn(const IpAddress& server, std::uint16_t server_port, const IpAddress& client,
                                std::uint16_t client_port) const noexcept {
    const std::uint64_t ports = std::uint64_t{server_port} << 16 | client_port;
    return std::uint32_t(mix(key_ ^ mix(server.high() ^ mix(server.low() ^ mix(client.high() ^ mix(client.low() ^ ports))))));
}

void BannerServer::stage(const TcpSegmentIn& to, const MacAddress& mac, std::uint8_t flags, std::uint32_t sequence,
                         std::uint32_t acknowledgment, std::uint16_t window, const std::uint8_t* data, std::size_t len,
                         bool with_mss) noexcept {
    // Room: the headers (at most 14 + 40 + 24) and the text (at most 2 * max_text: greeting and answer).
    if (count_ == max_frames || len > 2 * max_text) return;
    Frame& f = frames_[count_++];
    const TcpSegmentAny s{mac,      to.source_mac, to.destination, to.source, to.destination_port, to.source_port,
                          sequence, acknowledgment, flags,         window,    64,                  with_mss,
                          data,     std::uint16_t(len)};
    f.len = std::uint16_t(build_tcp_segment_any(f.bytes, s));
}

std::size_t BannerServer::syn_ack(const ReflectRequest& probe, const BannerPort& port, const MacAddress& mac,
                                  std::uint8_t* out, std::size_t capacity) noexcept {
    count_ = 0;
    TcpSegmentIn to;
    to.family = probe.family;
    to.source_mac = probe.source_mac;
    to.source = probe.source;
    to.destination = probe.destination;
    to.source_port = probe.source_port;
    to.destination_port = probe.destination_port;
    const std::uint16_t window = port.fault == BannerFault::zero_window ? 0 : open_window;
    stage(to, mac, tcp_syn | tcp_ack, isn(probe.destination, probe.destination_port, probe.source, probe.source_port),
          probe.sequence + 1, window, nullptr, 0, true);
    count_ = 0;
    if (frames_[0].len > capacity) return 0;
    std::memcpy(out, frames_[0].bytes, frames_[0].len);
    ++counters_.syn_acks;
    return frames_[0].len;
}

unsigned BannerServer::on_segment(const TcpSegmentIn& s, const MacAddress& mac) noexcept {
    count_ = 0;
    const BannerPort* port = rules_.banner_for(s.destination_port);
    // Not ours, a SYN (the probe path's), an RST (the scanner's end of a
    // connection), or no ACK: nothing to answer.
    if (!port || (s.flags & (tcp_syn | tcp_rst)) || !(s.flags & tcp_ack) || !rules_.answers_for(s.destination) ||
        rules_.verdict(s.destination, Proto::tcp, s.destination_port) != Verdict::open) {
        ++counters_.ignored;
        return 0;
    }
    ++counters_.segments;
    const std::uint32_t base = isn(s.destination, s.destination_port, s.source, s.source_port) + 1;
    const std::uint32_t at = s.acknowledgment - base; // what the client has of our stream
    const std::string& greeting = port->greeting;
    const std::string& answer = port->answer;
    const std::size_t g = greeting.size(), total = g + answer.size();
    if (at > total || port->fault == BannerFault::silent) { // acknowledges what we never sent, or a silent port
        ++counters_.ignored;
        return 0;
    }
    const std::uint32_t client_next = s.sequence + std::uint32_t(s.payload_len) + ((s.flags & tcp_fin) ? 1 : 0);
    const auto text = [&](std::size_t from, std::size_t to_byte, std::uint8_t* into) {
        for (std::size_t i = from; i < to_byte; ++i) into[i - from] = std::uint8_t(i < g ? greeting[i] : answer[i - g]);
    };
    std::uint8_t data[2 * max_text];
    if (s.payload_len == 0) {
        if (at == 0 && g != 0) { // the handshake's ACK: the greeting
            text(0, g, data);
            ++counters_.greetings;
            if (port->fault == BannerFault::reset_mid && answer.empty()) {
                const std::size_t half = g / 2;
                stage(s, mac, tcp_ack | tcp_psh, base, client_next, open_window, data, half, false);
                stage(s, mac, tcp_rst | tcp_ack, base + std::uint32_t(half), client_next, 0, nullptr, 0, false);
                ++counters_.resets;
                return count_;
            }
            stage(s, mac, tcp_ack | tcp_psh, base, client_next, open_window, data, g, false);
            return count_;
        }
        if (at == 0 && port->fault == BannerFault::zero_window) { // the window opens
            stage(s, mac, tcp_ack, base, client_next, open_window, nullptr, 0, false);
            ++counters_.window_updates;
            return count_;
        }
        // An ACK inside the greeting or the answer (after an out-of-order
        // pair): the rest of that part again. At a part's start it is ambiguous
        // (a duplicate ACK, or all of the greeting taken): nothing.
        // Not after reset_mid's RST: that connection is gone.
        const std::size_t end = at < g ? g : total;
        if (at != 0 && at != g && at < end && port->fault != BannerFault::reset_mid) {
            text(at, end, data);
            stage(s, mac, tcp_ack | tcp_psh, base + at, client_next, open_window, data, end - at, false);
            ++counters_.resent;
            return count_;
        }
        ++counters_.ignored;
        return 0;
    }
    // A probe.
    if (port->fault == BannerFault::lose_first) {
        const std::uint64_t flow = mix(key_ ^ s.sequence ^ (std::uint64_t{s.source_port} << 32) ^
                                       mix(s.source.low() ^ s.source.high())) | 1;
        std::uint64_t& slot = lost_[flow & (lost_slots - 1)];
        if (slot != flow) {
            slot = flow;
            ++counters_.lost;
            return 0;
        }
    }
    if (port->fault == BannerFault::forge) {
        const auto* bogus = reinterpret_cast<const std::uint8_t*>(forged_text);
        const std::size_t bogus_len = sizeof forged_text - 1;
        stage(s, mac, tcp_ack | tcp_psh, base + at + far_away, client_next, open_window, bogus, bogus_len, false);
        stage(s, mac, tcp_ack | tcp_psh, base + at, client_next + far_away, open_window, bogus, bogus_len, false);
        stage(s, mac, tcp_rst | tcp_ack, base + at + far_away, client_next, 0, nullptr, 0, false);
        counters_.forged += 3;
    }
    // Whatever the client lacks: the greeting's rest (a probe sent before it
    // came) and the answer.
    const std::size_t len = total - at;
    if (len == 0) { // nothing to say (a greeting-only port): the probe acknowledged
        stage(s, mac, tcp_ack, base + at, client_next, open_window, nullptr, 0, false);
        return count_;
    }
    text(at, total, data);
    ++counters_.answers;
    const std::size_t half = len / 2;
    if (port->fault == BannerFault::out_of_order && half != 0) {
        stage(s, mac, tcp_ack | tcp_psh, base + at + std::uint32_t(half), client_next, open_window, data + half, len - half, false);
        stage(s, mac, tcp_ack | tcp_psh, base + at, client_next, open_window, data, half, false);
        return count_;
    }
    if (port->fault == BannerFault::reset_mid && half != 0) {
        stage(s, mac, tcp_ack | tcp_psh, base + at, client_next, open_window, data, half, false);
        stage(s, mac, tcp_rst | tcp_ack, base + at + std::uint32_t(half), client_next, 0, nullptr, 0, false);
        ++counters_.resets;
        return count_;
    }
    stage(s, mac, tcp_ack | tcp_psh, base + at, client_next, open_window, data, len, false);
    return count_;
}

} // namespace ws
