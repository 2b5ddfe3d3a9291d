// The user-mode TCP of service detection, against a scripted peer. Every
// frame the table sends is parsed back with the scanner's own reply parser
// from the peer's side (checksums verified), and every peer segment is built
// with build_tcp_segment and parsed from ours, so both directions are real
// frames byte for byte.
#include "wirespeed/tcp_stream.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "wirespeed/probe.hpp"
#include "wirespeed/sources.hpp"

namespace {

constexpr ws::MacAddress our_mac{0x02, 0, 0, 0, 0, 0x01};
constexpr ws::MacAddress gateway_mac{0x02, 0, 0, 0, 0, 0xfe};
constexpr std::uint32_t our_ip = 0xc6120007;  // 198.18.0.7
constexpr std::uint32_t peer_ip = 0xc6130016; // 198.19.0.22
constexpr std::uint16_t peer_port = 22;
constexpr ws::PortRange local_ports{50000, 50999};
constexpr std::uint8_t FIN = 0x01, SYN = 0x02, RST = 0x04, ACK = 0x10;

using ws::StreamEventKind;

struct Sent { // a frame the table sent, as the peer sees it
    std::uint8_t flags;
    std::uint32_t seq, ack;
    std::uint16_t mss;
    std::string data;
    std::uint16_t local_port; // ours
};

class TcpStreamTest : public ::testing::Test {
protected:
    ws::CookieMaker cookies{ws::CookieKey{1, 2}, ws::PortRange{40000, 40999}};
    ws::StreamConfig config() const {
        ws::StreamConfig c;
        c.our_mac = our_mac;
        c.gateway_mac = gateway_mac;
        c.local_ports = local_ports;
        c.capacity = 4;
        c.isn_key = 42;
        return c;
    }
    std::unique_ptr<ws::StreamTable> table = std::make_unique<ws::StreamTable>(config());
    std::uint64_t now = 1000;
    std::uint32_t peer_isn = 7000;
    bool take_after = true;

    // Takes and parses what the table staged.
    std::vector<Sent> sent;
    std::vector<ws::StreamEvent> events;
    void take() {
        ws::ReplyContext peer_view{peer_ip, &cookies};
        peer_view.stream_ports = ws::PortRange{peer_port, peer_port};
        for (const auto& frame : table->frames()) {
            const ws::ParsedReply r = ws::parse_reply(frame.bytes, frame.len, peer_view);
            ASSERT_EQ(r.kind, ws::ReplyKind::stream_segment) << "a frame the peer cannot parse";
            EXPECT_EQ(r.segment.peer, ws::IpAddress::from_ipv4(our_ip));
            EXPECT_EQ(std::memcmp(frame.bytes, gateway_mac.data(), 6), 0);
            sent.push_back({r.segment.flags, r.segment.sequence, r.segment.acknowledgment, r.segment.mss,
                            std::string(reinterpret_cast<const char*>(r.segment.payload), r.segment.payload_len),
                            r.segment.peer_port});
        }
        for (const auto& e : table->events()) events.push_back(e);
        table->clear_staged();
    }
    void connect(std::uint32_t session, std::string payload, std::uint32_t lifetime_ms = 6000) {
        ws::StreamCommand c{};
        c.kind = ws::StreamCommandKind::connect;
        c.session = session;
        ws::IpAddress::from_ipv4(peer_ip).to_bytes(c.peer);
        ws::IpAddress::from_ipv4(our_ip).to_bytes(c.local);
        c.port = peer_port;
        c.lifetime_ms = lifetime_ms;
        c.len = std::uint16_t(payload.size());
        std::memcpy(c.data, payload.data(), payload.size());
        table->on_command(c, now);
        take();
    }
    void command(ws::StreamCommandKind kind, std::uint32_t session, std::uint32_t slot, std::string payload = {}) {
        ws::StreamCommand c{};
        c.kind = kind;
        c.session = session;
        c.flow_slot = slot;
        c.len = std::uint16_t(payload.size());
        std::memcpy(c.data, payload.data(), payload.size());
        table->on_command(c, now);
        take();
    }
    // The peer sends a segment to our local port.
    void peer(std::uint16_t local_port, std::uint8_t flags, std::uint32_t seq, std::uint32_t ack, std::string data = {},
              std::uint16_t window = 64240, bool mss = false) {
        ws::TcpSegment s{};
        s.source_mac = gateway_mac;
        s.destination_mac = our_mac;
        s.source_ip = peer_ip;
        s.destination_ip = our_ip;
        s.source_port = peer_port;
        s.destination_port = local_port;
        s.sequence = seq;
        s.acknowledgment = ack;
        s.flags = flags;
        s.window = window;
        s.ttl = 64;
        s.with_mss = mss;
        s.payload = reinterpret_cast<const std::uint8_t*>(data.data());
        s.payload_len = std::uint16_t(data.size());
        std::uint8_t frame[2048];
        const std::size_t len = ws::build_tcp_segment(frame, s);
        ws::ReplyContext ours{our_ip, &cookies};
        ours.stream_ports = local_ports;
        const ws::ParsedReply r = ws::parse_reply(frame, len, ours);
        ASSERT_EQ(r.kind, ws::ReplyKind::stream_segment);
        table->on_segment(r.segment, now);
        if (take_after) take();
    }
    void advance_to(std::uint64_t t) {
        now = t;
        table->advance(now);
        take();
    }
    // Connects and completes the handshake; returns our ISN + 1 and the local port.
    std::pair<std::uint32_t, std::uint16_t> established(std::string payload, std::uint16_t window = 64240,
                                                       std::uint16_t mss = 1460) {
        connect(1, payload);
        EXPECT_EQ(sent.size(), 1u);
        const Sent s = sent.at(0);
        sent.clear();
        peer(s.local_port, SYN | ACK, peer_isn, s.seq + 1, {}, window, mss != 0);
        return {s.seq + 1, s.local_port};
    }
};

TEST_F(TcpStreamTest, HandshakeProbeAnswerAndPeerClose) {
    connect(7, "GET / HTTP/1.0\r\n\r\n");
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].flags, SYN);
    EXPECT_EQ(sent[0].mss, 1460);
    EXPECT_GE(sent[0].local_port, local_ports.first);
    EXPECT_LE(sent[0].local_port, local_ports.last);
    const std::uint32_t isn = sent[0].seq;
    const std::uint16_t port = sent[0].local_port;
    sent.clear();

    peer(port, SYN | ACK, peer_isn, isn + 1, {}, 64240, true);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, StreamEventKind::established);
    EXPECT_EQ(events[0].session, 7u);
    EXPECT_NE(events[0].flow_slot, 0u);
    ASSERT_EQ(sent.size(), 1u); // the probe carries the handshake's ACK
    EXPECT_EQ(sent[0].flags, ACK | 0x08);
    EXPECT_EQ(sent[0].seq, isn + 1);
    EXPECT_EQ(sent[0].ack, peer_isn + 1);
    EXPECT_EQ(sent[0].data, "GET / HTTP/1.0\r\n\r\n");
    sent.clear();

    peer(port, ACK, peer_isn + 1, isn + 1 + 18, "HTTP/1.0 200 OK\r\n");
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[1].kind, StreamEventKind::data);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(events[1].data), events[1].len), "HTTP/1.0 200 OK\r\n");
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].flags, ACK);
    EXPECT_EQ(sent[0].ack, peer_isn + 1 + 17);
    sent.clear();

    peer(port, FIN | ACK, peer_isn + 18, isn + 19, "bye");
    ASSERT_EQ(events.size(), 4u);
    EXPECT_EQ(events[2].kind, StreamEventKind::data);
    EXPECT_EQ(events[3].kind, StreamEventKind::peer_closed);
    EXPECT_EQ(events[3].flow_slot, 0u);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].flags, RST | ACK);
    EXPECT_EQ(sent[0].seq, isn + 19);
    EXPECT_EQ(table->active(), 0u);
    EXPECT_EQ(table->counters().data_bytes_in, 20u);
}

TEST_F(TcpStreamTest, NullProbeWaitsForAGreeting) {
    auto [seq, port] = established("");
    ASSERT_EQ(sent.size(), 1u); // a bare ACK
    EXPECT_EQ(sent[0].flags, ACK);
    EXPECT_TRUE(sent[0].data.empty());
    sent.clear();
    peer(port, ACK | 0x08, peer_isn + 1, seq, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[1].len, 40);
}

TEST_F(TcpStreamTest, RstToSynIsRefused) {
    connect(3, "x");
    peer(sent[0].local_port, RST | ACK, 0, sent[0].seq + 1);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, StreamEventKind::refused);
    EXPECT_EQ(events[0].session, 3u);
    EXPECT_EQ(table->active(), 0u);
}

TEST_F(TcpStreamTest, SynRetransmittedOnceThenTimeout) {
    connect(3, "");
    const Sent syn = sent[0];
    sent.clear();
    advance_to(now + 999);
    EXPECT_TRUE(sent.empty());
    advance_to(now + 1);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].flags, SYN);
    EXPECT_EQ(sent[0].seq, syn.seq);
    sent.clear();
    advance_to(now + 1500);
    EXPECT_TRUE(sent.empty());
    EXPECT_TRUE(events.empty());
    advance_to(now + 500); // 3 s after the SYN
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, StreamEventKind::timeout);
    EXPECT_EQ(table->counters().retransmits, 1u);
    EXPECT_EQ(table->active(), 0u);
}

TEST_F(TcpStreamTest, LostProbeRetransmittedOnce) {
    auto [seq, port] = established("HELP\r\n");
    sent.clear();
    advance_to(now + 500);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].data, "HELP\r\n");
    EXPECT_EQ(sent[0].seq, seq);
    sent.clear();
    advance_to(now + 5000);
    EXPECT_TRUE(sent.empty()); // one retransmission, no more
    peer(port, ACK, peer_isn + 1, seq + 6, "214 ok\r\n");
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[1].kind, StreamEventKind::data);
}

TEST_F(TcpStreamTest, OutOfOrderDroppedWithDuplicateAckThenRepaired) {
    auto [seq, port] = established("");
    sent.clear();
    peer(port, ACK, peer_isn + 1 + 5, seq, "world");
    EXPECT_EQ(events.size(), 1u); // established only
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].ack, peer_isn + 1);
    EXPECT_EQ(table->counters().out_of_order, 1u);
    peer(port, ACK, peer_isn + 1, seq, "hello");
    peer(port, ACK, peer_isn + 1, seq, "helloworld"); // the retransmission overlaps what we have
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(events[1].data), events[1].len), "hello");
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(events[2].data), events[2].len), "world");
}

TEST_F(TcpStreamTest, ForgedSegmentsAreCountedAndDropped) {
    connect(3, "");
    const Sent syn = sent[0];
    peer(syn.local_port, SYN | ACK, peer_isn, syn.seq + 2); // wrong ack
    peer(syn.local_port, RST | ACK, 0, syn.seq + 5);        // RST with a wrong ack
    EXPECT_TRUE(events.empty());
    EXPECT_EQ(table->counters().forged, 2u);
    peer(syn.local_port, SYN | ACK, peer_isn, syn.seq + 1);
    ASSERT_EQ(events.size(), 1u);
    sent.clear();
    peer(syn.local_port, ACK, peer_isn + 1, syn.seq + 100, "x"); // acks what we never sent
    peer(syn.local_port, RST, peer_isn + 1 + 200000, 0);        // RST far outside the window
    EXPECT_EQ(events.size(), 1u);
    EXPECT_EQ(table->counters().forged, 4u);
    // No connection at all: the peer gets an RST, as from a real host.
    peer(50999, ACK, 5, 77, "stray");
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].flags, RST);
    EXPECT_EQ(sent[0].seq, 77u);
    EXPECT_EQ(table->counters().forged, 5u);
}

TEST_F(TcpStreamTest, ZeroWindowWaitsAndProbes) {
    auto [seq, port] = established("ABCDEF", 0);
    ASSERT_EQ(sent.size(), 1u); // only the ACK: the window is closed
    EXPECT_TRUE(sent[0].data.empty());
    sent.clear();
    advance_to(now + 500); // the window probe: one byte
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].data, "A");
    sent.clear();
    peer(port, ACK, peer_isn + 1, seq + 1, {}, 100); // the window opens
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].data, "BCDEF");
    EXPECT_EQ(sent[0].seq, seq + 1);
}

TEST_F(TcpStreamTest, SmallPeerMssSplitsTheProbe) {
    auto [seq, port] = established("", 64240, 0); // no MSS option: 536
    sent.clear();
    std::string big(1200, 'x');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = char('a' + i % 26);
    command(ws::StreamCommandKind::send, 1, events[0].flow_slot, big);
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(sent[0].data.size(), 536u);
    EXPECT_EQ(sent[1].data.size(), 536u);
    EXPECT_EQ(sent[2].data.size(), 128u);
    EXPECT_EQ(sent[0].data + sent[1].data + sent[2].data, big);
    EXPECT_EQ(sent[2].seq, seq + 1072);
}

TEST_F(TcpStreamTest, FullTableSaysNoRoom) {
    for (std::uint32_t i = 1; i <= 5; ++i) connect(i, "");
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, StreamEventKind::no_room);
    EXPECT_EQ(events[0].session, 5u);
    EXPECT_EQ(table->counters().no_room, 1u);
    EXPECT_EQ(table->active(), 4u);
}

TEST_F(TcpStreamTest, LifetimeEndsTheConnectionAndCloseSendsRst) {
    auto [seq, port] = established("", 64240);
    (void)seq;
    (void)port;
    sent.clear();
    advance_to(now + 6000);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[1].kind, StreamEventKind::timeout);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].flags, RST | ACK);

    events.clear();
    sent.clear();
    auto second = established("");
    (void)second;
    ASSERT_EQ(events.size(), 1u);
    sent.clear();
    command(ws::StreamCommandKind::close, 1, events[0].flow_slot);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].flags, RST | ACK);
    EXPECT_EQ(events.size(), 1u); // close gives no event
    EXPECT_EQ(table->active(), 0u);
    command(ws::StreamCommandKind::close, 1, events[0].flow_slot); // stale: ignored
    EXPECT_EQ(sent.size(), 1u);
}

TEST_F(TcpStreamTest, LostEventsCutTheConnection) {
    auto [seq, port] = established("");
    sent.clear();
    take_after = false; // the ring takes none of what this segment stages
    peer(port, ACK, peer_isn + 1, seq, "greeting");
    take_after = true;
    ASSERT_EQ(table->events().size(), 1u);
    EXPECT_EQ(table->frames().size(), 1u); // its ACK
    table->events_not_delivered(0, now);
    take();
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[1].flags, RST | ACK);
    EXPECT_EQ(table->counters().events_lost, 1u);
    EXPECT_EQ(table->active(), 0u);
}

TEST_F(TcpStreamTest, Ipv6Connection) {
    ws::StreamConfig c = config();
    c.gateway_mac6 = ws::MacAddress{0x02, 0, 0, 0, 0, 0x66};
    ws::StreamTable t6(c);
    const ws::IpAddress peer6 = ws::IpAddress::from_ipv6((ws::uint128{0x20010db800010000ull} << 64) | 0x16);
    const ws::IpAddress ours6 = ws::IpAddress::from_ipv6((ws::uint128{0x20010db800000000ull} << 64) | 0x7);
    ws::StreamCommand cmd{};
    cmd.kind = ws::StreamCommandKind::connect;
    cmd.session = 9;
    peer6.to_bytes(cmd.peer);
    ours6.to_bytes(cmd.local);
    cmd.port = 443;
    cmd.lifetime_ms = 1000;
    t6.on_command(cmd, 0);
    ASSERT_EQ(t6.frames().size(), 1u);
    const auto& f = t6.frames()[0];
    EXPECT_EQ(std::memcmp(f.bytes, c.gateway_mac6.data(), 6), 0);
    ws::SourceAddresses peers = ws::SourceAddresses::parse("2001:db8:1::16");
    ws::ReplyContext peer_view{0, &cookies};
    peer_view.sources = &peers;
    peer_view.stream_ports = ws::PortRange{443, 443};
    const ws::ParsedReply r = ws::parse_reply(f.bytes, f.len, peer_view);
    ASSERT_EQ(r.kind, ws::ReplyKind::stream_segment);
    EXPECT_EQ(r.segment.peer, ours6);
    EXPECT_EQ(r.segment.flags, SYN);
    EXPECT_EQ(r.segment.mss, 1460);
}

} // namespace
