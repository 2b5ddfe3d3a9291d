#include "collector.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rte_ring_elem.h>

#include "wirespeed/resume.hpp"

namespace ws::dp {

Collector::Collector(std::vector<rte_ring*> rings, ResultSink& sink, std::chrono::milliseconds commit_every,
                     std::vector<rte_ring*> data_rings)
    : sink_(sink), commit_every_(commit_every) {
    for (rte_ring* r : rings) rings_.push_back({r, false});
    for (rte_ring* r : data_rings) rings_.push_back({r, true});
}

Collector::~Collector() {
    if (thread_.joinable()) {
        stop_.store(true);
        thread_.join();
    }
}

void Collector::start() { thread_ = std::thread([this] { run(); }); }

// Bursts from one ring until at least `at_least` records came out (or it is empty).
std::size_t Collector::drain_ring(const Ring& ring, unsigned at_least) {
    constexpr unsigned batch = 512, data_batch = 32;
    static thread_local ResultRecord records[batch];
    static thread_local ResultWithData with_data[data_batch];
    std::size_t total = 0;
    while (total < at_least) {
        unsigned n;
        if (ring.with_data) {
            n = rte_ring_sc_dequeue_burst_elem(ring.ring, with_data, sizeof(ResultWithData), data_batch, nullptr);
            if (n) sink_.add(with_data, n);
        } else {
            n = rte_ring_sc_dequeue_burst_elem(ring.ring, records, sizeof(ResultRecord), batch, nullptr);
            if (n) sink_.add(records, n);
        }
        if (n == 0) break;
        total += n;
    }
    drained_.fetch_add(total, std::memory_order_relaxed);
    open_.store(sink_.open(), std::memory_order_relaxed);
    kept_.store(sink_.rows(), std::memory_order_relaxed);
    answered_.store(sink_.open() + sink_.closed() + sink_.filtered() + sink_.up(), std::memory_order_relaxed);
    return total;
}

// One burst from every ring.
std::size_t Collector::drain_once() {
    std::size_t total = 0;
    for (const Ring& ring : rings_) total += drain_ring(ring, 1);
    return total + drain_services();
}

void Collector::post_services(std::vector<ServiceResult>&& results) {
    std::lock_guard lock(services_mutex_);
    for (auto& r : results) services_.push_back(std::move(r));
}

std::size_t Collector::drain_services() {
    std::vector<ServiceResult> batch;
    {
        std::lock_guard lock(services_mutex_);
        batch.swap(services_);
    }
    if (service_sink_)
        for (const ServiceResult& r : batch) service_sink_(r);
    return batch.size();
}

const std::vector<std::uint64_t>* Collector::safe_slots(std::chrono::steady_clock::time_point sampled_before) {
    const auto horizon = sampled_before - std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                              std::chrono::duration<double>(checkpoints_->wait_seconds));
    while (samples_.size() > 1 && samples_[1].first <= horizon) samples_.pop_front();
    if (!samples_.empty() && samples_.front().first <= horizon) return &samples_.front().second;
    return nullptr; // the scan is younger than one wait window: nothing is safe yet
}

void Collector::write_checkpoint(const std::vector<std::uint64_t>& slots) {
    SqliteWriter* db = sink_.database();
    if (!db) return;
    const double now_unix = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    db->checkpoint(checkpoints_->fingerprint, checkpoints_->seed, checkpoints_->k0, checkpoints_->k1, encode_slots(slots),
                   now_unix);
}

void Collector::run() {
    // Where the collector shares a CPU with an RX lcore, the RX lcore must win:
    // a late commit costs nothing, a late poll loses replies. Best effort.
    setpriority(PRIO_PROCESS, pid_t(syscall(SYS_gettid)), 5);
    try {
        auto last_commit = std::chrono::steady_clock::now();
        for (;;) {
            const bool stopping = stop_.load(std::memory_order_acquire);
            const auto now = std::chrono::steady_clock::now();
            const bool commit_due = now - last_commit >= commit_every_;
            if (commit_due && checkpoints_) samples_.emplace_back(now, checkpoints_->read_slots());
            run_pending_call();
            std::size_t n = 0;
            if (commit_due) {
                // The checkpoint must cover every reply received before `now`:
                // drain at least what each ring held then (rings are FIFO).
                std::vector<unsigned> held;
                for (const Ring& ring : rings_) held.push_back(rte_ring_count(ring.ring));
                for (std::size_t i = 0; i < rings_.size(); ++i) n += drain_ring(rings_[i], held[i]);
                n += drain_services();
            } else {
                n = drain_once();
            }
            if (commit_due) {
                if (checkpoints_)
                    if (const auto* slots = safe_slots(now)) write_checkpoint(*slots);
                sink_.flush();
                last_commit = now;
            }
            if (n == 0) {
                if (stopping) break; // every ring was empty after the producers stopped
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
        }
        if (final_checkpoint_.load() && checkpoints_) write_checkpoint(checkpoints_->read_slots());
        sink_.flush();
    } catch (...) {
        error_ = std::current_exception();
        failed_.store(true);
    }
    run_pending_call(true); // a caller may be waiting: never leave one behind
}

void Collector::call(const std::function<void(ResultSink&)>& fn) {
    std::unique_lock lock(call_mutex_);
    if (!thread_.joinable() || stop_.load() || thread_exited_) {
        lock.unlock();
        fn(sink_);
        return;
    }
    call_error_ = nullptr;
    call_ = &fn;
    call_done_.wait(lock, [this] { return call_ == nullptr; });
    if (call_error_) std::rethrow_exception(call_error_);
}

void Collector::run_pending_call(bool exiting) {
    std::lock_guard lock(call_mutex_);
    if (exiting) thread_exited_ = true; // later calls run on the caller's thread
    if (!call_) return;
    try {
        (*call_)(sink_);
    } catch (...) {
        call_error_ = std::current_exception();
    }
    call_ = nullptr;
    call_done_.notify_all();
}

void Collector::stop_and_join(bool wait_window_complete) {
    final_checkpoint_.store(wait_window_complete);
    stop_.store(true, std::memory_order_release);
    if (thread_.joinable()) thread_.join();
    if (error_) std::rethrow_exception(error_);
}

double Collector::fullest_ring() const noexcept {
    double fullest = 0;
    for (const Ring& r : rings_) {
        const double fill = double(rte_ring_count(r.ring)) / double(rte_ring_get_capacity(r.ring));
        if (fill > fullest) fullest = fill;
    }
    return fullest;
}

} // namespace ws::dp
