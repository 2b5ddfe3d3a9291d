#include "wirespeed/plan.hpp"

#include <cmath>
#include <random>

#include <fmt/format.h>

#include "wirespeed/error.hpp"

namespace ws {

std::uint64_t ScanPlan::probes() const noexcept { return shard.size(); }

std::span<const std::uint8_t> ScanPlan::payload(const ProbeSlot& slot) const noexcept {
    if (slot.proto != Proto::udp) return {};
    const auto& list = payloads.for_port(slot.port);
    if (slot.payload >= list.size()) return {};
    return list[slot.payload];
}

namespace {

std::uint64_t random_seed() {
    std::random_device device;
    return (std::uint64_t{device()} << 32) ^ device();
}

// -p with T:/U: prefixes and --ping into probe slots; UDP ports get one slot
// per payload, from nmap's database (read only when UDP is scanned) with the
// --udp-payload options applied.
ProbeSlots build_slots(const ScanConfig& config, UdpPayloads& payloads) {
    ProtocolPorts ports;
    if (!config.ports_spec.empty() || !config.ping) ports = parse_protocol_ports(config.ports_spec);
    std::vector<UdpPayloadOption> options;
    for (const auto& spec : config.udp_payloads) options.push_back(parse_udp_payload_option(spec));
    for (const auto& option : options)
        if (!ports.udp.contains(option.port))
            throw Error(fmt::format("--udp-payload for port {} but UDP port {} is not scanned: add U:{} to -p",
                                    option.port, option.port, option.port));
    if (!ports.udp.empty()) {
        payloads = load_nmap_payloads(config.nmap_payloads);
        apply_udp_payload_options(payloads, options);
    }
    return ProbeSlots::build(ports.tcp, ports.udp, config.ping,
                             [&](std::uint16_t port) { return std::uint32_t(payloads.for_port(port).size()); });
}

} // namespace

ScanPlan build_plan(const ScanConfig& config) {
    ScanPlan plan;
    TargetSet targets;
    for (const auto& spec : config.target_specs) targets.add(parse_targets(spec));
    for (const auto& file : config.target_files) targets.add(load_target_file(file));
    if (config.target_specs.empty() && config.target_files.empty())
        throw Error("no targets given: name addresses, CIDR blocks or ranges, or -iL FILE");
    plan.requested = targets.count();

    const bool explicit_choice = !config.exclude_specs.empty() || !config.exclude_files.empty();
    TargetSet blocklist = config.blocklist_file ? load_target_file(*config.blocklist_file, "blocklist file") : default_blocklist();
    if (plan.requested > near_full_scan_addresses && blocklist.empty() && !explicit_choice)
        throw Error(fmt::format("refusing to scan {} addresses (more than 2^30) with no blocklist and no exclusions: "
                                "keep the default blocklist or pass --exclude/--excludefile",
                                plan.requested));
    plan.blocklisted = targets.subtract(blocklist);

    TargetSet excludes;
    for (const auto& spec : config.exclude_specs) excludes.add(parse_targets(spec));
    for (const auto& file : config.exclude_files) excludes.add(load_target_file(file, "exclude file"));
    plan.excluded = targets.subtract(excludes);

    if (targets.empty())
        throw Error(fmt::format("no targets left to scan: {} requested, {} removed by the blocklist, {} excluded",
                                plan.requested, plan.blocklisted, plan.excluded));
    if (targets.exact_count() > config.max_targets) {
        // An IPv6 /64 is 2^64 addresses: no sweep enumerates that; a hitlist does.
        const std::string count = targets.exact_count() > UINT64_MAX
                                      ? fmt::format("2^{:.0f}", std::log2(double(targets.exact_count())))
                                      : fmt::format("{}", std::uint64_t(targets.exact_count()));
        throw Error(fmt::format("refusing to enumerate {} target addresses (--max-targets {}): {}", count,
                                config.max_targets,
                                targets.has_ipv6() ? "IPv6 prefixes this large are scanned from a hitlist of known "
                                                     "addresses (-iL FILE), or raise --max-targets"
                                                   : "raise --max-targets"));
    }

    const ProbeSlots slots = build_slots(config, plan.payloads);
    if (config.shard_count == 0 || config.shard_index >= config.shard_count)
        throw Error(fmt::format("invalid shard \"{}/{}\": need 0 <= I < N", config.shard_index, config.shard_count));

    plan.seed = config.seed ? *config.seed : random_seed();
    plan.space = std::make_unique<ScanSpace>(std::move(targets), slots, plan.seed);
    plan.shard = split_range({0, plan.space->size()}, config.shard_index, config.shard_count);
    return plan;
}

} // namespace ws
