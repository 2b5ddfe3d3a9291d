#include "wirespeed/targets.hpp"

#include "wirespeed/address.hpp"
#include "wirespeed/error.hpp"

#include <tbb/parallel_for.h>
#include <tbb/parallel_sort.h>

#include <algorithm>
#include <bit>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "text.hpp"

namespace ws {

namespace {

std::string quote(std::string_view token) { return detail::quote(token, 96); }
using detail::is_space;
using detail::trim;

// A spec's intervals, by family.
struct SpecIntervals {
    std::vector<Ipv4Interval> v4;
    std::vector<Ipv6Interval> v6;
    std::size_t size() const noexcept { return v4.size() + v6.size(); }
};

constexpr uint128 mapped_first = IpAddress::ipv4_mapped_prefix;          // ::ffff:0.0.0.0
constexpr uint128 mapped_last = IpAddress::ipv4_mapped_prefix | 0xffffffffu; // ::ffff:255.255.255.255

// An IPv6 interval; the part inside ::ffff:0:0/96 is IPv4 (a dual-stack
// socket's view of those addresses), the rest stays IPv6.
void add_ipv6(uint128 first, uint128 last, SpecIntervals& out) {
    if (last < mapped_first || first > mapped_last) {
        out.v6.push_back({first, last});
        return;
    }
    if (first < mapped_first) out.v6.push_back({first, mapped_first - 1});
    const uint128 lo = std::max(first, mapped_first), hi = std::min(last, mapped_last);
    out.v4.push_back({std::uint32_t(lo), std::uint32_t(hi)});
    if (last > mapped_last) out.v6.push_back({mapped_last + 1, last});
}

void add_address_range(IpAddress first, IpAddress last, SpecIntervals& out) {
    if (first.is_ipv4() && last.is_ipv4()) out.v4.push_back({first.ipv4(), last.ipv4()});
    else add_ipv6(first.bits, last.bits, out);
}

// Returns nullopt on success, else the reason (without the token): the file
// parser needs the reason separately so it can prefix file:line, and it must
// not pay for exceptions while chunks race each other. Appends to out.
std::optional<std::string> try_parse_spec(std::string_view spec, SpecIntervals& out) {
    if (spec.empty()) return std::string("empty target");

    if (const auto slash = spec.find('/'); slash != std::string_view::npos) {
        const auto addr_text = spec.substr(0, slash);
        const auto len_text = spec.substr(slash + 1);
        const bool v6_text = addr_text.find(':') != std::string_view::npos;
        const auto address = parse_ip(addr_text);
        if (!address) return quote(addr_text) + (v6_text ? " is not an IPv6 address" : " is not an IPv4 address");
        // The prefix length counts bits of the address as written: /n of an
        // IPv4-mapped literal counts its 128 bits.
        const unsigned bits = v6_text ? 128 : 32;
        const std::string bad_length = "prefix length must be 0-" + std::to_string(bits);
        unsigned length = 0;
        if (len_text.empty() || len_text.size() > 3) return bad_length;
        for (char c : len_text) {
            if (c < '0' || c > '9') return bad_length;
            length = length * 10 + unsigned(c - '0');
        }
        if (length > bits) return bad_length;
        if (!v6_text) {
            // Shift in 64 bits: a 32-bit shift by 32 is undefined.
            const auto host_mask = std::uint32_t((std::uint64_t{1} << (32 - length)) - 1);
            const std::uint32_t first = address->ipv4() & ~host_mask;
            out.v4.push_back({first, first | host_mask});
            return std::nullopt;
        }
        const unsigned host_bits = 128 - length;
        const uint128 host_mask = host_bits == 128 ? ~uint128{0} : (uint128{1} << host_bits) - 1;
        const uint128 first = address->bits & ~host_mask;
        add_ipv6(first, first | host_mask, out);
        return std::nullopt;
    }

    if (const auto dash = spec.find('-'); dash != std::string_view::npos) {
        const auto first_text = spec.substr(0, dash);
        const auto last_text = spec.substr(dash + 1);
        const auto first = parse_ip(first_text);
        if (!first) return "range start " + quote(first_text) + " is not an IPv4 or IPv6 address";
        const auto last = parse_ip(last_text);
        if (!last) return "range end " + quote(last_text) + " is not an IPv4 or IPv6 address";
        if (first->is_ipv4() != last->is_ipv4()) return std::string("range ends are of different address families");
        if (*first > *last) return std::string("range start is after its end");
        add_address_range(*first, *last, out);
        return std::nullopt;
    }

    if (spec.find('%') != std::string_view::npos)
        return std::string("zone ids (%) are not scan targets: name a global address");
    const auto address = parse_ip(spec);
    if (!address)
        return std::string(spec.find(':') != std::string_view::npos
                               ? "not an IPv6 address, CIDR block or range (2001:db8::1, 2001:db8::/118, a-b)"
                               : "not an IPv4 address, CIDR block or range (a.b.c.d, a.b.c.d/n, a.b.c.d-e.f.g.h)");
    add_address_range(*address, *address, out);
    return std::nullopt;
}

// Splits a comma/whitespace list and appends its intervals. A separator may
// hold at most one comma: ",," or a leading/trailing comma is an empty target,
// which is almost always a typo worth stopping for. Returns the error message
// (without any file:line prefix) or nullopt.
std::optional<std::string> parse_list_into(std::string_view list, SpecIntervals& out) {
    std::size_t pos = 0;
    bool expecting_item = false; // true right after a comma
    while (true) {
        while (pos < list.size() && is_space(list[pos])) ++pos;
        if (pos == list.size()) {
            if (expecting_item) return "empty target in list " + quote(trim(list));
            return std::nullopt;
        }
        // Either a leading comma or a second one after the item's own comma.
        if (list[pos] == ',') return "empty target in list " + quote(trim(list));
        std::size_t end = pos;
        while (end < list.size() && !is_space(list[end]) && list[end] != ',') ++end;
        const auto token = list.substr(pos, end - pos);
        if (auto why = try_parse_spec(token, out)) return "invalid target " + quote(token) + ": " + *why;
        pos = end;
        while (pos < list.size() && is_space(list[pos])) ++pos;
        expecting_item = false;
        if (pos < list.size() && list[pos] == ',') {
            ++pos;
            expecting_item = true;
        }
    }
}

// Above this many intervals the sort is worth handing to TBB.
constexpr std::size_t parallel_sort_threshold = 1 << 16;

template <class Interval>
void sort_intervals(std::vector<Interval>& intervals) {
    // Ties need no order: merging keeps the larger end whichever comes first.
    const auto by_first = [](const Interval& a, const Interval& b) { return a.first < b.first; };
    if (intervals.size() >= parallel_sort_threshold)
        tbb::parallel_sort(intervals.begin(), intervals.end(), by_first);
    else
        std::sort(intervals.begin(), intervals.end(), by_first);
}

// Input sorted by first. Adjacent intervals merge too, so the representation
// is canonical and operator== means set equality. In place: a hitlist of ten
// million IPv6 addresses is 320 MB of intervals, and a copy would double it.
template <class Interval>
std::vector<Interval> merge_sorted(std::vector<Interval> sorted) {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        const Interval iv = sorted[i];
        if (iv.first > iv.last) continue; // malformed by hand: treat as empty
        // "last + 1" cannot overflow: compared as first - 1 <= last instead.
        Interval* back = kept ? &sorted[kept - 1] : nullptr;
        if (back && (iv.first <= back->last || iv.first - 1 <= back->last)) back->last = std::max(back->last, iv.last);
        else sorted[kept++] = iv;
    }
    sorted.resize(kept);
    // Give back the slack only when merging freed much of it (shrinking copies).
    if (sorted.capacity() > 2 * kept + 64) sorted.shrink_to_fit();
    return sorted;
}

} // namespace

TargetSet TargetSet::from_intervals(std::vector<Ipv4Interval> intervals, std::vector<Ipv6Interval> ipv6) {
    sort_intervals(intervals);
    sort_intervals(ipv6);
    TargetSet set;
    set.intervals_ = merge_sorted(std::move(intervals));
    set.intervals6_ = merge_sorted(std::move(ipv6));
    set.rebuild_index();
    return set;
}

void TargetSet::rebuild_index() {
    // IPv6: 128-bit running total; indexable (starts6_) only below 2^64.
    starts6_.clear();
    uint128 total6 = 0;
    bool saturated = false;
    for (const auto& iv : intervals6_) {
        const uint128 size = iv.size();
        if (size == 0 || total6 + size < total6) saturated = true; // ::/0, or the sum wrapped
        if (!saturated) total6 += size;
    }
    count6_ = saturated ? ~uint128{0} : total6;
    if (!saturated && total6 <= UINT64_MAX) {
        starts6_.resize(intervals6_.size());
        std::uint64_t at = 0;
        for (std::size_t i = 0; i < intervals6_.size(); ++i) {
            starts6_[i] = at;
            at += std::uint64_t(intervals6_[i].size());
        }
    }
    starts_.resize(intervals_.size());
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < intervals_.size(); ++i) {
        starts_[i] = total;
        total += intervals_[i].size();
    }
    count_ = total;
    // About 64 buckets per interval (at most 2^16: 256 KiB), so few buckets
    // hold a boundary (1.6% on the Internet space's 16 intervals) and at()
    // mostly does no search at all.
    buckets_.clear();
    bucket_shift_ = 0;
    if (count_ == 0) return;
    const unsigned index_bits = unsigned(std::bit_width(count_ - 1));
    const unsigned bucket_bits =
        std::min({index_bits, 16u, unsigned(std::bit_width(64 * intervals_.size() - 1))});
    bucket_shift_ = index_bits - bucket_bits;
    const std::uint64_t bucket_count = ((count_ - 1) >> bucket_shift_) + 1;
    buckets_.resize(bucket_count + 1);
    std::size_t i = 0;
    for (std::uint64_t b = 0; b < bucket_count; ++b) {
        const std::uint64_t first = b << bucket_shift_;
        while (i + 1 < starts_.size() && starts_[i + 1] <= first) ++i;
        buckets_[b] = std::uint32_t(i);
    }
    buckets_[bucket_count] = std::uint32_t(intervals_.size() - 1);
}

bool TargetSet::contains(std::uint32_t address) const noexcept {
    return index_of(address) != UINT64_MAX;
}

std::uint64_t TargetSet::index_of(std::uint32_t address) const noexcept {
    const auto it = std::upper_bound(intervals_.begin(), intervals_.end(), address,
                                     [](std::uint32_t a, const Ipv4Interval& iv) { return a < iv.first; });
    if (it == intervals_.begin()) return UINT64_MAX;
    const auto i = std::size_t(it - intervals_.begin()) - 1;
    if (address > intervals_[i].last) return UINT64_MAX;
    return starts_[i] + (address - intervals_[i].first);
}

namespace {

// The interval holding a, or SIZE_MAX.
std::size_t find_ipv6(const std::vector<Ipv6Interval>& intervals, uint128 a) noexcept {
    const auto it = std::upper_bound(intervals.begin(), intervals.end(), a,
                                     [](uint128 x, const Ipv6Interval& iv) { return x < iv.first; });
    if (it == intervals.begin()) return SIZE_MAX;
    const auto i = std::size_t(it - intervals.begin()) - 1;
    return a > intervals[i].last ? SIZE_MAX : i;
}

} // namespace

bool TargetSet::contains(IpAddress address) const noexcept {
    if (address.is_ipv4()) return contains(address.ipv4());
    return find_ipv6(intervals6_, address.bits) != SIZE_MAX;
}

std::uint64_t TargetSet::index_of(IpAddress address) const noexcept {
    if (address.is_ipv4()) return index_of(address.ipv4());
    if (starts6_.empty()) return UINT64_MAX; // too large to index (never a scan's set)
    const std::size_t i = find_ipv6(intervals6_, address.bits);
    if (i == SIZE_MAX) return UINT64_MAX;
    return count_ + starts6_[i] + std::uint64_t(address.bits - intervals6_[i].first);
}

namespace {

template <class Interval>
std::vector<Interval> union_of(const std::vector<Interval>& a, const std::vector<Interval>& b) {
    std::vector<Interval> both;
    both.reserve(a.size() + b.size());
    const auto by_first = [](const Interval& x, const Interval& y) { return x.first < y.first; };
    std::merge(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both), by_first);
    return merge_sorted(std::move(both));
}

// a minus cut, both canonical. Cursor arithmetic avoids "last + 1" overflow
// at the top of the address space with an explicit "done" flag.
template <class Interval>
std::vector<Interval> difference(const std::vector<Interval>& a, const std::vector<Interval>& cut) {
    std::vector<Interval> kept;
    kept.reserve(a.size() + cut.size());
    std::size_t j = 0;
    for (const auto& iv : a) {
        auto cursor = iv.first;
        bool done = false;
        while (j < cut.size() && cut[j].last < cursor) ++j;
        for (std::size_t k = j; k < cut.size() && !done && cut[k].first <= iv.last; ++k) {
            if (cut[k].first > cursor) kept.push_back({cursor, decltype(cursor)(cut[k].first - 1)});
            if (cut[k].last >= iv.last) done = true;
            else if (cut[k].last >= cursor) cursor = cut[k].last + 1;
        }
        if (!done) kept.push_back({cursor, iv.last});
    }
    kept.shrink_to_fit();
    return kept;
}

} // namespace

void TargetSet::add(const TargetSet& other) {
    intervals_ = union_of(intervals_, other.intervals_);
    intervals6_ = union_of(intervals6_, other.intervals6_);
    rebuild_index();
}

std::uint64_t TargetSet::subtract(const TargetSet& other) {
    const uint128 before = exact_count();
    // Nothing to cut leaves a family as it is (no copy of a big hitlist).
    if (!other.intervals_.empty()) intervals_ = difference(intervals_, other.intervals_);
    if (!other.intervals6_.empty()) intervals6_ = difference(intervals6_, other.intervals6_);
    // Pieces of one interval are separated by cuts and intervals were already
    // non-adjacent, so the result is still canonical.
    rebuild_index();
    const uint128 removed = before - exact_count();
    return removed > UINT64_MAX ? UINT64_MAX : std::uint64_t(removed);
}

TargetSet parse_target(std::string_view spec) {
    SpecIntervals intervals;
    if (auto why = try_parse_spec(spec, intervals)) throw Error("invalid target " + quote(spec) + ": " + *why);
    return TargetSet::from_intervals(std::move(intervals.v4), std::move(intervals.v6));
}

Ipv4Interval parse_target_spec(std::string_view spec) {
    const TargetSet set = parse_target(spec);
    if (set.has_ipv6() || set.intervals().size() != 1)
        throw Error("invalid target " + quote(spec) + ": not an IPv4 address, CIDR block or range");
    return set.intervals().front();
}

TargetSet parse_targets(std::string_view list) {
    SpecIntervals intervals;
    if (auto error = parse_list_into(list, intervals)) throw Error(*error);
    return TargetSet::from_intervals(std::move(intervals.v4), std::move(intervals.v6));
}

namespace {

struct ChunkResult {
    SpecIntervals intervals;
    std::uint64_t lines = 0;      // newlines consumed; valid only when no error
    std::uint64_t error_line = 0; // 0-based within the chunk
    std::optional<std::string> error;
};

// Parses whole lines; stops at the chunk's first bad line so the caller can
// pick the globally first one. A line longer than max_line is a bad line.
void parse_chunk(std::string_view chunk, ChunkResult& result, std::size_t max_line) {
    std::size_t pos = 0;
    std::uint64_t line = 0;
    while (pos < chunk.size()) {
        auto eol = chunk.find('\n', pos);
        if (eol == std::string_view::npos) eol = chunk.size();
        if (eol - pos > max_line) {
            result.error = "line longer than " + std::to_string(max_line) + " bytes (the line limit)";
            result.error_line = line;
            return;
        }
        auto text = chunk.substr(pos, eol - pos);
        if (const auto hash = text.find('#'); hash != std::string_view::npos) text = text.substr(0, hash);
        if (auto error = parse_list_into(text, result.intervals)) {
            result.error = std::move(error);
            result.error_line = line;
            return;
        }
        ++line;
        pos = eol + 1;
    }
    result.lines = line;
}

std::string too_large(std::string_view origin, std::uint64_t max_bytes) {
    return "cannot read " + quote(origin) + ": larger than " + std::to_string(max_bytes) + " bytes (the file size limit)";
}

} // namespace

TargetSet parse_target_text(std::string_view text, std::string_view origin, const TextLimits& limits) {
    if (text.size() > limits.max_bytes) throw Error(too_large(origin, limits.max_bytes));
    // Editors on Windows like to prepend a UTF-8 byte-order mark.
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);

    // Chunks end just after a '\n' so no line straddles two of them. 1 MiB
    // keeps per-chunk overhead negligible and still gives many chunks for the
    // multi-million-line files where parallelism matters.
    constexpr std::size_t chunk_bytes = std::size_t{1} << 20;
    std::vector<std::string_view> chunks;
    for (std::size_t pos = 0; pos < text.size();) {
        std::size_t end = std::min(text.size(), pos + chunk_bytes);
        if (end < text.size()) {
            const auto nl = text.find('\n', end - 1);
            end = nl == std::string_view::npos ? text.size() : nl + 1;
        }
        chunks.push_back(text.substr(pos, end - pos));
        pos = end;
    }

    std::vector<ChunkResult> results(chunks.size());
    if (chunks.size() == 1) {
        parse_chunk(chunks[0], results[0], limits.max_line);
    } else if (chunks.size() > 1) {
        tbb::parallel_for(tbb::blocked_range<std::size_t>(0, chunks.size(), 1),
                          [&](const tbb::blocked_range<std::size_t>& r) {
                              for (auto i = r.begin(); i != r.end(); ++i) parse_chunk(chunks[i], results[i], limits.max_line);
                          });
    }

    // Chunks before the first failing one parsed completely, so their line
    // counts are exact and the reported line is the lowest bad one.
    std::uint64_t line_base = 0;
    std::size_t total = 0;
    for (const auto& r : results) {
        if (r.error)
            throw Error(std::string(origin) + ":" + std::to_string(line_base + r.error_line + 1) + ": " + *r.error);
        line_base += r.lines;
        total += r.intervals.size();
    }

    std::vector<Ipv4Interval> all;
    std::vector<Ipv6Interval> all6;
    std::size_t total6 = 0;
    for (const auto& r : results) total6 += r.intervals.v6.size();
    all.reserve(total - total6);
    all6.reserve(total6);
    for (auto& r : results) {
        all.insert(all.end(), r.intervals.v4.begin(), r.intervals.v4.end());
        all6.insert(all6.end(), r.intervals.v6.begin(), r.intervals.v6.end());
        std::vector<Ipv4Interval>().swap(r.intervals.v4);
        std::vector<Ipv6Interval>().swap(r.intervals.v6);
    }
    return TargetSet::from_intervals(std::move(all), std::move(all6));
}

namespace {

[[noreturn]] void throw_read_error(std::string_view what, const std::string& path, int err) {
    throw Error("cannot read " + std::string(what) + " " + quote(path) + ": " + std::strerror(err));
}

struct FileDescriptor {
    int fd;
    ~FileDescriptor() {
        if (fd >= 0) ::close(fd);
    }
};

// A pipe, FIFO or device: parse complete lines as they arrive, so memory
// holds at most one partial line (bounded by max_line) plus the intervals.
TargetSet parse_stream(int fd, bool fifo, const std::string& path, std::string_view what, const TextLimits& limits) {
    SpecIntervals all;
    std::string pending;
    std::uint64_t line_base = 0, total = 0;
    std::size_t compact_at = std::size_t{1} << 20;
    bool first = true;
    const auto fail_at = [&](const ChunkResult& r) {
        throw Error(path + ":" + std::to_string(line_base + r.error_line + 1) + ": " + *r.error);
    };
    const auto parse_lines = [&](std::string_view lines) {
        ChunkResult r;
        parse_chunk(lines, r, limits.max_line);
        if (r.error) fail_at(r);
        line_base += r.lines;
        all.v4.insert(all.v4.end(), r.intervals.v4.begin(), r.intervals.v4.end());
        all.v6.insert(all.v6.end(), r.intervals.v6.begin(), r.intervals.v6.end());
        // An endless writer repeating itself must not grow memory: merge
        // whenever the list doubles (amortised O(n log n)).
        if (all.size() >= compact_at) {
            sort_intervals(all.v4);
            all.v4 = merge_sorted(std::move(all.v4));
            sort_intervals(all.v6);
            all.v6 = merge_sorted(std::move(all.v6));
            compact_at = std::max<std::size_t>(compact_at, all.size() * 2);
        }
    };
    char buffer[1 << 16];
    while (true) {
        const auto n = ::read(fd, buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) { // a FIFO opened non-blocking whose writer is still busy
                pollfd p{fd, POLLIN, 0};
                ::poll(&p, 1, -1);
                continue;
            }
            throw_read_error(what, path, errno);
        }
        if (n == 0) break;
        total += std::uint64_t(n);
        if (total > limits.max_bytes)
            throw Error("cannot read " + std::string(what) + " " + quote(path) + ": larger than " +
                        std::to_string(limits.max_bytes) + " bytes (the file size limit)");
        pending.append(buffer, std::size_t(n));
        if (first && total >= 3) { // a UTF-8 byte-order mark, as parse_target_text skips it
            if (pending.compare(0, 3, "\xEF\xBB\xBF") == 0) pending.erase(0, 3);
            first = false;
        }
        const auto nl = pending.rfind('\n');
        if (nl != std::string::npos) {
            parse_lines(std::string_view(pending).substr(0, nl + 1));
            pending.erase(0, nl + 1);
        }
        if (pending.size() > limits.max_line) {
            ChunkResult r;
            r.error = "line longer than " + std::to_string(limits.max_line) + " bytes (the line limit)";
            fail_at(r);
        }
    }
    if (fifo && total == 0)
        throw Error("cannot read " + std::string(what) + " " + quote(path) + ": a FIFO or pipe that gave no data (no writer?)");
    if (!pending.empty()) parse_lines(pending);
    return TargetSet::from_intervals(std::move(all.v4), std::move(all.v6));
}

} // namespace

TargetSet load_target_file(const std::string& path, std::string_view what, const TextLimits& limits) {
    // O_NONBLOCK: opening a FIFO nobody writes to must not hang.
    FileDescriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
    if (file.fd < 0) throw_read_error(what, path, errno);
    struct stat st {};
    if (::fstat(file.fd, &st) != 0) throw_read_error(what, path, errno);
    if (S_ISDIR(st.st_mode)) throw_read_error(what, path, EISDIR);

    // Regular files are mapped: no copy of a possibly huge list.
    // (A regular file of size 0 may be a /proc file with content: streamed.)
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
        if (std::uint64_t(st.st_size) > limits.max_bytes)
            throw Error("cannot read " + std::string(what) + " " + quote(path) + ": larger than " +
                        std::to_string(limits.max_bytes) + " bytes (the file size limit)");
        const auto size = std::size_t(st.st_size);
        void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, file.fd, 0);
        if (map == MAP_FAILED) throw_read_error(what, path, errno);
        const auto unmap = [size](void* p) { ::munmap(p, size); };
        std::unique_ptr<void, decltype(unmap)> guard(map, unmap);
        ::madvise(map, size, MADV_SEQUENTIAL);
        return parse_target_text({static_cast<const char*>(map), size}, path, limits);
    }
    return parse_stream(file.fd, S_ISFIFO(st.st_mode), path, what, limits);
}

} // namespace ws
