#include "wirespeed/sources.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "wirespeed/error.hpp"
#include "text.hpp"

namespace ws {

namespace {

std::string quote(std::string_view token) { return detail::quote(token, 96); }

// Appends the addresses of one item (address, a-b range, CIDR) to out.
void add_item(std::string_view item, SourceAddresses& out) {
    const auto fail = [&](std::string_view why) {
        throw Error(fmt::format("invalid --source-ip {}: {}", quote(item), why));
    };
    uint128 first = 0, last = 0;
    bool v4 = false;
    if (const auto slash = item.find('/'); slash != std::string_view::npos) {
        const auto address = parse_ip(item.substr(0, slash));
        if (!address) fail("not an IPv4 or IPv6 address before '/'");
        v4 = address->is_ipv4();
        const unsigned bits = v4 ? 32 : 128;
        const auto len_text = item.substr(slash + 1);
        unsigned length = 0;
        if (len_text.empty() || len_text.size() > 3) fail(fmt::format("prefix length must be 0-{}", bits));
        for (char c : len_text) {
            if (c < '0' || c > '9') fail(fmt::format("prefix length must be 0-{}", bits));
            length = length * 10 + unsigned(c - '0');
        }
        if (length > bits) fail(fmt::format("prefix length must be 0-{}", bits));
        const unsigned host_bits = bits - length;
        if (host_bits >= 64) fail("too many source addresses (at most 1024 per family)");
        const uint128 mask = (uint128{1} << host_bits) - 1;
        first = address->bits & ~mask;
        last = first | mask;
    } else if (const auto dash = item.find('-'); dash != std::string_view::npos) {
        const auto a = parse_ip(item.substr(0, dash));
        const auto b = parse_ip(item.substr(dash + 1));
        if (!a) fail("range start is not an IPv4 or IPv6 address");
        if (!b) fail("range end is not an IPv4 or IPv6 address");
        if (a->is_ipv4() != b->is_ipv4()) fail("range ends are of different address families");
        if (*b < *a) fail("range start is after its end");
        v4 = a->is_ipv4();
        first = a->bits;
        last = b->bits;
    } else {
        const auto a = parse_ip(item);
        if (!a) fail("not an IPv4 or IPv6 address, range or CIDR block");
        v4 = a->is_ipv4();
        first = last = a->bits;
    }
    if (last - first >= SourceAddresses::max_per_family)
        fail(fmt::format("too many source addresses (at most {} per family)", SourceAddresses::max_per_family));
    for (uint128 a = first;; ++a) {
        out.add(IpAddress{a});
        if (a == last) break;
    }
    if ((v4 ? out.ipv4_count() : out.ipv6_count()) > SourceAddresses::max_per_family)
        fail(fmt::format("too many source addresses (at most {} per family)", SourceAddresses::max_per_family));
}

} // namespace

SourceAddresses SourceAddresses::parse(std::string_view list) {
    SourceAddresses out;
    std::size_t pos = 0;
    while (pos <= list.size()) {
        const std::size_t comma = std::min(list.find(',', pos), list.size());
        const auto item = detail::trim(list.substr(pos, comma - pos));
        if (item.empty()) throw Error(fmt::format("invalid --source-ip {}: empty item in the list", quote(list)));
        add_item(item, out);
        pos = comma + 1;
    }
    return out;
}

void SourceAddresses::add(IpAddress address) {
    if (address.is_ipv4()) {
        const auto it = std::lower_bound(v4_.begin(), v4_.end(), address.ipv4());
        if (it == v4_.end() || *it != address.ipv4()) v4_.insert(it, address.ipv4());
    } else {
        const auto it = std::lower_bound(v6_.begin(), v6_.end(), address.bits);
        if (it == v6_.end() || *it != address.bits) v6_.insert(it, address.bits);
    }
    refresh();
}

void SourceAddresses::refresh() noexcept {
    v4_contiguous_ = v4_.empty() || v4_.back() - v4_.front() == v4_.size() - 1;
    v6_contiguous_ = v6_.empty() || v6_.back() - v6_.front() == uint128(v6_.size() - 1);
}

} // namespace ws
