// libFuzzer target for the reply parser: arbitrary bytes must never read past
// len, and whatever comes back must be internally consistent.
#include <cstddef>
#include <cstdint>

#include "wirespeed/reply.hpp"

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

void check_result(const ws::ParsedReply& r) {
    const ws::ResultRecord& rec = r.record;
    check(rec.family == ws::AddressFamily::ipv4);
    check(rec.proto == ws::Proto::tcp);
    check(rec.elapsed_ms == 0);
    check(rec.reserved[0] == 0 && rec.reserved[1] == 0 && rec.reserved[2] == 0);
    check(r.local_port >= 40000 && r.local_port <= 40999);
    switch (rec.state) {
    case ws::PortState::open: check(rec.reason == ws::Reason::syn_ack); break;
    case ws::PortState::closed: check(rec.reason == ws::Reason::reset); break;
    case ws::PortState::filtered:
        check(rec.reason >= ws::Reason::port_unreach && rec.reason <= ws::Reason::unreach_other);
        check(rec.window == 0);
        break;
    default: check(false);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ws::ReplyContext context{source_ip, &cookies};
    const ws::ParsedReply r = ws::parse_reply(data, size, context);
    switch (r.kind) {
    case ws::ReplyKind::result: check_result(r); break;
    case ws::ReplyKind::arp_request:
    case ws::ReplyKind::arp_reply: break;
    case ws::ReplyKind::rejected:
        check(std::size_t(r.reject) < ws::reject_reason_count);
        check(ws::to_string(r.reject) != "unknown");
        break;
    default: check(false);
    }
    return 0;
}
