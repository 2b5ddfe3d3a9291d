#pragma once
// `wirespeed reflect`: a whole target network in software on one lcore. It
// answers ARP for its hosts and every probe (TCP SYN, UDP, ICMP echo) the way
// the probe's module says (its reflect(), per the rules' verdict), drops a
// seeded share of answers when asked to, and counts what it saw. Runs on any
// DPDK port, including one end of an in-process net_ring pair in the
// hermetic tests.
#include <atomic>
#include <cstdint>

#include <rte_mempool.h>

#include "lcores.hpp"
#include "wirespeed/reflect.hpp"

namespace ws::dp {

struct alignas(64) Reflector {
    std::uint16_t port = 0;
    std::uint16_t queue = 0;
    rte_mempool* pool = nullptr;
    MacAddress mac{};
    const ReflectRules* rules = nullptr;
    const std::atomic<bool>* stop = nullptr;

    alignas(64) Counter syns;     // probes seen, by protocol
    Counter udp_probes, echo_requests;
    Counter open_answers, closed_answers, filtered_answers; // real answers by verdict (forgeries not counted)
    Counter dropped;              // probes whose answers --drop-permille lost
    Counter arp_replies, ignored, tx_dropped;
    std::uint64_t probes() const noexcept { return syns.get() + udp_probes.get() + echo_requests.get(); }
};

int reflector_main(void* arg); // arg: Reflector*

} // namespace ws::dp
