#pragma once
// The single collector thread: drains every RX lcore's result ring in bursts
// into the ResultSink (dedup, SQLite batches, outputs). It is a plain
// std::thread, not an EAL lcore: SP/SC ring dequeues need no lcore id and it
// never touches an mbuf.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <chrono>
#include <optional>
#include <deque>
#include <exception>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <rte_ring.h>

#include "wirespeed/result_sink.hpp"
#include "wirespeed/service_result.hpp"

namespace ws::dp {

// What the collector needs to write resume checkpoints: the TX lcores'
// progress, and how long a probe must have been out before its replies are
// taken to have arrived (--wait).
struct CheckpointSource {
    std::function<std::vector<std::uint64_t>()> read_slots;
    double wait_seconds = 8;
    std::string fingerprint;
    std::uint64_t seed = 0;
    std::uint64_t k0 = 0, k1 = 0;
};

class Collector {
public:
    // `rings` carry ResultRecord elements, `data_rings` ResultWithData (UDP answers with their bytes).
    Collector(std::vector<rte_ring*> rings, ResultSink& sink,
              std::chrono::milliseconds commit_every = std::chrono::milliseconds(100),
              std::vector<rte_ring*> data_rings = {});
    ~Collector();
    // Before start(): commit a checkpoint with every batch. The recorded slot
    // of each TX lcore is the one it had reached `wait_seconds` before the
    // rings were drained, so every probe before it had its full wait window
    // and its replies are in this very transaction.
    void enable_checkpoints(CheckpointSource source) { checkpoints_ = std::move(source); }
    // Service detection's results (the service thread posts them; the
    // collector hands them to the sink between drains, in its transactions).
    void set_service_sink(std::function<void(const ServiceResult&)> sink) { service_sink_ = std::move(sink); }
    void post_services(std::vector<ServiceResult>&& results);
    void start();
    // Drains every ring to empty, commits, and joins. Rethrows a sink error.
    // `wait_window_complete`: every probe sent has had its full wait window,
    // so the final checkpoint may record the TX lcores' current progress.
    void stop_and_join(bool wait_window_complete = false);

    std::uint64_t drained() const noexcept { return drained_.load(std::memory_order_relaxed); }
    std::uint64_t open() const noexcept { return open_.load(std::memory_order_relaxed); }
    std::uint64_t kept() const noexcept { return kept_.load(std::memory_order_relaxed); }
    // Distinct (address, port) pairs answered so far, kept or not (resume's replay included):
    // when it reaches the number of pairs probed, nothing is left to wait for.
    std::uint64_t answered() const noexcept { return answered_.load(std::memory_order_relaxed); }
    bool failed() const noexcept { return failed_.load(std::memory_order_relaxed); }
    double fullest_ring() const noexcept; // 0..1, for the control loop
    // Runs `fn` on the collector thread, between two drains, and waits for it:
    // the control loop's way to read the sink (dedup) without sharing it.
    // Runs it here when the thread is not running. Rethrows what fn throws.
    void call(const std::function<void(ResultSink&)>& fn);

private:
    void run();
    std::size_t drain_once();
    struct Ring {
        rte_ring* ring;
        bool with_data; // ResultWithData elements
    };
    std::size_t drain_ring(const Ring& ring, unsigned at_least);
    const std::vector<std::uint64_t>* safe_slots(std::chrono::steady_clock::time_point sampled_before);
    void write_checkpoint(const std::vector<std::uint64_t>& slots);
    std::vector<Ring> rings_;
    ResultSink& sink_;
    std::chrono::milliseconds commit_every_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> final_checkpoint_{false};
    std::atomic<bool> failed_{false};
    std::atomic<std::uint64_t> drained_{0}, open_{0}, kept_{0}, answered_{0};
    std::exception_ptr error_;
    std::mutex call_mutex_;
    std::condition_variable call_done_;
    const std::function<void(ResultSink&)>* call_ = nullptr; // pending request, under call_mutex_
    std::exception_ptr call_error_;
    bool thread_exited_ = false; // under call_mutex_
    void run_pending_call(bool exiting = false);
    std::optional<CheckpointSource> checkpoints_;
    std::size_t drain_services();
    std::function<void(const ServiceResult&)> service_sink_;
    std::mutex services_mutex_;
    std::vector<ServiceResult> services_; // posted, not yet written (under services_mutex_)
    std::deque<std::pair<std::chrono::steady_clock::time_point, std::vector<std::uint64_t>>> samples_;
};

} // namespace ws::dp
