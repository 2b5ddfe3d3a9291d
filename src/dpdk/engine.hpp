#pragma once
// The scan engine: from a started EAL and an ethdev port id to a finished
// scan. Linear bring-up (pools, port, addresses, gateway, template, rings,
// collector, lcores), then the control loop on the calling (main) lcore, then
// an ordered shutdown. The CLI and the hermetic tests both call run_scan().
#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "wirespeed/plan.hpp"
#include "wirespeed/recall.hpp"
#include "wirespeed/reply.hpp"
#include "wirespeed/result_sink.hpp"
#include "wirespeed/resume.hpp"
#include "wirespeed/scan_config.hpp"
#include "wirespeed/service_detector.hpp"
#include "wirespeed/tcp_stream.hpp"

namespace ws::dp {

struct EngineSetup {
    std::uint16_t port_id = 0;
    std::vector<unsigned> tx_lcores; // EAL lcore ids, one TX queue each
    std::vector<unsigned> rx_lcores; // EAL lcore ids, one RX queue each
    std::vector<std::string> eal_argv; // for the metadata
    std::vector<std::string> args;     // the command line, recorded in scans.config for --resume
    std::string effective_config;      // the effective configuration as TOML (--echo's text), for the metadata
    const ResumePoint* resume = nullptr; // continue this checkpoint instead of starting afresh
    // Start-up phases, for -v and the metadata: when the process started and
    // how long EAL initialisation took (both measured by the caller).
    std::chrono::steady_clock::time_point process_start = std::chrono::steady_clock::now();
    double eal_seconds = 0;
    // Ports each carrying one more queue pair of port_id's interface (af_xdp
    // on an interface without combined channels, such as veth: DPDK 22.11's
    // PMD then binds one queue per vdev). TX lcore i and RX queue i use the
    // i-th queue of port_id's queues followed by these ports' queue 0.
    std::vector<std::uint16_t> queue_ports;
};

struct ScanOutcome {
    int exit_code = 0; // 0 done, 2 runtime error, 3 stopped by a guard, 130 interrupted
    ScanCounters counters;
    std::array<std::uint64_t, reject_reason_count> rejected{};
    std::uint64_t ring_full = 0, arp_answered = 0, resets_sent = 0;
    std::uint64_t kernel_rx_dropped = 0; // our af_packet / af_xdp socket's drops (DropCounter), not the interface's
    std::uint64_t final_rate = 0;
    std::uint64_t repairs = 0, resent = 0; // drop-driven re-sends: requests, probes
    bool all_answered = false; // ended early: every pair answered before --wait ran out
    RecallEstimate recall;     // --verify's estimate of the responders still missed
    unsigned repair_passes = 0;
    std::uint64_t canaries_sent = 0, canaries_answered = 0; // far-side delivery probes
    std::uint64_t up = 0, open_filtered = 0; // hosts answering ping; UDP probes never answered (--show closed)
    std::vector<std::uint64_t> tx_sent, rx_received; // per TX lcore: probes sent; per RX lcore: frames received
    unsigned rx_queues = 0, tx_queues = 0; // queue pairs used, over every port of the scan
    // --service: the detector's and the user-mode TCP's counters at the end.
    ServiceCounters services{};
    StreamCounters streams{};
};

ScanOutcome run_scan(const ScanConfig& config, const ScanPlan& plan, const EngineSetup& setup);

// Sizes from the scan, so a one-host scan starts in milliseconds with a few
// MiB while an internet sweep keeps deep rings: the result ring holds every
// reply of a small scan and 2^20 records (32 MiB) at most; EAL memory covers
// the pools, the rings and EAL's own structures.
unsigned result_ring_count(std::uint64_t planned_probes) noexcept;
unsigned scan_memory_mb(unsigned tx_lcores, unsigned rx_lcores, std::uint64_t planned_probes, bool service = false) noexcept;

// SIGINT/SIGTERM: the first stops sending and lets the scan drain and
// commit; the second skips the wait window (a final commit still happens).
void install_signal_handlers();
int signals_received() noexcept;
void reset_signals() noexcept; // tests

} // namespace ws::dp
