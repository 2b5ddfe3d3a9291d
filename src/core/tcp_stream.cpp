#include "wirespeed/tcp_stream.hpp"

#include <algorithm>
#include <cstring>

#include "wirespeed/probe.hpp"

namespace ws {

std::string_view to_string(StreamEventKind kind) noexcept {
    switch (kind) {
    case StreamEventKind::port_open: return "port_open";
    case StreamEventKind::established: return "established";
    case StreamEventKind::data: return "data";
    case StreamEventKind::peer_closed: return "peer_closed";
    case StreamEventKind::reset: return "reset";
    case StreamEventKind::refused: return "refused";
    case StreamEventKind::timeout: return "timeout";
    case StreamEventKind::no_room: return "no_room";
    }
    return "unknown";
}

namespace {

constexpr std::uint8_t fin = 0x01, syn = 0x02, rst = 0x04, psh = 0x08, ack = 0x10;
constexpr std::uint16_t default_mss = 536; // RFC 9293 when the SYN-ACK has none
constexpr std::uint16_t our_mss = 1460;

enum FlowState : std::uint8_t { free_flow = 0, syn_sent = 1, established = 2 };

// Sequence space comparisons (RFC 9293 3.4): a before b.
constexpr bool before(std::uint32_t a, std::uint32_t b) noexcept { return std::int32_t(a - b) < 0; }

constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

constexpr std::uint64_t no_time = ~std::uint64_t{0};

} // namespace

struct StreamTable::Flow {
    IpAddress peer, local;
    std::uint32_t session = 0;
    std::uint16_t peer_port = 0, local_port = 0;
    std::uint32_t snd_una = 0, snd_nxt = 0, rcv_nxt = 0;
    std::uint32_t received = 0;
    std::uint16_t peer_mss = default_mss;
    std::uint16_t peer_window = 0;
    std::uint16_t send_len = 0; // bytes of send_buf from snd_una: sent and unacknowledged, then unsent
    std::uint8_t state = free_flow;
    std::uint8_t retransmitted = 0;
    std::uint64_t life_ms = 0;       // the command's end of life
    std::uint64_t deadline_ms = 0;   // this state's end (SYN timeout, or life)
    std::uint64_t retransmit_ms = no_time;
    std::uint64_t timer_ms = 0;      // the wheel slot it is linked in
    std::uint32_t hash_next = 0;     // index + 1
    std::uint32_t timer_next = 0, timer_prev = 0;
    bool timer_linked = false;
    std::uint8_t send_buf[send_buffer];
};

StreamTable::StreamTable(const StreamConfig& config)
    : config_(config), flows_(new Flow[std::max<std::uint32_t>(config.capacity, 1)]),
      frames_(new Frame[max_staged_frames]), events_(new StreamEvent[max_staged_events]) {
    config_.capacity = std::max<std::uint32_t>(config.capacity, 1);
    std::size_t buckets = 1;
    while (buckets < std::size_t(config_.capacity) * 2) buckets <<= 1;
    buckets_.assign(buckets, 0);
    free_.reserve(config_.capacity);
    for (std::uint32_t i = config_.capacity; i-- > 0;) free_.push_back(i);
    wheel_.assign(wheel_slots, 0);
}

StreamTable::~StreamTable() = default;

std::uint32_t StreamTable::bucket_of(const IpAddress& peer, std::uint16_t peer_port,
                                     std::uint16_t local_port) const noexcept {
    const std::uint64_t h = mix64(peer.high() ^ mix64(peer.low() ^ (std::uint64_t{peer_port} << 16 | local_port)));
    return std::uint32_t(h & (buckets_.size() - 1));
}

StreamTable::Flow* StreamTable::find(const IpAddress& peer, std::uint16_t peer_port, std::uint16_t local_port) noexcept {
    for (std::uint32_t i = buckets_[bucket_of(peer, peer_port, local_port)]; i != 0; i = flows_[i - 1].hash_next) {
        Flow& f = flows_[i - 1];
        if (f.peer_port == peer_port && f.local_port == local_port && f.peer == peer) return &f;
    }
    return nullptr;
}

StreamTable::Flow* StreamTable::allocate() noexcept {
    if (free_.empty()) return nullptr;
    Flow* f = &flows_[free_.back()];
    free_.pop_back();
    ++active_;
    return f;
}

void StreamTable::link(Flow& flow) noexcept {
    const std::uint32_t b = bucket_of(flow.peer, flow.peer_port, flow.local_port);
    flow.hash_next = buckets_[b];
    buckets_[b] = std::uint32_t(&flow - flows_.get()) + 1;
}

void StreamTable::unlink(Flow& flow) noexcept {
    const std::uint32_t self = std::uint32_t(&flow - flows_.get()) + 1;
    std::uint32_t* at = &buckets_[bucket_of(flow.peer, flow.peer_port, flow.local_port)];
    while (*at != 0 && *at != self) at = &flows_[*at - 1].hash_next;
    if (*at == self) *at = flow.hash_next;
    flow.hash_next = 0;
}

void StreamTable::schedule(Flow& flow, std::uint64_t at_ms) noexcept {
    unschedule(flow);
    if (at_ms < wheel_now_) at_ms = wheel_now_;
    flow.timer_ms = at_ms;
    const std::uint32_t self = std::uint32_t(&flow - flows_.get()) + 1;
    std::uint32_t& head = wheel_[at_ms & (wheel_slots - 1)];
    flow.timer_prev = 0;
    flow.timer_next = head;
    if (head) flows_[head - 1].timer_prev = self;
    head = self;
    flow.timer_linked = true;
}

void StreamTable::unschedule(Flow& flow) noexcept {
    if (!flow.timer_linked) return;
    if (flow.timer_prev) flows_[flow.timer_prev - 1].timer_next = flow.timer_next;
    else wheel_[flow.timer_ms & (wheel_slots - 1)] = flow.timer_next;
    if (flow.timer_next) flows_[flow.timer_next - 1].timer_prev = flow.timer_prev;
    flow.timer_next = flow.timer_prev = 0;
    flow.timer_linked = false;
}

void StreamTable::release(Flow& flow) noexcept {
    unschedule(flow);
    unlink(flow);
    flow.state = free_flow;
    flow.session = 0;
    free_.push_back(std::uint32_t(&flow - flows_.get()));
    --active_;
}

void StreamTable::send_segment(const Flow& flow, std::uint8_t flags, std::uint32_t sequence, const std::uint8_t* data,
                               std::uint16_t len, bool with_mss) noexcept {
    if (frame_count_ == max_staged_frames) {
        ++counters_.frames_lost;
        return;
    }
    Frame& out = frames_[frame_count_];
    const TcpSegmentAny segment{config_.our_mac,
                                flow.peer.is_ipv4() ? config_.gateway_mac : config_.gateway_mac6,
                                flow.local,
                                flow.peer,
                                flow.local_port,
                                flow.peer_port,
                                sequence,
                                (flags & ack) ? flow.rcv_nxt : 0,
                                flags,
                                config_.window,
                                config_.ttl,
                                with_mss,
                                data,
                                len};
    const std::size_t size = build_tcp_segment_any(out.bytes, segment);
    out.len = std::uint16_t(size);
    ++frame_count_;
    ++counters_.segments_out;
}

// The RST a host sends for a segment of no connection (RFC 9293 3.10.7.1).
void StreamTable::send_reset_to(const StreamSegment& segment) noexcept {
    Flow f;
    f.peer = segment.peer;
    f.local = segment.local;
    f.peer_port = segment.peer_port;
    f.local_port = segment.local_port;
    if (segment.flags & ack) {
        send_segment(f, rst, segment.acknowledgment, nullptr, 0, false);
    } else {
        f.rcv_nxt = segment.sequence + segment.payload_len + ((segment.flags & syn) ? 1 : 0) + ((segment.flags & fin) ? 1 : 0);
        send_segment(f, rst | ack, 0, nullptr, 0, false);
    }
}

StreamEvent* StreamTable::stage_event(const Flow& flow, StreamEventKind kind) noexcept {
    if (event_count_ == max_staged_events) {
        ++counters_.events_lost;
        return nullptr;
    }
    StreamEvent& e = events_[event_count_++];
    e.session = flow.session;
    e.kind = kind;
    e.len = 0;
    flow.peer.to_bytes(e.peer);
    e.port = flow.peer_port;
    e.elapsed_ms = 0;
    e.flow_slot = flow.state == free_flow ? 0 : std::uint32_t(&flow - flows_.get()) + 1;
    return &e;
}

void StreamTable::end(Flow& flow, StreamEventKind kind, bool send_rst) noexcept {
    if (send_rst) send_segment(flow, rst | ack, flow.snd_nxt, nullptr, 0, false);
    if (StreamEvent* e = stage_event(flow, kind)) e->flow_slot = 0; // the connection is gone
    release(flow);
}

void StreamTable::port_open(IpAddress peer, std::uint16_t port, std::uint32_t elapsed_ms) noexcept {
    if (event_count_ == max_staged_events) {
        ++counters_.events_lost;
        return;
    }
    StreamEvent& e = events_[event_count_++];
    e.session = 0;
    e.kind = StreamEventKind::port_open;
    e.len = 0;
    peer.to_bytes(e.peer);
    e.port = port;
    e.elapsed_ms = elapsed_ms;
    e.flow_slot = 0;
}

// Sends what the peer's window and MSS allow of the unsent bytes; arms the
// retransmission timer while anything is unacknowledged.
void StreamTable::push_data(Flow& flow, std::uint64_t now_ms) noexcept {
    for (int segments = 0; segments < 3; ++segments) {
        const std::uint32_t in_flight = flow.snd_nxt - flow.snd_una;
        if (in_flight >= flow.send_len) break;
        const std::uint32_t window_left = flow.peer_window > in_flight ? flow.peer_window - in_flight : 0;
        const std::uint32_t len = std::min({std::uint32_t(flow.send_len) - in_flight, std::uint32_t(flow.peer_mss), window_left});
        if (len == 0) break; // zero window: the retransmission timer probes it
        send_segment(flow, ack | psh, flow.snd_nxt, flow.send_buf + in_flight, std::uint16_t(len), false);
        flow.snd_nxt += len;
    }
    if (flow.send_len != 0 && flow.retransmit_ms == no_time) flow.retransmit_ms = now_ms + config_.data_retransmit_ms;
    if (flow.send_len == 0) flow.retransmit_ms = no_time;
    schedule(flow, std::min(flow.deadline_ms, flow.retransmit_ms));
}

void StreamTable::on_command(const StreamCommand& command, std::uint64_t now_ms) noexcept {
    const IpAddress peer = IpAddress::from_bytes(command.peer);
    const std::uint16_t len = std::min<std::uint16_t>(command.len, StreamCommand::max_data);
    if (command.kind == StreamCommandKind::connect) {
        ++counters_.connects;
        Flow* flow = allocate();
        std::uint16_t local_port = 0;
        if (flow && config_.local_ports.last != 0) {
            const std::uint32_t ports = config_.local_ports.size();
            for (int attempt = 0; attempt < 8 && local_port == 0; ++attempt) {
                const auto candidate = std::uint16_t(config_.local_ports.first + next_port_++ % ports);
                if (!find(peer, command.port, candidate)) local_port = candidate;
            }
        }
        if (!flow || local_port == 0) {
            if (flow) {
                free_.push_back(std::uint32_t(flow - flows_.get()));
                --active_;
            }
            ++counters_.no_room;
            Flow gone;
            gone.peer = peer;
            gone.peer_port = command.port;
            gone.session = command.session;
            stage_event(gone, StreamEventKind::no_room);
            return;
        }
        Flow& f = *flow;
        f.peer = peer;
        f.local = IpAddress::from_bytes(command.local);
        f.session = command.session;
        f.peer_port = command.port;
        f.local_port = local_port;
        const std::uint32_t isn = std::uint32_t(
            mix64(config_.isn_key ^ mix64(peer.high() ^ mix64(peer.low() ^ (std::uint64_t{command.port} << 16 | local_port)))));
        f.snd_una = isn;
        f.snd_nxt = isn + 1;
        f.rcv_nxt = 0;
        f.received = 0;
        f.peer_mss = default_mss;
        f.peer_window = 0;
        f.send_len = std::min<std::uint16_t>(len, send_buffer);
        std::memcpy(f.send_buf, command.data, f.send_len);
        f.state = syn_sent;
        f.retransmitted = 0;
        f.life_ms = now_ms + command.lifetime_ms;
        f.deadline_ms = std::min(f.life_ms, now_ms + config_.syn_timeout_ms);
        f.retransmit_ms = now_ms + config_.syn_retransmit_ms;
        link(f);
        send_segment(f, syn, isn, nullptr, 0, true);
        schedule(f, std::min(f.deadline_ms, f.retransmit_ms));
        return;
    }
    // send / close: the slot the session's events named.
    if (command.flow_slot == 0 || command.flow_slot > config_.capacity) return;
    Flow& f = flows_[command.flow_slot - 1];
    if (f.state == free_flow || f.session != command.session) return; // ended meanwhile
    if (command.kind == StreamCommandKind::close) {
        send_segment(f, rst | ack, f.snd_nxt, nullptr, 0, false);
        release(f);
        return;
    }
    if (f.send_len + len > send_buffer) {
        ++counters_.send_overflow;
        return end(f, StreamEventKind::reset, true);
    }
    std::memcpy(f.send_buf + f.send_len, command.data, len);
    f.send_len = std::uint16_t(f.send_len + len);
    if (f.state == established) push_data(f, now_ms);
}

void StreamTable::on_segment(const StreamSegment& s, std::uint64_t now_ms) noexcept {
    ++counters_.segments_in;
    Flow* flow = find(s.peer, s.peer_port, s.local_port);
    if (!flow) {
        ++counters_.forged;
        if (!(s.flags & rst)) send_reset_to(s);
        return;
    }
    Flow& f = *flow;
    if (f.state == syn_sent) {
        if (s.flags & rst) {
            if ((s.flags & ack) && s.acknowledgment == f.snd_nxt) {
                ++counters_.refused;
                return end(f, StreamEventKind::refused, false);
            }
            ++counters_.forged;
            return;
        }
        if ((s.flags & (syn | ack)) != (syn | ack) || s.acknowledgment != f.snd_nxt) {
            ++counters_.forged;
            return;
        }
        ++counters_.established;
        f.state = established;
        f.rcv_nxt = s.sequence + 1;
        f.snd_una = f.snd_nxt;
        f.peer_mss = s.mss ? std::min(s.mss, our_mss) : default_mss;
        f.peer_window = s.window;
        f.retransmitted = 0;
        f.retransmit_ms = no_time;
        f.deadline_ms = f.life_ms;
        stage_event(f, StreamEventKind::established);
        if (f.send_len == 0 || f.peer_window == 0) send_segment(f, ack, f.snd_nxt, nullptr, 0, false);
        push_data(f, now_ms);
        return;
    }

    // Established.
    if (s.flags & rst) {
        // In window: our next expected byte up to what we advertise.
        if (s.sequence - f.rcv_nxt <= config_.window) {
            ++counters_.resets_in;
            return end(f, StreamEventKind::reset, false);
        }
        ++counters_.forged;
        return;
    }
    if (s.flags & syn) { // the SYN-ACK again: our ACK was lost
        if (s.sequence + 1 == f.rcv_nxt) send_segment(f, ack, f.snd_nxt, nullptr, 0, false);
        else ++counters_.forged;
        return;
    }
    if (!(s.flags & ack)) {
        ++counters_.forged;
        return;
    }
    if (before(f.snd_nxt, s.acknowledgment)) { // acknowledges what we never sent
        ++counters_.forged;
        return;
    }
    // Data far outside what we advertised is not this connection's.
    if (s.sequence - f.rcv_nxt > config_.window && f.rcv_nxt - s.sequence > config_.window) {
        ++counters_.forged;
        return;
    }
    if (before(f.snd_una, s.acknowledgment)) {
        const std::uint32_t acked = s.acknowledgment - f.snd_una;
        std::memmove(f.send_buf, f.send_buf + acked, f.send_len - acked);
        f.send_len = std::uint16_t(f.send_len - acked);
        f.snd_una = s.acknowledgment;
        f.retransmitted = 0;
        f.retransmit_ms = no_time;
    }
    f.peer_window = s.window;

    std::uint32_t seq = s.sequence;
    const std::uint8_t* payload = s.payload;
    std::uint32_t len = s.payload_len;
    if (len != 0) {
        if (before(f.rcv_nxt, seq)) { // a gap: drop it, the duplicate ACK asks again
            ++counters_.out_of_order;
            send_segment(f, ack, f.snd_nxt, nullptr, 0, false);
            push_data(f, now_ms);
            return;
        }
        const std::uint32_t seen = f.rcv_nxt - seq; // already delivered (a retransmission)
        if (seen >= len) {
            len = 0;
        } else {
            payload += seen;
            len -= seen;
            seq = f.rcv_nxt;
        }
        if (len != 0) {
            f.received += len;
            counters_.data_bytes_in += len;
            if (f.received > config_.max_receive) {
                ++counters_.too_much_data;
                return end(f, StreamEventKind::reset, true);
            }
            for (std::uint32_t at = 0; at < len;) {
                StreamEvent* e = stage_event(f, StreamEventKind::data);
                if (!e) return end(f, StreamEventKind::reset, true);
                const std::uint32_t n = std::min<std::uint32_t>(len - at, StreamEvent::max_data);
                std::memcpy(e->data, payload + at, n);
                e->len = std::uint16_t(n);
                at += n;
            }
            f.rcv_nxt += len;
        }
    }
    if ((s.flags & fin) && seq + len == f.rcv_nxt) {
        ++f.rcv_nxt;
        ++counters_.peer_closed;
        return end(f, StreamEventKind::peer_closed, true);
    }
    if (s.payload_len != 0) send_segment(f, ack, f.snd_nxt, nullptr, 0, false);
    push_data(f, now_ms);
}

void StreamTable::expire(Flow& f, std::uint64_t now_ms) noexcept {
    if (now_ms >= f.deadline_ms) {
        ++counters_.timeouts;
        return end(f, StreamEventKind::timeout, true);
    }
    if (now_ms >= f.retransmit_ms) {
        f.retransmit_ms = no_time;
        if (f.retransmitted == 0) {
            f.retransmitted = 1;
            ++counters_.retransmits;
            if (f.state == syn_sent) {
                send_segment(f, syn, f.snd_una, nullptr, 0, true);
            } else if (f.send_len != 0) {
                // The first unacknowledged segment; a zero window makes it a window probe of one byte.
                const std::uint32_t in_flight = std::max<std::uint32_t>(f.snd_nxt - f.snd_una, 1);
                const std::uint32_t len = std::min({in_flight, std::uint32_t(f.send_len), std::uint32_t(f.peer_mss)});
                send_segment(f, ack | psh, f.snd_una, f.send_buf, std::uint16_t(len), false);
                if (before(f.snd_nxt, f.snd_una + len)) f.snd_nxt = f.snd_una + len;
            }
        }
    }
    schedule(f, std::min(f.deadline_ms, f.retransmit_ms));
}

void StreamTable::advance(std::uint64_t now_ms) noexcept {
    if (now_ms < wheel_now_) return;
    // A gap longer than the wheel visits each slot once: every flow is in one.
    const std::uint64_t last = now_ms - wheel_now_ >= wheel_slots ? wheel_now_ + wheel_slots - 1 : now_ms;
    for (std::uint64_t t = wheel_now_; t <= last; ++t) {
        std::uint32_t i = wheel_[t & (wheel_slots - 1)];
        while (i != 0) {
            if (staging_nearly_full()) {
                wheel_now_ = t;
                return;
            }
            Flow& f = flows_[i - 1];
            i = f.timer_next;
            if (f.timer_ms <= now_ms) {
                unschedule(f);
                expire(f, now_ms);
            }
        }
    }
    wheel_now_ = now_ms + 1;
}

void StreamTable::events_not_delivered(std::size_t first_lost, std::uint64_t now_ms) noexcept {
    for (std::size_t i = first_lost; i < event_count_; ++i) {
        const StreamEvent& e = events_[i];
        ++counters_.events_lost;
        if (e.flow_slot == 0 || e.flow_slot > config_.capacity) continue;
        Flow& f = flows_[e.flow_slot - 1];
        if (f.state != free_flow && f.session == e.session) {
            // Bytes the service thread will never see: the answer is cut, so the connection is.
            send_segment(f, rst | ack, f.snd_nxt, nullptr, 0, false);
            release(f);
        }
    }
    (void)now_ms;
}

} // namespace ws
