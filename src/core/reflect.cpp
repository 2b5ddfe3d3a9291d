#include "wirespeed/reflect.hpp"

#include <algorithm>
#include <cstring>

namespace ws {
namespace {

std::uint64_t mix(std::uint64_t x) noexcept { // splitmix64 finaliser
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

std::uint16_t load16(const std::uint8_t* p) noexcept { return std::uint16_t((p[0] << 8) | p[1]); }
std::uint32_t load32(const std::uint8_t* p) noexcept {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

} // namespace

Verdict ReflectRules::verdict(std::uint32_t address, std::uint16_t port) const noexcept {
    if (std::find(open_everywhere.begin(), open_everywhere.end(), port) != open_everywhere.end()) return Verdict::open;
    const std::uint64_t h = mix(seed ^ ((std::uint64_t{address} << 16) | port)) % 1000;
    if (h < open_permille) return Verdict::open;
    if (h < open_permille + filtered_permille) return Verdict::filtered;
    return Verdict::closed;
}

std::uint64_t write_ground_truth(const ReflectRules& rules, const PortSet& ports, std::FILE* out) {
    std::uint64_t written = 0;
    char ip[16];
    for (const auto& interval : rules.hosts.intervals())
        for (std::uint64_t a = interval.first; a <= interval.last; ++a) {
            format_ipv4(std::uint32_t(a), ip);
            for (std::uint16_t port : ports.ports())
                if (rules.verdict(std::uint32_t(a), port) == Verdict::open) {
                    std::fprintf(out, "%s:%u\n", ip, unsigned(port));
                    ++written;
                }
        }
    return written;
}

bool parse_syn(const std::uint8_t* frame, std::size_t len, SynProbe& out) noexcept {
    if (len < 14 + 20 + 20 || load16(frame + 12) != 0x0800) return false;
    const std::uint8_t* ip = frame + 14;
    const std::size_t ihl = std::size_t(ip[0] & 0x0f) * 4;
    if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 6) return false;
    const std::size_t total = load16(ip + 2);
    if (total < ihl + 20 || 14 + total > len) return false;
    const std::uint8_t* tcp = ip + ihl;
    const std::uint8_t flags = tcp[13];
    if ((flags & 0x17) != 0x02) return false; // SYN without ACK/RST/FIN
    std::memcpy(out.source_mac.data(), frame + 6, 6);
    out.source_ip = load32(ip + 12);
    out.destination_ip = load32(ip + 16);
    out.source_port = load16(tcp);
    out.destination_port = load16(tcp + 2);
    out.sequence = load32(tcp + 4);
    out.ip_header = ip;
    out.ip_length = total;
    return true;
}

} // namespace ws
