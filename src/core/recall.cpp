#include "wirespeed/recall.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>

namespace ws {
namespace {

double share(double found, double missed) noexcept { return found + missed > 0 ? found / (found + missed) : 1.0; }

constexpr double z = 1.96; // 95%

// Wilson score interval of k successes in n draws, with n_eff the effective
// sample size (n itself, or larger under the finite-population correction).
std::pair<double, double> wilson(double k, double n, double n_eff) noexcept {
    const double p = k / n;
    const double z2 = z * z / n_eff;
    const double centre = (p + z2 / 2) / (1 + z2);
    const double half = z * std::sqrt(p * (1 - p) / n_eff + z * z / (4 * n_eff * n_eff)) / (1 + z2);
    return {std::clamp(centre - half, 0.0, 1.0), std::clamp(centre + half, 0.0, 1.0)};
}

} // namespace

double RecallEstimate::recall() const noexcept { return share(double(found), missed); }
double RecallEstimate::recall_low() const noexcept { return share(double(found), missed_high); }
double RecallEstimate::recall_high() const noexcept { return share(double(found), missed_low); }

RecallEstimate estimate_recall(std::uint64_t found, std::uint64_t non_responders, std::uint64_t sampled,
                               std::uint64_t answered, std::uint64_t delivery_sampled,
                               std::uint64_t delivery_answered) noexcept {
    RecallEstimate e;
    e.found = found;
    e.non_responders = non_responders;
    e.sampled = std::min(sampled, non_responders);
    e.answered = std::min(answered, e.sampled);
    e.delivery_sampled = delivery_sampled;
    e.delivery_answered = std::min(delivery_answered, delivery_sampled);
    if (e.sampled == 0) {
        e.valid = non_responders == 0; // nothing left to miss: exact
        return e;
    }
    e.valid = true;
    // The share p of non-responders that answer when asked again. The sample
    // is drawn without replacement from a finite population: its effective
    // size grows to infinity as it covers the whole population (the
    // finite-population correction), so a whole-population sample is exact.
    const double n = double(e.sampled), k = double(e.answered), N = double(non_responders);
    const double p = k / n;
    double low = p, high = p;
    if (n < N) std::tie(low, high) = wilson(k, n, n * (N - 1) / (N - n));
    // A re-probe reaches a responder and comes back with probability d (the
    // pass's delivery): p / d of the non-responders are responders. Without
    // a delivery sample d = 1, as before.
    double d = 1, d_low = 1, d_high = 1;
    if (e.delivery_sampled > 0) {
        const double m = double(e.delivery_sampled);
        d = double(e.delivery_answered) / m;
        std::tie(d_low, d_high) = wilson(double(e.delivery_answered), m, m);
    }
    e.delivery = d;
    auto scaled = [](double share, double by) { return by > 0 ? std::min(1.0, share / by) : 1.0; };
    const double p_true = scaled(p, d), low_true = scaled(low, d_high), high_true = scaled(high, d_low);
    auto count = [](double x) { return x < 1e-6 ? 0.0 : x; }; // no rounding dust in "0 missed"
    // The k that answered the sample are found now: what is still missed is
    // the estimate for all non-responders less those k.
    e.found = found + e.answered;
    e.missed = count(std::max(0.0, p_true * N - k));
    e.missed_low = count(std::min(e.missed, std::max(0.0, low_true * N - k)));
    e.missed_high = count(std::max(e.missed, high_true * N - k));
    return e;
}

} // namespace ws
