#include "service_thread.hpp"

#include <chrono>

namespace ws::dp {

namespace {
double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
} // namespace

ServiceThread::ServiceThread(const ServiceMatcher& matcher, const TlsContext* tls, ServiceOptions options,
                             std::function<IpAddress(IpAddress)> source_for, std::vector<rte_ring*> events,
                             rte_ring* commands, std::function<void(std::vector<ServiceResult>&&)> deliver)
    : detector_(matcher, tls, options, std::move(source_for)), events_(std::move(events)), commands_(commands),
      deliver_(std::move(deliver)) {}

ServiceThread::~ServiceThread() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
}

void ServiceThread::add_open_ports(const std::vector<std::pair<IpAddress, std::uint16_t>>& ports) {
    const double now = unix_now();
    for (const auto& [address, port] : ports) {
        StreamEvent e{};
        e.kind = StreamEventKind::port_open;
        address.to_bytes(e.peer);
        e.port = port;
        detector_.on_event(e, now);
    }
    idle_.store(detector_.idle(), std::memory_order_release);
}

void ServiceThread::start() {
    thread_ = std::thread([this] {
        try {
            run();
        } catch (...) {
            error_ = std::current_exception();
        }
        idle_.store(true, std::memory_order_release);
    });
}

bool ServiceThread::step() {
    bool busy = false;
    // Not idle from the moment an event waits: a round that takes long (a
    // burst of open ports) must not read as idle meanwhile.
    for (rte_ring* ring : events_)
        if (rte_ring_count(ring) != 0) idle_.store(false, std::memory_order_release);
    StreamEvent events[32];
    for (rte_ring* ring : events_) {
        // Up to 1024 events a ring per round: the rings are deep, but the
        // commands and timers must not wait behind a burst of open ports.
        for (int burst = 0; burst < 32; ++burst) {
            const unsigned n = rte_ring_sc_dequeue_burst_elem(ring, events, sizeof(StreamEvent), 32, nullptr);
            if (n == 0) break;
            busy = true;
            const double now = unix_now();
            for (unsigned i = 0; i < n; ++i) detector_.on_event(events[i], now);
        }
    }
    detector_.pump();
    detector_.tick(unix_now());
    for (const StreamCommand& c : detector_.commands()) backlog_.push_back(c);
    detector_.commands().clear();
    while (!backlog_.empty()) {
        if (rte_ring_sp_enqueue_elem(commands_, &backlog_.front(), sizeof(StreamCommand)) != 0) break;
        backlog_.pop_front();
        busy = true;
    }
    if (!detector_.results().empty()) {
        identified_.fetch_add(detector_.results().size(), std::memory_order_relaxed);
        deliver_(std::move(detector_.results()));
        detector_.results().clear();
        busy = true;
    }
    bool rings_empty = true;
    for (rte_ring* ring : events_) rings_empty = rings_empty && rte_ring_count(ring) == 0;
    pending_.store(detector_.pending_ports(), std::memory_order_relaxed);
    idle_.store(detector_.idle() && backlog_.empty() && rings_empty, std::memory_order_release);
    return busy;
}

void ServiceThread::run() {
    while (!stop_.load(std::memory_order_acquire))
        if (!step()) std::this_thread::sleep_for(std::chrono::microseconds(200));
    step();
    detector_.finish_all(unix_now());
    for (StreamCommand& c : detector_.commands()) // the closes: best effort, RX may be stopping
        if (rte_ring_sp_enqueue_elem(commands_, &c, sizeof(StreamCommand)) != 0) break;
    detector_.commands().clear();
    if (!detector_.results().empty()) {
        identified_.fetch_add(detector_.results().size(), std::memory_order_relaxed);
        deliver_(std::move(detector_.results()));
        detector_.results().clear();
    }
}

void ServiceThread::finish_and_join() {
    stop_.store(true, std::memory_order_release);
    if (thread_.joinable()) thread_.join();
    if (error_) std::rethrow_exception(error_);
}

ServiceCounters ServiceThread::counters() const { return detector_.counters(); }

} // namespace ws::dp
