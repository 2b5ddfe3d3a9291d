#pragma once
// TSC token bucket for one TX lcore. Time is in TSC cycles; costs are kept in
// 16.16 fixed point so the per-burst check is an add, a compare and a
// subtract: the only divide happens when the rate changes (control loop
// cadence, not per probe). Credit is capped at 1 ms of the rate (two bursts
// at least): a sleep that overshoots (Linux wakes a nanosleep tens of
// microseconds late) is caught up on the next grants, so the rate holds, yet
// a stall (a descheduled lcore, a full TX ring) never turns into more than a
// millisecond's catch-up.
#include <algorithm>
#include <cstdint>

namespace ws {

class TokenBucket {
public:
    static constexpr std::uint32_t max_burst = 32;

    TokenBucket(std::uint64_t tsc_hz, std::uint64_t rate_pps, std::uint64_t now) noexcept
        : tsc_hz_(tsc_hz), last_(now) {
        set_rate(rate_pps);
    }

    // 0 = unlimited. Bursts shrink at low rates so 100 pps is not sent as
    // three bursts of 32 a second: a burst lasts at most ~1 ms of the rate.
    void set_rate(std::uint64_t rate_pps) noexcept {
        rate_ = rate_pps;
        if (rate_pps == 0) {
            burst_ = max_burst;
            burst_cost_ = 0;
            cap_ = 0;
            return;
        }
        burst_ = std::uint32_t(std::clamp<std::uint64_t>(rate_pps / 1000, 1, max_burst));
        const unsigned __int128 cost = (static_cast<unsigned __int128>(tsc_hz_) << 16) * burst_ / rate_pps;
        burst_cost_ = std::uint64_t(std::max<unsigned __int128>(cost, 1));
        cap_ = std::max(2 * burst_cost_, (tsc_hz_ / 1000) << 16);
        credit_ = std::min(credit_, cap_);
    }

    std::uint64_t rate() const noexcept { return rate_; }
    std::uint32_t burst() const noexcept { return burst_; }

    // How many probes may go now: 0 or burst().
    std::uint32_t grant(std::uint64_t now) noexcept {
        if (burst_cost_ == 0) return burst_;
        const std::uint64_t elapsed = now - last_;
        last_ = now;
        // Saturating: an elapsed time beyond the cap is the stall we forgive.
        credit_ = elapsed >= (cap_ >> 16) ? cap_ : std::min(cap_, credit_ + (elapsed << 16));
        if (credit_ < burst_cost_) return 0;
        credit_ -= burst_cost_;
        return burst_;
    }

    // Returns probes that were granted but not sent (a short TX burst), so
    // the schedule does not silently lose them.
    void refund(std::uint32_t probes) noexcept {
        if (burst_cost_ == 0 || probes == 0) return;
        credit_ = std::min(cap_, credit_ + burst_cost_ * probes / burst_);
    }

    // Cycles until the next grant can succeed (0 if it would now).
    std::uint64_t cycles_until_next(std::uint64_t now) const noexcept {
        if (burst_cost_ == 0) return 0;
        const std::uint64_t have = std::min(cap_, credit_ + ((now - last_) << 16));
        return have >= burst_cost_ ? 0 : ((burst_cost_ - have) >> 16) + 1;
    }

private:
    std::uint64_t tsc_hz_;
    std::uint64_t rate_ = 0;
    std::uint64_t last_;
    std::uint64_t credit_ = 0;
    std::uint64_t burst_cost_ = 0; // cycles << 16 per burst
    std::uint64_t cap_ = 0;
    std::uint32_t burst_ = max_burst;
};

} // namespace ws
