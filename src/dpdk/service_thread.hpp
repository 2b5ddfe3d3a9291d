#pragma once
// The service thread of scan --service: a plain std::thread (like the
// collector) that runs the ServiceDetector off the RX path. It drains every
// RX lcore's stream-event ring, feeds the detector, passes its commands to
// RX lcore 0's command ring (in order; a full ring waits here, never in RX)
// and posts the results to the collector. Matching (Hyperscan + PCRE2) and
// TLS handshakes cost CPU here, never in an RX lcore.
#include <atomic>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <rte_ring.h>

#include "wirespeed/service_detector.hpp"

namespace ws::dp {

class ServiceThread {
public:
    ServiceThread(const ServiceMatcher& matcher, const TlsContext* tls, ServiceOptions options,
                  std::function<IpAddress(IpAddress)> source_for, std::vector<rte_ring*> events, rte_ring* commands,
                  std::function<void(std::vector<ServiceResult>&&)> deliver);
    ~ServiceThread();
    // Before start(): ports to name as if RX lcores had reported them open
    // (--resume: those the interrupted run found but never named).
    void add_open_ports(const std::vector<std::pair<IpAddress, std::uint16_t>>& ports);
    void start();
    // Every open port reported so far has its result, and no event waits.
    bool idle() const noexcept { return idle_.load(std::memory_order_acquire); }
    std::uint64_t pending_ports() const noexcept { return pending_.load(std::memory_order_relaxed); }
    std::uint64_t identified() const noexcept { return identified_.load(std::memory_order_relaxed); }
    // Ports still unnamed get what they have; then the thread ends. Rethrows
    // what the thread threw.
    void finish_and_join();
    ServiceCounters counters() const; // after finish_and_join

private:
    void run();
    bool step(); // one round; false when there was nothing to do
    ServiceDetector detector_;
    std::vector<rte_ring*> events_;
    rte_ring* commands_;
    std::function<void(std::vector<ServiceResult>&&)> deliver_;
    std::deque<StreamCommand> backlog_; // commands the ring had no room for yet
    std::thread thread_;
    std::atomic<bool> stop_{false}, idle_{true};
    std::atomic<std::uint64_t> pending_{0}, identified_{0};
    std::exception_ptr error_;
};

} // namespace ws::dp
