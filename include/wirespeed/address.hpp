#pragma once
// IPv4 and MAC text <-> binary. Addresses are host-order uint32_t in the pure
// core; the crafting layer converts to network order when it writes a frame.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ws {

using MacAddress = std::array<std::uint8_t, 6>;

// Strict dotted quad: four decimal octets 0-255, no leading '+', no spaces.
std::optional<std::uint32_t> parse_ipv4(std::string_view text) noexcept;
std::string format_ipv4(std::uint32_t address);
// Writes at most 15 chars + NUL into out; returns the length. No allocation.
std::size_t format_ipv4(std::uint32_t address, char out[16]) noexcept;

// aa:bb:cc:dd:ee:ff (also accepts '-' separators).
std::optional<MacAddress> parse_mac(std::string_view text) noexcept;
std::string format_mac(const MacAddress& mac);

} // namespace ws
