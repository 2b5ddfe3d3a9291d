#pragma once
// EAL bring-up: the whole argv is assembled in build_eal_argv() from
// wirespeed's own options, and Eal owns init/cleanup (once per process).
#include <string>
#include <vector>

#include "wirespeed/scan_config.hpp"

namespace ws::dp {

struct EalLayout {
    unsigned tx_lcores = 1;
    unsigned rx_lcores = 1;
    std::vector<unsigned> cpus; // CPUs this process may run on (sched_getaffinity)
    bool hugepages = false;     // free hugepages exist
    std::string file_prefix;    // unique per process
    unsigned memory_mb = 0;     // --no-huge memory; 0 = 1024. Sized from the scan (scan_memory_mb): start-up
                                // time and RSS grow with it, since EAL maps and zeroes all of it
};

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
