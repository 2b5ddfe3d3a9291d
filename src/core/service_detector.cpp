#include "wirespeed/service_detector.hpp"

#include <algorithm>
#include <cstring>

namespace ws {

struct ServiceDetector::Session {
    std::uint32_t id = 0, job = 0;
    std::size_t probe = 0;
    bool tls = false;
    std::uint32_t flow_slot = 0; // the RX table's, from the first event
    bool established = false;
    double established_at = 0;
    std::unique_ptr<TlsClient> client;
    bool handshake_done = false;
    std::size_t rank = 0;       // the probe's place in nmap's order for the port (lane.full_order)
    double last_data_at = 0;
    std::string pending; // payload bytes the connect command could not carry
    std::string answer;  // the service's bytes (plaintext inside TLS), at most banner_bytes
};

struct ServiceDetector::Lane {
    bool enabled = false;
    std::vector<std::size_t> order; // probes in nmap's order (narrowed by a softmatch)
    std::vector<std::size_t> full_order; // as first selected: the ranks
    std::size_t hard_rank = ~std::size_t{0}; // rank of `hard`'s probe
    bool decided = false; // `hard` is the lane's answer: no earlier probe can still answer
    std::size_t next = 0;
    unsigned active = 0;
    std::vector<std::size_t> tried;
    std::string soft_service;        // a softmatch narrowed this lane
    std::optional<ServiceMatch> hard, soft;
    std::string hard_banner, soft_banner;
    std::size_t hard_probe = 0, soft_probe = 0; // the probes whose answers they were (a fallback's lines may have matched)
    bool stopped = false;            // no more connections (handshake failed, or the port is decided)
    bool handshake_ok = false;       // TLS lane: a handshake succeeded
    bool handshake_failed = false;
};

struct ServiceDetector::Job {
    std::uint32_t id = 0;
    IpAddress peer;
    std::uint16_t port = 0;
    Lane plain, tls;
    std::vector<std::uint32_t> sessions;
    std::optional<TlsInfo> tls_info;
    std::string longest_banner;
    bool gate_open = false;            // probes after NULL may start (greeting_wait)
    double null_established_at = 0;    // the plain NULL connection's handshake
    bool tcpwrapped = false;
    bool waiting = false;
};

ServiceDetector::ServiceDetector(const ServiceMatcher& matcher, const TlsContext* tls, ServiceOptions options,
                                 std::function<IpAddress(IpAddress)> source_for)
    : matcher_(matcher), db_(matcher.probes()), tls_(options.tls ? tls : nullptr), options_(options),
      source_for_(std::move(source_for)), scratch_(std::make_unique<ServiceMatcher::Scratch>(matcher.make_scratch())) {
    if (options_.parallel == 0) options_.parallel = 1;
}

ServiceDetector::~ServiceDetector() = default;

void ServiceDetector::on_event(const StreamEvent& event, double now_unix) {
    if (event.kind == StreamEventKind::port_open) {
        open_port(IpAddress::from_bytes(event.peer), event.port, now_unix);
        return;
    }
    const auto s = sessions_.find(event.session);
    if (s == sessions_.end()) {
        // The port was decided while this connection was still opening: close it.
        ++counters_.stale_events;
        if (event.flow_slot != 0) {
            Session gone;
            gone.id = event.session;
            gone.flow_slot = event.flow_slot;
            close(gone);
        }
        return;
    }
    Session& session = *s->second;
    Job& job = *jobs_.at(session.job);
    if (event.flow_slot != 0) session.flow_slot = event.flow_slot;
    switch (event.kind) {
    case StreamEventKind::established:
        session.established = true;
        session.established_at = now_unix;
        if (!session.tls && !job.gate_open && db_.probes[session.probe].name == "NULL") {
            job.null_established_at = now_unix;
            gated_.insert(job.id);
        }
        if (!session.pending.empty()) {
            send(session, reinterpret_cast<const std::uint8_t*>(session.pending.data()), session.pending.size());
            session.pending.clear();
        }
        return;
    case StreamEventKind::data:
        on_session_data(job, session, event.data, std::min<std::size_t>(event.len, StreamEvent::max_data), now_unix);
        return;
    default:
        session.flow_slot = 0; // the connection is gone
        if (session.client) {
            session.client->peer_closed();
            std::uint8_t plain[2048];
            while (session.answer.size() < options_.banner_bytes) {
                const std::size_t n = session.client->read_plaintext(plain, sizeof plain);
                if (n == 0) break;
                session.answer.append(reinterpret_cast<const char*>(plain),
                                      std::min(n, options_.banner_bytes - session.answer.size()));
            }
            try_match(job, session, now_unix);
            if (!sessions_.count(event.session)) return; // the match decided the port
        }
        if (event.kind == StreamEventKind::refused) ++counters_.refused;
        if (event.kind == StreamEventKind::no_room) ++counters_.no_room;
        if (event.kind == StreamEventKind::timeout) ++counters_.timeouts;
        session_ended(job, session, event.kind, now_unix);
        return;
    }
}

void ServiceDetector::open_port(IpAddress peer, std::uint16_t port, double now_unix) {
    const auto key = std::make_pair(peer, port);
    if (job_of_port_.count(key)) return; // a duplicate SYN-ACK
    ++counters_.ports;
    auto job = std::make_unique<Job>();
    job->id = next_job_++;
    job->peer = peer;
    job->port = port;
    job->plain.enabled = true;
    job->plain.order = select_service_probes(db_, ServiceProtocol::tcp, port, false, options_.intensity);
    job->plain.full_order = job->plain.order;
    if (tls_) {
        const bool ssl_port = std::any_of(db_.probes.begin(), db_.probes.end(), [&](const ServiceProbe& p) {
            return p.protocol == ServiceProtocol::tcp && p.sslports.contains(port);
        });
        if (ssl_port) {
            job->tls.enabled = true;
            job->tls.order = select_service_probes(db_, ServiceProtocol::tcp, port, true, options_.intensity);
            job->tls.full_order = job->tls.order;
        }
    }
    Job& j = *job;
    j.gate_open = options_.greeting_wait_ms == 0;
    job_of_port_.emplace(key, j.id);
    jobs_.emplace(j.id, std::move(job));
    fill_lane(j, j.plain, false);
    if (j.tls.enabled) fill_lane(j, j.tls, true);
    maybe_finish(j, now_unix);
}

void ServiceDetector::fill_lane(Job& job, Lane& lane, bool tls) {
    while (lane.enabled && !lane.stopped && lane.active < options_.parallel && lane.next < lane.order.size()) {
        const std::size_t probe = lane.order[lane.next];
        if (std::find(lane.tried.begin(), lane.tried.end(), probe) != lane.tried.end()) {
            ++lane.next;
            continue;
        }
        if (!job.gate_open && db_.probes[probe].name != "NULL") return; // NULL's head start
        if (sessions_.size() >= options_.max_sessions) {
            if (!job.waiting) {
                job.waiting = true;
                waiting_.push_back(job.id);
            }
            return;
        }
        ++lane.next;
        lane.tried.push_back(probe);
        start_session(job, tls, probe);
    }
}

bool ServiceDetector::start_session(Job& job, bool tls, std::size_t probe) {
    auto session = std::make_unique<Session>();
    session->id = next_session_++;
    if (next_session_ == 0) next_session_ = 1;
    session->job = job.id;
    session->probe = probe;
    session->tls = tls;
    const Lane& lane = tls ? job.tls : job.plain;
    session->rank = std::size_t(std::find(lane.full_order.begin(), lane.full_order.end(), probe) - lane.full_order.begin());
    std::string first;
    if (tls) {
        session->client = std::make_unique<TlsClient>(*tls_);
        first.resize(session->client->pending_output());
        first.resize(session->client->take_output(reinterpret_cast<std::uint8_t*>(first.data()), first.size()));
    } else {
        first = db_.probes[probe].payload;
    }
    StreamCommand c{};
    c.kind = StreamCommandKind::connect;
    c.session = session->id;
    job.peer.to_bytes(c.peer);
    source_for_(job.peer).to_bytes(c.local);
    c.port = job.port;
    c.lifetime_ms = db_.probes[probe].totalwaitms + options_.connect_ms * (tls ? 2 : 1);
    const std::size_t now = std::min(first.size(), StreamCommand::max_data);
    std::memcpy(c.data, first.data(), now);
    c.len = std::uint16_t(now);
    session->pending = first.substr(now);
    commands_.push_back(c);
    ++counters_.sessions;
    (tls ? job.tls : job.plain).active++;
    job.sessions.push_back(session->id);
    sessions_.emplace(session->id, std::move(session));
    return true;
}

void ServiceDetector::send(const Session& session, const std::uint8_t* data, std::size_t len) {
    for (std::size_t at = 0; at < len;) {
        StreamCommand c{};
        c.kind = StreamCommandKind::send;
        c.session = session.id;
        c.flow_slot = session.flow_slot;
        const std::size_t n = std::min(len - at, StreamCommand::max_data);
        std::memcpy(c.data, data + at, n);
        c.len = std::uint16_t(n);
        commands_.push_back(c);
        at += n;
    }
}

void ServiceDetector::close(const Session& session) {
    if (session.flow_slot == 0) return;
    StreamCommand c{};
    c.kind = StreamCommandKind::close;
    c.session = session.id;
    c.flow_slot = session.flow_slot;
    commands_.push_back(c);
}

void ServiceDetector::flush_tls(Session& session) {
    std::uint8_t out[4096];
    while (session.client->pending_output() != 0) {
        const std::size_t n = session.client->take_output(out, sizeof out);
        if (n == 0) break;
        if (session.established) send(session, out, n);
        else session.pending.append(reinterpret_cast<const char*>(out), n);
    }
}

void ServiceDetector::on_session_data(Job& job, Session& session, const std::uint8_t* data, std::size_t len,
                                      double now_unix) {
    if (!session.client) {
        const std::size_t room = options_.banner_bytes - std::min(options_.banner_bytes, session.answer.size());
        session.answer.append(reinterpret_cast<const char*>(data), std::min(len, room));
        session.last_data_at = now_unix;
        const std::uint32_t id = session.id;
        try_match(job, session, now_unix);
        if (!sessions_.count(id)) return;
        if (session.answer.size() >= options_.banner_bytes) { // as much as we keep: no match will come
            close(session);
            session_ended(job, session, StreamEventKind::peer_closed, now_unix);
        }
        return;
    }
    TlsClient& tls = *session.client;
    tls.feed(data, len);
    session.last_data_at = now_unix;
    if (tls.state() == TlsState::established && !session.handshake_done) {
        session.handshake_done = true;
        ++counters_.tls_handshakes;
        job.tls.handshake_ok = true;
        if (!job.tls_info) job.tls_info = tls.info();
        const std::string& payload = db_.probes[session.probe].payload;
        if (!payload.empty())
            tls.write_plaintext(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size());
    }
    std::uint8_t plain[2048];
    while (session.answer.size() < options_.banner_bytes) {
        const std::size_t n = tls.read_plaintext(plain, sizeof plain);
        if (n == 0) break;
        session.answer.append(reinterpret_cast<const char*>(plain), std::min(n, options_.banner_bytes - session.answer.size()));
    }
    flush_tls(session);
    if (tls.state() == TlsState::failed) {
        if (!session.handshake_done) {
            ++counters_.tls_failures;
            if (!job.tls.handshake_ok) {
                // Not TLS (or nothing we can speak): the plain lane answers for the port.
                job.tls.handshake_failed = true;
                job.tls.stopped = true;
            }
        }
        close(session);
        session_ended(job, session, StreamEventKind::reset, now_unix);
        return;
    }
    const std::uint32_t id = session.id;
    try_match(job, session, now_unix);
    if (sessions_.count(id) && session.answer.size() >= options_.banner_bytes) {
        close(session);
        session_ended(job, session, StreamEventKind::peer_closed, now_unix);
    }
}

void ServiceDetector::try_match(Job& job, Session& session, double now_unix) {
    if (session.answer.empty()) return;
    Lane& lane = session.tls ? job.tls : job.plain;
    const auto m = matcher_.match(session.probe, std::string_view(session.answer), *scratch_, lane.soft_service);
    if ((!m || m->soft) && !job.gate_open) open_gate(job); // an answer NULL cannot name: the other probes now
    if (!m) return;
    if (m->soft) {
        if (!lane.soft) {
            lane.soft = *m;
            lane.soft_banner = session.answer;
            lane.soft_probe = session.probe;
        }
        if (lane.soft_service.empty()) {
            // nmap's rule: later probes only where they can name this service.
            lane.soft_service = m->service;
            lane.order = select_service_probes(db_, ServiceProtocol::tcp, job.port, session.tls, options_.intensity,
                                               lane.soft_service);
            lane.next = 0;
        }
        return;
    }
    // nmap takes the first match in its probe order, not the first to
    // arrive: the earliest-ranked hard match is kept, and decide() waits for
    // the probes before it.
    if (session.rank < lane.hard_rank) {
        lane.hard = *m;
        lane.hard_banner = session.answer;
        lane.hard_rank = session.rank;
        lane.hard_probe = session.probe;
    }
    undecided_.insert(job.id);
    decide(job, session.tls, now_unix);
}

void ServiceDetector::decide(Job& job, bool tls, double now_unix) {
    Lane& lane = tls ? job.tls : job.plain;
    if (!lane.hard || lane.decided) return;
    for (const std::uint32_t id : job.sessions) {
        const Session& other = *sessions_.at(id);
        if (other.tls != tls || other.rank >= lane.hard_rank) continue;
        // An earlier probe still decides unless it has nothing more to say:
        // NULL silent while another probe was answered (no greeting is
        // coming), or an answer that did not match and went quiet.
        const bool silent_null = db_.probes[other.probe].name == "NULL" && other.answer.empty();
        const bool settled = !other.answer.empty() && now_unix - other.last_data_at >= settle_seconds;
        if (!silent_null && !settled) return;
    }
    lane.decided = true;
    lane.stopped = true;
    undecided_.erase(job.id);
    // This lane has its answer: its other connections are waiting for nothing.
    for (const std::uint32_t other : std::vector<std::uint32_t>(job.sessions)) {
        const auto o = sessions_.find(other);
        if (o == sessions_.end() || o->second->tls != tls) continue;
        close(*o->second);
        if (lane.active) --lane.active;
        job.sessions.erase(std::remove(job.sessions.begin(), job.sessions.end(), other), job.sessions.end());
        sessions_.erase(o);
    }
    if (!tls && lane.hard->service == "ssl" && tls_ && !job.tls.enabled) {
        // The plain answer says TLS: run the probes inside it (nmap's ssl/...).
        job.tls.enabled = true;
        job.tls.order = select_service_probes(db_, ServiceProtocol::tcp, job.port, true, options_.intensity);
        job.tls.full_order = job.tls.order;
        fill_lane(job, job.tls, true);
    }
    maybe_finish(job, now_unix);
}

void ServiceDetector::open_gate(Job& job) {
    job.gate_open = true;
    gated_.erase(job.id);
    fill_lane(job, job.plain, false);
    if (job.tls.enabled) fill_lane(job, job.tls, true);
}

void ServiceDetector::tick(double now_unix) {
    for (const std::uint32_t id : std::vector<std::uint32_t>(gated_.begin(), gated_.end())) {
        const auto j = jobs_.find(id);
        if (j == jobs_.end()) {
            gated_.erase(id);
            continue;
        }
        if ((now_unix - j->second->null_established_at) * 1000.0 >= double(options_.greeting_wait_ms)) open_gate(*j->second);
    }
    for (const std::uint32_t id : std::vector<std::uint32_t>(undecided_.begin(), undecided_.end())) {
        const auto j = jobs_.find(id);
        if (j == jobs_.end()) {
            undecided_.erase(id);
            continue;
        }
        decide(*j->second, false, now_unix);
        if (jobs_.count(id)) decide(*j->second, true, now_unix);
    }
}

void ServiceDetector::session_ended(Job& job, Session& session, StreamEventKind why, double now_unix) {
    Lane& lane = session.tls ? job.tls : job.plain;
    if (lane.active) --lane.active;
    if (session.answer.size() > job.longest_banner.size()) job.longest_banner = session.answer;
    if (session.tls && !session.handshake_done && session.established && !job.tls.handshake_ok &&
        session.client->state() != TlsState::failed && // counted where it failed
        (why == StreamEventKind::peer_closed || why == StreamEventKind::reset)) {
        // The peer hung up on our ClientHello: not TLS.
        ++counters_.tls_failures;
        job.tls.handshake_failed = true;
        job.tls.stopped = true;
    }
    const ServiceProbe& probe = db_.probes[session.probe];
    if (!session.tls && probe.name == "NULL" && session.established && session.answer.empty() &&
        (why == StreamEventKind::peer_closed || why == StreamEventKind::reset) &&
        (now_unix - session.established_at) * 1000.0 < double(probe.tcpwrappedms))
        job.tcpwrapped = true;
    const bool tls = session.tls;
    job.sessions.erase(std::remove(job.sessions.begin(), job.sessions.end(), session.id), job.sessions.end());
    sessions_.erase(session.id); // `session` is gone from here on
    if (job.tcpwrapped) return finish(job, now_unix);
    if (!job.gate_open) job.gate_open = true, gated_.erase(job.id); // NULL is over: the others may start
    const std::uint32_t id = job.id;
    decide(job, tls, now_unix);
    if (!jobs_.count(id)) return;
    fill_lane(job, job.plain, false);
    if (job.tls.enabled) fill_lane(job, job.tls, true);
    maybe_finish(job, now_unix);
}

void ServiceDetector::maybe_finish(Job& job, double now_unix) {
    const auto exhausted = [&](const Lane& lane) {
        return !lane.enabled || (lane.active == 0 && (lane.stopped || lane.next >= lane.order.size()));
    };
    // A TLS lane that shook hands decides, once it matched or ran out.
    if (job.tls.enabled && job.tls.handshake_ok) {
        if (job.tls.decided || exhausted(job.tls)) return finish(job, now_unix);
        return;
    }
    const bool tls_open = job.tls.enabled && !job.tls.handshake_failed && !exhausted(job.tls);
    if (job.plain.decided && !tls_open) return finish(job, now_unix);
    if (exhausted(job.plain) && !tls_open) return finish(job, now_unix);
}

void ServiceDetector::finish(Job& job, double now_unix) {
    ServiceResult r;
    r.address = job.peer;
    r.port = job.port;
    r.proto = Proto::tcp;
    r.seen_at_unix = now_unix;
    const bool over_tls = job.tls.enabled && job.tls.handshake_ok;
    const Lane& lane = over_tls ? job.tls : job.plain;
    const ServiceMatch* m = lane.hard ? &*lane.hard : lane.soft ? &*lane.soft : nullptr;
    if (m) {
        r.name = m->service;
        r.product = m->product;
        r.version = m->version;
        r.info = m->info;
        r.hostname = m->hostname;
        r.ostype = m->ostype;
        r.devicetype = m->devicetype;
        r.cpes = m->cpes;
        r.method = ServiceMethod::probed;
        r.confidence = 10;
        r.soft = m->soft;
        r.probe = db_.probes[lane.hard ? lane.hard_probe : lane.soft_probe].name;
        const std::string& banner = lane.hard ? lane.hard_banner : lane.soft_banner;
        r.banner.assign(banner.begin(), banner.end());
        ++(m->soft ? counters_.soft_only : counters_.identified);
    } else if (job.tcpwrapped) {
        r.name = "tcpwrapped";
        r.method = ServiceMethod::probed;
        r.confidence = 8;
        ++counters_.tcpwrapped;
    } else {
        r.method = ServiceMethod::table; // the outputs name it from nmap-services
        r.confidence = 3;
        r.banner.assign(job.longest_banner.begin(), job.longest_banner.end());
        ++counters_.table_only;
    }
    if (over_tls) {
        r.tunnel = "ssl";
        r.tls = job.tls_info;
    }
    for (const std::uint32_t id : job.sessions) {
        const auto s = sessions_.find(id);
        if (s == sessions_.end()) continue;
        close(*s->second); // not yet established: its first event finds no session and closes it
        sessions_.erase(s);
    }
    results_.push_back(std::move(r));
    job_of_port_[std::make_pair(job.peer, job.port)] = 0; // decided: a late SYN-ACK (a retry's) starts nothing
    const std::uint32_t id = job.id;
    undecided_.erase(id);
    gated_.erase(id);
    jobs_.erase(id); // `job` is gone from here on
}

void ServiceDetector::pump() {
    std::size_t rounds = waiting_.size();
    while (rounds-- > 0 && !waiting_.empty() && sessions_.size() < options_.max_sessions) {
        const std::uint32_t id = waiting_.front();
        waiting_.pop_front();
        const auto j = jobs_.find(id);
        if (j == jobs_.end()) continue;
        Job& job = *j->second;
        job.waiting = false;
        fill_lane(job, job.plain, false);
        if (job.tls.enabled) fill_lane(job, job.tls, true);
    }
}

void ServiceDetector::finish_all(double now_unix) {
    std::vector<std::uint32_t> ids;
    ids.reserve(jobs_.size());
    for (const auto& [id, job] : jobs_) ids.push_back(id);
    std::sort(ids.begin(), ids.end());
    for (const std::uint32_t id : ids) {
        const auto j = jobs_.find(id);
        if (j != jobs_.end()) finish(*j->second, now_unix);
    }
    waiting_.clear();
}

} // namespace ws
