// nmap's UDP payload database and --udp-payload PORT:HEX on arbitrary bytes.
// Every error must be one ws::Error line naming the file and a line that
// exists; every result must respect the bounds (1400 bytes a payload, 255 a
// port, no port 0, no empty list) and survive a round trip through the format.
#include "wirespeed/error.hpp"
#include "wirespeed/udp_payloads.hpp"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

void check_one_line(const ws::Error& e) {
    const std::string_view message = e.what();
    check(!message.empty() && message.find('\n') == std::string_view::npos);
}

constexpr char hex_digits[] = "0123456789abcdef";

std::string to_hex(const ws::UdpPayload& bytes) {
    std::string out;
    for (auto b : bytes) {
        out += hex_digits[b >> 4];
        out += hex_digits[b & 0xf];
    }
    return out;
}

// The database written back in nmap's format, one entry per port and payload,
// every byte as \xHH: parsing it again must give the same database.
std::string to_nmap_format(const ws::UdpPayloads& payloads) {
    std::string out;
    for (const auto& [port, list] : payloads.by_port()) {
        for (const auto& payload : list) {
            out += "udp " + std::to_string(port) + "\n  \"";
            for (auto b : payload) {
                out += "\\x";
                out += hex_digits[b >> 4];
                out += hex_digits[b & 0xf];
            }
            out += "\"\n";
        }
    }
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    std::optional<ws::UdpPayloads> parsed;
    try {
        parsed = ws::parse_nmap_payloads(input, "fuzz");
    } catch (const ws::Error& e) {
        check_one_line(e);
        const std::string_view message = e.what();
        check(message.starts_with("fuzz:"));
        // The line named exists in the input.
        const auto digits = message.substr(5);
        std::size_t line = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), line);
        check(ec == std::errc{} && end < digits.data() + digits.size() && *end == ':');
        check(line >= 1 && line <= std::size_t(std::count(input.begin(), input.end(), '\n')) + 1);
    }
    if (parsed) {
        std::size_t pairs = 0;
        for (const auto& [port, list] : parsed->by_port()) {
            check(port != 0);
            check(!list.empty() && list.size() <= ws::max_payloads_per_port);
            check(&parsed->for_port(port) == &list);
            for (const auto& payload : list) check(payload.size() <= ws::max_udp_payload);
            pairs += list.size();
        }
        check(pairs == parsed->payload_count() && pairs <= ws::max_udp_payload_pairs);
        check(parsed->port_count() == parsed->by_port().size());
        check(parsed->for_port(0).empty());
        if (pairs <= 512) check(ws::parse_nmap_payloads(to_nmap_format(*parsed), "again") == *parsed);
        if (!parsed->by_port().empty() && pairs <= 4096) { // a copy of 65535 ports per run would slow the search
            // Options for a port replace its payloads, keep their order, and
            // leave every other port alone.
            const auto port = parsed->by_port().rbegin()->first;
            const auto before = parsed->for_port(port).size();
            auto merged = *parsed;
            ws::apply_udp_payload_options(merged, {{port, {0x42}}, {port, {0x43, 0x44}}});
            check(merged.for_port(port) == ws::UdpPayloads::List{{0x42}, {0x43, 0x44}});
            check(merged.port_count() == parsed->port_count());
            check(merged.payload_count() == pairs - before + 2);
        }
    }

    std::optional<ws::UdpPayloadOption> option;
    try {
        option = ws::parse_udp_payload_option(input);
    } catch (const ws::Error& e) {
        check_one_line(e);
        check(std::string_view(e.what()).starts_with("invalid --udp-payload \""));
    }
    if (option) {
        check(option->port >= 1);
        check(!option->bytes.empty() && option->bytes.size() <= ws::max_udp_payload);
        check(ws::parse_udp_payload_option(std::to_string(option->port) + ":0x" + to_hex(option->bytes)) == *option);
    }
    return 0;
}
