#pragma once
// How many responders did a scan miss? After the main pass, a random sample
// of the pairs that never answered is probed again; the share of them that
// answers now estimates the share of all non-responders that were missed.
// The re-probes cross the same path, so they can be lost too: beside them, a
// sample of pairs that did answer is probed again at the same rate, and the
// share of those that answer (the verify pass's own delivery) scales the
// estimate up. Pure arithmetic (Wilson score intervals), tested without packets.
#include <cstdint>

namespace ws {

struct RecallEstimate {
    bool valid = false;               // a sample was taken
    std::uint64_t found = 0;          // distinct pairs answered, the sample's answers included
    std::uint64_t non_responders = 0; // pairs that had not answered before the sample
    std::uint64_t sampled = 0, answered = 0;
    std::uint64_t delivery_sampled = 0, delivery_answered = 0; // responders asked again beside the sample
    double delivery = 1;              // their share that answered (1 when none were asked)
    double missed = 0, missed_low = 0, missed_high = 0; // responders still missed (estimate, 95% interval)
    // found / (found + missed): the share of responders the scan found, and its 95% interval.
    double recall() const noexcept;
    double recall_low() const noexcept;  // with missed_high
    double recall_high() const noexcept; // with missed_low
};

RecallEstimate estimate_recall(std::uint64_t found, std::uint64_t non_responders, std::uint64_t sampled,
                               std::uint64_t answered, std::uint64_t delivery_sampled = 0,
                               std::uint64_t delivery_answered = 0) noexcept;

} // namespace ws
