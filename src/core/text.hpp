#pragma once
// Small text helpers shared by the core's parsers (not a public header).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ws::detail {

// The whole file at `path`, at most max_bytes (FIFOs and endless devices
// included). ws::IoError "cannot read <what> "path": <errno text>" when it
// cannot be read, ws::Error "... larger than N bytes (the limit for a <limit_name>)".
std::string read_limited_file(const std::string& path, std::size_t max_bytes, std::string_view what,
                              std::string_view limit_name);

// Error messages must stay on one line and readable even when the token is a
// megabyte of binary junk from a corrupt file: escape, truncate, quote.
inline std::string quote(std::string_view token, std::size_t max_shown) {
    std::string out = "\"";
    for (std::size_t i = 0; i < token.size() && i < max_shown; ++i) {
        const auto c = static_cast<unsigned char>(token[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += char(c);
        } else if (c < 0x20 || c >= 0x7f) {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        } else {
            out += char(c);
        }
    }
    if (token.size() > max_shown) out += "...";
    out += '"';
    return out;
}

// '\n' is included so a pasted multi-line list parses; '\r' makes CRLF files
// work without a separate pass.
constexpr bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

inline std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

// A port number: decimal digits only. The value saturates at 65536, so a
// 40-digit number cannot overflow; 0 and 65536 come back for the caller to
// reject with in_port_range(). Shared by -p and the nmap-payloads parser.
inline std::optional<std::uint32_t> parse_port_number(std::string_view text) noexcept {
    if (text.empty()) return std::nullopt;
    std::uint32_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = std::min<std::uint32_t>(value * 10 + std::uint32_t(c - '0'), 65536);
    }
    return value;
}

constexpr bool in_port_range(std::uint32_t v) noexcept { return v >= 1 && v <= 65535; }

} // namespace ws::detail
