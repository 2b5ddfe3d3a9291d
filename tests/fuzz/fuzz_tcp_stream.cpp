// libFuzzer target for the user-mode TCP of service detection: the input is
// a script of connects, peer segments, commands and clock steps played into
// one StreamTable. Peer segments are real frames (build_tcp_segment, parsed
// by parse_reply as the RX lcore parses them), their sequence and
// acknowledgment numbers taken relative to what the table last sent, so the
// fuzzer reaches established connections, data, retransmissions and closes
// instead of dying at the first sequence check. Checked on every step: every
// frame the table sends parses back from the peer's side (checksums
// included) as a segment of a connection it knows, events are well formed,
// the table never holds more than its capacity and the staging never
// overflows its bounds.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>

#include "wirespeed/probe.hpp"
#include "wirespeed/reply.hpp"
#include "wirespeed/tcp_stream.hpp"

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

constexpr std::uint32_t our_ip = 0xc6120207;  // 198.18.2.7
constexpr std::uint32_t peer_ip = 0xc6120301; // 198.18.3.1
constexpr ws::PortRange local_ports{61000, 61007};
const ws::MacAddress our_mac{0x02, 0, 0, 0, 0, 1}, peer_mac{0x02, 0, 0, 0, 0, 2};
const ws::CookieMaker cookies{ws::CookieKey{1, 2}, ws::PortRange{40000, 40999}};

struct Seen { // the last segment the table sent on a local port
    std::uint32_t seq = 0, ack = 0;
};

struct Reader {
    const std::uint8_t* p;
    std::size_t n;
    std::uint8_t byte() {
        if (n == 0) return 0;
        --n;
        return *p++;
    }
    std::uint16_t u16() { return std::uint16_t(byte() << 8 | byte()); }
    std::uint32_t u32() { return std::uint32_t(u16()) << 16 | u16(); }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ws::StreamConfig config;
    config.our_mac = our_mac;
    config.gateway_mac = peer_mac;
    config.local_ports = local_ports;
    config.capacity = 4;
    config.max_receive = 4096;
    ws::StreamTable table(config);
    std::map<std::uint16_t, Seen> seen;
    std::uint32_t slots[8] = {};
    std::uint32_t sessions[8] = {};
    std::uint64_t now = 0;
    std::uint32_t next_session = 1;
    Reader in{data, size};

    ws::ReplyContext peer_view{peer_ip, &cookies};
    peer_view.stream_ports = ws::PortRange{1, 65535};
    ws::ReplyContext ours{our_ip, &cookies};
    ours.stream_ports = local_ports;

    auto take = [&] {
        check(table.frames().size() <= ws::StreamTable::max_staged_frames);
        check(table.events().size() <= ws::StreamTable::max_staged_events);
        for (const auto& f : table.frames()) {
            const ws::ParsedReply r = ws::parse_reply(f.bytes, f.len, peer_view);
            check(r.kind == ws::ReplyKind::stream_segment);
            check(r.segment.peer == ws::IpAddress::from_ipv4(our_ip));
            check(r.segment.peer_port >= local_ports.first && r.segment.peer_port <= local_ports.last);
            seen[r.segment.peer_port] = Seen{r.segment.sequence, r.segment.acknowledgment};
        }
        for (const auto& e : table.events()) {
            check(e.len <= ws::StreamEvent::max_data);
            check(e.kind >= ws::StreamEventKind::port_open && e.kind <= ws::StreamEventKind::no_room);
            check(e.kind == ws::StreamEventKind::data || e.len == 0);
            if (e.flow_slot) {
                check(e.flow_slot <= config.capacity * 1u);
                slots[e.session % 8] = e.flow_slot;
                sessions[e.session % 8] = e.session;
            }
        }
        check(table.active() <= config.capacity);
        table.clear_staged();
    };

    while (in.n > 0) {
        switch (in.byte() % 6) {
        case 0: { // connect, with a payload of up to 64 bytes from the input
            ws::StreamCommand c{};
            c.kind = ws::StreamCommandKind::connect;
            c.session = next_session++;
            ws::IpAddress::from_ipv4(peer_ip).to_bytes(c.peer);
            ws::IpAddress::from_ipv4(our_ip).to_bytes(c.local);
            c.port = std::uint16_t(80 + in.byte() % 4);
            c.lifetime_ms = 100u * in.byte();
            c.len = in.byte() % 65;
            for (std::uint16_t i = 0; i < c.len; ++i) c.data[i] = in.byte();
            table.on_command(c, now);
            break;
        }
        case 1:
        case 2: { // a peer segment relative to what the table last sent on a port
            const std::uint16_t local = std::uint16_t(local_ports.first + in.byte() % local_ports.size());
            const Seen s = seen[local];
            ws::TcpSegment seg{};
            seg.source_mac = peer_mac;
            seg.destination_mac = our_mac;
            seg.source_ip = peer_ip;
            seg.destination_ip = our_ip;
            seg.source_port = std::uint16_t(80 + in.byte() % 4);
            seg.destination_port = local;
            seg.flags = in.byte();
            const std::uint8_t how = in.byte();
            seg.sequence = (how & 1) ? in.u32() : s.ack + std::uint32_t(std::int8_t(in.byte()));
            seg.acknowledgment = (how & 2) ? in.u32() : s.seq + 1 + std::uint32_t(in.byte() % 70);
            seg.window = (how & 4) ? 0 : in.u16();
            seg.ttl = 64;
            seg.with_mss = (how & 8) != 0;
            std::uint8_t payload[1500];
            seg.payload_len = std::uint16_t(in.byte() % 8 == 0 ? in.u16() % 1400 : in.byte() % 40);
            for (std::uint16_t i = 0; i < seg.payload_len; ++i) payload[i] = std::uint8_t(in.byte() ^ i);
            seg.payload = payload;
            std::uint8_t frame[1600];
            const std::size_t len = ws::build_tcp_segment(frame, seg);
            const ws::ParsedReply r = ws::parse_reply(frame, len, ours);
            check(r.kind == ws::ReplyKind::stream_segment);
            table.on_segment(r.segment, now);
            break;
        }
        case 3: { // send or close on a session the events named (or a stale one)
            const std::uint8_t which = in.byte();
            ws::StreamCommand c{};
            c.kind = (which & 0x80) ? ws::StreamCommandKind::close : ws::StreamCommandKind::send;
            c.session = sessions[which % 8] + ((which & 0x40) ? 1 : 0);
            c.flow_slot = slots[which % 8] + ((which & 0x20) ? 1 : 0);
            c.len = std::uint16_t(in.byte() % 200);
            for (std::uint16_t i = 0; i < c.len; ++i) c.data[i] = in.byte();
            table.on_command(c, now);
            break;
        }
        case 4: // the clock
            now += std::uint64_t(in.byte()) * (in.byte() % 4 == 0 ? 1000 : 10);
            table.advance(now);
            break;
        case 5: // the ring refused the staged events
            table.events_not_delivered(in.byte() % (table.events().size() + 1), now);
            break;
        }
        take();
    }
    return 0;
}
