#include "wirespeed/recall.hpp"

#include <algorithm>
#include <cmath>

namespace ws {
namespace {

double share(double found, double missed) noexcept { return found + missed > 0 ? found / (found + missed) : 1.0; }

} // namespace

double RecallEstimate::recall() const noexcept { return share(double(found), missed); }
double RecallEstimate::recall_low() const noexcept { return share(double(found), missed_high); }
double RecallEstimate::recall_high() const noexcept { return share(double(found), missed_low); }

RecallEstimate estimate_recall(std::uint64_t found, std::uint64_t non_responders, std::uint64_t sampled,
                               std::uint64_t answered) noexcept {
    RecallEstimate e;
    e.found = found;
    e.non_responders = non_responders;
    e.sampled = std::min(sampled, non_responders);
    e.answered = std::min(answered, e.sampled);
    if (e.sampled == 0) {
        e.valid = non_responders == 0; // nothing left to miss: exact
        return e;
    }
    e.valid = true;
    // Wilson score interval for the share p of non-responders that answer
    // when asked again, z = 1.96. The sample is drawn without replacement
    // from a finite population: its effective size grows to infinity as it
    // covers the whole population (the finite-population correction).
    const double n = double(e.sampled), k = double(e.answered), N = double(non_responders);
    const double z = 1.96, p = k / n;
    double low = p, high = p;
    if (n < N) {
        const double n_eff = n * (N - 1) / (N - n);
        const double z2 = z * z / n_eff;
        const double centre = (p + z2 / 2) / (1 + z2);
        const double half = z * std::sqrt(p * (1 - p) / n_eff + z * z / (4 * n_eff * n_eff)) / (1 + z2);
        low = std::clamp(centre - half, 0.0, 1.0);
        high = std::clamp(centre + half, 0.0, 1.0);
    }
    auto count = [](double x) { return x < 1e-6 ? 0.0 : x; }; // no rounding dust in "0 missed"
    // The k that answered the sample are found now: what is still missed is
    // the estimate for all non-responders less those k.
    e.found = found + e.answered;
    e.missed = count(std::max(0.0, p * N - k));
    e.missed_low = count(std::min(e.missed, std::max(0.0, low * N - k)));
    e.missed_high = count(std::max(e.missed, high * N - k));
    return e;
}

} // namespace ws
