#include "net_info.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <fstream>
#include <sstream>
#include <vector>

namespace ws::dp {

std::optional<std::uint32_t> interface_ipv4(const std::string& interface) {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return std::nullopt;
    std::optional<std::uint32_t> found;
    for (ifaddrs* a = list; a; a = a->ifa_next)
        if (a->ifa_addr && a->ifa_addr->sa_family == AF_INET && interface == a->ifa_name) {
            found = ntohl(reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr);
            break;
        }
    freeifaddrs(list);
    return found;
}

std::optional<std::uint32_t> default_gateway(const std::string& interface) {
    std::ifstream routes("/proc/net/route");
    std::string line;
    std::getline(routes, line); // header
    while (std::getline(routes, line)) {
        std::istringstream fields(line);
        std::string iface, destination, gateway, flags;
        if (!(fields >> iface >> destination >> gateway >> flags)) continue;
        if (iface != interface || destination != "00000000") continue;
        // The kernel prints the address in network byte order as a host-order hex number.
        const auto raw = std::uint32_t(std::stoul(gateway, nullptr, 16));
        if (raw != 0) return ntohl(raw);
    }
    return std::nullopt;
}

bool interface_exists(const std::string& interface) { return if_nametoindex(interface.c_str()) != 0; }

namespace {

// Whitespace-separated fields of one line.
std::vector<std::string_view> fields_of(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
        if (i > start) out.push_back(line.substr(start, i - start));
    }
    return out;
}

template <typename F>
void for_each_line(std::string_view text, F&& f) {
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        f(text.substr(0, end));
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
}

std::optional<std::uint64_t> hex_number(std::string_view s, std::size_t max_digits) {
    if (s.empty() || s.size() > max_digits) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        int d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return std::nullopt;
        v = v << 4 | std::uint64_t(d);
    }
    return v;
}

// 32 hex digits, the kernel's form of an IPv6 address (network order).
std::optional<ws::uint128> hex_address(std::string_view s) {
    if (s.size() != 32) return std::nullopt;
    const auto hi = hex_number(s.substr(0, 16), 16), lo = hex_number(s.substr(16), 16);
    if (!hi || !lo) return std::nullopt;
    return ws::uint128{*hi} << 64 | *lo;
}

std::optional<std::string> read_file(const char* path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace

std::optional<ws::uint128> parse_if_inet6(std::string_view text, std::string_view interface) {
    // include/uapi/linux/if_addr.h; /proc prints the low 8 bits of ifa_flags.
    constexpr std::uint64_t temporary = 0x01, dadfailed = 0x08, deprecated = 0x20, tentative = 0x40, permanent = 0x80;
    constexpr std::uint64_t scope_global = 0x00;
    std::optional<ws::uint128> best;
    int best_rank = -1;
    for_each_line(text, [&](std::string_view line) {
        const auto f = fields_of(line);
        if (f.size() < 6 || f[5] != interface) return;
        const auto address = hex_address(f[0]);
        const auto scope = hex_number(f[3], 8), flags = hex_number(f[4], 8);
        if (!address || !scope || !flags || *scope != scope_global) return;
        const auto high_byte = unsigned(*address >> 120);
        if (high_byte == 0xff || *address == 0 || *address == 1) return; // multicast, ::, ::1
        if ((*address >> 118) == (ws::uint128{0xfe80} >> 6)) return;     // fe80::/10 (scope says so too)
        if (*flags & (tentative | dadfailed)) return;                      // not usable (yet)
        const int rank = (*flags & deprecated ? 0 : 2) + (*flags & temporary ? 0 : 1) + (*flags & permanent ? 4 : 0);
        if (rank > best_rank) best = address, best_rank = rank;
    });
    return best;
}

std::optional<ws::uint128> parse_ipv6_route_default(std::string_view text, std::string_view interface) {
    // include/uapi/linux/ipv6_route.h
    constexpr std::uint64_t rtf_up = 0x0001, rtf_gateway = 0x0002, rtf_reject = 0x0200;
    std::optional<ws::uint128> best;
    std::uint64_t best_metric = 0;
    for_each_line(text, [&](std::string_view line) {
        const auto f = fields_of(line);
        if (f.size() < 10 || f[9] != interface) return;
        const auto destination = hex_address(f[0]), next_hop = hex_address(f[4]);
        const auto length = hex_number(f[1], 2), metric = hex_number(f[5], 8), flags = hex_number(f[8], 8);
        if (!destination || !next_hop || !length || !metric || !flags) return;
        if (*destination != 0 || *length != 0) return; // ::/0 only
        if (!(*flags & rtf_up) || !(*flags & rtf_gateway) || (*flags & rtf_reject) || *next_hop == 0) return;
        if (!best || *metric < best_metric) best = next_hop, best_metric = *metric;
    });
    return best;
}

std::optional<ws::uint128> interface_ipv6(const std::string& interface) {
    const auto text = read_file("/proc/net/if_inet6");
    return text ? parse_if_inet6(*text, interface) : std::nullopt;
}

std::optional<ws::uint128> default_gateway6(const std::string& interface) {
    const auto text = read_file("/proc/net/ipv6_route");
    return text ? parse_ipv6_route_default(*text, interface) : std::nullopt;
}

} // namespace ws::dp
