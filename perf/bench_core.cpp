// Micro-benchmarks of wirespeed's per-probe and per-reply hot paths, on one
// core, without DPDK. What the TX lcore does per probe (tx_lcore.cpp,
// craft_probes) is RetrySchedule::at -> ScanSpace::at -> CookieMaker::make ->
// ProbeTemplate::write; BM_NextProbe times exactly that chain, the component
// benchmarks time each link alone.
//
// Every loop body is independent of the previous iteration (a counter feeds
// the next input), so the figures are throughput (what a TX burst loop gets
// from an out-of-order core), not single-call latency.
//
//   build-perf/perf/bench_core --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "wirespeed/cookie.hpp"
#include "wirespeed/permutation.hpp"
#include "wirespeed/ports.hpp"
#include "wirespeed/probe.hpp"
#include "wirespeed/probes/tcp_syn.hpp"
#include "wirespeed/reply.hpp"
#include "wirespeed/scan_space.hpp"
#include "wirespeed/simd.hpp"
#include "wirespeed/targets.hpp"

namespace {

constexpr ws::MacAddress our_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr ws::MacAddress gateway_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
constexpr std::uint32_t our_ip = 0xc6120064; // 198.18.0.100
constexpr ws::PortRange source_ports{40000, 60999}; // the scanner's default
constexpr ws::CookieKey key{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
constexpr std::uint64_t seed = 0x5eed;

enum SpaceKind : int { internet = 0, lab = 1 };

// 0.0.0.0/0 minus the shipped blocklist x ports 1-1024: the realistic
// Internet-wide space (about 3.7e9 hosts x 1024 = 3.8e12 probes; the
// permutation domain is 2^42, so ~1.16 Feistel evaluations per position).
// lab: 198.19.0.0/16 x 443 (2^16 exactly: no cycle walking at all).
// Not const: the SIMD benchmarks switch the space's permutation path.
ws::ScanSpace& space(SpaceKind kind) {
    static const std::unique_ptr<ws::ScanSpace> spaces[2] = {
        [] {
            ws::TargetSet all = ws::TargetSet::from_intervals({{0, 0xffffffffu}});
            all.subtract(ws::default_blocklist());
            return std::make_unique<ws::ScanSpace>(std::move(all), ws::parse_ports("1-1024"), seed);
        }(),
        [] { return std::make_unique<ws::ScanSpace>(ws::parse_targets("198.19.0.0/16"), ws::parse_ports("443"), seed); }(),
    };
    return *spaces[kind];
}

const char* space_label(SpaceKind kind) { return kind == internet ? "internet_0/0-blocklist_x1-1024" : "lab_/16_x443"; }

ws::ProbeConfig probe_config() {
    ws::ProbeConfig c;
    c.source_mac = our_mac;
    c.destination_mac = gateway_mac;
    c.source_ip = our_ip;
    return c;
}

// Probes go into a burst's worth of mbuf-sized buffers, as on the TX lcore.
constexpr std::size_t burst = 32;
constexpr std::size_t mbuf_stride = 2176; // RTE_MBUF_DEFAULT_BUF_SIZE
struct Frames {
    std::vector<std::uint8_t> bytes = std::vector<std::uint8_t>(burst * mbuf_stride);
    std::uint8_t* at(std::size_t i) { return bytes.data() + (i % burst) * mbuf_stride; }
};

// ------------------------------------------------------------------ full path

void BM_NextProbe(benchmark::State& state) {
    const auto kind = SpaceKind(state.range(0));
    const auto prf = ws::CookiePrf(state.range(1));
    if (prf == ws::CookiePrf::aesni && !ws::CookieMaker::aesni_available()) {
        state.SkipWithError("no AES-NI on this CPU");
        return;
    }
    const ws::ScanSpace& s = space(kind);
    const ws::RetrySchedule schedule(ws::IndexRange{0, s.size()}, 0, 1);
    const ws::CookieMaker cookies(key, source_ports, prf);
    const ws::ProbeTemplate probe(probe_config());
    Frames frames;
    std::uint64_t slot = 0;
    std::size_t n = 0;
    for (auto _ : state) {
        const ws::RetrySchedule::Step step = schedule.at(slot++);
        if (slot == schedule.slots()) slot = 0;
        if (!step.valid) continue;
        const ws::Target t = s.at(step.position);
        const ws::Cookie c = cookies.make(t.address, t.port, our_ip);
        std::uint8_t* frame = frames.at(n++);
        probe.write(frame, ws::ProbeFields{t.address, t.port, c.source_port, c.isn, c.ip_id});
        benchmark::DoNotOptimize(frame);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations());
    state.SetLabel(std::string(space_label(kind)) + (prf == ws::CookiePrf::aesni ? " aesni" : " siphash"));
}
BENCHMARK(BM_NextProbe)
    ->ArgNames({"space", "prf"})
    ->Args({internet, int(ws::CookiePrf::siphash)})
    ->Args({internet, int(ws::CookiePrf::aesni)})
    ->Args({lab, int(ws::CookiePrf::siphash)})
    ->Args({lab, int(ws::CookiePrf::aesni)});

// The same work, one burst at a time, as craft_probes() does it (one probe
// fully crafted before the next), against a staged burst: all 32 targets,
// then all 32 cookies, then all 32 frames. Each probe's chain (Feistel
// multiplies -> interval search -> 10 dependent AES rounds -> stores) is long
// and latency-bound; staging hands the core 32 independent chains per stage.
// Arg staged: 0 = probe by probe, 1 = staged. Items are probes.
void BM_CraftBurst(benchmark::State& state) {
    const auto kind = SpaceKind(state.range(0));
    const bool staged = state.range(1) != 0;
    const ws::ScanSpace& s = space(kind);
    const ws::RetrySchedule schedule(ws::IndexRange{0, s.size()}, 0, 1);
    const ws::CookieMaker cookies(key, source_ports, ws::CookiePrf::aesni);
    const ws::ProbeTemplate probe(probe_config());
    Frames frames;
    std::uint64_t slot = 0;
    for (auto _ : state) {
        if (slot + burst > schedule.slots()) slot = 0;
        if (!staged) {
            for (std::size_t k = 0; k < burst; ++k) {
                const ws::RetrySchedule::Step step = schedule.at(slot++);
                if (!step.valid) continue;
                const ws::Target t = s.at(step.position);
                const ws::Cookie c = cookies.make(t.address, t.port, our_ip);
                probe.write(frames.at(k), ws::ProbeFields{t.address, t.port, c.source_port, c.isn, c.ip_id});
            }
        } else {
            ws::Target targets[burst];
            ws::Cookie made[burst];
            std::size_t n = 0;
            for (std::size_t k = 0; k < burst; ++k) {
                const ws::RetrySchedule::Step step = schedule.at(slot++);
                if (step.valid) targets[n++] = s.at(step.position);
            }
            for (std::size_t k = 0; k < n; ++k) made[k] = cookies.make(targets[k].address, targets[k].port, our_ip);
            for (std::size_t k = 0; k < n; ++k)
                probe.write(frames.at(k), ws::ProbeFields{targets[k].address, targets[k].port, made[k].source_port,
                                                          made[k].isn, made[k].ip_id});
        }
        benchmark::DoNotOptimize(frames.bytes.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * std::int64_t(burst));
    state.SetLabel(std::string(space_label(kind)) + (staged ? " staged" : " probe-by-probe"));
}
BENCHMARK(BM_CraftBurst)
    ->ArgNames({"space", "staged"})
    ->Args({internet, 0})
    ->Args({internet, 1})
    ->Args({lab, 0})
    ->Args({lab, 1});

// Exactly what the TX lcore's craft_probes() does now without retries: the
// burst APIs (Feistel and AES cookies across lanes, on the SIMD path given by
// Arg simd: 0 scalar, 1 avx2, 2 avx512) and patch() on a frame that already
// holds the template (the TX pool is pre-filled). The lcore picks the best
// path the CPU has (simd.hpp); a path the CPU lacks is skipped.
void BM_TxBurst(benchmark::State& state) {
    const auto kind = SpaceKind(state.range(0));
    const auto path = ws::SimdPath(state.range(1));
    if (!ws::simd_supported(path)) {
        state.SkipWithError("SIMD path not supported by this CPU");
        return;
    }
    ws::ScanSpace& s = space(kind);
    s.set_simd_path(path);
    ws::CookieMaker cookies(key, source_ports, ws::CookiePrf::aesni);
    cookies.set_simd_path(path);
    const ws::ProbeTemplate probe(probe_config());
    Frames frames;
    for (std::size_t k = 0; k < burst; ++k) probe.write(frames.at(k), ws::ProbeFields{1, 1, 1, 1, 1});
    std::uint64_t position = 0;
    for (auto _ : state) {
        if (position + burst > s.size()) position = 0;
        ws::Target targets[burst];
        ws::Cookie made[burst];
        s.at_burst(position, unsigned(burst), targets);
        position += burst;
        cookies.make_burst(targets, burst, our_ip, made);
        // The module's patch, inlined as in the lcore's write_probe<M> (no
        // per-probe dispatch on the template's kind).
        for (std::size_t k = 0; k < burst; ++k)
            ws::probes::TcpSyn::patch<false>(frames.at(k), probe,
                                             ws::ProbeFields{targets[k].address, targets[k].port, made[k].source_port,
                                                             made[k].isn, made[k].ip_id});
        benchmark::DoNotOptimize(frames.bytes.data());
        benchmark::ClobberMemory();
    }
    s.set_simd_path(ws::default_simd_path());
    state.SetItemsProcessed(state.iterations() * std::int64_t(burst));
    state.SetLabel(std::string(space_label(kind)) + " burst APIs + patch, " + ws::to_string(path));
}
BENCHMARK(BM_TxBurst)
    ->ArgNames({"space", "simd"})
    ->ArgsProduct({{internet, lab}, {int(ws::SimdPath::scalar), int(ws::SimdPath::avx2), int(ws::SimdPath::avx512)}});

// The two SIMD kernels alone, per probe of a 32-probe burst.
void BM_PermutationBurst(benchmark::State& state) {
    const auto kind = SpaceKind(state.range(0));
    const auto path = ws::SimdPath(state.range(1));
    if (!ws::simd_supported(path)) {
        state.SkipWithError("SIMD path not supported by this CPU");
        return;
    }
    ws::Permutation p(space(kind).size(), seed);
    p.set_simd_path(path);
    std::uint64_t out[burst];
    std::uint64_t position = 0;
    for (auto _ : state) {
        if (position + burst > p.size()) position = 0;
        p.forward_burst(position, unsigned(burst), out);
        position += burst;
        benchmark::DoNotOptimize(out);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * std::int64_t(burst));
    state.SetLabel(std::string(space_label(kind)) + ", " + ws::to_string(path));
}
BENCHMARK(BM_PermutationBurst)
    ->ArgNames({"space", "simd"})
    ->ArgsProduct({{internet, lab}, {int(ws::SimdPath::scalar), int(ws::SimdPath::avx2), int(ws::SimdPath::avx512)}});

void BM_CookieBurst(benchmark::State& state) {
    const auto path = ws::SimdPath(state.range(0));
    if (!ws::simd_supported(path)) {
        state.SkipWithError("SIMD path not supported by this CPU");
        return;
    }
    ws::CookieMaker cookies(key, source_ports, ws::CookiePrf::aesni);
    cookies.set_simd_path(path);
    ws::Target targets[burst];
    space(internet).at_burst(12345, unsigned(burst), targets);
    ws::Cookie made[burst];
    for (auto _ : state) {
        cookies.make_burst(targets, burst, our_ip, made);
        benchmark::DoNotOptimize(made);
        benchmark::ClobberMemory();
        ++targets[0].address; // a fresh input each burst
    }
    state.SetItemsProcessed(state.iterations() * std::int64_t(burst));
    state.SetLabel(std::string("aesni, ") + ws::to_string(path));
}
BENCHMARK(BM_CookieBurst)
    ->ArgName("simd")
    ->Arg(int(ws::SimdPath::scalar))
    ->Arg(int(ws::SimdPath::avx2))
    ->Arg(int(ws::SimdPath::avx512));

// With retries the schedule wastes ramp slots and does three libdivide
// divisions per slot; a realistic --retries 2 on the Internet space.
void BM_NextProbeRetries2(benchmark::State& state) {
    const ws::ScanSpace& s = space(internet);
    const ws::RetrySchedule schedule(ws::IndexRange{0, s.size()}, 2, 1'000'000 / 3);
    const ws::CookieMaker cookies(key, source_ports, ws::CookiePrf::aesni);
    const ws::ProbeTemplate probe(probe_config());
    Frames frames;
    std::uint64_t slot = 2 * schedule.block(); // past the ramp-up
    std::size_t n = 0;
    for (auto _ : state) {
        const ws::RetrySchedule::Step step = schedule.at(slot++);
        if (!step.valid) continue;
        const ws::Target t = s.at(step.position);
        const ws::Cookie c = cookies.make(t.address, t.port, our_ip);
        std::uint8_t* frame = frames.at(n++);
        probe.write(frame, ws::ProbeFields{t.address, t.port, c.source_port, c.isn, c.ip_id});
        benchmark::DoNotOptimize(frame);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NextProbeRetries2);

// ------------------------------------------------------------------ components

void BM_RetryScheduleAt(benchmark::State& state) {
    const ws::ScanSpace& s = space(internet);
    const auto retries = std::uint32_t(state.range(0));
    const ws::RetrySchedule schedule(ws::IndexRange{0, s.size()}, retries, 1'000'000 / (retries + 1));
    std::uint64_t slot = retries ? 2 * schedule.block() : 0;
    for (auto _ : state) {
        const ws::RetrySchedule::Step step = schedule.at(slot++);
        benchmark::DoNotOptimize(step);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RetryScheduleAt)->ArgName("retries")->Arg(0)->Arg(2);

void BM_PermutationForward(benchmark::State& state) {
    const auto kind = SpaceKind(state.range(0));
    const ws::Permutation p(space(kind).size(), seed);
    std::uint64_t i = 0;
    for (auto _ : state) {
        const std::uint64_t v = p.forward(i);
        benchmark::DoNotOptimize(v);
        if (++i == p.size()) i = 0;
    }
    state.SetItemsProcessed(state.iterations());
    state.SetLabel(space_label(kind));
}
BENCHMARK(BM_PermutationForward)->ArgName("space")->Arg(internet)->Arg(lab);

void BM_TargetSetAt(benchmark::State& state) {
    const ws::TargetSet& targets = space(internet).targets();
    // Pseudo-random indices: the permutation scatters them in the real loop.
    std::uint64_t x = 0x9e3779b97f4a7c15ull;
    for (auto _ : state) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        const std::uint32_t a = targets.at((x >> 20) % targets.count());
        benchmark::DoNotOptimize(a);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetLabel(std::to_string(targets.intervals().size()) + " intervals");
}
BENCHMARK(BM_TargetSetAt);

void BM_ScanSpaceAt(benchmark::State& state) {
    const auto kind = SpaceKind(state.range(0));
    const ws::ScanSpace& s = space(kind);
    std::uint64_t i = 0;
    for (auto _ : state) {
        const ws::Target t = s.at(i);
        benchmark::DoNotOptimize(t);
        if (++i == s.size()) i = 0;
    }
    state.SetItemsProcessed(state.iterations());
    state.SetLabel(space_label(kind));
}
BENCHMARK(BM_ScanSpaceAt)->ArgName("space")->Arg(internet)->Arg(lab);

void BM_CookieMake(benchmark::State& state) {
    const auto prf = ws::CookiePrf(state.range(0));
    if (prf == ws::CookiePrf::aesni && !ws::CookieMaker::aesni_available()) {
        state.SkipWithError("no AES-NI on this CPU");
        return;
    }
    const ws::CookieMaker cookies(key, source_ports, prf);
    std::uint32_t ip = 0xc6130000;
    std::uint16_t port = 1;
    for (auto _ : state) {
        const ws::Cookie c = cookies.make(ip++, port, our_ip);
        benchmark::DoNotOptimize(c);
        port = std::uint16_t(port * 5 + 1);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetLabel(prf == ws::CookiePrf::aesni ? "aesni" : "siphash");
}
BENCHMARK(BM_CookieMake)->ArgName("prf")->Arg(int(ws::CookiePrf::siphash))->Arg(int(ws::CookiePrf::aesni));

void BM_ProbePatch(benchmark::State& state) {
    const ws::ProbeTemplate probe(probe_config());
    Frames frames;
    for (std::size_t i = 0; i < burst; ++i) std::memcpy(frames.at(i), probe.bytes(), probe.size());
    std::uint32_t ip = 0xc6130000;
    std::size_t n = 0;
    for (auto _ : state) {
        std::uint8_t* frame = frames.at(n++);
        probe.patch(frame, ws::ProbeFields{ip, 443, std::uint16_t(40000 + (ip & 0x3fff)), ip * 2654435761u, std::uint16_t(ip)});
        ++ip;
        benchmark::DoNotOptimize(frame);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ProbePatch);

void BM_ProbeWrite(benchmark::State& state) {
    ws::ProbeConfig config = probe_config();
    config.options = ws::TcpOptionsProfile(state.range(0));
    const ws::ProbeTemplate probe(config);
    Frames frames;
    std::uint32_t ip = 0xc6130000;
    std::size_t n = 0;
    for (auto _ : state) {
        std::uint8_t* frame = frames.at(n++);
        probe.write(frame, ws::ProbeFields{ip, 443, std::uint16_t(40000 + (ip & 0x3fff)), ip * 2654435761u, std::uint16_t(ip)});
        ++ip;
        benchmark::DoNotOptimize(frame);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * std::int64_t(probe.size()));
    state.SetLabel(config.options == ws::TcpOptionsProfile::mss_only ? "mss_only 58 B" : "os_like 74 B");
}
BENCHMARK(BM_ProbeWrite)->ArgName("options")->Arg(int(ws::TcpOptionsProfile::mss_only))->Arg(int(ws::TcpOptionsProfile::os_like));

// ------------------------------------------------------------------ replies

enum FrameKind : int { syn_ack, rst, icmp_unreach, garbage, bad_cookie, foreign };

const char* frame_label(FrameKind k) {
    switch (k) {
    case syn_ack: return "syn-ack";
    case rst: return "rst";
    case icmp_unreach: return "icmp-port-unreach";
    case garbage: return "garbage(random bytes)";
    case bad_cookie: return "syn-ack-bad-cookie";
    case foreign: return "ipv4-not-for-us";
    }
    return "?";
}

// 256 distinct frames of one kind (distinct targets), so the branch predictor
// and the PRF see varying input, as on a busy RX queue.
std::vector<std::vector<std::uint8_t>> make_frames(FrameKind kind, const ws::CookieMaker& cookies) {
    std::vector<std::vector<std::uint8_t>> frames;
    std::mt19937_64 rng(42);
    const ws::ProbeTemplate probe(probe_config());
    for (std::uint32_t i = 0; i < 256; ++i) {
        const std::uint32_t target = 0xc6130000 + i * 257;
        const std::uint16_t port = std::uint16_t(1 + (i * 37) % 1024);
        const ws::Cookie c = cookies.make(target, port, our_ip);
        std::vector<std::uint8_t> out(128);
        if (kind == garbage) {
            out.resize(60);
            for (auto& b : out) b = std::uint8_t(rng());
            frames.push_back(std::move(out));
            continue;
        }
        if (kind == icmp_unreach) {
            std::uint8_t syn[ws::ProbeTemplate::max_frame];
            probe.write(syn, ws::ProbeFields{target, port, c.source_port, c.isn, c.ip_id});
            out.resize(ws::build_icmp_unreachable(out.data(), gateway_mac, our_mac, 0xc6120002, our_ip, 3, syn + 14,
                                                  probe.size() - 14));
            frames.push_back(std::move(out));
            continue;
        }
        ws::TcpSegment s{};
        s.source_mac = gateway_mac;
        s.destination_mac = our_mac;
        s.source_ip = target;
        s.destination_ip = kind == foreign ? our_ip + 1 : our_ip;
        s.source_port = port;
        s.destination_port = c.source_port;
        s.sequence = std::uint32_t(rng());
        s.acknowledgment = kind == bad_cookie ? c.isn + 2 : c.isn + 1;
        s.flags = kind == rst ? 0x14 : 0x12;
        s.window = 29200;
        s.ttl = 57;
        s.ip_id = std::uint16_t(i);
        s.with_mss = kind != rst;
        out.resize(ws::build_tcp_segment(out.data(), s));
        if (out.size() < 60) out.resize(60, 0); // Ethernet padding, as received
        frames.push_back(std::move(out));
    }
    return frames;
}

void BM_ParseReply(benchmark::State& state) {
    const auto kind = FrameKind(state.range(0));
    const ws::CookieMaker cookies(key, source_ports,
                                  ws::CookieMaker::aesni_available() ? ws::CookiePrf::aesni : ws::CookiePrf::siphash);
    const ws::ReplyContext context{our_ip, &cookies};
    const auto frames = make_frames(kind, cookies);
    // Check the frames are what the label says before timing them.
    const ws::ParsedReply first = ws::parse_reply(frames[0].data(), frames[0].size(), context);
    const bool want_result = kind == syn_ack || kind == rst || kind == icmp_unreach;
    if ((first.kind == ws::ReplyKind::result) != want_result) {
        state.SkipWithError("benchmark frame does not parse as intended");
        return;
    }
    std::size_t i = 0;
    for (auto _ : state) {
        const auto& f = frames[i++ & 255];
        ws::ParsedReply r = ws::parse_reply(f.data(), f.size(), context);
        benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetLabel(std::string(frame_label(kind)) + (want_result ? "" : std::string(" -> ") +
                   std::string(ws::to_string(first.reject))));
}
BENCHMARK(BM_ParseReply)
    ->ArgName("frame")
    ->Arg(syn_ack)
    ->Arg(rst)
    ->Arg(icmp_unreach)
    ->Arg(garbage)
    ->Arg(bad_cookie)
    ->Arg(foreign);

} // namespace

BENCHMARK_MAIN();
