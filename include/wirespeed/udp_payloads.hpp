#pragma once
// UDP probe payloads per destination port: nmap's payload database
// (nmap-payloads) and --udp-payload PORT:HEX options that override it.
//
// The file format (nmap's, see https://nmap.org/book/nmap-payloads.html):
//   # a comment, to the end of the line (outside strings)
//   udp 53,5353,26198                  <- "udp", then ports and ranges A-B
//     "\x77\x77\x01\x00\x00"           <- one or more C-style strings,
//     "\x01\x00\x00\x00\x00\x00\x00"   <- concatenated into one payload
//   source 500                         <- optional: nmap's source port (validated, ignored)
// Tokens are separated by any whitespace, so an entry may span lines; a string
// may not. Escapes: \xHH (exactly two hex digits), \0, \a, \b, \f, \n, \r, \t,
// \v, \\, \", \'. There are no octal escapes (nmap's file has none): \0
// followed by a digit is refused as ambiguous, as is any other escape.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ws {

using UdpPayload = std::vector<std::uint8_t>;

constexpr std::size_t max_udp_payload = 1400;          // bytes; a probe must fit one frame
constexpr std::size_t max_payloads_per_port = 255;     // nmap's own limit
constexpr std::size_t max_nmap_payloads_line = 64 * 1024;         // bytes per line of the file
constexpr std::size_t max_nmap_payloads_bytes = 16 * 1024 * 1024; // bytes in the whole file
// Bounds on the database once entries are expanded over their port ranges
// (each port holds its own copy): "udp 1-65535" repeated must not exhaust
// memory. nmap's own file expands to ~33 thousand pairs and ~1.3 MB; one
// full-size payload on every port (92 MB) still fits.
constexpr std::size_t max_udp_payload_pairs = std::size_t{1} << 20;        // (port, payload) pairs
constexpr std::size_t max_udp_payload_total_bytes = std::size_t{128} << 20; // payload bytes over all pairs

constexpr const char* default_nmap_payloads = "/usr/share/nmap/nmap-payloads";

class UdpPayloads {
public:
    using List = std::vector<UdpPayload>;

    // The payloads for a port, in file order (nmap sends each); an empty list
    // when the port has none.
    const List& for_port(std::uint16_t port) const noexcept;
    std::size_t port_count() const noexcept { return by_port_.size(); }
    // (port, payload) pairs: a payload listed for 3 ports counts 3 times.
    std::size_t payload_count() const noexcept;
    // Sets a port's payloads; an empty list removes the port.
    void replace(std::uint16_t port, List payloads);
    // Appends one payload to a port's list.
    void add(std::uint16_t port, UdpPayload payload);
    // Every port with payloads, ascending.
    const std::map<std::uint16_t, List>& by_port() const noexcept { return by_port_; }

    friend bool operator==(const UdpPayloads&, const UdpPayloads&) = default;

private:
    std::map<std::uint16_t, List> by_port_; // no empty lists
};

// Parses the text of an nmap-payloads file. Throws ws::Error, one line:
//   NAME:LINE: <what> <the bad token quoted>
// e.g. `nmap-payloads:12: unknown keyword "tcp" (only "udp" entries are supported)`.
// Also refused: text over max_nmap_payloads_bytes, a line over
// max_nmap_payloads_line, a payload over max_udp_payload, more than
// max_payloads_per_port for one port, and a database past the pair and byte
// bounds above. A port listed twice in one entry gets its payload once.
UdpPayloads parse_nmap_payloads(std::string_view text, std::string_view name);

// Reads the file (at most max_nmap_payloads_bytes; a FIFO or pipe is read as
// it streams) and parses it, naming it by its path. Throws ws::IoError when it
// cannot be read (`cannot read nmap payload file "PATH": No such file or
// directory`), ws::Error when it is too large or malformed.
UdpPayloads load_nmap_payloads(const std::string& path);

// --udp-payload PORT:HEX: port 1-65535, then an even number of hex digits
// (optional 0x prefix) giving 1..max_udp_payload bytes. Throws ws::Error
// naming the bad value.
struct UdpPayloadOption {
    std::uint16_t port;
    UdpPayload bytes;
    friend bool operator==(const UdpPayloadOption&, const UdpPayloadOption&) = default;
};
UdpPayloadOption parse_udp_payload_option(std::string_view spec);

// Options given for a port replace the file's payloads for that port; several
// options for one port all stay, in order. Other ports keep the file's.
// Throws ws::Error when more than max_payloads_per_port are given for a port.
void apply_udp_payload_options(UdpPayloads& payloads, const std::vector<UdpPayloadOption>& options);

} // namespace ws
