#pragma once
// EAL bring-up: the whole argv is assembled in build_eal_argv() from
// wirespeed's own options, and Eal owns init/cleanup (once per process).
#include <optional>
#include <string>
#include <vector>

#include "wirespeed/scan_config.hpp"

namespace ws::dp {

struct EalLayout {
    unsigned tx_lcores = 1;
    unsigned rx_lcores = 1;
    std::vector<unsigned> cpus; // CPUs this process may run on (sched_getaffinity)
    unsigned hugepages_free_mb = 0; // free hugepage memory (/proc/meminfo)
    std::string file_prefix;        // unique per process
    unsigned memory_mb = 0;         // EAL memory; 0 = 1024. Sized from the scan (scan_memory_mb): start-up
                                    // time and RSS grow with it, since EAL maps and zeroes all of it
};

// Hugepages when enough are free for the whole of memory_mb (reserved at
// start-up, so a shortage fails there, not mid-scan): 512 faults instead of
// 4 KiB pages' 260,000 for a 1 GiB scan, and no zeroing of unused memory.
bool eal_uses_hugepages(const EalLayout& layout);

// Pure: no EAL call. The default lcore map puts the main lcore (control loop)
// on the first CPU, TX lcores on the next ones, RX lcores after them, wrapping
// around: on 2 CPUs that is main@0, tx@1, rx@0, so the TX lcore has a CPU to
// itself and RX shares with the mostly-sleeping control loop and collector.
std::vector<std::string> build_eal_argv(const PortSpec& port, const EalLayout& layout);
std::string default_lcore_map(const EalLayout& layout);
// Queue pairs an --interface port opens: one per TX or RX lcore, whichever
// side has more (the other side leaves the extra queues unused).
unsigned interface_queues(unsigned tx_lcores, unsigned rx_lcores);

EalLayout probe_eal_layout(unsigned tx_lcores, unsigned rx_lcores);

// The plugin libraries rte_eal_init needs for this argv (file names without
// ".so.*", e.g. "librte_net_null"), or nullopt when it needs them all: a
// PCI device (any NIC driver may claim it) or an explicit `-d`. Pure.
std::optional<std::vector<std::string>> eal_plugins_needed(const std::vector<std::string>& argv);

class Eal {
public:
    explicit Eal(const std::vector<std::string>& argv); // throws ws::Error
    ~Eal();
    Eal(const Eal&) = delete;
    Eal& operator=(const Eal&) = delete;

private:
    std::string runtime_dir_; // removed again at exit (and by the next run after a SIGKILL)
};

} // namespace ws::dp
