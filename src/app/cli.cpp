#include "cli.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "wirespeed/error.hpp"

namespace ws::cli {

std::uint32_t ipv4_option(const std::string& option, const std::string& value) {
    if (auto ip = parse_ipv4(value)) return *ip;
    throw Error(fmt::format("invalid {} \"{}\": expected an IPv4 address like 198.18.0.1", option, value));
}

MacAddress mac_option(const std::string& option, const std::string& value) {
    if (auto mac = parse_mac(value)) return *mac;
    throw Error(fmt::format("invalid {} \"{}\": expected a MAC address like 02:00:00:00:00:01", option, value));
}

std::uint64_t uint_option(const std::string& option, const std::string& value, std::uint64_t max) {
    std::uint64_t v = 0;
    const char* end = value.data() + value.size();
    auto [p, ec] = std::from_chars(value.data(), end, v);
    if (value.empty() || ec != std::errc() || p != end || v > max)
        throw Error(fmt::format("invalid {} \"{}\": expected a whole number from 0 to {}", option, value, max));
    return v;
}

double seconds_option(const std::string& option, const std::string& value, double max) {
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(v) || v < 0 || v > max)
        throw Error(fmt::format("invalid {} \"{}\": expected seconds from 0 to {}", option, value, max));
    return v;
}

double fraction_option(const std::string& option, const std::string& value) {
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(v) || v < 0 || v > 1)
        throw Error(fmt::format("invalid {} \"{}\": expected a fraction from 0 to 1 (e.g. 0.001)", option, value));
    return v;
}

void udp_payload_option(const std::string& value) {
    const auto bad = [&] {
        return Error(fmt::format("invalid --udp-payload \"{}\": expected PORT:HEX, a port from 1 to 65535 and one or more "
                                 "bytes in hex (e.g. 53:0001 or 53:0x0001)", value));
    };
    const std::size_t colon = value.find(':');
    if (colon == std::string::npos) throw bad();
    const std::string_view port(value.data(), colon);
    std::string_view hex = std::string_view(value).substr(colon + 1);
    unsigned number = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || number == 0 || number > 65535) throw bad();
    if (hex.starts_with("0x") || hex.starts_with("0X")) hex.remove_prefix(2);
    const bool hex_digits = std::all_of(hex.begin(), hex.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
    if (hex.empty() || !hex_digits || hex.size() % 2 != 0) throw bad();
}

std::uint64_t rate_option(const std::string& value) {
    constexpr double max_rate = 1e10;
    std::string digits = value;
    double scale = 1;
    if (!digits.empty()) {
        const char suffix = digits.back();
        if (suffix == 'k' || suffix == 'K') scale = 1e3;
        if (suffix == 'm' || suffix == 'M') scale = 1e6;
        if (scale != 1) digits.pop_back();
    }
    char* end = nullptr;
    const double v = std::strtod(digits.c_str(), &end);
    // "-0" parses as zero: a sign is never part of a rate.
    if (digits.empty() || digits.front() == '-' || digits.front() == '+' || end != digits.c_str() + digits.size() ||
        !std::isfinite(v) || v < 0 || v * scale > max_rate)
        throw Error(fmt::format("invalid --rate \"{}\": expected probes per second (e.g. 100000, 250k, 1.5M; 0 = unlimited)", value));
    // 0 means "unlimited", so a rate that would round to it is refused rather
    // than turned into the opposite of what was asked.
    if (v * scale != 0 && v * scale < 1)
        throw Error(fmt::format("invalid --rate \"{}\": below 1 probe per second; the lowest cap is 1 (0 = unlimited)", value));
    return std::uint64_t(std::llround(v * scale));
}

std::pair<std::uint32_t, std::uint32_t> shard_option(const std::string& value) {
    const auto slash = value.find('/');
    if (slash == std::string::npos) throw Error(fmt::format("invalid --shard \"{}\": expected I/N with 0 <= I < N", value));
    std::uint64_t i = 0, n = 0;
    try {
        i = uint_option("--shard", value.substr(0, slash), UINT32_MAX);
        n = uint_option("--shard", value.substr(slash + 1), UINT32_MAX);
    } catch (const Error&) {
        throw Error(fmt::format("invalid --shard \"{}\": expected I/N with 0 <= I < N", value));
    }
    if (n == 0 || i >= n) throw Error(fmt::format("invalid --shard \"{}\": expected I/N with 0 <= I < N", value));
    return {std::uint32_t(i), std::uint32_t(n)};
}

} // namespace ws::cli
