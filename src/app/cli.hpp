#pragma once
// Command-line values -> typed config. Every bad value is a ws::Error whose
// one-line message names the option and the value.
#include <cstdint>
#include <string>
#include <utility>

#include "wirespeed/address.hpp"

namespace ws::cli {

std::uint32_t ipv4_option(const std::string& option, const std::string& value);
MacAddress mac_option(const std::string& option, const std::string& value);
std::uint64_t rate_option(const std::string& value);         // "100000", "100k", "1.5M"
std::pair<std::uint32_t, std::uint32_t> shard_option(const std::string& value); // "I/N", 0 <= I < N
std::uint64_t uint_option(const std::string& option, const std::string& value, std::uint64_t max);
double seconds_option(const std::string& option, const std::string& value, double max);
// A fraction in [0, 1] (--min-hitrate).
double fraction_option(const std::string& option, const std::string& value);
// PORT:HEX (--udp-payload): a port from 1 to 65535 and one or more bytes as
// pairs of hex digits (0x in front allowed). Only the shape: the UDP probes
// check the rest (the length, the port being scanned).
void udp_payload_option(const std::string& value);

} // namespace ws::cli
