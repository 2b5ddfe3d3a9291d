#pragma once
// The user-mode TCP of service detection (scan --service): just enough TCP
// to open a connection from a kernel-bypassed port, send a probe, take the
// service's answer in order and end with an RST. One StreamTable per RX
// lcore, owned by it: no lock, no allocation after construction, bounded.
//
// The RX lcore is the transport, the service thread (service_detector.hpp)
// the application: commands come down (connect with a first payload, send,
// close) and events go up (established, data, peer closed, reset, timeout)
// through fixed-size elements of per-lcore SPSC rings. The scan's own SYNs
// stay stateless; these connections use their own local ports
// (ReplyContext::stream_ports), so a reply says at once which path it takes.
//
// What the peer gets: a SYN with MSS 1460, at most one SYN retransmission,
// data segments of at most the peer's MSS and window, one retransmission of
// unacknowledged data, an ACK for every in-order segment and a duplicate ACK
// for an out-of-order one (dropped: the peer retransmits), and an RST at the
// end (close, timeout, the peer's FIN, or a segment for no connection).
// Everything refused is counted (StreamCounters).
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "wirespeed/address.hpp"
#include "wirespeed/ports.hpp"
#include "wirespeed/reply.hpp"

namespace ws {

enum class StreamEventKind : std::uint8_t {
    port_open = 1, // the scan found (peer, port) open: session 0, no connection yet
    established,   // our SYN was answered; the first payload (if any) is out
    data,          // in-order bytes from the peer
    peer_closed,   // the peer's FIN (after any data): the connection is gone (we sent RST)
    reset,         // the peer's RST: the connection is gone
    refused,       // an RST to our SYN: the port closed since the scan saw it
    timeout,       // no answer to the SYN, or the connection outlived its time
    no_room,       // the table was full, or a frame could not be sent: never opened
};
std::string_view to_string(StreamEventKind kind) noexcept;

// RX lcore -> service thread. 1536 bytes, a ring element.
struct StreamEvent {
    static constexpr std::size_t max_data = 1488; // > any segment of a 1500-byte MTU
    std::uint32_t session = 0;
    StreamEventKind kind{};
    std::uint8_t reserved = 0;
    std::uint16_t len = 0;
    std::uint8_t peer[16]; // IpAddress::to_bytes
    std::uint16_t port = 0;
    std::uint16_t reserved2 = 0;
    std::uint32_t elapsed_ms = 0;
    std::uint32_t flow_slot = 0; // the RX table's own: which connection (index + 1)
    std::uint8_t reserved3[12];
    std::uint8_t data[max_data];
};
static_assert(sizeof(StreamEvent) == 1536, "ring element size");

enum class StreamCommandKind : std::uint8_t {
    connect = 1, // open (peer, port) from `local`; send data once established
    send,        // more bytes on the session
    close,       // RST and forget (no event follows)
};

// Service thread -> RX lcore. 1536 bytes, a ring element.
struct StreamCommand {
    static constexpr std::size_t max_data = 1484;
    std::uint32_t session = 0;
    StreamCommandKind kind{};
    std::uint8_t reserved = 0;
    std::uint16_t len = 0;
    std::uint8_t peer[16];
    std::uint8_t local[16]; // our source address for the connection (connect)
    std::uint16_t port = 0;
    std::uint16_t reserved2 = 0;
    std::uint32_t lifetime_ms = 0; // connect: the connection ends (timeout event) this long after it
    std::uint32_t flow_slot = 0;   // send, close: StreamEvent::flow_slot of the session's events
    std::uint8_t data[max_data];
};
static_assert(sizeof(StreamCommand) == 1536, "ring element size");

struct StreamConfig {
    MacAddress our_mac{};
    MacAddress gateway_mac{};  // IPv4 next hop
    MacAddress gateway_mac6{}; // IPv6 next hop
    PortRange local_ports{0, 0};  // our ports for these connections (disjoint from the scan's)
    std::uint32_t capacity = 16384; // connections at once; more are refused (no_room)
    std::uint32_t syn_retransmit_ms = 1000;
    std::uint32_t syn_timeout_ms = 3000;
    std::uint32_t data_retransmit_ms = 500;
    std::uint32_t max_receive = 256 * 1024; // bytes taken from a peer before the connection is cut
    std::uint64_t isn_key = 0;        // keys the initial sequence numbers
    std::uint16_t window = 65535;     // what we advertise
    std::uint8_t ttl = 64;
};

struct StreamCounters {
    std::uint64_t connects = 0, established = 0, refused = 0, timeouts = 0, resets_in = 0, peer_closed = 0;
    std::uint64_t no_room = 0;            // connect refused: table full or no local port
    std::uint64_t segments_in = 0, data_bytes_in = 0, segments_out = 0;
    std::uint64_t retransmits = 0;        // SYNs and data sent again
    std::uint64_t out_of_order = 0;       // dropped, answered with a duplicate ACK
    std::uint64_t forged = 0;             // no connection, or an ACK / RST outside the window: dropped
    std::uint64_t events_lost = 0;        // the event ring was full: the connection was cut (RST)
    std::uint64_t frames_lost = 0;        // no room to stage a frame (the peer or our retransmit repairs it)
    std::uint64_t send_overflow = 0;      // send data past the send buffer: cut
    std::uint64_t too_much_data = 0;      // the peer sent more than max_receive: cut
};

class StreamTable {
public:
    static constexpr std::size_t send_buffer = 4096;
    static constexpr std::size_t max_frame = 1600;
    static constexpr std::size_t max_staged_frames = 128;
    static constexpr std::size_t max_staged_events = 64;

    explicit StreamTable(const StreamConfig& config);
    ~StreamTable();
    StreamTable(const StreamTable&) = delete;
    StreamTable& operator=(const StreamTable&) = delete;

    // Each call stages frames to send and events to deliver; the caller
    // takes them (frames(), events(), then clear_staged()) before the staging
    // fills: at most 4 frames and 2 events per call. `now_ms` is monotonic.
    void on_segment(const StreamSegment& segment, std::uint64_t now_ms) noexcept;
    void on_command(const StreamCommand& command, std::uint64_t now_ms) noexcept;
    void port_open(IpAddress peer, std::uint16_t port, std::uint32_t elapsed_ms) noexcept;
    // Runs the timers due by now_ms: retransmissions, timeouts. Stops early
    // when the staging is nearly full (call again after taking it).
    void advance(std::uint64_t now_ms) noexcept;

    struct Frame {
        std::uint16_t len;
        std::uint8_t bytes[max_frame];
    };
    std::span<const Frame> frames() const noexcept { return {frames_.get(), frame_count_}; }
    std::span<const StreamEvent> events() const noexcept { return {events_.get(), event_count_}; }
    void clear_staged() noexcept { frame_count_ = event_count_ = 0; }
    bool staging_nearly_full() const noexcept {
        return frame_count_ + 8 > max_staged_frames || event_count_ + 4 > max_staged_events;
    }
    // The events that did not fit the ring: each cuts its connection (an
    // RST staged, counted in events_lost). Call with the index of the first
    // event not taken, before clear_staged().
    void events_not_delivered(std::size_t first_lost, std::uint64_t now_ms) noexcept;

    std::size_t active() const noexcept { return active_; }
    const StreamCounters& counters() const noexcept { return counters_; }
    const StreamConfig& config() const noexcept { return config_; }

private:
    struct Flow;
    Flow* find(const IpAddress& peer, std::uint16_t peer_port, std::uint16_t local_port) noexcept;
    Flow* allocate() noexcept;
    void release(Flow& flow) noexcept;
    void link(Flow& flow) noexcept;
    void unlink(Flow& flow) noexcept;
    void schedule(Flow& flow, std::uint64_t at_ms) noexcept;
    void unschedule(Flow& flow) noexcept;
    void expire(Flow& flow, std::uint64_t now_ms) noexcept;
    void send_segment(const Flow& flow, std::uint8_t flags, std::uint32_t sequence, const std::uint8_t* data,
                      std::uint16_t len, bool with_mss) noexcept;
    void send_reset_to(const StreamSegment& segment) noexcept;
    void push_data(Flow& flow, std::uint64_t now_ms) noexcept;
    StreamEvent* stage_event(const Flow& flow, StreamEventKind kind) noexcept;
    void end(Flow& flow, StreamEventKind kind, bool send_rst) noexcept;
    std::uint32_t bucket_of(const IpAddress& peer, std::uint16_t peer_port, std::uint16_t local_port) const noexcept;

    StreamConfig config_;
    std::unique_ptr<Flow[]> flows_;
    std::vector<std::uint32_t> buckets_;   // heads of hash chains (index + 1; 0 = empty)
    std::vector<std::uint32_t> free_;      // free flow indices (a stack)
    static constexpr std::size_t wheel_slots = 4096; // 1 ms each
    std::vector<std::uint32_t> wheel_;     // heads of timer lists (index + 1)
    std::uint64_t wheel_now_ = 0;          // every slot before this ms has run
    std::unique_ptr<Frame[]> frames_;
    std::unique_ptr<StreamEvent[]> events_;
    std::size_t frame_count_ = 0, event_count_ = 0;
    std::size_t active_ = 0;
    std::uint32_t next_port_ = 0;
    StreamCounters counters_;
};

} // namespace ws
