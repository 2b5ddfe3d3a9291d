#pragma once
// Target specifications -> a sorted set of disjoint, non-adjacent intervals
// of each family with exact counts (0.0.0.0/0 is 2^32 addresses; IPv6 counts
// are 128-bit). A scan's host index runs over the IPv4 addresses first, then
// the IPv6 ones, each in ascending order.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "wirespeed/address.hpp"

namespace ws {

struct Ipv4Interval {
    std::uint32_t first;
    std::uint32_t last; // inclusive, so 255.255.255.255 needs no overflow
    std::uint64_t size() const noexcept { return std::uint64_t{last} - first + 1; }
    friend bool operator==(const Ipv4Interval&, const Ipv4Interval&) = default;
};

struct Ipv6Interval {
    uint128 first;
    uint128 last; // inclusive
    uint128 size() const noexcept { return last - first + 1; } // 0 for ::/0 (2^128 wraps)
    friend bool operator==(const Ipv6Interval&, const Ipv6Interval&) = default;
};

class TargetSet {
public:
    TargetSet() = default;
    // Takes any intervals (unsorted, overlapping); normalises them.
    static TargetSet from_intervals(std::vector<Ipv4Interval> intervals, std::vector<Ipv6Interval> ipv6 = {});

    // The IPv4 part (what at() indexes).
    const std::vector<Ipv4Interval>& intervals() const noexcept { return intervals_; }
    const std::vector<Ipv6Interval>& ipv6_intervals() const noexcept { return intervals6_; }
    std::uint64_t ipv4_count() const noexcept { return count_; }
    uint128 ipv6_count() const noexcept { return count6_; } // 2^128 - 1 stands for ::/0
    // Both families; saturates at UINT64_MAX (a /64 is more than a scan can index).
    std::uint64_t count() const noexcept {
        const uint128 total = exact_count();
        return total > UINT64_MAX ? UINT64_MAX : std::uint64_t(total);
    }
    // Both families, saturating at 2^128 - 1.
    uint128 exact_count() const noexcept {
        const uint128 total = uint128{count_} + count6_;
        return total < count6_ ? ~uint128{0} : total;
    }
    bool empty() const noexcept { return count_ == 0 && count6_ == 0; }
    bool has_ipv6() const noexcept { return !intervals6_.empty(); }
    bool contains(std::uint32_t address) const noexcept;
    bool contains(IpAddress address) const noexcept; // also in sets too large to index (a blocklist)

    // index in [0, count()) -> address, in ascending address order: O(1) for
    // sets whose intervals spread over the index space (a bucket table over
    // the index's high bits gives the interval), O(log n) at worst. Inline:
    // ScanSpace::at_burst calls it once per probe.
    std::uint32_t at(std::uint64_t index) const noexcept {
        // The intervals that can hold the index: from the one holding its
        // bucket's first index to the one holding the next bucket's first.
        const std::uint64_t bucket = index >> bucket_shift_;
        std::size_t i = buckets_[bucket];
        std::size_t n = buckets_[bucket + 1] - i + 1;
        // Branchless (the compare becomes a conditional move): the permuted
        // indices are random, so a branchy search would mispredict on every
        // other step. Mostly n == 1: most buckets lie inside one interval.
        const std::uint64_t* base = starts_.data() + i;
        while (n > 1) {
            const std::size_t half = n / 2;
            base = base[half] <= index ? base + half : base;
            n -= half;
        }
        i = std::size_t(base - starts_.data());
        return intervals_[i].first + std::uint32_t(index - starts_[i]);
    }
    // address -> index, or UINT64_MAX when the address is not in the set.
    std::uint64_t index_of(std::uint32_t address) const noexcept;
    // i in [0, ipv6_count()) -> the i-th IPv6 address (needs ipv6_count() < 2^64).
    // Inline: the general TX loop calls it once per IPv6 probe.
    uint128 at_ipv6(std::uint64_t i) const noexcept {
        // The last interval whose start is <= i (branchless, as at()).
        const std::uint64_t* base = starts6_.data();
        std::size_t n = starts6_.size();
        while (n > 1) {
            const std::size_t half = n / 2;
            base = base[half] <= i ? base + half : base;
            n -= half;
        }
        const std::size_t k = std::size_t(base - starts6_.data());
        return intervals6_[k].first + (i - starts6_[k]);
    }
    // Host index over both families: [0, ipv4_count()) IPv4, then IPv6.
    IpAddress address_at(std::uint64_t host) const noexcept {
        return host < count_ ? IpAddress::from_ipv4(at(host)) : IpAddress::from_ipv6(at_ipv6(host - count_));
    }
    std::uint64_t index_of(IpAddress address) const noexcept;

    void add(const TargetSet& other);
    // Removes other's addresses; returns how many were actually removed.
    std::uint64_t subtract(const TargetSet& other);

    friend bool operator==(const TargetSet& a, const TargetSet& b) {
        return a.intervals_ == b.intervals_ && a.intervals6_ == b.intervals6_;
    }

private:
    void rebuild_index();
    std::vector<Ipv4Interval> intervals_;
    std::vector<std::uint64_t> starts_; // starts_[i] = sum of sizes before interval i
    // buckets_[b]: the interval holding index b << bucket_shift_; one extra
    // entry (the last interval) bounds the last bucket.
    std::vector<std::uint32_t> buckets_;
    unsigned bucket_shift_ = 0;
    std::uint64_t count_ = 0;
    std::vector<Ipv6Interval> intervals6_;
    std::vector<std::uint64_t> starts6_; // empty when count6_ does not fit 64 bits (never indexed then)
    uint128 count6_ = 0;
};

// One spec: "a.b.c.d", "a.b.c.d/n" (n 0-32; host bits are masked off),
// "a.b.c.d-e.f.g.h" (first <= last), and the same for IPv6 ("2001:db8::1",
// "2001:db8::/118", "2001:db8::1-2001:db8::ff"; n 0-128). IPv4-mapped IPv6
// addresses are their IPv4 addresses. Throws ws::Error naming the bad spec.
Ipv4Interval parse_target_spec(std::string_view spec); // IPv4 only
TargetSet parse_target(std::string_view spec);          // either family
// Comma- and/or whitespace-separated list of specs.
TargetSet parse_targets(std::string_view list);
// A file: one or more specs per line, '#' starts a comment, blank lines ignored.
// Errors name the file, line number and the bad token. Large files are parsed
// and sorted in parallel (TBB).
// Lines longer than max_line bytes (excluding the newline) are an error
// naming origin:line.
struct TextLimits {
    std::size_t max_line = 4096;           // bytes per line
    std::uint64_t max_bytes = 1ull << 30;  // bytes per file: 1 GiB, ~70 million one-address lines
};
TargetSet parse_target_text(std::string_view text, std::string_view origin, const TextLimits& limits = {});
// `what` names the file's purpose in errors: "target file", "exclude file",
// "blocklist file". Regular files are mapped; anything else (a pipe, a FIFO,
// /dev/stdin, a device) is read and parsed as it streams, so /dev/zero or an
// endless writer fails at the first over-long or bad line or at max_bytes,
// never by exhausting memory. A FIFO is opened without blocking: one with no
// writer (no data at all) is an error. Throws ws::Error, one line:
//   cannot read exclude file "x": Permission denied
//   x:1: line longer than 4096 bytes (the limit for a line of an exclude file)
//   cannot read target file "x": larger than 1073741824 bytes (the limit for a target file)
TargetSet load_target_file(const std::string& path, std::string_view what = "target file", const TextLimits& limits = {});

// The shipped default blocklist (config/blocklist.conf), compiled in so the
// binary is safe without the config directory.
std::string_view default_blocklist_text() noexcept;
TargetSet default_blocklist();

} // namespace ws
