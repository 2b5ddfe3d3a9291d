#pragma once
// From a ScanConfig to what will actually be probed: targets minus the
// blocklist and exclusions, the ports, the seed, the permuted space and this
// shard's share of it. Pure; shared by `scan` and (later) `plan`.
#include <cstdint>
#include <memory>
#include <span>

#include "wirespeed/scan_config.hpp"
#include "wirespeed/scan_space.hpp"
#include "wirespeed/udp_payloads.hpp"

namespace ws {

struct ScanPlan {
    std::uint64_t requested = 0;   // addresses named by the target specs
    std::uint64_t blocklisted = 0; // removed by the blocklist
    std::uint64_t excluded = 0;    // removed by --exclude / --excludefile
    std::uint64_t seed = 0;
    std::unique_ptr<ScanSpace> space;
    IndexRange shard;              // this shard's positions
    UdpPayloads payloads;          // the UDP slots' payloads (nmap-payloads + --udp-payload), when UDP is scanned
    std::uint64_t probes() const noexcept; // shard size x (1 + retries) is the caller's business
    // A UDP slot's payload (empty: an empty datagram).
    std::span<const std::uint8_t> payload(const ProbeSlot& slot) const noexcept;
};

// Addresses beyond which a scan must carry an explicit exclusion choice.
constexpr std::uint64_t near_full_scan_addresses = 1ull << 30;

// Throws ws::Error with one line naming the bad value.
ScanPlan build_plan(const ScanConfig& config);

} // namespace ws
