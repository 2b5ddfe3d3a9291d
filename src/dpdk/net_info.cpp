#include "net_info.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <fstream>
#include <sstream>

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

} // namespace ws::dp
