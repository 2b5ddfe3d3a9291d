#pragma once
// The single collector thread: drains every RX lcore's result ring in bursts
// into the ResultSink (dedup, SQLite batches, outputs). It is a plain
// std::thread, not an EAL lcore: SP/SC ring dequeues need no lcore id and it
// never touches an mbuf.
#include <atomic>
#include <chrono>
#include <exception>
#include <thread>
#include <vector>

#include <rte_ring.h>

#include "wirespeed/result_sink.hpp"

namespace ws::dp {

class Collector {
public:
    Collector(std::vector<rte_ring*> rings, ResultSink& sink,
              std::chrono::milliseconds commit_every = std::chrono::milliseconds(100));
    ~Collector();
    void start();
    // Drains every ring to empty, commits, and joins. Rethrows a sink error.
    void stop_and_join();

    std::uint64_t drained() const noexcept { return drained_.load(std::memory_order_relaxed); }
    std::uint64_t open() const noexcept { return open_.load(std::memory_order_relaxed); }
    std::uint64_t kept() const noexcept { return kept_.load(std::memory_order_relaxed); }
    bool failed() const noexcept { return failed_.load(std::memory_order_relaxed); }
    double fullest_ring() const noexcept; // 0..1, for the control loop

private:
    void run();
    std::size_t drain_once();
    std::vector<rte_ring*> rings_;
    ResultSink& sink_;
    std::chrono::milliseconds commit_every_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> failed_{false};
    std::atomic<std::uint64_t> drained_{0}, open_{0}, kept_{0};
    std::exception_ptr error_;
};

} // namespace ws::dp
