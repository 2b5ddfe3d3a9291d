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
