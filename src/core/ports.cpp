#include "wirespeed/ports.hpp"

#include "wirespeed/error.hpp"

#include <algorithm>
#include <bitset>
#include <memory>
#include <optional>
#include <string>

#include "text.hpp"

namespace ws {

namespace {

std::string quote(std::string_view token) { return detail::quote(token, 64); }
using detail::is_space;
using detail::trim;

using detail::in_port_range;
using detail::parse_port_number;

// "A" or "A-B" (whitespace around A and B tolerated). Single ports are
// reported as `invalid port "X"`, ranges as `invalid port range "A-B"`.
PortRange parse_item(std::string_view item) {
    const auto dash = item.find('-');
    if (dash == std::string_view::npos) {
        const auto value = parse_port_number(item);
        if (!value) throw Error("invalid port " + quote(item) + ": expected a number 1-65535 or a range A-B");
        if (!in_port_range(*value)) throw Error("invalid port " + quote(item) + ": ports are 1-65535");
        return {std::uint16_t(*value), std::uint16_t(*value)};
    }
    const auto first = parse_port_number(trim(item.substr(0, dash)));
    const auto last = parse_port_number(trim(item.substr(dash + 1)));
    if (!first || !last)
        throw Error("invalid port range " + quote(item) + ": expected A-B with ports 1-65535");
    if (!in_port_range(*first) || !in_port_range(*last))
        throw Error("invalid port range " + quote(item) + ": ports are 1-65535");
    if (*first > *last) throw Error("invalid port range " + quote(item) + ": start is after end");
    return {std::uint16_t(*first), std::uint16_t(*last)};
}

} // namespace

PortSet PortSet::from_ports(std::vector<std::uint16_t> ports) {
    if (std::find(ports.begin(), ports.end(), std::uint16_t{0}) != ports.end())
        throw Error("invalid port \"0\": ports are 1-65535");
    std::sort(ports.begin(), ports.end());
    ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
    ports.shrink_to_fit();

    PortSet set;
    set.ports_ = std::move(ports);
    if (!set.ports_.empty()) {
        set.index_by_port_.assign(65536, UINT32_MAX);
        for (std::uint32_t i = 0; i < set.ports_.size(); ++i) set.index_by_port_[set.ports_[i]] = i;
    }
    return set;
}

std::uint32_t PortSet::index_of(std::uint16_t port) const noexcept {
    return index_by_port_.empty() ? UINT32_MAX : index_by_port_[port];
}

PortSet parse_ports(std::string_view spec) {
    const auto whole = trim(spec);
    if (whole.empty()) throw Error("empty port list");

    // A bitset bounds the work and memory regardless of how many overlapping
    // ranges the spec repeats; it also deduplicates for free.
    auto seen = std::make_unique<std::bitset<65536>>();
    if (whole == "-") {
        seen->set();
    } else {
        std::size_t pos = 0;
        while (true) {
            const auto comma = whole.find(',', pos);
            const auto raw = whole.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
            const auto item = trim(raw);
            if (item.empty()) throw Error("empty item in port list " + quote(whole));
            const auto range = parse_item(item);
            // 32-bit counter: a 16-bit one wraps at 65535 and never ends.
            for (std::uint32_t p = range.first; p <= range.last; ++p) seen->set(p);
            if (comma == std::string_view::npos) break;
            pos = comma + 1;
        }
    }
    seen->reset(0);

    std::vector<std::uint16_t> ports;
    ports.reserve(seen->count());
    for (std::uint32_t p = 1; p <= 65535; ++p)
        if (seen->test(p)) ports.push_back(std::uint16_t(p));
    return PortSet::from_ports(std::move(ports));
}

PortRange parse_port_range(std::string_view spec) {
    const auto item = trim(spec);
    if (item.empty()) throw Error("empty port range");
    const auto dash = item.find('-');
    if (dash == std::string_view::npos) {
        // Word the single-port case as a range too: the user was asked for one.
        const auto value = parse_port_number(item);
        if (!value) throw Error("invalid port range " + quote(item) + ": expected A-B with ports 1-65535");
        if (!in_port_range(*value)) throw Error("invalid port range " + quote(item) + ": ports are 1-65535");
        return {std::uint16_t(*value), std::uint16_t(*value)};
    }
    return parse_item(item);
}

} // namespace ws
