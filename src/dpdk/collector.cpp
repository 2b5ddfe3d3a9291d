#include "collector.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rte_ring_elem.h>

namespace ws::dp {

Collector::Collector(std::vector<rte_ring*> rings, ResultSink& sink, std::chrono::milliseconds commit_every)
    : rings_(std::move(rings)), sink_(sink), commit_every_(commit_every) {}

Collector::~Collector() {
    if (thread_.joinable()) {
        stop_.store(true);
        thread_.join();
    }
}

void Collector::start() { thread_ = std::thread([this] { run(); }); }

std::size_t Collector::drain_once() {
    constexpr unsigned batch = 512;
    static thread_local ResultRecord records[batch];
    std::size_t total = 0;
    for (rte_ring* ring : rings_) {
        const unsigned n = rte_ring_sc_dequeue_burst_elem(ring, records, sizeof(ResultRecord), batch, nullptr);
        if (n == 0) continue;
        sink_.add(records, n);
        total += n;
    }
    drained_.fetch_add(total, std::memory_order_relaxed);
    open_.store(sink_.open(), std::memory_order_relaxed);
    kept_.store(sink_.rows(), std::memory_order_relaxed);
    return total;
}

void Collector::run() {
    // Where the collector shares a CPU with an RX lcore, the RX lcore must win:
    // a late commit costs nothing, a late poll loses replies. Best effort.
    setpriority(PRIO_PROCESS, pid_t(syscall(SYS_gettid)), 5);
    try {
        auto last_commit = std::chrono::steady_clock::now();
        for (;;) {
            const bool stopping = stop_.load(std::memory_order_acquire);
            const std::size_t n = drain_once();
            const auto now = std::chrono::steady_clock::now();
            if (now - last_commit >= commit_every_) {
                sink_.flush();
                last_commit = now;
            }
            if (n == 0) {
                if (stopping) break; // every ring was empty after the producers stopped
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
        }
        sink_.flush();
    } catch (...) {
        error_ = std::current_exception();
        failed_.store(true);
    }
}

void Collector::stop_and_join() {
    stop_.store(true, std::memory_order_release);
    if (thread_.joinable()) thread_.join();
    if (error_) std::rethrow_exception(error_);
}

double Collector::fullest_ring() const noexcept {
    double fullest = 0;
    for (rte_ring* ring : rings_) {
        const double fill = double(rte_ring_count(ring)) / double(rte_ring_get_capacity(ring));
        if (fill > fullest) fullest = fill;
    }
    return fullest;
}

} // namespace ws::dp
