#include "wirespeed/address.hpp"

#include <cstdio>

namespace ws {

std::optional<std::uint32_t> parse_ipv4(std::string_view text) noexcept {
    std::uint32_t address = 0;
    std::size_t pos = 0;
    for (int octet = 0; octet < 4; ++octet) {
        if (octet > 0) {
            if (pos >= text.size() || text[pos] != '.') return std::nullopt;
            ++pos;
        }
        std::size_t digits = 0;
        std::uint32_t value = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && digits < 4) {
            value = value * 10 + std::uint32_t(text[pos] - '0');
            ++pos;
            ++digits;
        }
        if (digits == 0 || digits > 3 || value > 255) return std::nullopt;
        address = (address << 8) | value;
    }
    if (pos != text.size()) return std::nullopt;
    return address;
}

std::size_t format_ipv4(std::uint32_t address, char out[16]) noexcept {
    char* p = out;
    for (int shift = 24; shift >= 0; shift -= 8) {
        unsigned v = (address >> shift) & 0xffu;
        if (v >= 100) *p++ = char('0' + v / 100);
        if (v >= 10) *p++ = char('0' + (v / 10) % 10);
        *p++ = char('0' + v % 10);
        if (shift) *p++ = '.';
    }
    *p = '\0';
    return std::size_t(p - out);
}

std::string format_ipv4(std::uint32_t address) {
    char buf[16];
    return std::string(buf, format_ipv4(address, buf));
}

IpAddress IpAddress::from_bytes(const std::uint8_t* bytes) noexcept {
    uint128 v = 0;
    for (int i = 0; i < 16; ++i) v = (v << 8) | bytes[i];
    return IpAddress{v};
}

void IpAddress::to_bytes(std::uint8_t* out) const noexcept {
    uint128 v = bits;
    for (int i = 15; i >= 0; --i) {
        out[i] = std::uint8_t(v);
        v >>= 8;
    }
}

namespace {

int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

} // namespace

std::optional<uint128> parse_ipv6(std::string_view text) noexcept {
    // Longer than any valid form (45 chars): refuse before scanning it.
    if (text.size() < 2 || text.size() > 45) return std::nullopt;
    std::uint16_t groups[8] = {};
    int count = 0;       // groups parsed
    int gap = -1;        // index in groups where "::" stands
    std::size_t pos = 0;
    if (text[0] == ':') {
        if (text[1] != ':') return std::nullopt; // a lone leading ':'
        gap = 0;
        pos = 2;
        if (pos == text.size()) return uint128{0}; // "::"
    }
    while (pos < text.size()) {
        // A dotted-quad tail fills the last two groups.
        const std::size_t next_colon = text.find(':', pos);
        const std::string_view token = text.substr(pos, next_colon == std::string_view::npos ? std::string_view::npos : next_colon - pos);
        if (next_colon == std::string_view::npos && token.find('.') != std::string_view::npos) {
            const auto v4 = parse_ipv4(token);
            if (!v4 || count > 6) return std::nullopt;
            groups[count++] = std::uint16_t(*v4 >> 16);
            groups[count++] = std::uint16_t(*v4);
            pos = text.size();
            break;
        }
        if (token.empty() || token.size() > 4 || count == 8) return std::nullopt;
        std::uint16_t value = 0;
        for (char c : token) {
            const int d = hex_digit(c);
            if (d < 0) return std::nullopt; // includes '%' of a zone id
            value = std::uint16_t((value << 4) | d);
        }
        groups[count++] = value;
        pos += token.size();
        if (pos == text.size()) break;
        // pos is at a ':'
        ++pos;
        if (pos < text.size() && text[pos] == ':') {
            if (gap >= 0) return std::nullopt; // a second "::"
            gap = count;
            ++pos;
        } else if (pos == text.size()) {
            return std::nullopt; // a trailing single ':'
        }
    }
    if (gap < 0 && count != 8) return std::nullopt;
    if (gap >= 0 && count > 7) return std::nullopt; // "::" must stand for at least one group
    uint128 v = 0;
    const int zeros = 8 - count;
    for (int i = 0, g = 0; i < 8; ++i) {
        std::uint16_t word = 0;
        if (gap >= 0 && i >= gap && i < gap + zeros) word = 0;
        else word = groups[g++];
        v = (v << 16) | word;
    }
    return v;
}

std::optional<IpAddress> parse_ip(std::string_view text) noexcept {
    if (text.find(':') == std::string_view::npos) {
        if (const auto v4 = parse_ipv4(text)) return IpAddress::from_ipv4(*v4);
        return std::nullopt;
    }
    if (const auto v6 = parse_ipv6(text)) return IpAddress::from_ipv6(*v6);
    return std::nullopt;
}

std::size_t format_ipv6(uint128 address, char out[max_ip_text]) noexcept {
    std::uint16_t groups[8];
    for (int i = 0; i < 8; ++i) groups[i] = std::uint16_t(address >> (112 - 16 * i));
    char* p = out;
    if ((address >> 32) == 0xffff) { // IPv4-mapped (RFC 5952 section 5)
        static constexpr char prefix[] = "::ffff:";
        for (const char* c = prefix; *c; ++c) *p++ = *c;
        return std::size_t(p - out) + format_ipv4(std::uint32_t(address), p);
    }
    // The longest run of two or more zero groups; the first of equal runs.
    int best = -1, best_len = 1;
    for (int i = 0; i < 8;) {
        if (groups[i] != 0) {
            ++i;
            continue;
        }
        int j = i;
        while (j < 8 && groups[j] == 0) ++j;
        if (j - i > best_len) {
            best = i;
            best_len = j - i;
        }
        i = j;
    }
    static constexpr char digits[] = "0123456789abcdef";
    for (int i = 0; i < 8; ++i) {
        if (i == best) {
            *p++ = ':';
            *p++ = ':';
            i += best_len - 1;
            continue;
        }
        if (i > 0 && i != best + best_len) *p++ = ':';
        const std::uint16_t g = groups[i];
        bool started = false;
        for (int shift = 12; shift >= 0; shift -= 4) {
            const unsigned d = (g >> shift) & 0xf;
            if (d || started || shift == 0) {
                *p++ = digits[d];
                started = true;
            }
        }
    }
    *p = '\0';
    return std::size_t(p - out);
}

std::string format_ipv6(uint128 address) {
    char buf[max_ip_text];
    return std::string(buf, format_ipv6(address, buf));
}

std::size_t format_ip(IpAddress address, char out[max_ip_text]) noexcept {
    if (address.is_ipv4()) return format_ipv4(address.ipv4(), out);
    return format_ipv6(address.bits, out);
}

std::string format_ip(IpAddress address) {
    char buf[max_ip_text];
    return std::string(buf, format_ip(address, buf));
}

std::optional<MacAddress> parse_mac(std::string_view text) noexcept {
    if (text.size() != 17) return std::nullopt;
    MacAddress mac{};
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (int i = 0; i < 6; ++i) {
        int hi = hex(text[i * 3]), lo = hex(text[i * 3 + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        if (i < 5 && text[i * 3 + 2] != ':' && text[i * 3 + 2] != '-') return std::nullopt;
        mac[i] = std::uint8_t(hi * 16 + lo);
    }
    return mac;
}

std::string format_mac(const MacAddress& mac) {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    return buf;
}

} // namespace ws
