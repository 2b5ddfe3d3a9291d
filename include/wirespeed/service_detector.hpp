#pragma once
// The application half of service detection (scan --service): what to send
// to an open port, over which connections, and what the answers mean. It
// runs on the service thread, off the RX path: RX lcores report open ports
// and stream events (tcp_stream.hpp); this answers with stream commands and,
// per port, one ServiceResult. Pure logic: no packets, no threads.
//
// nmap's method, with its waits overlapped instead of summed:
// - Per port, the probe order is select_service_probes(): NULL first, then
//   the probes listing the port, then the rest by rarity up to the intensity.
//   NULL starts alone and gets greeting_wait_ms once connected (a greeting
//   service is then named on one connection); after it, up to `parallel`
//   probes are in flight at once, each on its own
//   connection with its totalwaitms as the connection's life; when one ends
//   without a hard match the next in order starts. So a service that
//   greets (ssh, ftp, smtp) is named by the NULL probe's first segment, and
//   one that waits for a request (http) by GetRequest's answer, in one round
//   trip each, while NULL still waits.
// - A hard match ends the port (its other connections are closed) once no
//   probe before it in nmap's order can still answer: as nmap, the first
//   match in probe order wins, not the first to arrive. A probe before it is
//   done when its connection ended, when it is NULL and silent (a greeting
//   would have come first), or when its answer did not match and stayed
//   quiet for settle_seconds. A softmatch narrows the probes started afterwards to those that can name
//   its service (nmap's rule) and is the answer when nothing else matches.
// - TLS: on a port some probe lists in sslports, or once an answer matches
//   service "ssl", a second lane runs the same order inside TLS (TlsClient
//   over the stream). A successful handshake makes the TLS lane's answer the
//   port's (tunnel "ssl", the certificate recorded); a failed one leaves the
//   plain lane's.
// - A NULL connection the peer closes with no byte within tcpwrappedms is
//   nmap's "tcpwrapped". Nothing matched: method "table" (the port's name
//   from nmap-services, filled by the outputs), with the longest answer as
//   the banner.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "wirespeed/service_probes.hpp"
#include "wirespeed/service_result.hpp"
#include "wirespeed/tcp_stream.hpp"
#include "wirespeed/tls_session.hpp"

namespace ws {

struct ServiceOptions {
    int intensity = default_version_intensity; // --version-intensity
    std::size_t banner_bytes = 4096;           // --banner-bytes: kept per connection
    unsigned parallel = 4;                     // connections in flight per port and lane
    unsigned max_sessions = 8192;              // connections in flight over all ports
    std::uint32_t connect_ms = 3000;           // added to a probe's totalwaitms for the handshake(s)
    // NULL's head start: the other probes start this long after its
    // connection is up, unless it ended or answered first (0: all at once).
    // A greeting service is named on one connection instead of `parallel`.
    std::uint32_t greeting_wait_ms = 300;
    bool tls = true;                           // the TLS lane (needs a TlsContext)
};

struct ServiceCounters {
    std::uint64_t ports = 0, identified = 0, soft_only = 0, table_only = 0, tcpwrapped = 0;
    std::uint64_t sessions = 0, tls_handshakes = 0, tls_failures = 0;
    std::uint64_t refused = 0, no_room = 0, timeouts = 0;
    std::uint64_t stale_events = 0; // events of a session already ended here
};

class ServiceDetector {
public:
    // `source_for` gives the address our connections to a peer come from (the
    // scan's source for that target). `tls` may be null (no TLS lane).
    ServiceDetector(const ServiceMatcher& matcher, const TlsContext* tls, ServiceOptions options,
                    std::function<IpAddress(IpAddress)> source_for);
    ~ServiceDetector();
    ServiceDetector(const ServiceDetector&) = delete;
    ServiceDetector& operator=(const ServiceDetector&) = delete;

    // An event from an RX lcore; now_unix stamps results.
    void on_event(const StreamEvent& event, double now_unix);
    // Starts connections that waited for room (max_sessions).
    void pump();
    // A match waiting for earlier probes is decided once they went quiet:
    // call every few milliseconds.
    void tick(double now_unix);
    // How long an earlier probe's non-matching answer must be quiet before a
    // later probe's match is taken.
    static constexpr double settle_seconds = 0.3;

    // What to hand to the RX lcore, and what was found; the caller takes
    // both (clears the vectors) after each call.
    std::vector<StreamCommand>& commands() noexcept { return commands_; }
    std::vector<ServiceResult>& results() noexcept { return results_; }

    // Every port reported has its result (nothing in flight or waiting).
    bool idle() const noexcept { return jobs_.empty(); }
    std::size_t pending_ports() const noexcept { return jobs_.size(); }
    std::size_t sessions_in_flight() const noexcept { return sessions_.size(); }
    // Ends every port still open now (the scan is over): each gets the best
    // result it has, its connections are closed.
    void finish_all(double now_unix);
    const ServiceCounters& counters() const noexcept { return counters_; }

private:
    struct Session;
    struct Lane;
    struct Job;
    void open_port(IpAddress peer, std::uint16_t port, double now_unix);
    void fill_lane(Job& job, Lane& lane, bool tls);
    bool start_session(Job& job, bool tls, std::size_t probe);
    void on_session_data(Job& job, Session& session, const std::uint8_t* data, std::size_t len, double now_unix);
    void try_match(Job& job, Session& session, double now_unix);
    void decide(Job& job, bool tls, double now_unix);
    void open_gate(Job& job);
    void session_ended(Job& job, Session& session, StreamEventKind why, double now_unix);
    void send(const Session& session, const std::uint8_t* data, std::size_t len);
    void close(const Session& session);
    void flush_tls(Session& session);
    void maybe_finish(Job& job, double now_unix);
    void finish(Job& job, double now_unix);

    const ServiceMatcher& matcher_;
    const ServiceProbes& db_;
    const TlsContext* tls_;
    ServiceOptions options_;
    std::function<IpAddress(IpAddress)> source_for_;
    std::unique_ptr<ServiceMatcher::Scratch> scratch_;
    std::unordered_map<std::uint32_t, std::unique_ptr<Job>> jobs_;        // by job id
    std::map<std::pair<IpAddress, std::uint16_t>, std::uint32_t> job_of_port_; // (peer, port) -> job
    std::unordered_map<std::uint32_t, std::unique_ptr<Session>> sessions_; // by session id
    std::deque<std::uint32_t> waiting_;                                    // jobs that wait for room
    std::set<std::uint32_t> undecided_; // jobs with a match that waits for earlier probes
    std::set<std::uint32_t> gated_;     // jobs whose NULL connection has its head start
    std::uint32_t next_job_ = 1, next_session_ = 1;
    std::vector<StreamCommand> commands_;
    std::vector<ServiceResult> results_;
    ServiceCounters counters_;
};

} // namespace ws
