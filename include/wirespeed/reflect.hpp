#pragma once
// The reflector's pure side: which (address, protocol, port) pairs a
// simulated network declares open, closed or filtered, parsing of the probes
// it answers (TCP SYN, UDP, ICMP echo request), the answers themselves (each
// probe module's reflect(), see probes/), and the ground truth it prints. The
// DPDK lcore that runs it is in src/dpdk.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wirespeed/address.hpp"
#include "wirespeed/ports.hpp"
#include "wirespeed/probe_slots.hpp"
#include "wirespeed/record.hpp"
#include "wirespeed/targets.hpp"

namespace ws {

// What the simulated network does with a probe. For ICMP echo, open is "up"
// (an echo reply) and closed is silence.
enum class Verdict : std::uint8_t { open, closed, filtered };

// An inclusive range of IPv6 addresses (a TargetSet's IPv6 interval).
using Ipv6Range = Ipv6Interval;

// Banner mode (tests of scan --service): a fault injected on every
// connection to one port, for the user-mode TCP's tests.
enum class BannerFault : std::uint8_t {
    none,
    lose_first,   // the first copy of each probe segment is dropped: the scanner retransmits it
    out_of_order, // the answer's second half goes out before its first
    reset_mid,    // the answer's first half, then an RST where the second would start
    zero_window,  // the SYN-ACK advertises window 0; a window update follows the handshake's ACK
    silent,       // the handshake completes, then nothing: no greeting, no answer
    forge,        // before each answer: data with a wrong sequence number, data acknowledging
                  // bytes never sent, an RST outside the window (all to be refused)
};
std::string_view to_string(BannerFault fault) noexcept;

// One port of banner mode: a stateless TCP server. Its SYN-ACK's ISN is a
// keyed hash of the 4-tuple; the greeting goes out on the handshake's ACK
// at ISN + 1, the answer after any data segment (a probe) at the sequence
// number the segment acknowledges, acknowledging the probe.
struct BannerPort {
    std::uint16_t port = 0;
    std::string greeting; // sent when the connection is set up (ssh, ftp, smtp)
    std::string answer;   // sent for a probe (http)
    BannerFault fault = BannerFault::none;
};

struct ReflectRules {
    TargetSet hosts;                // IPv4 addresses it answers for (probes and ARP)
    std::vector<Ipv6Range> hosts6;  // IPv6 addresses it answers for (probes and Neighbor Solicitations)
    ProtocolPorts open_everywhere;  // open on every host ("22,80,U:53" as -p spells it)
    std::uint32_t open_permille = 0;     // plus a seeded share of the other TCP and UDP pairs
    std::uint32_t filtered_permille = 0; // answered with an ICMP unreachable; for ping, hosts that are filtered
    std::uint32_t drop_permille = 0;     // a seeded share of probes whose answers are lost (far-side loss)
    std::uint64_t seed = 0;
    bool forge_bad_cookies = false;   // tests: also answer each probe with a forgery whose cookie is wrong
    bool forge_bad_checksums = false; // tests: also answer each probe with two "open" forgeries whose cookie
                                      // is right but whose L4, resp. IPv4 header, checksum is wrong
    // Banner mode: TCP ports (open by verdict) served as a stateless TCP
    // server (BannerServer). Empty: off, every answer as without it.
    std::vector<BannerPort> banners;
    // The banner port `port`, or null.
    const BannerPort* banner_for(std::uint16_t port) const noexcept;
    // The banner port `port`, created empty on first use (the CLI's parsers fill it).
    BannerPort& banner_port(std::uint16_t port);

    // Seeded per (address, protocol, port): TCP and UDP on one port are
    // independent draws. ICMP echo (port 0): open (up) but for a
    // filtered_permille share, never closed.
    Verdict verdict(std::uint32_t address, Proto proto, std::uint16_t port) const noexcept;
    // Either family; an IPv4 address draws exactly verdict(uint32_t)'s.
    Verdict verdict(IpAddress address, Proto proto, std::uint16_t port) const noexcept;
    // Whether it answers for `address` (hosts or hosts6).
    bool answers_for(IpAddress address) const noexcept;
    // Sets hosts and hosts6 from one set of either family (--hosts, as
    // parse_targets reads it): its IPv4 intervals and its IPv6 ones.
    void set_hosts(const TargetSet& set);
    // Whether the answers to the reflector's n-th probe are lost: a seeded
    // draw per probe (not per pair), so a probe sent again may get through.
    bool drops(std::uint64_t n) const noexcept;
};

// Writes every open pair of hosts x ports as "tcp:a.b.c.d:port" and
// "udp:a.b.c.d:port" and, when `ping`, every up host as "icmp:a.b.c.d:0"
// (the spelling of `plan --list`): address by address, TCP ports ascending,
// then UDP, then ICMP; then the same for every address of hosts6, as
// "tcp:[2001:db8::1]:port" (RFC 5952 text in brackets, as `plan --list` and
// a URL write it; keep hosts6 small). Returns the number of lines.
std::uint64_t write_ground_truth(const ReflectRules& rules, const ProtocolPorts& ports, bool ping, std::FILE* out);

// One probe as the reflector reads it: what its answer needs. The pointers
// point into the frame parse_probe() read.
struct ReflectRequest {
    Proto proto = Proto::tcp;
    AddressFamily family = AddressFamily::ipv4;
    MacAddress source_mac{};
    IpAddress source{}, destination{};                   // either family
    std::uint32_t source_ip = 0, destination_ip = 0;     // IPv4 only (host order); 0 for IPv6
    std::uint16_t source_port = 0, destination_port = 0; // 0 for ICMP echo
    std::uint32_t sequence = 0; // TCP: the SYN's sequence number; ICMP echo: identifier << 16 | sequence number
    const std::uint8_t* ip = nullptr; // the probe's IP header: what an ICMP error quotes
    std::size_t ip_length = 0;        // its total length (header, L4, payload), all inside the frame
    const std::uint8_t* l4 = nullptr; // its L4 header
    const std::uint8_t* payload = nullptr; // UDP or echo data (null when empty)
    std::size_t payload_len = 0;
};

// A TCP SYN (no ACK, RST or FIN), a UDP datagram or an ICMP echo request in
// Ethernet + IPv4 (any IHL, not a fragment), or the same in Ethernet + IPv6
// (no extension header, as our probes are sent; ICMPv6 echo request), its
// lengths consistent; false for anything else. Never reads past `len`
// (fuzzed: fuzz_reflect).
bool parse_probe(const std::uint8_t* frame, std::size_t len, ReflectRequest& out) noexcept;

// The reflector's NDP: when `frame` is a valid Neighbor Solicitation for an
// address of rules.hosts6, writes the solicited Neighbor Advertisement (our
// `mac`) into `out` and returns its length (86 bytes); 0 otherwise or when
// it does not fit `capacity`. The IPv6 counterpart of answering ARP requests.
std::size_t reflect_neighbor(const ReflectRules& rules, const std::uint8_t* frame, std::size_t len,
                             const MacAddress& mac, std::uint8_t* out, std::size_t capacity) noexcept;

// Who answers: the reflector's MAC, and (tests) whether the answer's cookie is
// to be broken: TCP flips the acknowledgment's top bit, UDP answers source
// port ^ 1, ICMP echo identifier ^ 1; an ICMP error quotes the probe with one
// cookie bit flipped (the SYN's sequence number, the UDP probe's IP ID, the
// echo's identifier).
struct Responder {
    MacAddress mac{};
    bool bad_cookie = false;
};

// The one frame into `out` (capacity bytes) that answers `probe` by
// `verdict`, through the module of probe.proto; its length, or 0 when there
// is no answer (ping's closed) or it would not fit.
std::size_t reflect_answer(const ReflectRequest& probe, Verdict verdict, const Responder& from, std::uint8_t* out,
                           std::size_t capacity) noexcept;

// What each probe draws in the lab: the forgeries first (a forgery believed
// would be the record the scanner keeps, since dedup keeps the first), then
// the real answer. A checksum forgery claims the pair open: the answer that
// would do harm if believed.
enum class Forgery : std::uint8_t { none, bad_cookie, bad_l4_checksum, bad_ip_checksum };
// Writes the answers' kinds into `out` (room for 4), returns how many.
unsigned answer_plan(const ReflectRules& rules, Forgery* out) noexcept;
// reflect_answer() for one of them: a checksum forgery is the open answer
// with the L4 (TCP, UDP, ICMP or ICMPv6) resp. IPv4 header checksum spoiled.
// IPv6 has no header checksum: bad_ip_checksum gives no frame (0) for an
// IPv6 probe.
std::size_t reflect_forged(const ReflectRequest& probe, Verdict verdict, Forgery forgery, const MacAddress& mac,
                           std::uint8_t* out, std::size_t capacity) noexcept;

// Shared by the modules' reflect(): an ICMP destination unreachable (`code`,
// an ICMPv4 type 3 code) quoting `probe` (at most the 128-byte frame
// build_icmp_unreachable() allows); for an IPv6 probe an ICMPv6 one (type 1,
// the code mapped: 3 port -> 4 port, 13 admin -> 1 admin, 1 host -> 3
// address, others -> 0 no route). With from.bad_cookie the low bit of the
// quoted byte at `cookie_byte` (an offset from the probe's IP header) is
// flipped, the ICMP checksum still right. 0 when it does not fit.
std::size_t reflect_unreachable(const ReflectRequest& probe, std::uint8_t code, const Responder& from,
                                std::size_t cookie_byte, std::uint8_t* out, std::size_t capacity) noexcept;

// ---- banner mode

// "PORT:TEXT" as --banner and --banner-answer take it: TEXT with the escapes
// \r \n \t \\ and \xHH, at most 1024 bytes after them. Throws Error naming
// the bad value (`option` names the flag).
std::pair<std::uint16_t, std::string> parse_banner_spec(std::string_view spec, std::string_view option);
// "PORT:FAULT" as --banner-fault takes it (FAULT: lose-first, out-of-order,
// reset-mid, zero-window, silent, forge).
std::pair<std::uint16_t, BannerFault> parse_banner_fault(std::string_view spec);

// A TCP segment of any flags in Ethernet + IPv4 (any IHL, not a fragment) or
// + IPv6 (no extension header), lengths consistent; false for anything
// else. Never reads past `len` (fuzzed: fuzz_reflect).
struct TcpSegmentIn {
    AddressFamily family = AddressFamily::ipv4;
    MacAddress source_mac{};
    IpAddress source{}, destination{};
    std::uint16_t source_port = 0, destination_port = 0;
    std::uint32_t sequence = 0, acknowledgment = 0;
    std::uint8_t flags = 0;
    std::uint16_t window = 0;
    const std::uint8_t* payload = nullptr; // inside the frame
    std::size_t payload_len = 0;
};
bool parse_tcp_segment(const std::uint8_t* frame, std::size_t len, TcpSegmentIn& out) noexcept;

struct BannerCounters {
    std::uint64_t syn_acks = 0, segments = 0, greetings = 0, answers = 0, window_updates = 0;
    std::uint64_t resent = 0;   // data sent again for an ACK inside it (after an out-of-order pair)
    std::uint64_t lost = 0;     // probe segments dropped once (lose_first)
    std::uint64_t forged = 0;   // forged segments sent (forge)
    std::uint64_t resets = 0;   // RSTs sent mid-answer (reset_mid)
    std::uint64_t ignored = 0;  // segments for no banner port, RSTs, ACKs needing nothing
};

// Banner mode's server side, one per reflector lcore: stateless but for
// lose_first's memory of the probe segments it dropped (a direct-mapped
// table of 4096 flows). Frames go into its staging (at most max_frames per
// call), valid until the next call.
class BannerServer {
public:
    static constexpr std::size_t max_frames = 4;
    static constexpr std::size_t frame_capacity = 1600;
    static constexpr std::size_t max_text = 1024; // greeting or answer
    explicit BannerServer(const ReflectRules& rules);

    // The SYN-ACK for a SYN to banner port `port` (verdict open): into `out`,
    // its length (0 when it does not fit).
    std::size_t syn_ack(const ReflectRequest& probe, const BannerPort& port, const MacAddress& mac, std::uint8_t* out,
                        std::size_t capacity) noexcept;
    // What answers a non-SYN segment to a banner port of a host of the
    // rules; the number of frames staged (0 for anything else).
    unsigned on_segment(const TcpSegmentIn& segment, const MacAddress& mac) noexcept;
    struct Frame {
        std::uint16_t len = 0;
        std::uint8_t bytes[frame_capacity];
    };
    const Frame& frame(unsigned i) const noexcept { return frames_[i]; }
    // The ISN of the server side of a connection (both families).
    std::uint32_t isn(const IpAddress& server, std::uint16_t server_port, const IpAddress& client,
                      std::uint16_t client_port) const noexcept;
    const BannerCounters& counters() const noexcept { return counters_; }

private:
    void stage(const TcpSegmentIn& to, const MacAddress& mac, std::uint8_t flags, std::uint32_t sequence,
               std::uint32_t acknowledgment, std::uint16_t window, const std::uint8_t* data, std::size_t len,
               bool with_mss) noexcept;
    const ReflectRules& rules_;
    std::uint64_t key_;
    std::unique_ptr<std::uint64_t[]> lost_; // lose_first: flows whose probe segment was dropped once
    std::unique_ptr<Frame[]> frames_;
    unsigned count_ = 0;
    BannerCounters counters_;
};

} // namespace ws
