#include "eal.hpp"

#include <dirent.h>
#include <dlfcn.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
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
    const std::string memory = std::to_string(layout.memory_mb ? layout.memory_mb : 1024);
    if (!eal_uses_hugepages(layout)) {
        // Virtual PMDs work from malloc'd memory; --in-memory cannot be combined with it in 22.11.
        argv.insert(argv.end(), {"--no-huge", "-m", memory, "--no-shconf"});
    } else {
        argv.insert(argv.end(), {"--in-memory", "-m", memory});
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

bool eal_uses_hugepages(const EalLayout& layout) {
    return layout.hugepages_free_mb >= (layout.memory_mb ? layout.memory_mb : 1024);
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
    unsigned long free_pages = 0, page_kb = 0;
    while (std::getline(meminfo, line)) {
        if (line.rfind("HugePages_Free:", 0) == 0) free_pages = std::strtoul(line.c_str() + 15, nullptr, 10);
        if (line.rfind("Hugepagesize:", 0) == 0) page_kb = std::strtoul(line.c_str() + 13, nullptr, 10);
    }
    layout.hugepages_free_mb = unsigned(free_pages * page_kb / 1024);
    layout.file_prefix = fmt::format("wirespeed-{}", getpid());
    return layout;
}

std::optional<std::vector<std::string>> eal_plugins_needed(const std::vector<std::string>& argv) {
    // The vdev bus and the default mempool handler (ring_mp_mc) serve every vdev.
    std::vector<std::string> needed = {"librte_bus_vdev", "librte_mempool_ring"};
    bool no_pci = false;
    for (std::size_t i = 1; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (a == "--no-pci") no_pci = true;
        if (a == "-d" || a.rfind("-d", 0) == 0 || a.rfind("--driver-path", 0) == 0) return std::nullopt;
        if (a == "-a" || a == "-b" || a.rfind("--allow", 0) == 0 || a.rfind("--block", 0) == 0 ||
            a.rfind("--pci", 0) == 0)
            return std::nullopt;
        std::string spec;
        if (a.rfind("--vdev=", 0) == 0) spec = a.substr(7);
        else if (a == "--vdev" && i + 1 < argv.size()) spec = argv[++i];
        else continue;
        // "net_null0,no-rx=1" -> "net_null": the driver is the name without
        // its instance number and devargs.
        std::string name = spec.substr(0, spec.find(','));
        while (!name.empty() && name.back() >= '0' && name.back() <= '9') name.pop_back();
        if (name.empty()) return std::nullopt;
        needed.push_back("librte_" + name);
    }
    if (!no_pci) return std::nullopt; // PCI scanning on: any NIC driver may be needed
    return needed;
}

namespace {

// ---- start-up in milliseconds (issue 10). Debian's shared DPDK build makes
// rte_eal_init dlopen every driver in its plugin directory (~128 libraries
// with their dependencies: 0.1-0.2 s) and, on CPUs whose CPUID does not state
// the TSC frequency (AMD), calibrate the TSC over a 100 ms nanosleep. While
// our rte_eal_init runs, this executable's dlopen and nanosleep come first in
// symbol lookup: a plugin the port does not use gets the main program's
// handle instead of being loaded (DPDK only keeps the handle), and the
// calibration sleeps 10 ms: EAL divides the TSC ticks by the time it measured
// itself, so the frequency it records (rounded to 10 MHz) is the same.
// Outside rte_eal_init both calls go straight to libc.
struct EalInitScope {
    std::atomic<bool> active{false};
    bool all_plugins = true;
    std::vector<std::string> plugins; // eal_plugins_needed()
};
EalInitScope g_eal_init;

using DlopenFn = void* (*)(const char*, int);
using NanosleepFn = int (*)(const timespec*, timespec*);

DlopenFn real_dlopen() {
    static const DlopenFn fn = [] {
        void* f = dlvsym(RTLD_NEXT, "dlopen", "GLIBC_2.34");
        if (!f) f = dlvsym(RTLD_NEXT, "dlopen", "GLIBC_2.2.5");
        return reinterpret_cast<DlopenFn>(f);
    }();
    return fn;
}

bool skipped_plugin(const char* file) {
    if (!file || !g_eal_init.active.load(std::memory_order_relaxed) || g_eal_init.all_plugins) return false;
    const char* dir = std::strstr(file, "/pmds-");
    if (!dir) return false; // not a plugin: a library some driver loads itself
    const char* base = std::strrchr(file, '/') + 1;
    for (const auto& name : g_eal_init.plugins)
        if (std::strncmp(base, name.c_str(), name.size()) == 0 && base[name.size()] == '.') return false;
    return true;
}

} // namespace
} // namespace ws::dp

extern "C" void* dlopen(const char* file, int flags) noexcept {
    const ws::dp::DlopenFn real = ws::dp::real_dlopen();
    if (!real) return nullptr;
    return real(ws::dp::skipped_plugin(file) ? nullptr : file, flags);
}

extern "C" int nanosleep(const timespec* request, timespec* remaining) {
    static const auto real = reinterpret_cast<ws::dp::NanosleepFn>(dlsym(RTLD_NEXT, "nanosleep"));
    if (ws::dp::g_eal_init.active.load(std::memory_order_relaxed) && request && request->tv_sec == 0 &&
        request->tv_nsec == 100'000'000) {
        const timespec shorter{0, 10'000'000};
        return real(&shorter, remaining);
    }
    return real(request, remaining);
}

namespace ws::dp {
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
    const auto plugins = eal_plugins_needed(argv);
    g_eal_init.all_plugins = !plugins;
    g_eal_init.plugins = plugins.value_or(std::vector<std::string>{});
    g_eal_init.active.store(true);
    const int rc = rte_eal_init(int(args.size() - 1), args.data());
    g_eal_init.active.store(false);
    if (rc < 0) {
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
