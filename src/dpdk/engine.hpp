#pragma once
// The scan engine: from a started EAL and an ethdev port id to a finished
// scan. Linear bring-up (pools, port, addresses, gateway, template, rings,
// collector, lcores), then the control loop on the calling (main) lcore, then
// an ordered shutdown. The CLI and the hermetic tests both call run_scan().
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "wirespeed/plan.hpp"
#include "wirespeed/reply.hpp"
#include "wirespeed/result_sink.hpp"
#include "wirespeed/resume.hpp"
#include "wirespeed/scan_config.hpp"

namespace ws::dp {

struct EngineSetup {
    std::uint16_t port_id = 0;
    std::vector<unsigned> tx_lcores; // EAL lcore ids, one TX queue each
    std::vector<unsigned> rx_lcores; // EAL lcore ids, one RX queue each
    std::vector<std::string> eal_argv; // for the metadata
    std::vector<std::string> args;     // the command line, recorded in scans.config for --resume
    std::string effective_config;      // the effective configuration as TOML (--echo's text), for the metadata
    const ResumePoint* resume = nullptr; // continue this checkpoint instead of starting afresh
};

struct ScanOutcome {
    int exit_code = 0; // 0 done, 2 runtime error, 3 stopped by a guard, 130 interrupted
    ScanCounters counters;
    std::array<std::uint64_t, reject_reason_count> rejected{};
    std::uint64_t ring_full = 0, arp_answered = 0, resets_sent = 0;
    std::uint64_t kernel_rx_dropped = 0; // our af_packet / af_xdp socket's drops (DropCounter), not the interface's
    std::uint64_t final_rate = 0;
    std::uint64_t repairs = 0, resent = 0; // drop-driven re-sends: requests, probes
};

ScanOutcome run_scan(const ScanConfig& config, const ScanPlan& plan, const EngineSetup& setup);

// SIGINT/SIGTERM: the first stops sending and lets the scan drain and
// commit; the second skips the wait window (a final commit still happens).
void install_signal_handlers();
int signals_received() noexcept;
void reset_signals() noexcept; // tests

} // namespace ws::dp
