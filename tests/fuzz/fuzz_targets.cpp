// Feeds arbitrary bytes to the target parsers and checks the set invariants
// that scanning depends on: a broken set means skipped or repeated addresses.
#include "wirespeed/error.hpp"
#include "wirespeed/targets.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

void check_error(const ws::Error& e) {
    // The CLI prints messages as is: they must be one non-empty line.
    const std::string_view message = e.what();
    check(!message.empty() && message.find('\n') == std::string_view::npos);
}

void check_set(const ws::TargetSet& set) {
    const auto& intervals = set.intervals();
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < intervals.size(); ++i) {
        check(intervals[i].first <= intervals[i].last);
        // Sorted, disjoint and non-adjacent: a gap of at least one address.
        if (i > 0) check(std::uint64_t{intervals[i - 1].last} + 1 < intervals[i].first);
        check(set.index_of(intervals[i].first) == total);
        check(set.at(total) == intervals[i].first);
        total += intervals[i].size();
        check(set.index_of(intervals[i].last) == total - 1);
        check(set.at(total - 1) == intervals[i].last);
        check(set.contains(intervals[i].last));
        if (intervals[i].first > 0) check(!set.contains(intervals[i].first - 1));
        if (intervals[i].last < UINT32_MAX) check(set.index_of(intervals[i].last + 1) == UINT64_MAX);
    }
    check(total == set.ipv4_count());
    // IPv6: the same shape in 128 bits; the IPv4-mapped block is IPv4, never here.
    const auto& v6 = set.ipv6_intervals();
    ws::uint128 total6 = 0;
    bool wrapped = false;
    const bool indexable = set.ipv6_count() <= UINT64_MAX;
    for (std::size_t i = 0; i < v6.size(); ++i) {
        check(v6[i].first <= v6[i].last);
        if (i > 0) check(v6[i - 1].last + 1 < v6[i].first && v6[i - 1].last + 1 != 0);
        check(!(v6[i].first <= (ws::IpAddress::ipv4_mapped_prefix | 0xffffffffu) &&
                v6[i].last >= ws::IpAddress::ipv4_mapped_prefix));
        const ws::IpAddress first = ws::IpAddress::from_ipv6(v6[i].first), last = ws::IpAddress::from_ipv6(v6[i].last);
        check(set.contains(first) && set.contains(last));
        if (v6[i].first > 0 && !ws::IpAddress::from_ipv6(v6[i].first - 1).is_ipv4())
            check(!set.contains(ws::IpAddress::from_ipv6(v6[i].first - 1)));
        if (indexable) {
            check(set.index_of(first) == total + std::uint64_t(total6));
            check(set.at_ipv6(std::uint64_t(total6)) == v6[i].first);
            check(set.address_at(total + std::uint64_t(total6)) == first);
        }
        const ws::uint128 size = v6[i].size();
        if (size == 0 || total6 + size < total6) wrapped = true;
        total6 += size;
        if (indexable && !wrapped) {
            check(set.index_of(last) == total + std::uint64_t(total6) - 1);
            check(set.at_ipv6(std::uint64_t(total6) - 1) == v6[i].last);
        }
    }
    check(wrapped ? set.ipv6_count() == ~ws::uint128{0} : set.ipv6_count() == total6);
    check(set.empty() == (total == 0 && v6.empty()));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    ws::TargetSet list;
    bool list_ok = false;
    try {
        list = ws::parse_targets(input);
        list_ok = true;
        check_set(list);
    } catch (const ws::Error& e) {
        check_error(e);
    }

    ws::TargetSet text;
    try {
        text = ws::parse_target_text(input, "fuzz.txt");
        check_set(text);
        // Without '#' a file is just a list spread over lines.
        if (list_ok && input.find('#') == std::string_view::npos && input.substr(0, 3) != "\xEF\xBB\xBF")
            check(text == list);
    } catch (const ws::Error& e) {
        check_error(e);
        check(std::string_view(e.what()).substr(0, 9) == "fuzz.txt:");
    }

    try {
        const auto interval = ws::parse_target_spec(input);
        check(interval.first <= interval.last);
    } catch (const ws::Error& e) {
        check_error(e);
    }

    // Set algebra between the two halves' parses: sizes must add up exactly.
    if (list_ok) {
        const auto half = size / 2;
        try {
            const auto a = ws::parse_targets(input.substr(0, half));
            const auto b = ws::parse_targets(input.substr(half));
            auto difference = a;
            const auto removed = difference.subtract(b);
            check_set(difference);
            // Exact sizes below 2^64 (an IPv6 /0 saturates the 64-bit counts).
            const bool exact = a.exact_count() < ws::uint128{UINT64_MAX} && b.exact_count() < ws::uint128{UINT64_MAX};
            if (exact) check(removed <= a.count() && difference.count() == a.count() - removed);
            auto both = difference;
            both.add(b);
            check_set(both);
            auto union_ab = a;
            union_ab.add(b);
            check(both == union_ab);
            if (exact) check(union_ab.exact_count() == difference.exact_count() + b.exact_count());
            for (const auto& iv : difference.intervals()) check(!b.contains(iv.first) && !b.contains(iv.last));
        } catch (const ws::Error& e) {
            check_error(e); // splitting can cut a token in half
        }
    }
    return 0;
}
