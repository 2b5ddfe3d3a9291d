// EAL start-up: which plugin libraries a scan's EAL argv needs (the others
// are not loaded, issue 10), and when hugepages are used. Pure functions.
#include <gtest/gtest.h>

#include "eal.hpp"

namespace ws::dp {
namespace {

using Plugins = std::vector<std::string>;

TEST(EalStartup, VdevsNeedTheirDriverTheVdevBusAndTheRingMempool) {
    PortSpec port;
    port.vdevs = {"net_null0,no-rx=1"};
    EalLayout layout;
    layout.file_prefix = "t";
    const auto needed = eal_plugins_needed(build_eal_argv(port, layout));
    ASSERT_TRUE(needed);
    EXPECT_EQ(*needed, (Plugins{"librte_bus_vdev", "librte_mempool_ring", "librte_net_null"}));
}

TEST(EalStartup, InterfacesNeedAfPacketOrAfXdp) {
    PortSpec port;
    port.interface = "lab-s";
    EalLayout layout;
    auto needed = eal_plugins_needed(build_eal_argv(port, layout));
    ASSERT_TRUE(needed);
    EXPECT_EQ(needed->back(), "librte_net_af_packet");
    port.xdp = true;
    needed = eal_plugins_needed(build_eal_argv(port, layout));
    ASSERT_TRUE(needed);
    EXPECT_EQ(needed->back(), "librte_net_af_xdp");
}

TEST(EalStartup, SeveralVdevsAndTheSpaceSeparatedForm) {
    const auto needed = eal_plugins_needed(
        {"wirespeed", "--no-pci", "--vdev", "net_memif0,role=client", "--vdev=net_pcap12,tx_pcap=x.pcap"});
    ASSERT_TRUE(needed);
    EXPECT_EQ(*needed, (Plugins{"librte_bus_vdev", "librte_mempool_ring", "librte_net_memif", "librte_net_pcap"}));
}

// Any NIC driver may claim a PCI device, and -d names plugins explicitly: load them all.
TEST(EalStartup, PciOrExplicitDriversLoadEveryPlugin) {
    PortSpec port;
    port.pci = "0000:01:00.0";
    EalLayout layout;
    EXPECT_FALSE(eal_plugins_needed(build_eal_argv(port, layout)));
    EXPECT_FALSE(eal_plugins_needed({"wirespeed", "--vdev=net_null0"})); // PCI scan not turned off
    EXPECT_FALSE(eal_plugins_needed({"wirespeed", "--no-pci", "--vdev=net_null0", "-d", "/opt/pmd.so"}));
    EXPECT_FALSE(eal_plugins_needed({"wirespeed", "--no-pci", "--vdev=0"})); // no driver name
}

TEST(EalStartup, HugepagesOnlyWhenAllTheMemoryFits) {
    PortSpec port;
    port.vdevs = {"net_null0"};
    EalLayout layout;
    layout.memory_mb = 112;
    layout.hugepages_free_mb = 100;
    EXPECT_FALSE(eal_uses_hugepages(layout));
    auto argv = build_eal_argv(port, layout);
    EXPECT_NE(std::find(argv.begin(), argv.end(), "--no-huge"), argv.end());
    layout.hugepages_free_mb = 112;
    EXPECT_TRUE(eal_uses_hugepages(layout));
    argv = build_eal_argv(port, layout);
    EXPECT_EQ(std::find(argv.begin(), argv.end(), "--no-huge"), argv.end());
    EXPECT_NE(std::find(argv.begin(), argv.end(), "--in-memory"), argv.end());
    layout.memory_mb = 0; // unsized: 1024
    EXPECT_FALSE(eal_uses_hugepages(layout));
}

} // namespace
} // namespace ws::dp
