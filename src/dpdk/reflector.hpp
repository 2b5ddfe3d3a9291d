#pragma once
// `wirespeed reflect`: a whole target network in software on one lcore. It
// answers ARP for its hosts, SYN-ACK / RST / ICMP port-unreachable per the
// rules, and counts what it saw. Runs on any DPDK port, including one end of
// an in-process net_ring pair in the hermetic tests.
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

    alignas(64) Counter syns;
    Counter syn_acks, resets, unreachables, arp_replies, ignored, tx_dropped;
};

int reflector_main(void* arg); // arg: Reflector*

} // namespace ws::dp
