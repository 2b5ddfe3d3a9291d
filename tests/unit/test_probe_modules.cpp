// The UDP and ICMP echo probe modules, byte for byte: every frame is compared
// with one the test writes itself, a byte at a time, with its own checksum
// code (none of the modules' helpers), for software checksums (patch<false>)
// and for a NIC that finishes them (patch<true>), across many random probes.
// Then ProbeSet: which slots share a template.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "wirespeed/probe.hpp"
#include "wirespeed/probe_set.hpp"
#include "wirespeed/probe_slots.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr ws::MacAddress our_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr ws::MacAddress gateway_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0xfe};
constexpr std::uint32_t our_ip = 0x0a000001; // 10.0.0.1

// ---- an independent frame writer: bytes appended one by one

void push16(Bytes& b, std::uint16_t v) {
    b.push_back(std::uint8_t(v >> 8));
    b.push_back(std::uint8_t(v & 0xff));
}
void push32(Bytes& b, std::uint32_t v) {
    push16(b, std::uint16_t(v >> 16));
    push16(b, std::uint16_t(v & 0xffff));
}
void set16(Bytes& b, std::size_t at, std::uint16_t v) {
    b[at] = std::uint8_t(v >> 8);
    b[at + 1] = std::uint8_t(v & 0xff);
}
std::uint16_t get16(const Bytes& b, std::size_t at) { return std::uint16_t((b[at] << 8) | b[at + 1]); }

// The plain 32-bit sum of big-endian 16-bit words (odd byte padded with zero),
// folded with end-around carry until it fits 16 bits. No complement.
std::uint16_t folded_sum(const Bytes& data) {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < data.size(); i += 2) {
        const std::uint32_t hi = data[i];
        const std::uint32_t lo = i + 1 < data.size() ? data[i + 1] : 0;
        sum += hi * 256 + lo;
    }
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
    return std::uint16_t(sum);
}
std::uint16_t internet_checksum(const Bytes& data) { return std::uint16_t(~folded_sum(data) & 0xffff); }

// The 12-byte IPv4 pseudo header.
Bytes pseudo_header(std::uint32_t source, std::uint32_t destination, std::uint8_t protocol, std::size_t length) {
    Bytes p;
    push32(p, source);
    push32(p, destination);
    p.push_back(0);
    p.push_back(protocol);
    push16(p, std::uint16_t(length));
    return p;
}

void push_ethernet(Bytes& b, const ws::ProbeConfig& config) {
    for (auto x : config.destination_mac) b.push_back(x);
    for (auto x : config.source_mac) b.push_back(x);
    b.push_back(0x08);
    b.push_back(0x00);
}

void push_ipv4(Bytes& b, const ws::ProbeConfig& config, const ws::ProbeFields& f, std::uint8_t protocol,
               std::size_t l4_len) {
    b.push_back(0x45); // version 4, IHL 5
    b.push_back(0x00); // TOS
    push16(b, std::uint16_t(20 + l4_len));
    push16(b, f.ip_id);
    push16(b, 0x4000); // DF, offset 0
    b.push_back(config.ttl);
    b.push_back(protocol);
    push16(b, 0); // checksum, below
    push32(b, config.source_ip);
    push32(b, f.destination_ip);
}

void finish_ipv4(Bytes& b, bool offload) {
    if (offload) return; // left 0 for the NIC
    set16(b, 24, internet_checksum(Bytes(b.begin() + 14, b.begin() + 34)));
}

// An Ethernet + IPv4 + UDP frame with `payload`, the DNS transaction ID (low
// 16 bits of the sequence) over its first two bytes when `dns_id`.
Bytes expected_udp(const ws::ProbeConfig& config, const ws::ProbeFields& f, Bytes payload, bool dns_id, bool offload) {
    if (dns_id) {
        payload[0] = std::uint8_t(f.sequence >> 8);
        payload[1] = std::uint8_t(f.sequence);
    }
    const std::size_t udp_len = 8 + payload.size();
    Bytes b;
    push_ethernet(b, config);
    push_ipv4(b, config, f, 17, udp_len);
    push16(b, f.source_port);
    push16(b, f.destination_port);
    push16(b, std::uint16_t(udp_len));
    push16(b, 0); // checksum, below
    b.insert(b.end(), payload.begin(), payload.end());
    finish_ipv4(b, offload);
    Bytes pseudo = pseudo_header(config.source_ip, f.destination_ip, 17, udp_len);
    if (offload) {
        set16(b, 40, folded_sum(pseudo));
    } else {
        pseudo.insert(pseudo.end(), b.begin() + 34, b.end());
        const std::uint16_t sum = internet_checksum(pseudo);
        set16(b, 40, sum == 0 ? 0xffff : sum); // RFC 768: a computed 0 is sent as all ones
    }
    return b;
}

// Ethernet + IPv4 + ICMP echo request without data: identifier = high 16
// bits of the sequence, sequence number = low 16 bits. ICMP has no pseudo
// header and no offload: its checksum is complete either way.
Bytes expected_echo(const ws::ProbeConfig& config, const ws::ProbeFields& f, bool offload) {
    Bytes b;
    push_ethernet(b, config);
    push_ipv4(b, config, f, 1, 8);
    b.push_back(8); // echo request
    b.push_back(0);
    push16(b, 0);
    push16(b, std::uint16_t(f.sequence >> 16));
    push16(b, std::uint16_t(f.sequence & 0xffff));
    finish_ipv4(b, offload);
    set16(b, 36, internet_checksum(Bytes(b.begin() + 34, b.end())));
    return b;
}

ws::ProbeConfig make_config(std::uint8_t ttl = 64, std::uint32_t source_ip = our_ip) {
    ws::ProbeConfig config;
    config.source_mac = our_mac;
    config.destination_mac = gateway_mac;
    config.source_ip = source_ip;
    config.ttl = ttl;
    return config;
}

ws::ProbeTemplate udp_template(const ws::ProbeConfig& config, std::uint16_t port, const Bytes& payload) {
    return ws::ProbeTemplate(config, ws::ProbeSlot{ws::Proto::udp, port, 0}, payload.data(), payload.size());
}

Bytes written(const ws::ProbeTemplate& t, const ws::ProbeFields& f, bool offload) {
    // Odd offset inside a buffer with guard bytes: any alignment, no write past size().
    Bytes storage(t.size() + 17, 0xcc);
    std::uint8_t* frame = storage.data() + 1;
    if (offload)
        t.write_for_offload(frame, f);
    else
        t.write(frame, f);
    for (std::size_t i = t.size() + 1; i < storage.size(); ++i) EXPECT_EQ(storage[i], 0xcc) << "wrote past size()";
    EXPECT_EQ(storage[0], 0xcc);
    return Bytes(frame, frame + t.size());
}

ws::ProbeFields random_fields(std::mt19937_64& rng) {
    return ws::ProbeFields{std::uint32_t(rng()), std::uint16_t(rng()), std::uint16_t(rng()), std::uint32_t(rng()),
                           std::uint16_t(rng())};
}

// A field set whose UDP checksum works out to 0 on the wire before the
// "0 means none" rule: found by search over the source port with the
// reference code, so the 0 -> 0xffff rule is exercised on purpose.
ws::ProbeFields fields_with_zero_udp_sum(const ws::ProbeConfig& config, const Bytes& payload, bool dns_id,
                                         std::uint16_t port) {
    ws::ProbeFields f{0xc0000205, port, 0, 0x00001234, 0x0101};
    for (std::uint32_t sport = 1; sport <= 65535; ++sport) {
        f.source_port = std::uint16_t(sport);
        Bytes raw = expected_udp(config, f, payload, dns_id, false);
        set16(raw, 40, 0);
        Bytes pseudo = pseudo_header(config.source_ip, f.destination_ip, 17, raw.size() - 34);
        pseudo.insert(pseudo.end(), raw.begin() + 34, raw.end());
        if (internet_checksum(pseudo) == 0) return f;
    }
    ADD_FAILURE() << "no source port gives a zero UDP checksum";
    return f;
}

struct UdpCase {
    const char* name;
    std::uint16_t slot_port;
    Bytes payload;
    bool dns_id; // what the template must patch
};

Bytes random_bytes(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    Bytes b(n);
    for (auto& x : b) x = std::uint8_t(rng());
    return b;
}

// nmap-payloads' DNS status request for port 53 (12 bytes: a bare header), and
// a version.bind TXT CH query (30 bytes, ID 0x0006 in the file).
const Bytes dns_status = {0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
const Bytes dns_version_bind = {0x00, 0x06, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x76, 0x65,
                                0x72, 0x73, 0x69, 0x6f, 0x6e, 0x04, 0x62, 0x69, 0x6e, 0x64, 0x00, 0x00, 0x10, 0x00, 0x03};

std::vector<UdpCase> udp_cases() {
    return {
        {"empty", 7, {}, false},
        {"one byte", 9, {0x0a}, false},
        {"odd length", 123, {0x17, 0x00, 0x03, 0x2a, 0x00, 0x00, 0x00}, false},
        {"even length", 161, {0x30, 0x26, 0x02, 0x01, 0x01, 0x04}, false},
        {"dns status on 53", 53, dns_status, true},
        {"dns version.bind on 53", 53, dns_version_bind, true},
        {"dns query on 5353 (no ID)", 5353, dns_version_bind, false},
        {"11 bytes on 53 (too short for an ID)", 53, Bytes(dns_status.begin(), dns_status.end() - 1), false},
        {"max payload", 1900, random_bytes(ws::ProbeTemplate::max_payload, 1), false},
        {"max payload minus one (odd)", 1900, random_bytes(ws::ProbeTemplate::max_payload - 1, 2), false},
        {"max payload dns on 53", 53, random_bytes(ws::ProbeTemplate::max_payload, 3), true},
    };
}

// Offsets a UDP probe patches: IP ID, IP checksum, IP destination, ports,
// UDP checksum, the DNS ID.
bool udp_per_probe_byte(std::size_t i, bool dns_id) {
    return (i >= 18 && i < 20) || (i >= 24 && i < 26) || (i >= 30 && i < 38) || (i >= 40 && i < 42) ||
           (dns_id && i >= 42 && i < 44);
}

TEST(UdpProbe, TemplateShape) {
    for (const UdpCase& c : udp_cases()) {
        SCOPED_TRACE(c.name);
        const ws::ProbeConfig config = make_config();
        const ws::ProbeTemplate t = udp_template(config, c.slot_port, c.payload);
        EXPECT_EQ(t.kind(), ws::ProbeKind::udp);
        EXPECT_EQ(t.l4_checksum(), ws::L4Checksum::udp);
        ASSERT_EQ(t.size(), 14 + 20 + 8 + c.payload.size());
        ASSERT_LE(t.size(), ws::ProbeTemplate::max_frame);
        // The unpatched template: every constant byte as written by hand,
        // every per-probe byte zero.
        const Bytes want = expected_udp(config, ws::ProbeFields{0, 0, 0, 0, 0}, c.payload, c.dns_id, false);
        const Bytes raw(t.bytes(), t.bytes() + t.size());
        for (std::size_t i = 0; i < raw.size(); ++i) {
            if (udp_per_probe_byte(i, c.dns_id))
                EXPECT_EQ(raw[i], 0) << "per-probe byte " << i;
            else
                EXPECT_EQ(raw[i], want[i]) << "byte " << i;
        }
    }
}

// One probe written out in full, for a reader to check against a capture.
TEST(UdpProbe, DnsProbeEveryByte) {
    const ws::ProbeTemplate t = udp_template(make_config(), 53, dns_status);
    const ws::ProbeFields f{0xc0000205, 53, 40000, 0x1234abcd, 0x1234}; // 192.0.2.5, DNS ID 0xabcd
    const Bytes want = {
        0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, // Ethernet
        0x45, 0x00, 0x00, 0x28, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x5c, 0x8b,             // IPv4, total 40
        0x0a, 0x00, 0x00, 0x01, 0xc0, 0x00, 0x02, 0x05,                                     //
        0x9c, 0x40, 0x00, 0x35, 0x00, 0x14, 0xdb, 0x7c,                                     // UDP 40000 -> 53, len 20
        0xab, 0xcd, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,             // DNS, ID 0xabcd
    };
    EXPECT_EQ(written(t, f, false), want);
    // The hand-computed sums agree with the reference writer above.
    EXPECT_EQ(expected_udp(make_config(), f, dns_status, true, false), want);
}

TEST(EchoProbe, EveryByte) {
    const ws::ProbeTemplate t(make_config(), ws::ProbeSlot{ws::Proto::icmp, 0, 0}, nullptr, 0);
    EXPECT_EQ(t.kind(), ws::ProbeKind::icmp_echo);
    EXPECT_EQ(t.l4_checksum(), ws::L4Checksum::none);
    const ws::ProbeFields f{0xc0000205, 0, 40000, 0x1234abcd, 0x1234};
    const Bytes want = {
        0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, // Ethernet
        0x45, 0x00, 0x00, 0x1c, 0x12, 0x34, 0x40, 0x00, 0x40, 0x01, 0x5c, 0xa7,             // IPv4, total 28
        0x0a, 0x00, 0x00, 0x01, 0xc0, 0x00, 0x02, 0x05,                                     //
        0x08, 0x00, 0x39, 0xfe, 0x12, 0x34, 0xab, 0xcd,                                     // echo, id 0x1234, seq 0xabcd
    };
    ASSERT_EQ(t.size(), want.size());
    EXPECT_EQ(written(t, f, false), want);
    EXPECT_EQ(expected_echo(make_config(), f, false), want);
    // The template: per-probe words zero, the rest as above.
    const Bytes raw(t.bytes(), t.bytes() + t.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const bool per_probe = (i >= 18 && i < 20) || (i >= 24 && i < 26) || (i >= 30 && i < 34) || i >= 36;
        EXPECT_EQ(raw[i], per_probe ? 0 : want[i]) << "byte " << i;
    }
    // The payload arguments mean nothing to ICMP echo.
    const std::uint8_t junk[5] = {1, 2, 3, 4, 5};
    const ws::ProbeTemplate with_junk(make_config(), ws::ProbeSlot{ws::Proto::icmp, 0, 0}, junk, sizeof junk);
    EXPECT_EQ(written(with_junk, f, false), want);
}

// Random probes, software checksums and offload, against the hand-written
// frames; write() equals patch() over a frame holding an earlier probe.
TEST(UdpProbe, RandomProbesMatchIndependentFrames) {
    std::mt19937_64 rng(0x75647031);
    for (const ws::ProbeConfig& config : {make_config(), make_config(1, 0xfffffffe), make_config(255, 0x00000001)}) {
        for (const UdpCase& c : udp_cases()) {
            SCOPED_TRACE(c.name);
            const ws::ProbeTemplate t = udp_template(config, c.slot_port, c.payload);
            Bytes patched(t.bytes(), t.bytes() + t.size()), patched_offload = patched;
            const int rounds = c.payload.size() > 100 ? 300 : 2000;
            for (int i = 0; i < rounds; ++i) {
                ws::ProbeFields f = random_fields(rng);
                if (i % 2) f.destination_port = c.slot_port; // the engine's case: the slot's own port
                const Bytes soft = written(t, f, false);
                const Bytes nic = written(t, f, true);
                ASSERT_EQ(soft, expected_udp(config, f, c.payload, c.dns_id, false)) << "probe " << i;
                ASSERT_EQ(nic, expected_udp(config, f, c.payload, c.dns_id, true)) << "probe " << i;
                ASSERT_NE(get16(soft, 40), 0) << "0 is 'no checksum' in UDP";
                t.patch(patched.data(), f);
                ASSERT_EQ(patched, soft) << "probe " << i;
                t.patch_for_offload(patched_offload.data(), f);
                ASSERT_EQ(patched_offload, nic) << "probe " << i;
            }
        }
    }
}

// The 0 -> 0xffff rule: a datagram whose sum comes out 0 goes out as 0xffff
// (the offload frame still carries the pseudo-header sum).
TEST(UdpProbe, ComputedZeroChecksumIsSentAsAllOnes) {
    const ws::ProbeConfig config = make_config();
    for (const UdpCase& c : udp_cases()) {
        SCOPED_TRACE(c.name);
        const ws::ProbeTemplate t = udp_template(config, c.slot_port, c.payload);
        const ws::ProbeFields f = fields_with_zero_udp_sum(config, c.payload, c.dns_id, c.slot_port);
        const Bytes soft = written(t, f, false);
        EXPECT_EQ(get16(soft, 40), 0xffff);
        EXPECT_EQ(soft, expected_udp(config, f, c.payload, c.dns_id, false));
        EXPECT_EQ(written(t, f, true), expected_udp(config, f, c.payload, c.dns_id, true));
    }
}

// What a NIC does with an offloaded UDP probe: the IPv4 header checksum, and
// ~(sum of the datagram with the pseudo-header sum in the field), 0 sent as
// 0xffff. The result is the software probe.
TEST(UdpProbe, NicCompletedOffloadEqualsSoftwareProbe) {
    std::mt19937_64 rng(99);
    const ws::ProbeConfig config = make_config(33, 0xc6120064);
    for (const UdpCase& c : udp_cases()) {
        SCOPED_TRACE(c.name);
        const ws::ProbeTemplate t = udp_template(config, c.slot_port, c.payload);
        for (int i = 0; i < 300; ++i) {
            const ws::ProbeFields f = random_fields(rng);
            Bytes nic = written(t, f, true);
            ASSERT_EQ(get16(nic, 24), 0);
            set16(nic, 24, internet_checksum(Bytes(nic.begin() + 14, nic.begin() + 34)));
            const std::uint16_t sum = internet_checksum(Bytes(nic.begin() + 34, nic.end()));
            set16(nic, 40, sum == 0 ? 0xffff : sum);
            ASSERT_EQ(nic, written(t, f, false)) << "probe " << i;
        }
    }
}

TEST(EchoProbe, RandomProbesMatchIndependentFrames) {
    std::mt19937_64 rng(0x69636d70);
    for (const ws::ProbeConfig& config : {make_config(), make_config(1, 0xfffffffe), make_config(255, 0x00000001)}) {
        const ws::ProbeTemplate t(config, ws::ProbeSlot{ws::Proto::icmp, 0, 0}, nullptr, 0);
        Bytes patched(t.bytes(), t.bytes() + t.size()), patched_offload = patched;
        for (int i = 0; i < 5000; ++i) {
            ws::ProbeFields f = random_fields(rng);
            if (i % 2) f.destination_port = 0;
            const Bytes soft = written(t, f, false);
            const Bytes nic = written(t, f, true);
            ASSERT_EQ(soft, expected_echo(config, f, false)) << "probe " << i;
            ASSERT_EQ(nic, expected_echo(config, f, true)) << "probe " << i;
            // The ICMP checksum verifies on its own in both.
            ASSERT_EQ(folded_sum(Bytes(soft.begin() + 34, soft.end())), 0xffff);
            ASSERT_EQ(folded_sum(Bytes(nic.begin() + 34, nic.end())), 0xffff);
            t.patch(patched.data(), f);
            ASSERT_EQ(patched, soft) << "probe " << i;
            t.patch_for_offload(patched_offload.data(), f);
            ASSERT_EQ(patched_offload, nic) << "probe " << i;
        }
    }
}

// The extremes of every per-probe word, where carries fold.
TEST(ProbeModules, ExtremeFields) {
    const ws::ProbeConfig config = make_config(255, 0xffffffff);
    const std::uint32_t words32[] = {0, 1, 0xffff, 0x10000, 0xfffeffff, 0xffffffff};
    const std::uint16_t words16[] = {0, 1, 0x7fff, 0x8000, 0xfffe, 0xffff};
    const ws::ProbeTemplate echo(config, ws::ProbeSlot{ws::Proto::icmp, 0, 0}, nullptr, 0);
    for (const UdpCase& c : udp_cases()) {
        SCOPED_TRACE(c.name);
        const ws::ProbeTemplate t = udp_template(config, c.slot_port, c.payload);
        for (std::uint32_t ip : words32)
            for (std::uint32_t seq : words32)
                for (std::uint16_t w : words16) {
                    const ws::ProbeFields f{ip, w, std::uint16_t(~w), seq, w};
                    ASSERT_EQ(written(t, f, false), expected_udp(config, f, c.payload, c.dns_id, false));
                    ASSERT_EQ(written(t, f, true), expected_udp(config, f, c.payload, c.dns_id, true));
                    ASSERT_EQ(written(echo, f, false), expected_echo(config, f, false));
                    ASSERT_EQ(written(echo, f, true), expected_echo(config, f, true));
                }
    }
}

// A payload above max_payload cannot overrun the frame: it is cut to the
// largest datagram, consistently (lengths and checksum over what is sent).
TEST(UdpProbe, OverlongPayloadIsCutToMaxPayload) {
    const Bytes big = random_bytes(ws::ProbeTemplate::max_payload + 100, 4);
    const ws::ProbeTemplate t = udp_template(make_config(), 9, big);
    ASSERT_EQ(t.size(), ws::ProbeTemplate::max_frame_ipv4);
    const Bytes cut(big.begin(), big.begin() + ws::ProbeTemplate::max_payload);
    const ws::ProbeFields f{0xc0000205, 9, 40000, 7, 8};
    EXPECT_EQ(written(t, f, false), expected_udp(make_config(), f, cut, false, false));
}

// ---- tcpdump's opinion of the UDP and ICMP checksums, when it is installed

void put_le(std::FILE* f, std::uint32_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) std::fputc(int((v >> (8 * i)) & 0xff), f);
}

std::string tcpdump(const std::vector<Bytes>& frames) {
    const std::string path = ::testing::TempDir() + "wirespeed_probe_modules.pcap";
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return {};
    put_le(f, 0xa1b2c3d4, 4);
    put_le(f, 2, 2);
    put_le(f, 4, 2);
    put_le(f, 0, 4);
    put_le(f, 0, 4);
    put_le(f, 65535, 4);
    put_le(f, 1, 4);
    for (const Bytes& frame : frames) {
        put_le(f, 1700000000, 4);
        put_le(f, 0, 4);
        put_le(f, std::uint32_t(frame.size()), 4);
        put_le(f, std::uint32_t(frame.size()), 4);
        std::fwrite(frame.data(), 1, frame.size(), f);
    }
    std::fclose(f);
    std::FILE* pipe = popen(("/usr/bin/tcpdump -nn -vv -r '" + path + "' 2>&1").c_str(), "r");
    if (!pipe) return {};
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
    pclose(pipe);
    std::filesystem::remove(path);
    return out;
}

TEST(ProbeModulesTcpdump, UdpAndEchoChecksumsCorrect) {
    if (!std::filesystem::exists("/usr/bin/tcpdump")) GTEST_SKIP() << "/usr/bin/tcpdump not installed";
    std::mt19937_64 rng(5);
    std::vector<Bytes> frames;
    std::vector<std::string> want; // one line fragment per frame, in order
    for (const UdpCase& c : udp_cases()) {
        const ws::ProbeTemplate t = udp_template(make_config(), c.slot_port, c.payload);
        for (int i = 0; i < 4; ++i) {
            ws::ProbeFields f = random_fields(rng);
            f.destination_ip = 0xc0000200 | std::uint32_t(i + 1);
            f.destination_port = c.slot_port;
            frames.push_back(written(t, f, false));
            std::string line = "10.0.0.1." + std::to_string(f.source_port) + " > 192.0.2." + std::to_string(i + 1) +
                               "." + std::to_string(c.slot_port) + ": [udp sum ok] ";
            if (c.dns_id) line += std::to_string(f.sequence & 0xffff); // tcpdump prints the DNS ID first
            want.push_back(line);
        }
    }
    const ws::ProbeTemplate echo(make_config(), ws::ProbeSlot{ws::Proto::icmp, 0, 0}, nullptr, 0);
    for (int i = 0; i < 8; ++i) {
        ws::ProbeFields f = random_fields(rng);
        f.destination_ip = 0xc0000264;
        frames.push_back(written(echo, f, false));
        want.push_back("10.0.0.1 > 192.0.2.100: ICMP echo request, id " + std::to_string(f.sequence >> 16) + ", seq " +
                       std::to_string(f.sequence & 0xffff) + ", length 8");
    }
    const std::string out = tcpdump(frames);
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out.find("bad cksum"), std::string::npos) << out;
    EXPECT_EQ(out.find("bad udp cksum"), std::string::npos) << out;
    EXPECT_EQ(out.find("wrong icmp cksum"), std::string::npos) << out;
    std::size_t pos = 0;
    for (const std::string& w : want) {
        const std::size_t at = out.find(w, pos);
        ASSERT_NE(at, std::string::npos) << w << "\n" << out;
        pos = at + w.size();
    }
}

// ---- ProbeSet

struct PayloadTable {
    std::map<std::pair<std::uint16_t, std::uint16_t>, Bytes> by_slot; // (port, payload index) -> bytes
    ws::ProbeSet::PayloadLookup lookup() const {
        return [this](const ws::ProbeSlot& s) -> std::span<const std::uint8_t> {
            const auto it = by_slot.find({s.port, s.payload});
            if (it == by_slot.end()) return {};
            return {it->second.data(), it->second.size()};
        };
    }
    std::uint32_t count(std::uint16_t port) const {
        std::uint32_t n = 0;
        for (const auto& [key, bytes] : by_slot) n += key.first == port;
        return n;
    }
};

TEST(ProbeSet, TcpSlotsShareOneTemplate) {
    const auto slots = ws::ProbeSlots::tcp(ws::PortSet::from_ports({22, 80, 443, 8080}));
    const PayloadTable none;
    const ws::ProbeSet set(make_config(), slots, none.lookup());
    EXPECT_EQ(set.template_count(), 1u);
    EXPECT_TRUE(set.single_template());
    EXPECT_TRUE(set.single_kind());
    EXPECT_EQ(set.kind(), ws::ProbeKind::tcp_syn);
    EXPECT_TRUE(set.has(ws::ProbeKind::tcp_syn));
    EXPECT_FALSE(set.has(ws::ProbeKind::udp));
    EXPECT_FALSE(set.has(ws::ProbeKind::icmp_echo));
    for (std::uint32_t s = 0; s < slots.count(); ++s) EXPECT_EQ(&set.for_slot(s), &set.first());
    const ws::ProbeTemplate classic(make_config());
    EXPECT_EQ(set.max_frame(), classic.size());
    EXPECT_EQ(Bytes(set.first().bytes(), set.first().bytes() + set.first().size()),
              Bytes(classic.bytes(), classic.bytes() + classic.size()));
}

TEST(ProbeSet, UdpSlotsSharePerDistinctPayload) {
    PayloadTable table;
    const Bytes snmp = {0x30, 0x26, 0x02, 0x01, 0x01};
    table.by_slot[{53, 0}] = dns_status;
    table.by_slot[{53, 1}] = dns_version_bind;
    table.by_slot[{5353, 0}] = dns_status; // same bytes, but no DNS ID off port 53
    table.by_slot[{161, 0}] = snmp;
    table.by_slot[{162, 0}] = snmp; // shares 161's template
    table.by_slot[{1434, 0}] = random_bytes(ws::ProbeTemplate::max_payload, 9);
    // 7 and 9 have no payload: both the empty datagram.
    const auto udp = ws::PortSet::from_ports({7, 9, 53, 161, 162, 1434, 5353});
    const auto slots = ws::ProbeSlots::build(ws::PortSet::from_ports({22, 80}), udp, true,
                                             [&](std::uint16_t port) { return table.count(port); });
    ASSERT_EQ(slots.count(), 2u + 8u + 1u);
    const ws::ProbeSet set(make_config(), slots, table.lookup());
    // tcp, empty, dns_status@53, version_bind@53, dns_status@5353, snmp, big, icmp
    EXPECT_EQ(set.template_count(), 8u);
    EXPECT_FALSE(set.single_template());
    EXPECT_FALSE(set.single_kind());
    EXPECT_TRUE(set.has(ws::ProbeKind::tcp_syn));
    EXPECT_TRUE(set.has(ws::ProbeKind::udp));
    EXPECT_TRUE(set.has(ws::ProbeKind::icmp_echo));
    EXPECT_EQ(set.max_frame(), ws::ProbeTemplate::max_frame_ipv4);

    auto slot_of = [&](ws::Proto proto, std::uint16_t port, std::uint16_t payload) {
        for (std::uint32_t s = 0; s < slots.count(); ++s)
            if (slots.at(s) == ws::ProbeSlot{proto, port, payload}) return s;
        ADD_FAILURE() << "no slot";
        return 0u;
    };
    const auto* tcp22 = &set.for_slot(slot_of(ws::Proto::tcp, 22, 0));
    EXPECT_EQ(tcp22, &set.for_slot(slot_of(ws::Proto::tcp, 80, 0)));
    EXPECT_EQ(&set.for_slot(slot_of(ws::Proto::udp, 7, 0)), &set.for_slot(slot_of(ws::Proto::udp, 9, 0)));
    EXPECT_EQ(&set.for_slot(slot_of(ws::Proto::udp, 161, 0)), &set.for_slot(slot_of(ws::Proto::udp, 162, 0)));
    EXPECT_NE(&set.for_slot(slot_of(ws::Proto::udp, 53, 0)), &set.for_slot(slot_of(ws::Proto::udp, 53, 1)));
    EXPECT_NE(&set.for_slot(slot_of(ws::Proto::udp, 53, 0)), &set.for_slot(slot_of(ws::Proto::udp, 5353, 0)));
    EXPECT_EQ(set.for_slot(slot_of(ws::Proto::icmp, 0, 0)).kind(), ws::ProbeKind::icmp_echo);

    // Every slot's template writes the frame the slot asks for.
    std::mt19937_64 rng(3);
    std::set<const ws::ProbeTemplate*> distinct;
    for (std::uint32_t s = 0; s < slots.count(); ++s) {
        const ws::ProbeSlot& slot = slots.at(s);
        const ws::ProbeTemplate& t = set.for_slot(s);
        distinct.insert(&t);
        ws::ProbeFields f = random_fields(rng);
        f.destination_port = slot.port;
        const Bytes got = written(t, f, false);
        switch (slot.proto) {
        case ws::Proto::tcp: EXPECT_EQ(t.kind(), ws::ProbeKind::tcp_syn); break;
        case ws::Proto::icmp: EXPECT_EQ(got, expected_echo(make_config(), f, false)); break;
        case ws::Proto::udp: {
            const auto it = table.by_slot.find({slot.port, slot.payload});
            const Bytes payload = it == table.by_slot.end() ? Bytes{} : it->second;
            EXPECT_EQ(got, expected_udp(make_config(), f, payload, slot.port == 53 && payload.size() >= 12, false))
                << "slot " << s;
            break;
        }
        }
    }
    EXPECT_EQ(distinct.size(), set.template_count());
}

TEST(ProbeSet, SingleTemplateAndKind) {
    const PayloadTable none;
    // UDP ports that all send the empty datagram: one template.
    {
        const auto slots = ws::ProbeSlots::build(ws::PortSet{}, ws::PortSet::from_ports({7, 9, 19}), false,
                                                 [](std::uint16_t) { return 1u; });
        const ws::ProbeSet set(make_config(), slots, none.lookup());
        EXPECT_TRUE(set.single_template());
        EXPECT_TRUE(set.single_kind());
        EXPECT_EQ(set.kind(), ws::ProbeKind::udp);
        EXPECT_EQ(set.max_frame(), 42u);
    }
    // Two UDP payloads: one kind, two templates.
    {
        PayloadTable table;
        table.by_slot[{9, 0}] = {1, 2, 3};
        const auto slots = ws::ProbeSlots::build(ws::PortSet{}, ws::PortSet::from_ports({7, 9}), false,
                                                 [](std::uint16_t) { return 1u; });
        const ws::ProbeSet set(make_config(), slots, table.lookup());
        EXPECT_FALSE(set.single_template());
        EXPECT_TRUE(set.single_kind());
        EXPECT_EQ(set.kind(), ws::ProbeKind::udp);
        EXPECT_EQ(set.max_frame(), 45u);
    }
    // --ping alone.
    {
        const auto slots = ws::ProbeSlots::build(ws::PortSet{}, ws::PortSet{}, true, [](std::uint16_t) { return 1u; });
        const ws::ProbeSet set(make_config(), slots, none.lookup());
        EXPECT_TRUE(set.single_template());
        EXPECT_TRUE(set.single_kind());
        EXPECT_EQ(set.kind(), ws::ProbeKind::icmp_echo);
        EXPECT_EQ(set.max_frame(), 42u);
    }
    // TCP + ping: two kinds.
    {
        const auto slots = ws::ProbeSlots::build(ws::PortSet::from_ports({80}), ws::PortSet{}, true,
                                                 [](std::uint16_t) { return 1u; });
        const ws::ProbeSet set(make_config(), slots, none.lookup());
        EXPECT_EQ(set.template_count(), 2u);
        EXPECT_FALSE(set.single_template());
        EXPECT_FALSE(set.single_kind());
        EXPECT_EQ(set.max_frame(), 58u); // the SYN with MSS is the larger
    }
    // TCP with the os_like options: max_frame follows the template.
    {
        ws::ProbeConfig config = make_config();
        config.options = ws::TcpOptionsProfile::os_like;
        const auto slots = ws::ProbeSlots::tcp(ws::PortSet::from_ports({80}));
        const ws::ProbeSet set(config, slots, none.lookup());
        EXPECT_EQ(set.max_frame(), 74u);
    }
    // No slots at all: never sent, but first() is a valid template.
    {
        const ws::ProbeSet set(make_config(), ws::ProbeSlots{}, none.lookup());
        EXPECT_EQ(set.template_count(), 1u);
        EXPECT_GT(set.first().size(), 0u);
    }
}

} // namespace
