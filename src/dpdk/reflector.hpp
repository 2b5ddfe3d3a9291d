#pragma once
// `wirespeed reflect`: a whole target network in software on one lcore. It
// answers ARP and Neighbor Solicitations for its hosts (either family) and
// every probe (TCP SYN, UDP, ICMP echo, over IPv4 or IPv6) the way
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

// Never loses an answer of its own accord: answers the TX queue does not take
// are held and retried, and a queue holding answers reads no new probe until
// they are out (back-pressure). A reply path that fills up therefore fills
// the probe path behind it, and the scanner's TX lcores wait (they keep every
// probe the queue refuses) instead of replies vanishing. Only --drop-permille
// loses answers, and it counts them.
// Probes by source address, first come first counted: a test's check that a
// scan leaving from several sources probed (and was answered) from each. The
// reflector's lcore writes, others read once it is quiet.
struct SourceTally {
    static constexpr unsigned capacity = 8;
    IpAddress address[capacity]{};
    Counter probes[capacity];
    Counter others; // probes from sources past capacity
    std::atomic<unsigned> used{0};

    void record(const IpAddress& source) noexcept {
        const unsigned n = used.load(std::memory_order_relaxed);
        for (unsigned i = 0; i < n; ++i)
            if (address[i] == source) return probes[i].add(1);
        if (n == capacity) return others.add(1);
        address[n] = source;
        probes[n].add(1);
        used.store(n + 1, std::memory_order_release); // the address is written before it is published
    }
};

struct alignas(64) Reflector {
    static constexpr unsigned max_queues = 16;
    std::uint16_t port = 0;
    std::uint16_t queue = 0;       // first queue; queue_count of them, polled in turn
    std::uint16_t queue_count = 1; // answers go out on the queue their probe came in on
    rte_mempool* pool = nullptr;
    MacAddress mac{};
    const ReflectRules* rules = nullptr;
    const std::atomic<bool>* stop = nullptr;
    SourceTally* by_source = nullptr; // tests: count probes by source (off: one predicted branch per probe)

    alignas(64) Counter syns;     // probes seen, by protocol
    Counter udp_probes, echo_requests;
    Counter ipv6_probes;          // of those, over IPv6
    Counter open_answers, closed_answers, filtered_answers; // real answers by verdict (forgeries not counted)
    Counter dropped;              // probes whose answers --drop-permille lost
    Counter arp_replies, ndp_replies, ignored; // ndp_replies: Neighbor Advertisements
    Counter received, sent;       // frames taken from / handed to the port
    Counter tx_full;              // polls that found the TX queue full and held answers back (back-pressure)
    Counter nombuf;               // answers lost: no free mbuf (the pool outsizes what can be in flight; counted, never silent)
    Counter tx_dropped;           // answers still held when the reflector stopped (freed)
    // Banner mode (rules->banners): its server's counters, published when the lcore stops.
    BannerCounters banner{};
    std::uint64_t probes() const noexcept { return syns.get() + udp_probes.get() + echo_requests.get(); }
};

int reflector_main(void* arg); // arg: Reflector*

} // namespace ws::dp
