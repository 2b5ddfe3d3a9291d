#include "wirespeed/probe.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr ws::MacAddress our_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr ws::MacAddress gateway_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0xfe};
constexpr std::uint32_t our_ip = 0x0a000001;    // 10.0.0.1
constexpr std::uint32_t target_ip = 0xc0000205; // 192.0.2.5

std::uint16_t be16(const std::uint8_t* p) { return std::uint16_t((p[0] << 8) | p[1]); }
std::uint32_t be32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// Deliberately naive RFC 1071 checksum over a byte vector, independent of the
// code under test: a correct header sums (checksum field included) to zero.
std::uint16_t reference_checksum(const Bytes& data) {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < data.size(); i += 2) {
        std::uint32_t word = std::uint32_t{data[i]} << 8;
        if (i + 1 < data.size())
            word |= data[i + 1];
        sum += word;
    }
    while (sum > 0xffff)
        sum = (sum & 0xffff) + (sum >> 16);
    return std::uint16_t(~sum & 0xffff);
}

std::uint16_t reference_ip_checksum(const std::uint8_t* ip) {
    const std::size_t ihl = std::size_t(ip[0] & 0x0f) * 4;
    Bytes header(ip, ip + ihl);
    header[10] = header[11] = 0;
    return reference_checksum(header);
}

// TCP (or any pseudo-header protocol) checksum of the segment after `ip`.
std::uint16_t reference_l4_checksum(const std::uint8_t* ip, std::size_t checksum_offset) {
    const std::size_t ihl = std::size_t(ip[0] & 0x0f) * 4;
    const std::size_t l4_len = be16(ip + 2) - ihl;
    Bytes buf(ip + 12, ip + 20); // source and destination
    buf.push_back(0);
    buf.push_back(ip[9]);
    buf.push_back(std::uint8_t(l4_len >> 8));
    buf.push_back(std::uint8_t(l4_len));
    buf.insert(buf.end(), ip + ihl, ip + ihl + l4_len);
    buf[12 + checksum_offset] = buf[12 + checksum_offset + 1] = 0;
    return reference_checksum(buf);
}

ws::ProbeConfig make_config(ws::TcpOptionsProfile profile) {
    ws::ProbeConfig config;
    config.source_mac = our_mac;
    config.destination_mac = gateway_mac;
    config.source_ip = our_ip;
    config.ttl = 64;
    config.window = 1024;
    config.options = profile;
    return config;
}

const ws::ProbeFields sample_fields{target_ip, 80, 40000, 0x12345678, 0x1234};

// Hand-written frames for sample_fields; checksums computed offline.
const Bytes expected_mss_only = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, // Ethernet
    0x45, 0x00, 0x00, 0x2c, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x5c, 0x92,             // IPv4
    0x0a, 0x00, 0x00, 0x01, 0xc0, 0x00, 0x02, 0x05,                                     //
    0x9c, 0x40, 0x00, 0x50, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00, 0x00,             // TCP
    0x60, 0x02, 0x04, 0x00, 0xc2, 0xe3, 0x00, 0x00,                                     //
    0x02, 0x04, 0x05, 0xb4,                                                             // MSS 1460
};

const Bytes expected_os_like = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, // Ethernet
    0x45, 0x00, 0x00, 0x3c, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x5c, 0x82,             // IPv4
    0x0a, 0x00, 0x00, 0x01, 0xc0, 0x00, 0x02, 0x05,                                     //
    0x9c, 0x40, 0x00, 0x50, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00, 0x00,             // TCP
    0xa0, 0x02, 0x04, 0x00, 0x6e, 0xb7, 0x00, 0x00,                                     //
    0x02, 0x04, 0x05, 0xb4,                                                             // MSS 1460
    0x04, 0x02,                                                                         // SACK permitted
    0x08, 0x0a, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00,                         // TS val, ecr 0
    0x01,                                                                               // NOP
    0x03, 0x03, 0x07,                                                                   // wscale 7
};

// Byte positions written per probe: IP id, IP checksum, IP dst, TCP ports, seq, checksum.
bool is_per_probe_byte(std::size_t i) {
    return (i >= 18 && i < 20) || (i >= 24 && i < 26) || (i >= 30 && i < 34) || (i >= 34 && i < 42) ||
           (i >= 50 && i < 52);
}

Bytes template_bytes(const ws::ProbeTemplate& t) { return Bytes(t.bytes(), t.bytes() + t.size()); }

Bytes written(const ws::ProbeTemplate& t, const ws::ProbeFields& fields) {
    Bytes frame(t.size());
    t.write(frame.data(), fields);
    return frame;
}

void expect_template_matches(const Bytes& expected, ws::TcpOptionsProfile profile) {
    const ws::ProbeTemplate t(make_config(profile));
    ASSERT_EQ(t.size(), expected.size());
    EXPECT_LE(t.size(), ws::ProbeTemplate::max_frame);
    EXPECT_EQ(written(t, sample_fields), expected);
    // The unpatched template holds zeros in every per-probe field.
    const Bytes raw = template_bytes(t);
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const std::uint8_t want = is_per_probe_byte(i) ? 0 : expected[i];
        EXPECT_EQ(raw[i], want) << "byte " << i;
    }
}

TEST(ProbeTemplate, MssOnlyEveryByte) { expect_template_matches(expected_mss_only, ws::TcpOptionsProfile::mss_only); }

TEST(ProbeTemplate, OsLikeEveryByte) { expect_template_matches(expected_os_like, ws::TcpOptionsProfile::os_like); }

TEST(ProbeTemplate, ConfigFieldsLand) {
    ws::ProbeConfig config = make_config(ws::TcpOptionsProfile::mss_only);
    config.ttl = 255;
    config.window = 65535;
    config.source_ip = 0xfffffffe;
    const ws::ProbeTemplate t(config);
    const Bytes f = written(t, sample_fields);
    EXPECT_EQ(f[22], 255);
    EXPECT_EQ(be16(&f[48]), 65535);
    EXPECT_EQ(be32(&f[26]), 0xfffffffeu);
    EXPECT_EQ(be16(&f[24]), reference_ip_checksum(&f[14]));
    EXPECT_EQ(be16(&f[50]), reference_l4_checksum(&f[14], 16));
}

class ProbeRandom : public ::testing::TestWithParam<ws::TcpOptionsProfile> {};

TEST_P(ProbeRandom, ChecksumsAndBytesMatchIndependentComputation) {
    ws::ProbeConfig config = make_config(GetParam());
    std::mt19937_64 rng(0x5eed);
    const ws::ProbeTemplate t(config);
    const Bytes reference = template_bytes(t);
    // Odd offset: the data plane may hand us frames at any alignment.
    std::vector<std::uint8_t> storage(t.size() + 1);
    std::uint8_t* frame = storage.data() + 1;
    Bytes patched = reference;
    for (int i = 0; i < 5000; ++i) {
        const ws::ProbeFields fields{std::uint32_t(rng()), std::uint16_t(rng()), std::uint16_t(rng()),
                                     std::uint32_t(rng()), std::uint16_t(rng())};
        t.write(frame, fields);
        const Bytes f(frame, frame + t.size());

        ASSERT_EQ(be16(&f[18]), fields.ip_id);
        ASSERT_EQ(be32(&f[30]), fields.destination_ip);
        ASSERT_EQ(be16(&f[34]), fields.source_port);
        ASSERT_EQ(be16(&f[36]), fields.destination_port);
        ASSERT_EQ(be32(&f[38]), fields.sequence);
        ASSERT_EQ(be16(&f[24]), reference_ip_checksum(&f[14])) << "probe " << i;
        ASSERT_EQ(be16(&f[50]), reference_l4_checksum(&f[14], 16)) << "probe " << i;
        for (std::size_t b = 0; b < f.size(); ++b) {
            if (!is_per_probe_byte(b)) {
                ASSERT_EQ(f[b], reference[b]) << "byte " << b << " probe " << i;
            }
        }

        // patch() over a frame holding an earlier probe must give the same bytes.
        t.patch(patched.data(), fields);
        ASSERT_EQ(patched, f) << "probe " << i;
    }
}

INSTANTIATE_TEST_SUITE_P(ProbeProfiles, ProbeRandom,
                         ::testing::Values(ws::TcpOptionsProfile::mss_only, ws::TcpOptionsProfile::os_like));

TEST(ProbeTemplate, WriteEqualsTemplatePlusPatch) {
    for (auto profile : {ws::TcpOptionsProfile::mss_only, ws::TcpOptionsProfile::os_like}) {
        const ws::ProbeTemplate t(make_config(profile));
        const ws::ProbeFields fields{0x01020304, 65535, 1, 0xffffffff, 0};
        Bytes copied = template_bytes(t);
        t.patch(copied.data(), fields);
        EXPECT_EQ(written(t, fields), copied);
    }
}

TEST(Checksum, Rfc1071Example) {
    // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
    const std::uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(ws::checksum_fold(ws::checksum_partial(data, sizeof data)), 0x220d);
    // Split at an even boundary, the partial sums chain.
    EXPECT_EQ(ws::checksum_fold(ws::checksum_partial(data + 4, 4, ws::checksum_partial(data, 4))), 0x220d);
}

TEST(Checksum, OddLengthPadsWithZero) {
    const std::uint8_t data[] = {0x12, 0x34, 0x56};
    EXPECT_EQ(ws::checksum_partial(data, 3), 0x1234u + 0x5600u);
    EXPECT_EQ(ws::checksum_fold(0), 0xffff);
    EXPECT_EQ(ws::checksum_fold(0xffff), 0);
    EXPECT_EQ(ws::checksum_fold(0x1fffe), 0); // carries fold back in
}

TEST(Checksum, AgreesWithReferenceOnRandomBuffers) {
    std::mt19937 rng(7);
    for (int i = 0; i < 200; ++i) {
        Bytes data(rng() % 300);
        for (auto& b : data)
            b = std::uint8_t(rng());
        EXPECT_EQ(ws::checksum_fold(ws::checksum_partial(data.data(), data.size())), reference_checksum(data));
    }
}

ws::TcpSegment sample_syn_ack() {
    ws::TcpSegment s{};
    s.source_mac = gateway_mac;
    s.destination_mac = our_mac;
    s.source_ip = target_ip;
    s.destination_ip = our_ip;
    s.source_port = 80;
    s.destination_port = 40000;
    s.sequence = 0xdeadbeef;
    s.acknowledgment = 0x12345679;
    s.flags = 0x12;
    s.window = 29200;
    s.ttl = 57;
    s.ip_id = 0x0bcd;
    s.with_mss = true;
    return s;
}

TEST(ProbeBuild, TcpSegmentWithMss) {
    std::uint8_t out[128];
    const std::size_t len = ws::build_tcp_segment(out, sample_syn_ack());
    const Bytes expected = {
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x08, 0x00, // Ethernet
        0x45, 0x00, 0x00, 0x2c, 0x0b, 0xcd, 0x40, 0x00, 0x39, 0x06, 0x69, 0xf9,             // IPv4
        0xc0, 0x00, 0x02, 0x05, 0x0a, 0x00, 0x00, 0x01,                                     //
        0x00, 0x50, 0x9c, 0x40, 0xde, 0xad, 0xbe, 0xef, 0x12, 0x34, 0x56, 0x79,             // TCP
        0x60, 0x12, 0x72, 0x10, 0xb7, 0x24, 0x00, 0x00,                                     //
        0x02, 0x04, 0x05, 0xb4,                                                             // MSS
    };
    EXPECT_EQ(Bytes(out, out + len), expected);
}

TEST(ProbeBuild, TcpSegmentWithoutMss) {
    ws::TcpSegment s = sample_syn_ack();
    s.with_mss = false;
    s.flags = 0x14; // RST+ACK
    s.window = 0;
    std::uint8_t out[128];
    const std::size_t len = ws::build_tcp_segment(out, s);
    ASSERT_EQ(len, 54u); // not padded to 60: the NIC does that
    EXPECT_EQ(be16(out + 16), 40);
    EXPECT_EQ(out[46], 0x50);
    EXPECT_EQ(out[47], 0x14);
    EXPECT_EQ(be16(out + 48), 0);
    EXPECT_EQ(be32(out + 42), 0x12345679u);
    EXPECT_EQ(be16(out + 24), reference_ip_checksum(out + 14));
    EXPECT_EQ(be16(out + 50), reference_l4_checksum(out + 14, 16));
}

TEST(ProbeBuild, IcmpUnreachableQuotesProbe) {
    const ws::ProbeTemplate t(make_config(ws::TcpOptionsProfile::mss_only));
    const Bytes probe = written(t, sample_fields);
    const std::uint32_t router_ip = 0xc6336401; // 198.51.100.1
    std::uint8_t out[128];
    const std::size_t quoted_len = probe.size() - 14;
    const std::size_t len =
        ws::build_icmp_unreachable(out, gateway_mac, our_mac, router_ip, our_ip, 3, probe.data() + 14, quoted_len);
    ASSERT_EQ(len, 14 + 20 + 8 + quoted_len);
    EXPECT_EQ(Bytes(out, out + 6), Bytes(our_mac.begin(), our_mac.end()));
    EXPECT_EQ(Bytes(out + 6, out + 12), Bytes(gateway_mac.begin(), gateway_mac.end()));
    EXPECT_EQ(be16(out + 12), 0x0800);
    EXPECT_EQ(out[14], 0x45);
    EXPECT_EQ(be16(out + 16), 20 + 8 + quoted_len);
    EXPECT_EQ(be16(out + 20) & 0x3fff, 0); // not a fragment
    EXPECT_EQ(out[23], 1);                 // ICMP
    EXPECT_EQ(be32(out + 26), router_ip);
    EXPECT_EQ(be32(out + 30), our_ip);
    EXPECT_EQ(be16(out + 24), reference_ip_checksum(out + 14));
    EXPECT_EQ(out[34], 3); // destination unreachable
    EXPECT_EQ(out[35], 3); // port unreachable
    EXPECT_EQ(be32(out + 38), 0u);
    EXPECT_EQ(Bytes(out + 42, out + len), Bytes(probe.begin() + 14, probe.end()));
    // ICMP has no pseudo header: the checksum covers the ICMP message alone.
    Bytes icmp(out + 34, out + len);
    EXPECT_EQ(reference_checksum(icmp), 0);
}

TEST(ProbeBuild, IcmpUnreachableCapsLongQuotes) {
    Bytes quoted(200, 0xab);
    quoted[0] = 0x45;
    std::uint8_t out[128];
    const std::size_t len =
        ws::build_icmp_unreachable(out, gateway_mac, our_mac, 1, our_ip, 1, quoted.data(), quoted.size());
    EXPECT_LE(len, sizeof out);
    EXPECT_GE(len, 14u + 20 + 8 + 28);
    EXPECT_EQ(be16(out + 16), len - 14);
    Bytes icmp(out + 34, out + len);
    EXPECT_EQ(reference_checksum(icmp), 0);
}

TEST(ArpBuild, RequestIsBroadcast) {
    std::uint8_t out[128];
    const std::size_t len = ws::build_arp(out, false, our_mac, our_ip, ws::MacAddress{}, 0x0a0000fe);
    const Bytes expected = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, // Ethernet
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,                                     // htype ptype hlen plen oper
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x01,                         // sender
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0xfe,                         // target
    };
    EXPECT_EQ(Bytes(out, out + len), expected);
}

TEST(ArpBuild, ReplyIsUnicast) {
    std::uint8_t out[128];
    const std::size_t len = ws::build_arp(out, true, our_mac, our_ip, gateway_mac, 0x0a0000fe);
    const Bytes expected = {
        0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, // Ethernet
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,                                     // htype ptype hlen plen oper
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x01,                         // sender
        0x02, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x0a, 0x00, 0x00, 0xfe,                         // target
    };
    EXPECT_EQ(Bytes(out, out + len), expected);
}

// tcpdump as an outside opinion on the bytes we put on the wire.
void put_le32(std::FILE* f, std::uint32_t v) {
    const std::uint8_t b[4] = {std::uint8_t(v), std::uint8_t(v >> 8), std::uint8_t(v >> 16), std::uint8_t(v >> 24)};
    std::fwrite(b, 1, 4, f);
}
void put_le16(std::FILE* f, std::uint16_t v) {
    const std::uint8_t b[2] = {std::uint8_t(v), std::uint8_t(v >> 8)};
    std::fwrite(b, 1, 2, f);
}

std::string run_tcpdump(const std::vector<Bytes>& frames, const std::string& name) {
    const std::string path = ::testing::TempDir() + name;
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f)
        return {};
    put_le32(f, 0xa1b2c3d4); // microsecond pcap, written little-endian
    put_le16(f, 2);
    put_le16(f, 4);
    put_le32(f, 0);     // thiszone
    put_le32(f, 0);     // sigfigs
    put_le32(f, 65535); // snaplen
    put_le32(f, 1);     // LINKTYPE_ETHERNET
    std::uint32_t second = 1700000000;
    for (const Bytes& frame : frames) {
        put_le32(f, second++);
        put_le32(f, 0);
        put_le32(f, std::uint32_t(frame.size()));
        put_le32(f, std::uint32_t(frame.size()));
        std::fwrite(frame.data(), 1, frame.size(), f);
    }
    std::fclose(f);

    const std::string command = "/usr/bin/tcpdump -nn -v -r '" + path + "' 2>&1";
    std::FILE* pipe = popen(command.c_str(), "r");
    if (!pipe)
        return {};
    std::string output;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0)
        output.append(buf, n);
    pclose(pipe);
    std::filesystem::remove(path);
    return output;
}

std::string format_ip(std::uint32_t ip) {
    return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 0xff) + "." +
           std::to_string((ip >> 8) & 0xff) + "." + std::to_string(ip & 0xff);
}

TEST(ProbeTcpdump, DecodesProbesWithCorrectChecksums) {
    if (!std::filesystem::exists("/usr/bin/tcpdump"))
        GTEST_SKIP() << "/usr/bin/tcpdump not installed";
    for (auto profile : {ws::TcpOptionsProfile::mss_only, ws::TcpOptionsProfile::os_like}) {
        const ws::ProbeTemplate t(make_config(profile));
        std::vector<ws::ProbeFields> probes = {
            sample_fields,
            {0x08080808, 443, 61000, 0xffffffff, 0xffff},
            {0x01000001, 1, 1024, 0, 0},
            {0xdfffffff, 65535, 33333, 0x80000000, 0x8000},
        };
        std::vector<Bytes> frames;
        for (const auto& p : probes)
            frames.push_back(written(t, p));
        const std::string out = run_tcpdump(frames, "wirespeed_probe_test.pcap");
        ASSERT_FALSE(out.empty());
        EXPECT_EQ(out.find("incorrect"), std::string::npos) << out;
        EXPECT_EQ(out.find("bad cksum"), std::string::npos) << out;

        std::size_t pos = 0;
        for (const auto& p : probes) {
            const std::string flow = format_ip(our_ip) + "." + std::to_string(p.source_port) + " > " +
                                     format_ip(p.destination_ip) + "." + std::to_string(p.destination_port) + ":";
            const std::size_t at = out.find(flow, pos);
            ASSERT_NE(at, std::string::npos) << flow << "\n" << out;
            const std::size_t line_start = out.rfind('\n', at) + 1;
            const std::size_t line_end = out.find('\n', at);
            const std::string line = out.substr(line_start, line_end - line_start);
            // The IP line printed just before the TCP line.
            const std::size_t ip_start = out.rfind('\n', line_start - 2) + 1;
            const std::string ip_line = out.substr(ip_start, line_start - ip_start);
            EXPECT_NE(line.find("Flags [S],"), std::string::npos) << line;
            EXPECT_NE(line.find("seq " + std::to_string(p.sequence) + ","), std::string::npos) << line;
            EXPECT_NE(line.find("win 1024"), std::string::npos) << line;
            EXPECT_NE(line.find(" (correct)"), std::string::npos) << line;
            EXPECT_NE(line.find("cksum 0x"), std::string::npos) << line;
            EXPECT_NE(line.find("length 0"), std::string::npos) << line;
            const std::string options = profile == ws::TcpOptionsProfile::mss_only
                                            ? "options [mss 1460]"
                                            : "options [mss 1460,sackOK,TS val 16909060 ecr 0,nop,wscale 7]";
            EXPECT_NE(line.find(options), std::string::npos) << line;
            EXPECT_NE(ip_line.find("ttl 64, id " + std::to_string(p.ip_id) + ", offset 0, flags [DF], proto TCP (6)"),
                      std::string::npos)
                << ip_line;
            pos = line_end;
        }
    }
}

} // namespace

namespace ws {
namespace {

// What a NIC does with an offloaded probe: fill in the IPv4 header checksum
// and finish the TCP checksum over the segment, seeded by the pseudo-header
// sum the driver left in the field. The result must equal the software probe.
TEST(ProbeOffload, NicCompletedChecksumsEqualTheSoftwareProbe) {
    for (auto profile : {TcpOptionsProfile::mss_only, TcpOptionsProfile::os_like}) {
        ProbeConfig config;
        config.source_mac = {2, 0, 0, 0, 0, 1};
        config.destination_mac = {2, 0, 0, 0, 0, 2};
        config.source_ip = 0xc6120064;
        config.options = profile;
        const ProbeTemplate probe(config);
        std::uint32_t state = 12345;
        for (int i = 0; i < 1000; ++i) {
            state = state * 1664525u + 1013904223u;
            const ProbeFields fields{state, std::uint16_t(state >> 7 | 1), std::uint16_t(40000 + (state >> 20)),
                                     state * 2654435761u, std::uint16_t(state >> 3)};
            std::uint8_t software[ProbeTemplate::max_frame], offload[ProbeTemplate::max_frame];
            probe.write(software, fields);
            probe.write_for_offload(offload, fields);
            EXPECT_EQ(offload[24], 0);
            EXPECT_EQ(offload[25], 0);
            // NIC: IPv4 header checksum.
            const std::uint16_t ip_sum = checksum_fold(checksum_partial(offload + 14, 20));
            offload[24] = std::uint8_t(ip_sum >> 8);
            offload[25] = std::uint8_t(ip_sum);
            // NIC: TCP checksum = ~(segment sum, with the field holding the pseudo-header sum).
            const std::uint16_t tcp_sum = checksum_fold(checksum_partial(offload + 34, probe.size() - 34));
            offload[50] = std::uint8_t(tcp_sum >> 8);
            offload[51] = std::uint8_t(tcp_sum);
            ASSERT_EQ(std::memcmp(software, offload, probe.size()), 0) << "probe " << i;
        }
    }
}

} // namespace
} // namespace ws
