#pragma once
// Addresses of both families, MACs, and their text forms. An IpAddress is
// 128 bits: an IPv6 address as itself, an IPv4 address as its IPv4-mapped
// form ::ffff:a.b.c.d (RFC 4291 2.5.5.2), so one type, one ordering and one
// 16-byte wire layout (ResultRecord::addr) hold either. The IPv4 hot path
// keeps host-order uint32_t; IpAddress is for everything that may see both.
#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ws {

using MacAddress = std::array<std::uint8_t, 6>;
__extension__ using uint128 = unsigned __int128;

enum class AddressFamily : std::uint8_t { ipv4 = 4, ipv6 = 6 };

struct IpAddress {
    uint128 bits = 0;

    static constexpr uint128 ipv4_mapped_prefix = uint128{0xffff} << 32;
    static constexpr IpAddress from_ipv4(std::uint32_t a) noexcept { return IpAddress{ipv4_mapped_prefix | a}; }
    static constexpr IpAddress from_ipv6(uint128 a) noexcept { return IpAddress{a}; }
    // 16 bytes in network order (an IPv4 address as its mapped form).
    static IpAddress from_bytes(const std::uint8_t* bytes) noexcept;
    void to_bytes(std::uint8_t* out) const noexcept;

    constexpr bool is_ipv4() const noexcept { return (bits >> 32) == 0xffff; }
    constexpr AddressFamily family() const noexcept { return is_ipv4() ? AddressFamily::ipv4 : AddressFamily::ipv6; }
    constexpr std::uint32_t ipv4() const noexcept { return std::uint32_t(bits); } // valid when is_ipv4()
    constexpr std::uint64_t high() const noexcept { return std::uint64_t(bits >> 64); }
    constexpr std::uint64_t low() const noexcept { return std::uint64_t(bits); }

    friend constexpr bool operator==(IpAddress, IpAddress) = default;
    friend constexpr std::strong_ordering operator<=>(IpAddress a, IpAddress b) noexcept {
        return a.bits < b.bits ? std::strong_ordering::less
               : a.bits > b.bits ? std::strong_ordering::greater
                                 : std::strong_ordering::equal;
    }
};

// Strict dotted quad: four decimal octets 0-255, no leading '+', no spaces.
std::optional<std::uint32_t> parse_ipv4(std::string_view text) noexcept;
std::string format_ipv4(std::uint32_t address);
// Writes at most 15 chars + NUL into out; returns the length. No allocation.
std::size_t format_ipv4(std::uint32_t address, char out[16]) noexcept;

// RFC 4291 2.2 text: eight groups of 1-4 hex digits, one "::" for a run of
// zero groups, an optional dotted-quad tail (::ffff:198.18.0.1, 64:ff9b::1.2.3.4).
// Zone ids ("fe80::1%eth0") are refused: a scan target names a global address.
std::optional<uint128> parse_ipv6(std::string_view text) noexcept;
// Either family: a dotted quad, or IPv6 text. An IPv4-mapped IPv6 literal
// (::ffff:a.b.c.d) is that IPv4 address, as a dual-stack socket treats it.
std::optional<IpAddress> parse_ip(std::string_view text) noexcept;
// RFC 5952 canonical form: lower case, no leading zeros, the longest run of
// two or more zero groups (the first of equal runs) as "::", IPv4-mapped
// addresses as ::ffff:a.b.c.d. At most 45 chars + NUL; returns the length.
constexpr std::size_t max_ip_text = 46;
std::size_t format_ipv6(uint128 address, char out[max_ip_text]) noexcept;
std::string format_ipv6(uint128 address);
// IPv4 as a dotted quad, IPv6 as RFC 5952.
std::size_t format_ip(IpAddress address, char out[max_ip_text]) noexcept;
std::string format_ip(IpAddress address);

// aa:bb:cc:dd:ee:ff (also accepts '-' separators).
std::optional<MacAddress> parse_mac(std::string_view text) noexcept;
std::string format_mac(const MacAddress& mac);

} // namespace ws
