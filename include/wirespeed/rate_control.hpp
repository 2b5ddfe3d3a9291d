#pragma once
// Adaptive send rate, TCP-style: slow start (the rate doubles every healthy
// tick) until the first sign of saturation, then additive increase; a
// multiplicative back-off whenever the path shows saturation. Pure logic fed
// one sample per control tick (~100 ms) so it is tested without any packets.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace ws {

struct RateSample {
    std::uint64_t sent = 0;        // probes sent this tick
    std::uint64_t replies = 0;     // validated replies this tick
    std::uint64_t drops = 0;       // NIC oerrors + imissed + rx_nombuf + result-ring overflow this tick
    std::uint64_t tx_stalls = 0;   // bursts the TX queue did not take at once
    double ring_fill = 0;          // fullest result ring, 0..1
    bool far_loss = false;         // canaries: delivery on the far side measured below 99%
};

struct RateControlOptions {
    std::uint64_t cap = 0;          // --rate; 0 = no cap (climb until the path pushes back)
    bool adaptive = true;
    std::uint64_t floor = 1'000;    // never back off below this
    double slow_start = 2.0;        // per healthy tick until the first saturation
    double additive = 0.05;         // then + this share of the rate where saturation was first seen, per healthy tick
    double decrease = 0.7;          // per saturated tick
    double yield_drop = 0.5;        // reply yield falling below this fraction of its baseline = saturation
    std::uint64_t min_sample = 2'000; // probes per tick before the yield is trusted
    std::uint64_t planned = 0;      // probes the scan will send (0 = unknown)
};

// The canaries' verdict on the far side of the wire: canaries resolved per
// tick (answered, or silent past the round-trip bound) over the last five
// ticks. Delivery below 99% with at least 3 misses, one of them this tick, is
// far-side loss; the window then starts afresh, so the next verdict is about
// the rate the controller backs off to.
class DeliveryWindow {
public:
    static constexpr std::size_t ticks = 5;
    // One tick's resolved canaries; true = far-side loss.
    bool push(std::uint64_t answered, std::uint64_t missed) {
        window_[next_++ % ticks] = {answered, missed};
        filled_ = std::min(filled_ + 1, ticks);
        std::uint64_t a = 0, m = 0;
        for (std::size_t i = 0; i < filled_; ++i) {
            a += window_[i].first;
            m += window_[i].second;
        }
        if (a + m > 0) delivery_ = double(a) / double(a + m);
        const bool loss = missed > 0 && m >= 3 && double(a) < 0.99 * double(a + m);
        if (loss) filled_ = next_ = 0;
        return loss;
    }
    double delivery() const noexcept { return delivery_; } // -1 until a canary resolved

private:
    std::pair<std::uint64_t, std::uint64_t> window_[ticks]{};
    std::size_t filled_ = 0, next_ = 0;
    double delivery_ = -1;
};

class RateController {
public:
    // Where `--rate 0` (no cap) starts: the default cap. Slow start doubles it
    // per healthy tick, so a port's limit (tens of Mpps) is reached in ~0.5 s.
    static constexpr std::uint64_t uncapped_start = 1'000'000;

    explicit RateController(RateControlOptions options) : options_(options) {
        // A cap below the back-off floor is still a cap: neither the start
        // nor a back-off may exceed it.
        if (options_.cap && options_.floor > options_.cap) options_.floor = options_.cap;
        if (!options_.adaptive) rate_ = options_.cap;
        else if (fits_in_first_tick()) rate_ = options_.cap;
        else rate_ = options_.cap ? std::max(options_.floor, options_.cap / 4) : uncapped_start;
    }

    // A scan the cap sends within one control tick starts at the cap: it ends
    // before any signal of the first tick could slow it down, and what the
    // path dropped is found by the verify sample and repaired (one host's
    // 65,535 ports at the default cap take 66 ms).
    bool fits_in_first_tick() const noexcept {
        return options_.adaptive && options_.cap && options_.planned && options_.planned <= options_.cap / 10;
    }

    std::uint64_t rate() const noexcept { return rate_; } // 0 = unlimited (fixed mode without cap)
    std::uint64_t cap() const noexcept { return options_.cap; }
    bool saturated_last_tick() const noexcept { return saturated_; }
    bool in_slow_start() const noexcept { return step_ == 0; }
    // Why the rate last went down ("drops", "result ring", "reply yield"), or "" if it never did.
    const char* last_backoff() const noexcept { return last_backoff_; }

    // Live control (SIGUSR1/SIGUSR2): a new cap; 0 = none. The rate follows at once when above it.
    void set_cap(std::uint64_t cap) noexcept {
        options_.cap = cap;
        if (cap && options_.floor > cap) options_.floor = cap;
        if (!options_.adaptive) rate_ = cap;
        else if (cap && rate_ > cap) rate_ = cap;
    }

    std::uint64_t update(const RateSample& s) {
        if (!options_.adaptive) return rate_;
        const char* cause = s.drops > 0 ? "drops" : s.far_loss ? "far-side loss" : s.ring_fill > 0.25 ? "result ring"
                          : falling_yield(s) ? "reply yield" : nullptr;
        saturated_ = cause != nullptr;
        if (saturated_) {
            last_backoff_ = cause;
            // Slow start ends here: from now on, climb by a share of this rate.
            if (step_ == 0) step_ = std::max<std::uint64_t>(1, std::uint64_t(double(rate_) * options_.additive));
            rate_ = std::max(options_.floor, std::uint64_t(double(rate_) * options_.decrease));
        } else if (s.tx_stalls == 0 || s.sent + s.sent / 10 >= expected_per_tick()) {
            // Climb only when we actually sent what the last rate allowed.
            std::uint64_t next = step_ == 0 ? std::uint64_t(double(rate_) * options_.slow_start) : rate_ + step_;
            if (options_.cap) next = std::min(next, options_.cap);
            rate_ = std::max(next, rate_);
        }
        return rate_;
    }

private:
    std::uint64_t expected_per_tick() const noexcept { return rate_ / 10; }

    bool falling_yield(const RateSample& s) {
        if (s.sent < options_.min_sample) return false;
        const double yield = double(s.replies) / double(s.sent);
        if (baseline_ < 0) {
            baseline_ = yield;
            return false;
        }
        const bool falling = baseline_ > 0 && yield < baseline_ * options_.yield_drop;
        if (!falling) baseline_ = 0.8 * baseline_ + 0.2 * yield; // track slow changes in the target mix
        return falling;
    }

    RateControlOptions options_;
    std::uint64_t rate_ = 0;
    double baseline_ = -1;
    bool saturated_ = false;
    std::uint64_t step_ = 0; // additive step; 0 while in slow start
    const char* last_backoff_ = "";
};

} // namespace ws
