#pragma once
// Port specifications: "80", "1-1024", "22,80,443", "1-65535", "-" (all).
#include <cstdint>
#include <string_view>
#include <vector>

namespace ws {

class PortSet {
public:
    PortSet() = default;
    static PortSet from_ports(std::vector<std::uint16_t> ports); // sorts, dedups; 0 is rejected

    std::uint32_t count() const noexcept { return std::uint32_t(ports_.size()); }
    bool empty() const noexcept { return ports_.empty(); }
    std::uint16_t at(std::uint32_t index) const noexcept { return ports_[index]; }
    // port -> index, or UINT32_MAX when absent. O(1) (dense lookup table).
    std::uint32_t index_of(std::uint16_t port) const noexcept;
    bool contains(std::uint16_t port) const noexcept { return index_of(port) != UINT32_MAX; }
    const std::vector<std::uint16_t>& ports() const noexcept { return ports_; }
    friend bool operator==(const PortSet& a, const PortSet& b) { return a.ports_ == b.ports_; }

private:
    std::vector<std::uint16_t> ports_;          // ascending, unique
    std::vector<std::uint32_t> index_by_port_;  // 65536 entries when non-empty
};

// Throws ws::Error naming the bad token: reversed ranges, 0, > 65535, empty
// items, junk. Duplicates and overlaps collapse.
PortSet parse_ports(std::string_view spec);

// "A-B" source-port range (1-65535, A <= B); a single port is a range of one.
struct PortRange {
    std::uint16_t first;
    std::uint16_t last;
    std::uint32_t size() const noexcept { return std::uint32_t{last} - first + 1; }
};
PortRange parse_port_range(std::string_view spec);

} // namespace ws
