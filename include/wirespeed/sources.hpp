#pragma once
// The addresses probes leave from (--source-ip): a list, range or CIDR of
// either family. Each target is probed from one source picked by a keyed
// hash of its address, so its retries and repairs leave from the same
// source, and the cookie covers the source it was sent from.
#include <cstdint>
#include <string_view>
#include <vector>

#include "wirespeed/address.hpp"

namespace ws {

class SourceAddresses {
public:
    // A source set bigger than this is refused: every source has its own
    // copy of each probe template.
    static constexpr std::size_t max_per_family = 1024;

    SourceAddresses() = default;
    // "198.18.0.1,198.18.0.7,2001:db8::1", "198.18.0.1-198.18.0.9",
    // "198.18.0.0/29", "2001:db8::/120" and mixes of them, comma-separated.
    // Throws ws::Error naming the bad item.
    static SourceAddresses parse(std::string_view list);
    void add(IpAddress address); // keeps each family sorted and unique

    bool empty() const noexcept { return v4_.empty() && v6_.empty(); }
    std::size_t ipv4_count() const noexcept { return v4_.size(); }
    std::size_t ipv6_count() const noexcept { return v6_.size(); }
    std::uint32_t ipv4(std::size_t i) const noexcept { return v4_[i]; }
    uint128 ipv6(std::size_t i) const noexcept { return v6_[i]; }
    const std::vector<std::uint32_t>& ipv4_list() const noexcept { return v4_; }
    const std::vector<uint128>& ipv6_list() const noexcept { return v6_; }

    // "For us": one subtract and compare when the family's sources are one
    // run of consecutive addresses (one address, a range, a CIDR).
    bool contains_ipv4(std::uint32_t a) const noexcept {
        if (v4_contiguous_) return !v4_.empty() && a - v4_.front() < std::uint32_t(v4_.size());
        return contains_sorted(v4_, a);
    }
    bool contains_ipv6(uint128 a) const noexcept {
        if (v6_contiguous_) return !v6_.empty() && a - v6_.front() < uint128(v6_.size());
        return contains_sorted(v6_, a);
    }
    bool contains(IpAddress a) const noexcept { return a.is_ipv4() ? contains_ipv4(a.ipv4()) : contains_ipv6(a.bits); }

    // The hash key (from the scan's cookie key, so a resumed scan picks the same sources).
    void set_key(std::uint64_t key) noexcept { key_ = key; }
    // Index of the source for a target (0 when the family has one source).
    // One source of the family: no hash at all (the common case).
    std::uint32_t pick_ipv4(std::uint32_t target) const noexcept {
        return v4_.size() == 1 ? 0 : pick(mix(target ^ key_), v4_.size());
    }
    std::uint32_t pick_ipv6(uint128 target) const noexcept {
        return v6_.size() == 1 ? 0 : pick(mix(std::uint64_t(target >> 64) ^ mix(std::uint64_t(target) ^ key_)), v6_.size());
    }
    IpAddress source_for(IpAddress target) const noexcept {
        return target.is_ipv4() ? IpAddress::from_ipv4(v4_[pick_ipv4(target.ipv4())])
                                : IpAddress::from_ipv6(v6_[pick_ipv6(target.bits)]);
    }

private:
    static std::uint64_t mix(std::uint64_t x) noexcept { // murmur3's finaliser
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53ULL;
        return x ^ (x >> 33);
    }
    static std::uint32_t pick(std::uint64_t hash, std::size_t n) noexcept {
        return std::uint32_t(((hash >> 32) * n) >> 32); // multiply-high: no divide
    }
    template <class A>
    static bool contains_sorted(const std::vector<A>& v, A a) noexcept {
        std::size_t lo = 0, n = v.size();
        while (n > 0) {
            const std::size_t half = n / 2;
            if (v[lo + half] < a) {
                lo += half + 1;
                n -= half + 1;
            } else {
                n = half;
            }
        }
        return lo < v.size() && v[lo] == a;
    }
    void refresh() noexcept;

    std::vector<std::uint32_t> v4_;
    std::vector<uint128> v6_;
    bool v4_contiguous_ = true, v6_contiguous_ = true;
    std::uint64_t key_ = 0;
};

} // namespace ws
