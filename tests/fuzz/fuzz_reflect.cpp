// libFuzzer target for the reflector's pure side: parse_probe() on arbitrary
// bytes must never read past len (it gets an exactly-sized copy), and
// whatever it accepts must lie inside the frame. Every answer to an accepted
// probe (each verdict, each forgery) is written into an exactly-sized buffer
// (ASan sees any overflow), refused one byte short, and parsed back by the
// scanner's reply parser: the real answer is well formed (a result, or
// rejected only for its cookie), a forgery is rejected for its reason, and
// when the probe carried a valid cookie the answer is the verdict's record.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "wirespeed/error.hpp"
#include "wirespeed/targets.hpp"

#include "wirespeed/reflect.hpp"
#include "wirespeed/reply.hpp"
#include "wirespeed/sources.hpp"

namespace {

// Must match the key and range the seed corpus was generated with, or the
// valid seeds would all die at the cookie check.
const ws::CookieMaker cookies{ws::CookieKey{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull},
                              ws::PortRange{40000, 40999}};
constexpr ws::MacAddress reflector_mac{0x02, 0, 0, 0, 0, 0x42};

void check(bool ok) {
    if (!ok)
        __builtin_trap();
}

bool inside(const std::uint8_t* p, std::size_t n, const std::uint8_t* frame, std::size_t size) {
    return p >= frame && std::size_t(p - frame) <= size && n <= size - std::size_t(p - frame);
}

ws::PortState state_of(ws::Proto proto, ws::Verdict verdict) {
    if (verdict == ws::Verdict::filtered) return ws::PortState::filtered;
    if (verdict == ws::Verdict::closed) return ws::PortState::closed;
    return proto == ws::Proto::icmp ? ws::PortState::up : ws::PortState::open;
}

// The answer built into an exactly-sized heap buffer, and parsed back.
struct Built {
    std::size_t len = 0;
    ws::ParsedReply parsed{};
};
Built build(const ws::ReflectRequest& probe, ws::Verdict verdict, ws::Forgery forgery, const ws::ReplyContext& context) {
    Built b;
    auto big = std::make_unique<std::uint8_t[]>(16384);
    const std::size_t need = ws::reflect_forged(probe, verdict, forgery, reflector_mac, big.get(), 16384);
    if (need == 0) return b;
    auto exact = std::make_unique<std::uint8_t[]>(need);
    check(ws::reflect_forged(probe, verdict, forgery, reflector_mac, exact.get(), need) == need);
    check(std::memcmp(exact.get(), big.get(), need) == 0);
    auto short_by_one = std::make_unique<std::uint8_t[]>(need - 1);
    check(ws::reflect_forged(probe, verdict, forgery, reflector_mac, short_by_one.get(), need - 1) == 0);
    b.len = need;
    b.parsed = ws::parse_reply(exact.get(), need, context);
    return b;
}

bool cookie_reject(const ws::ParsedReply& r) {
    return r.kind == ws::ReplyKind::rejected &&
           (r.reject == ws::RejectReason::bad_cookie || r.reject == ws::RejectReason::wrong_source_port);
}

// Banner mode on any TCP segment: parse_tcp_segment stays inside the frame,
// and the server's answers (each fault on the segment's port) are well-formed
// frames within their staging; the option parsers on the same bytes as text
// either give a port and text or throw.
constexpr ws::BannerFault banner_faults[] = {ws::BannerFault::none,        ws::BannerFault::lose_first,
                                             ws::BannerFault::out_of_order, ws::BannerFault::reset_mid,
                                             ws::BannerFault::zero_window,  ws::BannerFault::silent,
                                             ws::BannerFault::forge};
constexpr std::size_t fault_count = sizeof banner_faults / sizeof banner_faults[0];

// Every host and port open; banner port i + 1 has fault i (a segment is
// tried on each, its destination port rewritten).
const ws::ReflectRules& banner_rules() {
    static const ws::ReflectRules rules = [] {
        ws::ReflectRules r;
        r.hosts = ws::parse_targets("0.0.0.0/0");
        r.hosts6 = {ws::Ipv6Range{0, ~ws::uint128{0}}};
        r.open_everywhere = ws::parse_protocol_ports("1-65535");
        for (std::size_t i = 0; i < fault_count; ++i)
            r.banners.push_back(ws::BannerPort{std::uint16_t(i + 1), i % 2 ? "220 greeting\r\n" : "",
                                               "HTTP/1.0 200 OK\r\n\r\n", banner_faults[i]});
        return r;
    }();
    return rules;
}

void fuzz_banner(const std::uint8_t* frame, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(frame), size);
    try {
        const auto [port, bytes] = ws::parse_banner_spec(text, "--banner");
        check(port != 0 && bytes.size() <= ws::BannerServer::max_text);
    } catch (const ws::Error&) {
    }
    try {
        const auto [port, fault] = ws::parse_banner_fault(text);
        check(port != 0 && ws::to_string(fault) != "unknown");
    } catch (const ws::Error&) {
    }
    ws::TcpSegmentIn segment;
    if (!ws::parse_tcp_segment(frame, size, segment)) return;
    check(segment.payload_len == 0 || inside(segment.payload, segment.payload_len, frame, size));
    static ws::BannerServer server(banner_rules());
    for (std::size_t i = 0; i < fault_count; ++i) {
        ws::TcpSegmentIn to_port = segment;
        to_port.destination_port = std::uint16_t(i + 1);
        const unsigned n = server.on_segment(to_port, reflector_mac);
        check(n <= ws::BannerServer::max_frames);
        for (unsigned f = 0; f < n; ++f) {
            ws::TcpSegmentIn back;
            const auto& out = server.frame(f);
            check(out.len <= ws::BannerServer::frame_capacity && ws::parse_tcp_segment(out.bytes, out.len, back));
            check(back.source == segment.destination && back.destination == segment.source &&
                  back.source_port == to_port.destination_port && back.destination_port == segment.source_port);
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto frame = std::make_unique<std::uint8_t[]>(size ? size : 1);
    if (size) std::memcpy(frame.get(), data, size);
    fuzz_banner(frame.get(), size);
    ws::ReflectRequest probe;
    if (!ws::parse_probe(frame.get(), size, probe)) return 0;
    check(inside(probe.ip, probe.ip_length, frame.get(), size));
    check(probe.l4 > probe.ip && inside(probe.l4, 8, probe.ip, probe.ip_length));
    check(probe.payload_len == 0 || inside(probe.payload, probe.payload_len, probe.ip, probe.ip_length));
    check(probe.proto == ws::Proto::icmp ? probe.destination_port == 0 && probe.source_port == 0 : true);

    ws::ReplyContext context{probe.source_ip, &cookies, std::size_t{1} << 17}; // no jumbo guard: answers echo any payload
    // An IPv6 probe's answer is for us when its source is one of ours.
    ws::SourceAddresses sources;
    const bool ipv6 = probe.family == ws::AddressFamily::ipv6;
    if (ipv6) {
        check(probe.source_ip == 0 && probe.destination_ip == 0 && !probe.source.is_ipv4());
        sources.add(probe.source);
        context.sources = &sources;
    } else {
        check(probe.source == ws::IpAddress::from_ipv4(probe.source_ip) &&
              probe.destination == ws::IpAddress::from_ipv4(probe.destination_ip));
    }
    for (ws::Verdict verdict : {ws::Verdict::open, ws::Verdict::closed, ws::Verdict::filtered}) {
        const Built real = build(probe, verdict, ws::Forgery::none, context);
        if (real.len == 0) {
            check(probe.proto == ws::Proto::icmp && verdict == ws::Verdict::closed);
            continue;
        }
        const bool valid = real.parsed.kind == ws::ReplyKind::result;
        check(valid || cookie_reject(real.parsed));
        if (valid) {
            const ws::ResultRecord& r = real.parsed.record;
            check(r.address() == probe.destination && r.proto == probe.proto && r.port == probe.destination_port);
            check(r.state == state_of(probe.proto, verdict));
        }
        // Forgeries claim open; never a result. A bad cookie is refused for
        // the cookie when the real answer validated (else the probe itself
        // carried no valid cookie and anything is possible).
        const Built bad_cookie = build(probe, verdict, ws::Forgery::bad_cookie, context);
        check(bad_cookie.len > 0);
        if (valid) check(cookie_reject(bad_cookie.parsed));
        const Built bad_ip = build(probe, verdict, ws::Forgery::bad_ip_checksum, context);
        if (ipv6) // no IPv6 header checksum to spoil: no such forgery
            check(bad_ip.len == 0);
        else
            check(bad_ip.parsed.kind == ws::ReplyKind::rejected && bad_ip.parsed.reject == ws::RejectReason::bad_ip_checksum);
        const Built bad_l4 = build(probe, verdict, ws::Forgery::bad_l4_checksum, context);
        const ws::RejectReason l4_reason = probe.proto == ws::Proto::tcp   ? ws::RejectReason::bad_tcp_checksum
                                           : probe.proto == ws::Proto::udp ? ws::RejectReason::bad_udp_checksum
                                                                           : ws::RejectReason::bad_icmp_checksum;
        check(bad_l4.parsed.kind == ws::ReplyKind::rejected && bad_l4.parsed.reject == l4_reason);
    }
    return 0;
}
