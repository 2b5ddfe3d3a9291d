#include "eal.hpp"

#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <rte_eal.h>
#include <rte_errno.h>

#include "wirespeed/error.hpp"

namespace ws::dp {

std::string default_lcore_map(const EalLayout& layout) {
    const std::size_t n = layout.cpus.empty() ? 1 : layout.cpus.size();
    auto cpu = [&](unsigned slot) { return layout.cpus.empty() ? 0u : layout.cpus[slot % n]; };
    std::string map = fmt::format("0@{}", cpu(0));
    const unsigned workers = layout.tx_lcores + layout.rx_lcores;
    for (unsigned lcore = 1; lcore <= workers; ++lcore) map += fmt::format(",{}@{}", lcore, cpu(lcore));
    return map;
}

unsigned interface_queues(unsigned tx_lcores, unsigned rx_lcores) { return std::max({tx_lcores, rx_lcores, 1u}); }

std::vector<std::string> build_eal_argv(const PortSpec& port, const EalLayout& layout) {
    std::vector<std::string> argv = {"wirespeed"};
    argv.push_back("--lcores=" + (port.lcores.empty() ? default_lcore_map(layout) : port.lcores));
    argv.push_back("--file-prefix=" + layout.file_prefix);
    if (!layout.hugepages) {
        // Virtual PMDs work from malloc'd memory; --in-memory cannot be combined with it in 22.11.
        argv.insert(argv.end(), {"--no-huge", "-m", std::to_string(layout.memory_mb ? layout.memory_mb : 1024), "--no-shconf"});
    } else {
        argv.push_back("--in-memory");
    }
    argv.push_back("--no-telemetry");
    if (!port.pci.empty()) {
        argv.push_back("-a");
        argv.push_back(port.pci);
    } else {
        argv.push_back("--no-pci");
    }
    if (!port.interface.empty()) {
        // One queue pair per lcore of the busier side: af_packet opens one
        // socket per pair, joined in a PACKET_FANOUT group that spreads the
        // replies by flow hash; af_xdp binds one XSK to each of the
        // interface's queues 0..N-1 (the interface needs N RX queues).
        const unsigned queues = interface_queues(layout.tx_lcores, layout.rx_lcores);
        // af_xdp: one vdev per queue. DPDK 22.11's PMD refuses queue_count
        // above the interface's ethtool "combined" channels, and veth (the
        // lab's interface) has separate RX and TX channels only; a vdev per
        // queue works on any multi-queue interface (the engine takes the
        // extra ports as queue ports: EngineSetup::queue_ports).
        if (port.xdp)
            for (unsigned q = 0; q < queues; ++q)
                argv.push_back(fmt::format("--vdev=net_af_xdp{},iface={},start_queue={},queue_count=1", q, port.interface, q));
        else
            argv.push_back(fmt::format("--vdev=net_af_packet0,iface={},qpairs={},qdisc_bypass=1,framecnt=4096",
                                       port.interface, queues));
    }
    for (const auto& vdev : port.vdevs) argv.push_back("--vdev=" + vdev);
    argv.push_back(port.verbosity >= 2 ? "--log-level=*:info" : "--log-level=*:warning");
    for (const auto& extra : port.extra_eal) argv.push_back(extra);
    return argv;
}

EalLayout probe_eal_layout(unsigned tx_lcores, unsigned rx_lcores) {
    EalLayout layout;
    layout.tx_lcores = tx_lcores;
    layout.rx_lcores = rx_lcores;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (unsigned cpu = 0; cpu < CPU_SETSIZE; ++cpu)
            if (CPU_ISSET(cpu, &set)) layout.cpus.push_back(cpu);
    std::ifstream meminfo("/proc/meminfo");
    std::string line;
    while (std::getline(meminfo, line))
        if (line.rfind("HugePages_Free:", 0) == 0) layout.hugepages = std::stoul(line.substr(15)) > 0;
    layout.file_prefix = fmt::format("wirespeed-{}", getpid());
    return layout;
}

namespace {

// EAL's runtime directory for our --file-prefix ("/var/run/dpdk/wirespeed-<pid>",
// or under $XDG_RUNTIME_DIR when not root). EAL creates it even with
// --no-shconf and never removes it.
std::string runtime_base() {
    if (getuid() == 0) return "/var/run/dpdk";
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    return std::string(xdg ? xdg : "/tmp") + "/dpdk";
}

void remove_tree_flat(const std::string& dir) {
    if (DIR* d = opendir(dir.c_str())) {
        while (dirent* e = readdir(d)) {
            const std::string name = e->d_name;
            if (name != "." && name != "..") unlink((dir + "/" + name).c_str());
        }
        closedir(d);
    }
    rmdir(dir.c_str());
}

// Directories of wirespeed processes that no longer exist (killed with
// SIGKILL, before they could clean up): removed by the next run.
void remove_stale_runtime_dirs(const std::string& base) {
    DIR* d = opendir(base.c_str());
    if (!d) return;
    std::vector<std::string> stale;
    while (dirent* e = readdir(d)) {
        const std::string name = e->d_name;
        if (name.rfind("wirespeed-", 0) != 0) continue;
        char* end = nullptr;
        const long pid = std::strtol(name.c_str() + 10, &end, 10);
        if (pid <= 0 || *end != '\0') continue;
        if (kill(pid_t(pid), 0) != 0 && errno == ESRCH) stale.push_back(base + "/" + name);
    }
    closedir(d);
    for (const auto& dir : stale) remove_tree_flat(dir);
}

std::string prefix_of(const std::vector<std::string>& argv) {
    for (const auto& a : argv)
        if (a.rfind("--file-prefix=", 0) == 0) return a.substr(14);
    return "rte";
}

} // namespace

Eal::Eal(const std::vector<std::string>& argv) {
    runtime_dir_ = runtime_base() + "/" + prefix_of(argv);
    remove_stale_runtime_dirs(runtime_base());
    std::vector<char*> args;
    std::vector<std::string> copy = argv; // rte_eal_init may permute argv
    for (auto& a : copy) args.push_back(a.data());
    args.push_back(nullptr);
    if (rte_eal_init(int(args.size() - 1), args.data()) < 0) {
        const int err = rte_errno;
        remove_tree_flat(runtime_dir_);
        rte_errno = err;
        throw Error(fmt::format("DPDK EAL initialisation failed: {} (argv: {})", rte_strerror(rte_errno),
                                fmt::join(argv, " ")));
    }
}

Eal::~Eal() {
    rte_eal_cleanup();
    remove_tree_flat(runtime_dir_);
}

} // namespace ws::dp
