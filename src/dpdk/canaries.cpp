#include "canaries.hpp"

#include <algorithm>

namespace ws::dp {

void Canaries::on_reply(std::uint32_t address, std::uint32_t service, bool first_time) {
    // Every 16th first answer feeds the reservoir: no lock for the others.
    if (first_time && (++first_answers_ & 15) != 0) return;
    std::lock_guard lock(mutex_);
    const std::uint64_t k = key(address, service);
    if (first_time) {
        if (reservoir_.size() < reservoir_size) reservoir_.push_back(k);
        else reservoir_[reservoir_next_++ % reservoir_size] = k;
        return;
    }
    if (const auto g = group_.find(k); g != group_.end() && !g->second) {
        g->second = true;
        ++group_answered_;
    }
    const auto it = outstanding_.find(k);
    if (it == outstanding_.end()) return;
    max_rtt_s_ = std::max(max_rtt_s_ * 0.99, std::chrono::duration<double>(Clock::now() - it->second).count());
    outstanding_.erase(it);
    ++answered_;
    ++answered_total_;
}

std::vector<std::pair<std::uint32_t, std::uint32_t>> Canaries::pick(std::size_t n) {
    std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
    std::lock_guard lock(mutex_);
    if (reservoir_.empty()) return out;
    const auto now = Clock::now();
    for (std::size_t i = 0; i < n * 2 && out.size() < n; ++i) {
        const std::uint64_t k = reservoir_[rng_() % reservoir_.size()];
        if (!outstanding_.emplace(k, now).second) continue; // one canary per pair at a time
        order_.emplace_back(k, now);
        out.emplace_back(std::uint32_t(k >> 24), std::uint32_t(k & 0xffffff));
        ++sent_;
    }
    return out;
}

std::vector<std::pair<std::uint32_t, std::uint32_t>> Canaries::sample_reservoir(std::size_t n) {
    std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
    std::lock_guard lock(mutex_);
    std::unordered_map<std::uint64_t, bool> taken;
    for (std::size_t i = 0; i < n * 4 && out.size() < n && !reservoir_.empty(); ++i) {
        const std::uint64_t k = reservoir_[rng_() % reservoir_.size()];
        if (taken.emplace(k, true).second) out.emplace_back(std::uint32_t(k >> 24), std::uint32_t(k & 0xffffff));
    }
    return out;
}

void Canaries::set_delivery_group(const std::vector<std::pair<std::uint32_t, std::uint32_t>>& group) {
    std::lock_guard lock(mutex_);
    group_.clear();
    group_answered_ = 0;
    for (const auto& [address, service] : group) group_.emplace(key(address, service), false);
}

std::pair<std::uint64_t, std::uint64_t> Canaries::delivery_group() const {
    std::lock_guard lock(mutex_);
    return {group_.size(), group_answered_};
}

double Canaries::rtt_bound_s() const { return std::clamp(4 * max_rtt_s_, 0.2, 2.0); }

DeliverySample Canaries::resolve() {
    std::lock_guard lock(mutex_);
    DeliverySample s;
    s.rtt_s = rtt_bound_s();
    s.answered = answered_;
    answered_ = 0;
    const auto horizon = Clock::now() - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s.rtt_s));
    while (!order_.empty() && order_.front().second <= horizon) {
        const auto it = outstanding_.find(order_.front().first);
        if (it != outstanding_.end() && it->second == order_.front().second) {
            outstanding_.erase(it);
            ++s.missed;
        }
        order_.pop_front();
    }
    return s;
}

std::uint64_t Canaries::sent_total() const {
    std::lock_guard lock(mutex_);
    return sent_;
}

std::uint64_t Canaries::answered_total() const {
    std::lock_guard lock(mutex_);
    return answered_total_;
}

} // namespace ws::dp
