#pragma once
// Canaries: the sender's view of loss on the far side of the wire. Replies
// lost there leave no counter of ours, so a small share of the rate (about
// 1%) re-probes pairs that already answered; the share of those that answer
// again within the round-trip time seen so far is the path's delivery ratio.
// The control loop picks and sends canaries and reads the ratio each tick;
// the collector thread reports their answers (duplicates to dedup) here.
// Cold path: one mutex, touched per tick and per duplicate reply.
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <random>
#include <unordered_map>
#include <vector>

#include "wirespeed/record.hpp"

namespace ws::dp {

struct DeliverySample {
    std::uint64_t answered = 0, missed = 0; // canaries resolved this tick
    double rtt_s = 0;                       // the round-trip bound in use
};

class Canaries {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t reservoir_size = 4096;

    // Collector thread: every validated reply (reservoir of responders, and
    // the answer to a canary when one is outstanding for it).
    // `service` is service_of(proto, port).
    void on_reply(std::uint32_t address, std::uint32_t service, bool first_time);
    static std::uint32_t service_of(Proto proto, std::uint16_t port) { return (std::uint32_t(proto) << 16) | port; }

    // Control loop: up to `n` responders to probe again now (registered as outstanding).
    std::vector<std::pair<std::uint32_t, std::uint32_t>> pick(std::size_t n); // (address, service)
    // Control loop: canaries answered since the last call, and those older
    // than the round-trip bound that never answered.
    DeliverySample resolve();
    std::uint64_t sent_total() const;
    std::uint64_t answered_total() const;

    // Up to `n` distinct responders from the reservoir (nothing registered).
    std::vector<std::pair<std::uint32_t, std::uint32_t>> sample_reservoir(std::size_t n);
    // Verify: responders probed again beside the verify sample, at its rate,
    // to measure that pass's own delivery. They never expire: delivery_group()
    // counts those answered by the end of the wait window. A new group
    // replaces the previous one.
    void set_delivery_group(const std::vector<std::pair<std::uint32_t, std::uint32_t>>& group);
    std::pair<std::uint64_t, std::uint64_t> delivery_group() const; // (asked, answered)

private:
    static std::uint64_t key(std::uint32_t address, std::uint32_t service) { return (std::uint64_t{address} << 24) | service; }
    double rtt_bound_s() const; // 4 x the largest answer time seen, 0.2 s to 2 s
    mutable std::mutex mutex_;
    std::vector<std::uint64_t> reservoir_; // recent first-time responders
    std::size_t reservoir_next_ = 0;
    std::unordered_map<std::uint64_t, Clock::time_point> outstanding_;
    std::deque<std::pair<std::uint64_t, Clock::time_point>> order_; // send order, for expiry
    std::uint64_t answered_ = 0, sent_ = 0, answered_total_ = 0;
    std::uint64_t first_answers_ = 0; // the collector thread's own counter
    std::unordered_map<std::uint64_t, bool> group_; // verify's responders: answered yet?
    std::uint64_t group_answered_ = 0;
    double max_rtt_s_ = 0.05;
    std::mt19937_64 rng_{0x5eed};
};

} // namespace ws::dp
