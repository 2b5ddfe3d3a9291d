// The reflector's pure side: verdicts per protocol, seeded drops, the ground
// truth's spelling, the generic probe parse, and each module's answer parsed
// back by the scanner's own reply parser (a probe crafted like the TX lcores
// craft it -> parse_probe -> reflect -> parse_reply).
#include "wirespeed/reflect.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "wirespeed/error.hpp"
#include "wirespeed/probe.hpp"
#include "wirespeed/probes/modules.hpp"
#include "wirespeed/reply.hpp"
#include "wirespeed/sources.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr ws::MacAddress scanner_mac{0x02, 0, 0, 0, 0, 0x01};
constexpr ws::MacAddress reflector_mac{0x02, 0, 0, 0, 0, 0x42};
constexpr std::uint32_t our_ip = 0xc6120064;    // 198.18.0.100
constexpr std::uint32_t target_ip = 0xc6130005; // 198.19.0.5

ws::ReflectRules rules_for(const char* hosts) {
    ws::ReflectRules rules;
    rules.hosts = ws::parse_targets(hosts);
    rules.open_everywhere = ws::parse_protocol_ports("22,80,U:53");
    rules.open_permille = 100;
    rules.filtered_permille = 100;
    rules.seed = 7;
    return rules;
}

TEST(ReflectRules, OpenEverywhereIsPerProtocol) {
    const ws::ReflectRules rules = rules_for("198.19.0.0/24");
    unsigned udp_22_open = 0, tcp_53_open = 0;
    for (std::uint32_t a = 0xc6130000; a < 0xc6130100; ++a) {
        EXPECT_EQ(rules.verdict(a, ws::Proto::tcp, 22), ws::Verdict::open);
        EXPECT_EQ(rules.verdict(a, ws::Proto::tcp, 80), ws::Verdict::open);
        EXPECT_EQ(rules.verdict(a, ws::Proto::udp, 53), ws::Verdict::open);
        udp_22_open += rules.verdict(a, ws::Proto::udp, 22) == ws::Verdict::open;
        tcp_53_open += rules.verdict(a, ws::Proto::tcp, 53) == ws::Verdict::open;
    }
    EXPECT_LT(udp_22_open, 256u); // only the seeded share
    EXPECT_LT(tcp_53_open, 256u);
}

TEST(ReflectRules, TcpAndUdpDrawsAreIndependentAndSeeded) {
    ws::ReflectRules rules = rules_for("198.19.0.0/16");
    unsigned same = 0, total = 0, open = 0, filtered = 0;
    for (std::uint32_t a = 0xc6130000; a < 0xc6130000 + 2000; ++a)
        for (std::uint16_t port = 1000; port < 1010; ++port) {
            const ws::Verdict tcp = rules.verdict(a, ws::Proto::tcp, port);
            const ws::Verdict udp = rules.verdict(a, ws::Proto::udp, port);
            same += tcp == udp;
            open += udp == ws::Verdict::open;
            filtered += udp == ws::Verdict::filtered;
            ++total;
        }
    // Independent 10% / 10% / 80% draws agree 0.01 + 0.01 + 0.64 of the time, not always.
    EXPECT_NEAR(double(same) / total, 0.66, 0.03);
    EXPECT_NEAR(double(open) / total, 0.10, 0.02);
    EXPECT_NEAR(double(filtered) / total, 0.10, 0.02);
    const ws::ReflectRules copy = rules;
    rules.seed = 8;
    unsigned changed = 0;
    for (std::uint32_t a = 0xc6130000; a < 0xc6130000 + 1000; ++a)
        changed += rules.verdict(a, ws::Proto::udp, 1000) != copy.verdict(a, ws::Proto::udp, 1000);
    EXPECT_GT(changed, 100u);
}

TEST(ReflectRules, PingIsUpOrFilteredNeverClosed) {
    const ws::ReflectRules rules = rules_for("198.19.0.0/16");
    unsigned filtered = 0;
    for (std::uint32_t a = 0xc6130000; a < 0xc6130000 + 10000; ++a) {
        const ws::Verdict v = rules.verdict(a, ws::Proto::icmp, 0);
        EXPECT_NE(v, ws::Verdict::closed);
        filtered += v == ws::Verdict::filtered;
    }
    EXPECT_NEAR(filtered / 10000.0, 0.10, 0.02);
}

TEST(ReflectRules, DropsASeededShareOfProbes) {
    ws::ReflectRules rules = rules_for("198.19.0.0/24");
    for (std::uint64_t n = 0; n < 10000; ++n) EXPECT_FALSE(rules.drops(n));
    rules.drop_permille = 20;
    unsigned dropped = 0;
    for (std::uint64_t n = 0; n < 100000; ++n) dropped += rules.drops(n);
    EXPECT_NEAR(dropped / 100000.0, 0.02, 0.003);
    rules.drop_permille = 1000;
    for (std::uint64_t n = 0; n < 1000; ++n) EXPECT_TRUE(rules.drops(n));
}

std::string truth_text(const ws::ReflectRules& rules, const char* ports, bool ping) {
    char* text = nullptr;
    std::size_t size = 0;
    std::FILE* f = open_memstream(&text, &size);
    ws::write_ground_truth(rules, ports ? ws::parse_protocol_ports(ports) : ws::ProtocolPorts{}, ping, f);
    std::fclose(f);
    std::string out(text, size);
    std::free(text);
    return out;
}

TEST(ReflectTruth, ProtocolQualifiedAddressByAddress) {
    ws::ReflectRules rules;
    rules.hosts = ws::parse_targets("198.19.0.1-198.19.0.2");
    rules.open_everywhere = ws::parse_protocol_ports("22,U:53");
    EXPECT_EQ(truth_text(rules, "22,23,U:53,54", true),
              "tcp:198.19.0.1:22\nudp:198.19.0.1:53\nicmp:198.19.0.1:0\n"
              "tcp:198.19.0.2:22\nudp:198.19.0.2:53\nicmp:198.19.0.2:0\n");
    EXPECT_EQ(truth_text(rules, "22", false), "tcp:198.19.0.1:22\ntcp:198.19.0.2:22\n");
    EXPECT_EQ(truth_text(rules, nullptr, true), "icmp:198.19.0.1:0\nicmp:198.19.0.2:0\n");
    rules.filtered_permille = 1000; // every host's ping filtered: not up
    EXPECT_EQ(truth_text(rules, "U:53", true), "udp:198.19.0.1:53\nudp:198.19.0.2:53\n");
}

// ---- probes crafted as the scanner crafts them, answered, parsed back

class ReflectRoundTrip : public ::testing::Test {
protected:
    ws::CookieMaker cookies{ws::CookieKey{0x1111, 0x2222}, ws::PortRange{40000, 60999}};
    ws::ReplyContext context{our_ip, &cookies};

    Bytes probe(ws::ProbeSlot slot, const Bytes& payload = {}) const {
        ws::ProbeConfig config;
        config.source_mac = scanner_mac;
        config.destination_mac = reflector_mac;
        config.source_ip = our_ip;
        const ws::ProbeTemplate t(config, slot, payload.data(), payload.size());
        const ws::Cookie c = cookies.make(target_ip, slot.port, our_ip, slot.proto);
        Bytes frame(t.size());
        t.write(frame.data(), ws::ProbeFields{target_ip, slot.port, c.source_port, c.isn, c.ip_id});
        return frame;
    }

    static Bytes answer(const ws::ReflectRequest& request, ws::Verdict verdict, bool bad_cookie = false) {
        Bytes out(2048);
        out.resize(ws::reflect_answer(request, verdict, ws::Responder{reflector_mac, bad_cookie}, out.data(), out.size()));
        return out;
    }

    ws::ParsedReply parse(const Bytes& frame) const { return ws::parse_reply(frame.data(), frame.size(), context); }
};

TEST_F(ReflectRoundTrip, ParsesEachModulesProbe) {
    const Bytes syn = probe({ws::Proto::tcp, 443, 0});
    ws::ReflectRequest r;
    ASSERT_TRUE(ws::parse_probe(syn.data(), syn.size(), r));
    const ws::Cookie c = cookies.make(target_ip, 443, our_ip, ws::Proto::tcp);
    EXPECT_EQ(r.proto, ws::Proto::tcp);
    EXPECT_EQ(r.source_mac, scanner_mac);
    EXPECT_EQ(r.source_ip, our_ip);
    EXPECT_EQ(r.destination_ip, target_ip);
    EXPECT_EQ(r.source_port, c.source_port);
    EXPECT_EQ(r.destination_port, 443);
    EXPECT_EQ(r.sequence, c.isn);
    EXPECT_EQ(r.ip_length, syn.size() - 14);
    EXPECT_EQ(r.payload_len, 0u);

    const Bytes dns_query = {0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 1};
    const Bytes udp = probe({ws::Proto::udp, 53, 0}, dns_query);
    ASSERT_TRUE(ws::parse_probe(udp.data(), udp.size(), r));
    EXPECT_EQ(r.proto, ws::Proto::udp);
    EXPECT_EQ(r.destination_port, 53);
    ASSERT_EQ(r.payload_len, dns_query.size());
    EXPECT_EQ(r.payload, udp.data() + 14 + 20 + 8);

    const Bytes echo = probe({ws::Proto::icmp, 0, 0});
    ASSERT_TRUE(ws::parse_probe(echo.data(), echo.size(), r));
    const ws::Cookie e = cookies.make(target_ip, 0, our_ip, ws::Proto::icmp);
    EXPECT_EQ(r.proto, ws::Proto::icmp);
    EXPECT_EQ(r.sequence, e.isn);
    EXPECT_EQ(r.destination_port, 0);
    EXPECT_EQ(r.payload_len, 0u);
}

TEST_F(ReflectRoundTrip, RefusesWhatIsNotAProbeAndNeverReadsPastTheFrame) {
    const std::vector<Bytes> probes = {probe({ws::Proto::tcp, 80, 0}), probe({ws::Proto::udp, 161, 0}, Bytes(40, 0x30)),
                                       probe({ws::Proto::icmp, 0, 0})};
    for (const Bytes& frame : probes)
        for (std::size_t len = 0; len < frame.size(); ++len) {
            Bytes cut(frame.begin(), frame.begin() + long(len)); // exactly len bytes: ASan sees any over-read
            ws::ReflectRequest r;
            EXPECT_FALSE(ws::parse_probe(cut.data(), cut.size(), r)) << len;
        }
    ws::ReflectRequest r;
    Bytes rst = probes[0];
    rst[14 + 20 + 13] = 0x14; // RST+ACK, as --send-reset sends
    EXPECT_FALSE(ws::parse_probe(rst.data(), rst.size(), r));
    Bytes echo_reply = probes[2];
    echo_reply[14 + 20] = 0;
    EXPECT_FALSE(ws::parse_probe(echo_reply.data(), echo_reply.size(), r));
    Bytes fragment = probes[1];
    fragment[14 + 6] = 0x20; // more fragments
    EXPECT_FALSE(ws::parse_probe(fragment.data(), fragment.size(), r));
    Bytes udp_too_long = probes[1];
    udp_too_long[14 + 20 + 5] += 1; // UDP length past the IP packet
    EXPECT_FALSE(ws::parse_probe(udp_too_long.data(), udp_too_long.size(), r));
    Bytes sctp = probes[0];
    sctp[14 + 9] = 132;
    EXPECT_FALSE(ws::parse_probe(sctp.data(), sctp.size(), r));
}

struct Expect {
    ws::ProbeSlot slot;
    ws::Verdict verdict;
    ws::PortState state;
    ws::Reason reason;
};

TEST_F(ReflectRoundTrip, EveryAnswerParsesBackAsTheVerdict) {
    const Expect cases[] = {
        {{ws::Proto::tcp, 80, 0}, ws::Verdict::open, ws::PortState::open, ws::Reason::syn_ack},
        {{ws::Proto::tcp, 80, 0}, ws::Verdict::closed, ws::PortState::closed, ws::Reason::reset},
        {{ws::Proto::tcp, 80, 0}, ws::Verdict::filtered, ws::PortState::filtered, ws::Reason::port_unreach},
        {{ws::Proto::udp, 53, 0}, ws::Verdict::open, ws::PortState::open, ws::Reason::udp_response},
        {{ws::Proto::udp, 161, 0}, ws::Verdict::open, ws::PortState::open, ws::Reason::udp_response},
        {{ws::Proto::udp, 161, 0}, ws::Verdict::closed, ws::PortState::closed, ws::Reason::port_unreach},
        {{ws::Proto::udp, 161, 0}, ws::Verdict::filtered, ws::PortState::filtered, ws::Reason::admin_prohibited},
        {{ws::Proto::icmp, 0, 0}, ws::Verdict::open, ws::PortState::up, ws::Reason::echo_reply},
        {{ws::Proto::icmp, 0, 0}, ws::Verdict::filtered, ws::PortState::filtered, ws::Reason::host_unreach},
    };
    const Bytes dns_query = {0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0, 0, 16, 0, 3};
    for (const Expect& e : cases) {
        SCOPED_TRACE(std::string(ws::to_string(e.slot.proto)) + " " + std::to_string(e.slot.port) + " verdict " +
                     std::to_string(int(e.verdict)));
        const Bytes payload = e.slot.proto != ws::Proto::udp ? Bytes{} : e.slot.port == 53 ? dns_query : Bytes(60, 0x30);
        const Bytes frame = probe(e.slot, payload);
        ws::ReflectRequest request;
        ASSERT_TRUE(ws::parse_probe(frame.data(), frame.size(), request));
        const Bytes reply = answer(request, e.verdict);
        ASSERT_GT(reply.size(), 0u);
        const ws::ParsedReply parsed = parse(reply);
        ASSERT_EQ(parsed.kind, ws::ReplyKind::result) << ws::to_string(parsed.reject);
        EXPECT_EQ(parsed.record.ipv4(), target_ip);
        EXPECT_EQ(parsed.record.proto, e.slot.proto);
        EXPECT_EQ(parsed.record.port, e.slot.port);
        EXPECT_EQ(parsed.record.state, e.state);
        EXPECT_EQ(parsed.record.reason, e.reason);
        if (e.state == ws::PortState::open && e.slot.proto == ws::Proto::udp) {
            // The payload echoed, the DNS ID (the cookie's) included.
            ASSERT_EQ(parsed.data_len, payload.size());
            EXPECT_EQ(Bytes(parsed.data, parsed.data + parsed.data_len), Bytes(frame.begin() + 42, frame.end()));
        }
        // The same answer with its cookie broken is never a result.
        const ws::ParsedReply forged = parse(answer(request, e.verdict, true));
        ASSERT_EQ(forged.kind, ws::ReplyKind::rejected);
        EXPECT_EQ(forged.reject, ws::RejectReason::bad_cookie);
    }
}

TEST_F(ReflectRoundTrip, PingClosedIsSilence) {
    const Bytes frame = probe({ws::Proto::icmp, 0, 0});
    ws::ReflectRequest request;
    ASSERT_TRUE(ws::parse_probe(frame.data(), frame.size(), request));
    EXPECT_EQ(answer(request, ws::Verdict::closed).size(), 0u);
}

TEST_F(ReflectRoundTrip, ForgeriesClaimOpenAndAreRejectedForTheirReason) {
    const struct {
        ws::ProbeSlot slot;
        ws::RejectReason l4;
    } cases[] = {{{ws::Proto::tcp, 80, 0}, ws::RejectReason::bad_tcp_checksum},
                 {{ws::Proto::udp, 161, 0}, ws::RejectReason::bad_udp_checksum},
                 {{ws::Proto::icmp, 0, 0}, ws::RejectReason::bad_icmp_checksum}};
    ws::ReflectRules rules;
    rules.forge_bad_cookies = rules.forge_bad_checksums = true;
    ws::Forgery plan[4];
    ASSERT_EQ(ws::answer_plan(rules, plan), 4u);
    EXPECT_EQ(plan[3], ws::Forgery::none); // the real answer last
    for (const auto& c : cases) {
        const Bytes frame = probe(c.slot, c.slot.proto == ws::Proto::udp ? Bytes{1, 2, 3} : Bytes{});
        ws::ReflectRequest request;
        ASSERT_TRUE(ws::parse_probe(frame.data(), frame.size(), request));
        for (ws::Verdict verdict : {ws::Verdict::closed, ws::Verdict::filtered}) {
            auto forged = [&](ws::Forgery f) {
                Bytes out(256);
                out.resize(ws::reflect_forged(request, verdict, f, reflector_mac, out.data(), out.size()));
                return parse(out);
            };
            EXPECT_EQ(forged(ws::Forgery::bad_cookie).reject, ws::RejectReason::bad_cookie);
            EXPECT_EQ(forged(ws::Forgery::bad_l4_checksum).reject, c.l4);
            EXPECT_EQ(forged(ws::Forgery::bad_ip_checksum).reject, ws::RejectReason::bad_ip_checksum);
            const ws::ParsedReply real = forged(ws::Forgery::none);
            if (real.kind == ws::ReplyKind::result) {
                EXPECT_NE(real.record.state, ws::PortState::open);
            }
        }
    }
}

TEST_F(ReflectRoundTrip, AnswersFitExactlyTheirLengthAndNeverExceedTheirCapacity) {
    const Bytes frames[] = {probe({ws::Proto::tcp, 80, 0}), probe({ws::Proto::udp, 161, 0}, Bytes(1400, 0x30)),
                            probe({ws::Proto::udp, 123, 0}), probe({ws::Proto::icmp, 0, 0})};
    for (const Bytes& frame : frames) {
        ws::ReflectRequest request;
        ASSERT_TRUE(ws::parse_probe(frame.data(), frame.size(), request));
        for (ws::Verdict verdict : {ws::Verdict::open, ws::Verdict::closed, ws::Verdict::filtered}) {
            SCOPED_TRACE(std::string(ws::to_string(request.proto)) + " verdict " + std::to_string(int(verdict)));
            Bytes big(2048);
            const std::size_t need = ws::reflect_answer(request, verdict, {reflector_mac, false}, big.data(), big.size());
            if (need == 0) {
                EXPECT_TRUE(request.proto == ws::Proto::icmp && verdict == ws::Verdict::closed);
                continue;
            }
            for (std::size_t capacity : {std::size_t{0}, std::size_t{14}, need - 1}) {
                Bytes out(capacity); // exactly capacity bytes: ASan sees any overflow
                EXPECT_EQ(ws::reflect_answer(request, verdict, {reflector_mac, false}, out.data(), out.size()), 0u);
            }
            Bytes exact(need);
            EXPECT_EQ(ws::reflect_answer(request, verdict, {reflector_mac, false}, exact.data(), exact.size()), need);
            EXPECT_EQ(exact, Bytes(big.begin(), big.begin() + long(need)));
        }
    }
}

// ---- IPv6: the same round trips, the probe sent from the second of two sources

const ws::uint128 our_ip6 = *ws::parse_ipv6("2001:db8::64");
const ws::uint128 other_ip6 = *ws::parse_ipv6("2001:db8::1");
const ws::uint128 target_ip6 = *ws::parse_ipv6("2001:db8:13::5");

class ReflectRoundTrip6 : public ReflectRoundTrip {
protected:
    ws::SourceAddresses sources;

    void SetUp() override {
        sources.add(ws::IpAddress::from_ipv6(other_ip6));
        sources.add(ws::IpAddress::from_ipv6(our_ip6));
        sources.add(ws::IpAddress::from_ipv4(our_ip));
        context.sources = &sources;
    }

    Bytes probe6(ws::ProbeSlot slot, const Bytes& payload = {}) const {
        ws::ProbeConfig config;
        config.source_mac = scanner_mac;
        config.destination_mac = reflector_mac;
        config.source_ip6 = our_ip6;
        const ws::ProbeTemplate t(config, slot, payload.data(), payload.size(), ws::AddressFamily::ipv6);
        const ws::Cookie c = cookies.make(ws::IpAddress::from_ipv6(target_ip6), slot.port,
                                          ws::IpAddress::from_ipv6(our_ip6), slot.proto);
        Bytes frame(t.size());
        t.write6(frame.data(), ws::ProbeFields6{target_ip6, slot.port, c.source_port, c.isn, c.ip_id});
        return frame;
    }
};

TEST_F(ReflectRoundTrip6, ParsesEachModulesProbe) {
    const Bytes syn = probe6({ws::Proto::tcp, 443, 0});
    ws::ReflectRequest r;
    ASSERT_TRUE(ws::parse_probe(syn.data(), syn.size(), r));
    EXPECT_EQ(r.family, ws::AddressFamily::ipv6);
    EXPECT_EQ(r.proto, ws::Proto::tcp);
    EXPECT_TRUE(r.source == ws::IpAddress::from_ipv6(our_ip6));
    EXPECT_TRUE(r.destination == ws::IpAddress::from_ipv6(target_ip6));
    EXPECT_EQ(r.source_ip, 0u); // the IPv4-only fields stay 0
    EXPECT_EQ(r.destination_port, 443);
    EXPECT_EQ(r.ip_length, syn.size() - 14);

    const Bytes udp = probe6({ws::Proto::udp, 161, 0}, Bytes(30, 0x30));
    ASSERT_TRUE(ws::parse_probe(udp.data(), udp.size(), r));
    EXPECT_EQ(r.proto, ws::Proto::udp);
    EXPECT_EQ(r.payload_len, 30u);
    EXPECT_EQ(r.payload, udp.data() + 14 + 40 + 8);

    const Bytes echo = probe6({ws::Proto::icmp, 0, 0});
    ASSERT_TRUE(ws::parse_probe(echo.data(), echo.size(), r));
    EXPECT_EQ(r.proto, ws::Proto::icmp);

    // Every cut refused; an ICMPv4 echo type inside ICMPv6 is not a probe.
    for (const Bytes& frame : {syn, udp, echo})
        for (std::size_t len = 0; len < frame.size(); ++len) {
            const Bytes cut(frame.begin(), frame.begin() + long(len));
            EXPECT_FALSE(ws::parse_probe(cut.data(), cut.size(), r)) << len;
        }
    Bytes v4_type = echo;
    v4_type[54] = 8;
    EXPECT_FALSE(ws::parse_probe(v4_type.data(), v4_type.size(), r));
}

TEST_F(ReflectRoundTrip6, EveryAnswerParsesBackAsTheVerdict) {
    const Expect cases[] = {
        {{ws::Proto::tcp, 80, 0}, ws::Verdict::open, ws::PortState::open, ws::Reason::syn_ack},
        {{ws::Proto::tcp, 80, 0}, ws::Verdict::closed, ws::PortState::closed, ws::Reason::reset},
        {{ws::Proto::tcp, 80, 0}, ws::Verdict::filtered, ws::PortState::filtered, ws::Reason::port_unreach},
        {{ws::Proto::udp, 53, 0}, ws::Verdict::open, ws::PortState::open, ws::Reason::udp_response},
        {{ws::Proto::udp, 161, 0}, ws::Verdict::open, ws::PortState::open, ws::Reason::udp_response},
        {{ws::Proto::udp, 161, 0}, ws::Verdict::closed, ws::PortState::closed, ws::Reason::port_unreach},
        {{ws::Proto::udp, 161, 0}, ws::Verdict::filtered, ws::PortState::filtered, ws::Reason::admin_prohibited},
        {{ws::Proto::icmp, 0, 0}, ws::Verdict::open, ws::PortState::up, ws::Reason::echo_reply},
        {{ws::Proto::icmp, 0, 0}, ws::Verdict::filtered, ws::PortState::filtered, ws::Reason::host_unreach},
    };
    const Bytes dns_query = {0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0, 0, 16, 0, 3};
    for (const Expect& e : cases) {
        SCOPED_TRACE(std::string(ws::to_string(e.slot.proto)) + " " + std::to_string(e.slot.port) + " verdict " +
                     std::to_string(int(e.verdict)));
        const Bytes payload = e.slot.proto != ws::Proto::udp ? Bytes{} : e.slot.port == 53 ? dns_query : Bytes(60, 0x30);
        const Bytes frame = probe6(e.slot, payload);
        ws::ReflectRequest request;
        ASSERT_TRUE(ws::parse_probe(frame.data(), frame.size(), request));
        const Bytes reply = answer(request, e.verdict);
        ASSERT_GT(reply.size(), 0u);
        const ws::ParsedReply parsed = parse(reply);
        ASSERT_EQ(parsed.kind, ws::ReplyKind::result) << ws::to_string(parsed.reject);
        EXPECT_EQ(parsed.record.family, ws::AddressFamily::ipv6);
        EXPECT_TRUE(parsed.record.address() == ws::IpAddress::from_ipv6(target_ip6));
        EXPECT_TRUE(parsed.local_address == ws::IpAddress::from_ipv6(our_ip6));
        EXPECT_EQ(parsed.record.proto, e.slot.proto);
        EXPECT_EQ(parsed.record.port, e.slot.port);
        EXPECT_EQ(parsed.record.state, e.state);
        EXPECT_EQ(parsed.record.reason, e.reason);
        if (e.state == ws::PortState::open && e.slot.proto == ws::Proto::udp) {
            ASSERT_EQ(parsed.data_len, payload.size());
            EXPECT_EQ(Bytes(parsed.data, parsed.data + parsed.data_len), Bytes(frame.begin() + 62, frame.end()));
        }
        const ws::ParsedReply forged = parse(answer(request, e.verdict, true));
        ASSERT_EQ(forged.kind, ws::ReplyKind::rejected);
        EXPECT_EQ(forged.reject, ws::RejectReason::bad_cookie);
    }
    ws::ReflectRequest request;
    const Bytes echo = probe6({ws::Proto::icmp, 0, 0});
    ASSERT_TRUE(ws::parse_probe(echo.data(), echo.size(), request));
    EXPECT_EQ(answer(request, ws::Verdict::closed).size(), 0u); // ping's closed is silence
}

TEST_F(ReflectRoundTrip6, ForgeriesAreRejectedAndThereIsNoHeaderChecksumToSpoil) {
    const struct {
        ws::ProbeSlot slot;
        ws::RejectReason l4;
    } cases[] = {{{ws::Proto::tcp, 80, 0}, ws::RejectReason::bad_tcp_checksum},
                 {{ws::Proto::udp, 161, 0}, ws::RejectReason::bad_udp_checksum},
                 {{ws::Proto::icmp, 0, 0}, ws::RejectReason::bad_icmp_checksum}};
    for (const auto& c : cases) {
        const Bytes frame = probe6(c.slot, c.slot.proto == ws::Proto::udp ? Bytes{1, 2, 3} : Bytes{});
        ws::ReflectRequest request;
        ASSERT_TRUE(ws::parse_probe(frame.data(), frame.size(), request));
        auto forged = [&](ws::Forgery f) {
            Bytes out(256);
            out.resize(ws::reflect_forged(request, ws::Verdict::closed, f, reflector_mac, out.data(), out.size()));
            return out;
        };
        EXPECT_EQ(parse(forged(ws::Forgery::bad_cookie)).reject, ws::RejectReason::bad_cookie);
        EXPECT_EQ(parse(forged(ws::Forgery::bad_l4_checksum)).reject, c.l4);
        EXPECT_EQ(forged(ws::Forgery::bad_ip_checksum).size(), 0u);
    }
}

TEST_F(ReflectRoundTrip6, AnswersNeverExceedTheirCapacity) {
    for (const Bytes& frame : {probe6({ws::Proto::tcp, 80, 0}), probe6({ws::Proto::udp, 161, 0}, Bytes(1400, 0x30)),
                               probe6({ws::Proto::icmp, 0, 0})}) {
        ws::ReflectRequest request;
        ASSERT_TRUE(ws::parse_probe(frame.data(), frame.size(), request));
        for (ws::Verdict verdict : {ws::Verdict::open, ws::Verdict::closed, ws::Verdict::filtered}) {
            Bytes big(2048);
            const std::size_t need = ws::reflect_answer(request, verdict, {reflector_mac, false}, big.data(), big.size());
            if (need == 0) continue;
            Bytes short_by_one(need - 1);
            EXPECT_EQ(ws::reflect_answer(request, verdict, {reflector_mac, false}, short_by_one.data(),
                                         short_by_one.size()),
                      0u);
            Bytes exact(need);
            EXPECT_EQ(ws::reflect_answer(request, verdict, {reflector_mac, false}, exact.data(), exact.size()), need);
        }
    }
}

TEST(ReflectRules6, VerdictsOfBothFamilies) {
    ws::ReflectRules rules = rules_for("198.19.0.0/24");
    for (std::uint32_t a = 0xc6130000; a < 0xc6130100; ++a)
        for (ws::Proto proto : {ws::Proto::tcp, ws::Proto::udp, ws::Proto::icmp})
            for (std::uint16_t port : {0, 22, 1000, 1001})
                ASSERT_EQ(rules.verdict(ws::IpAddress::from_ipv4(a), proto, port), rules.verdict(a, proto, port));
    unsigned open = 0, filtered = 0;
    const ws::uint128 base = *ws::parse_ipv6("2001:db8:13::");
    for (ws::uint128 a = base; a < base + 2000; ++a) {
        EXPECT_EQ(rules.verdict(ws::IpAddress::from_ipv6(a), ws::Proto::tcp, 22), ws::Verdict::open);
        const ws::Verdict v = rules.verdict(ws::IpAddress::from_ipv6(a), ws::Proto::tcp, 1000);
        open += v == ws::Verdict::open;
        filtered += v == ws::Verdict::filtered;
    }
    EXPECT_GT(open, 120u); // ~10% each
    EXPECT_LT(open, 280u);
    EXPECT_GT(filtered, 120u);
    EXPECT_LT(filtered, 280u);

    rules.hosts6.push_back({base, base + 15});
    EXPECT_TRUE(rules.answers_for(ws::IpAddress::from_ipv6(base + 15)));
    EXPECT_FALSE(rules.answers_for(ws::IpAddress::from_ipv6(base + 16)));
    EXPECT_TRUE(rules.answers_for(ws::IpAddress::from_ipv4(0xc6130005)));
    EXPECT_FALSE(rules.answers_for(ws::IpAddress::from_ipv4(0xc6140005)));
}

// --hosts of both families (parse_targets' text) splits into hosts and hosts6.
TEST(ReflectRules6, SetHostsTakesBothFamilies) {
    ws::ReflectRules rules;
    rules.set_hosts(ws::parse_targets("198.19.0.0/30,2001:db8:1::/126,2001:db8:2::7"));
    EXPECT_EQ(rules.hosts.count(), 4u);
    EXPECT_FALSE(rules.hosts.has_ipv6());
    ASSERT_EQ(rules.hosts6.size(), 2u);
    EXPECT_TRUE(rules.answers_for(ws::IpAddress::from_ipv4(0xc6130003)));
    EXPECT_FALSE(rules.answers_for(ws::IpAddress::from_ipv4(0xc6130004)));
    EXPECT_TRUE(rules.answers_for(ws::IpAddress::from_ipv6(*ws::parse_ipv6("2001:db8:1::3"))));
    EXPECT_FALSE(rules.answers_for(ws::IpAddress::from_ipv6(*ws::parse_ipv6("2001:db8:1::4"))));
    EXPECT_TRUE(rules.answers_for(ws::IpAddress::from_ipv6(*ws::parse_ipv6("2001:db8:2::7"))));
    EXPECT_FALSE(rules.answers_for(ws::IpAddress::from_ipv6(*ws::parse_ipv6("2001:db8:2::8"))));
}

TEST(ReflectRules6, GroundTruthListsIpv6Hosts) {
    ws::ReflectRules rules;
    rules.open_everywhere = ws::parse_protocol_ports("22");
    rules.hosts6.push_back({*ws::parse_ipv6("2001:db8::1"), *ws::parse_ipv6("2001:db8::2")});
    std::FILE* out = std::tmpfile();
    ASSERT_NE(out, nullptr);
    EXPECT_EQ(ws::write_ground_truth(rules, ws::parse_protocol_ports("22"), true, out), 4u);
    std::rewind(out);
    char buf[256] = {};
    const std::size_t n = std::fread(buf, 1, sizeof buf - 1, out);
    std::fclose(out);
    EXPECT_EQ(std::string(buf, n), "tcp:[2001:db8::1]:22\nicmp:[2001:db8::1]:0\ntcp:[2001:db8::2]:22\nicmp:[2001:db8::2]:0\n");
}

TEST(ReflectNeighbor, AnswersSolicitationsForItsAddressesOnly) {
    ws::ReflectRules rules;
    const ws::uint128 host = *ws::parse_ipv6("2001:db8:13::5");
    rules.hosts6.push_back({host, host});
    const ws::uint128 scanner = *ws::parse_ipv6("2001:db8::64");
    Bytes ns(128), out(128);
    ns.resize(ws::build_neighbor_solicit(ns.data(), scanner_mac, scanner, host));
    const std::size_t n = ws::reflect_neighbor(rules, ns.data(), ns.size(), reflector_mac, out.data(), out.size());
    ASSERT_EQ(n, 86u);
    out.resize(n);
    const ws::ParsedReply na = ws::parse_reply(out.data(), out.size(), ws::ReplyContext{0, nullptr});
    ASSERT_EQ(na.kind, ws::ReplyKind::ndp_advert) << ws::to_string(na.reject);
    EXPECT_EQ(na.ndp.sender_mac, reflector_mac);
    EXPECT_TRUE(na.ndp.target_ip == host);
    EXPECT_TRUE(std::equal(scanner_mac.begin(), scanner_mac.end(), out.begin())); // unicast back
    EXPECT_EQ(out[58], 0x60);                                                    // solicited, override

    Bytes other(128);
    other.resize(ws::build_neighbor_solicit(other.data(), scanner_mac, scanner, host + 1));
    EXPECT_EQ(ws::reflect_neighbor(rules, other.data(), other.size(), reflector_mac, out.data(), 128), 0u);
    EXPECT_EQ(ws::reflect_neighbor(rules, ns.data(), ns.size(), reflector_mac, out.data(), 85), 0u); // no room
    Bytes na_frame(128);
    na_frame.resize(ws::build_neighbor_advert(na_frame.data(), scanner_mac, scanner, reflector_mac, host, true));
    EXPECT_EQ(ws::reflect_neighbor(rules, na_frame.data(), na_frame.size(), reflector_mac, out.data(), 128), 0u);
}

// ---- banner mode

TEST(BannerSpec, EscapesPortsAndOneLineErrors) {
    EXPECT_EQ(ws::parse_banner_spec("22:SSH-2.0-x\\r\\n", "--banner"),
              (std::pair<std::uint16_t, std::string>{22, "SSH-2.0-x\r\n"}));
    EXPECT_EQ(ws::parse_banner_spec("80:a\\tb\\\\c\\x41\\x7e:", "--banner-answer"),
              (std::pair<std::uint16_t, std::string>{80, "a\tb\\cA~:"}));
    EXPECT_EQ(ws::parse_banner_spec("1:", "--banner").second, "");
    auto error_of = [](const char* spec) {
        try {
            ws::parse_banner_spec(spec, "--banner");
        } catch (const ws::Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(error_of("22"), "invalid --banner \"22\": expected PORT:TEXT");
    EXPECT_EQ(error_of("0:x"), "invalid --banner \"0:x\": port \"0\" is not 1-65535");
    EXPECT_EQ(error_of("65536:x"), "invalid --banner \"65536:x\": port \"65536\" is not 1-65535");
    EXPECT_EQ(error_of("-1:x"), "invalid --banner \"-1:x\": port \"-1\" is not 1-65535");
    EXPECT_EQ(error_of("22:x\\"), "invalid --banner \"22:x\\\": a lone \\ at the end");
    EXPECT_EQ(error_of("22:\\x4"), "invalid --banner \"22:\\x4\": \\x needs two hex digits");
    EXPECT_EQ(error_of("22:\\q"), "invalid --banner \"22:\\q\": unknown escape \\q (\\r \\n \\t \\\\ \\xHH)");
    EXPECT_EQ(error_of(("22:" + std::string(1025, 'a')).c_str()).find("longer than 1024 bytes") != std::string::npos, true);
    EXPECT_EQ(ws::parse_banner_spec("22:" + std::string(1024, 'a'), "--banner").second.size(), 1024u);

    EXPECT_EQ(ws::parse_banner_fault("8080:lose-first").second, ws::BannerFault::lose_first);
    EXPECT_EQ(ws::parse_banner_fault("1:forge").second, ws::BannerFault::forge);
    try {
        ws::parse_banner_fault("80:lose");
        ADD_FAILURE();
    } catch (const ws::Error& e) {
        EXPECT_EQ(std::string(e.what()), "invalid --banner-fault \"80:lose\": fault \"lose\" is not one of none, "
                                         "lose-first, out-of-order, reset-mid, zero-window, silent, forge");
    }
}

// A client segment to the banner host, built as StreamTable builds them.
Bytes client_segment(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack, std::uint16_t dport,
                     const std::string& payload = "") {
    ws::TcpSegment s{};
    s.source_mac = scanner_mac;
    s.destination_mac = reflector_mac;
    s.source_ip = our_ip;
    s.destination_ip = target_ip;
    s.source_port = 61000;
    s.destination_port = dport;
    s.sequence = seq;
    s.acknowledgment = ack;
    s.flags = flags;
    s.window = 65535;
    s.ttl = 64;
    s.payload = reinterpret_cast<const std::uint8_t*>(payload.data());
    s.payload_len = std::uint16_t(payload.size());
    Bytes frame(1600);
    frame.resize(ws::build_tcp_segment(frame.data(), s));
    return frame;
}

struct Seen {
    std::uint8_t flags;
    std::uint32_t seq, ack;
    std::uint16_t window;
    std::string data;
    bool operator==(const Seen&) const = default;
};

std::vector<Seen> answers(ws::BannerServer& server, const Bytes& frame) {
    ws::TcpSegmentIn in;
    EXPECT_TRUE(ws::parse_tcp_segment(frame.data(), frame.size(), in));
    std::vector<Seen> out;
    const unsigned n = server.on_segment(in, reflector_mac);
    for (unsigned i = 0; i < n; ++i) {
        ws::TcpSegmentIn back;
        const auto& f = server.frame(i);
        EXPECT_TRUE(ws::parse_tcp_segment(f.bytes, f.len, back));
        EXPECT_EQ(back.source, ws::IpAddress::from_ipv4(target_ip));
        EXPECT_EQ(back.destination_port, 61000);
        out.push_back(Seen{back.flags, back.sequence, back.acknowledgment, back.window,
                           std::string(reinterpret_cast<const char*>(back.payload), back.payload_len)});
    }
    return out;
}

class BannerServerTest : public ::testing::Test {
protected:
    ws::ReflectRules rules = rules_for("198.19.0.0/24");
    void SetUp() override {
        rules.open_everywhere = ws::parse_protocol_ports("21,80");
        rules.banners = {ws::BannerPort{21, "220 hi\r\n", "", ws::BannerFault::none},
                         ws::BannerPort{80, "", "HTTP/1.0 200 OK\r\n\r\n", ws::BannerFault::none}};
    }
    std::uint32_t base(std::uint16_t port) {
        return ws::BannerServer(rules).isn(ws::IpAddress::from_ipv4(target_ip), port, ws::IpAddress::from_ipv4(our_ip), 61000) + 1;
    }
};

TEST_F(BannerServerTest, SynAckCarriesTheKeyedIsnAndMss) {
    ws::BannerServer server(rules);
    const Bytes syn = client_segment(0x02, 1000, 0, 21);
    ws::ReflectRequest probe;
    ASSERT_TRUE(ws::parse_probe(syn.data(), syn.size(), probe));
    Bytes out(128);
    const std::size_t len = server.syn_ack(probe, rules.banners[0], reflector_mac, out.data(), out.size());
    ASSERT_EQ(len, ws::wire::l4_off + 24u);
    EXPECT_EQ(server.syn_ack(probe, rules.banners[0], reflector_mac, out.data(), len - 1), 0u);
    ws::TcpSegmentIn back;
    ASSERT_TRUE(ws::parse_tcp_segment(out.data(), len, back));
    EXPECT_EQ(back.flags, 0x12);
    EXPECT_EQ(back.sequence + 1, base(21));
    EXPECT_EQ(back.acknowledgment, 1001u);
    EXPECT_EQ(back.window, 65535);
    EXPECT_NE(base(21), base(80)); // the port is in the hash
    rules.banners[0].fault = ws::BannerFault::zero_window;
    ASSERT_EQ(server.syn_ack(probe, rules.banners[0], reflector_mac, out.data(), out.size()), len);
    ASSERT_TRUE(ws::parse_tcp_segment(out.data(), len, back));
    EXPECT_EQ(back.window, 0);
}

TEST_F(BannerServerTest, GreetingOnTheHandshakeAckAnswerAfterTheProbe) {
    ws::BannerServer server(rules);
    EXPECT_EQ(answers(server, client_segment(0x10, 1001, base(21), 21)),
              (std::vector<Seen>{{0x18, base(21), 1001, 65535, "220 hi\r\n"}}));
    // Its ACK, an RST, a segment for a closed port, a wrong ack: nothing.
    EXPECT_TRUE(answers(server, client_segment(0x10, 1001, base(21) + 8, 21)).empty());
    EXPECT_TRUE(answers(server, client_segment(0x14, 1001, base(21) + 8, 21)).empty());
    EXPECT_TRUE(answers(server, client_segment(0x10, 1001, base(22), 22)).empty());
    EXPECT_TRUE(answers(server, client_segment(0x10, 1001, base(21) + 9, 21)).empty());
    // A probe before the greeting came: greeting and ACK of the probe.
    EXPECT_EQ(answers(server, client_segment(0x18, 1001, base(21), 21, "HELP\r\n")),
              (std::vector<Seen>{{0x18, base(21), 1007, 65535, "220 hi\r\n"}}));
    // The request/answer port: nothing on the handshake, the answer after the probe.
    EXPECT_TRUE(answers(server, client_segment(0x10, 5001, base(80), 80)).empty());
    EXPECT_EQ(answers(server, client_segment(0x18, 5001, base(80), 80, "GET / HTTP/1.0\r\n\r\n")),
              (std::vector<Seen>{{0x18, base(80), 5019, 65535, "HTTP/1.0 200 OK\r\n\r\n"}}));
}

TEST_F(BannerServerTest, EachFault) {
    const std::string probe = "GET / HTTP/1.0\r\n\r\n", answer = "HTTP/1.0 200 OK\r\n\r\n"; // 18 and 19 bytes
    const std::uint32_t b = base(80);
    auto with = [&](ws::BannerFault fault) {
        rules.banners[1].fault = fault;
        return ws::BannerServer(rules);
    };
    {
        ws::BannerServer s = with(ws::BannerFault::lose_first);
        EXPECT_TRUE(answers(s, client_segment(0x18, 5001, b, 80, probe)).empty());
        EXPECT_EQ(answers(s, client_segment(0x18, 5001, b, 80, probe)).size(), 1u); // the retransmission
        EXPECT_EQ(s.counters().lost, 1u);
    }
    {
        ws::BannerServer s = with(ws::BannerFault::out_of_order);
        EXPECT_EQ(answers(s, client_segment(0x18, 5001, b, 80, probe)),
                  (std::vector<Seen>{{0x18, b + 9, 5019, 65535, answer.substr(9)}, {0x18, b, 5019, 65535, answer.substr(0, 9)}}));
        EXPECT_TRUE(answers(s, client_segment(0x10, 5019, b, 80)).empty()); // the duplicate ACK
        EXPECT_EQ(answers(s, client_segment(0x10, 5019, b + 9, 80)),
                  (std::vector<Seen>{{0x18, b + 9, 5019, 65535, answer.substr(9)}}));
    }
    {
        ws::BannerServer s = with(ws::BannerFault::reset_mid);
        EXPECT_EQ(answers(s, client_segment(0x18, 5001, b, 80, probe)),
                  (std::vector<Seen>{{0x18, b, 5019, 65535, answer.substr(0, 9)}, {0x14, b + 9, 5019, 0, ""}}));
        EXPECT_TRUE(answers(s, client_segment(0x10, 5019, b + 9, 80)).empty()); // gone: not sent again
    }
    {
        ws::BannerServer s = with(ws::BannerFault::zero_window);
        EXPECT_EQ(answers(s, client_segment(0x10, 5001, b, 80)), (std::vector<Seen>{{0x10, b, 5001, 65535, ""}}));
    }
    {
        ws::BannerServer s = with(ws::BannerFault::silent);
        EXPECT_TRUE(answers(s, client_segment(0x10, 5001, b, 80)).empty());
        EXPECT_TRUE(answers(s, client_segment(0x18, 5001, b, 80, probe)).empty());
    }
    {
        ws::BannerServer s = with(ws::BannerFault::forge);
        const std::string bogus = "HTTP/1.0 200 OK\r\nServer: forged/6.6.6\r\n\r\n";
        EXPECT_EQ(answers(s, client_segment(0x18, 5001, b, 80, probe)),
                  (std::vector<Seen>{{0x18, b + 0x40000000, 5019, 65535, bogus},
                                     {0x18, b, 5019 + 0x40000000, 65535, bogus},
                                     {0x14, b + 0x40000000, 5019, 0, ""},
                                     {0x18, b, 5019, 65535, answer}}));
    }
}

TEST(BannerSegment, ParseIsBoundsChecked) {
    const Bytes frame = client_segment(0x18, 1, 2, 80, "abc");
    ws::TcpSegmentIn in;
    ASSERT_TRUE(ws::parse_tcp_segment(frame.data(), frame.size(), in));
    EXPECT_EQ(in.payload_len, 3u);
    const std::size_t real = ws::wire::eth_len + ws::wire::load16(frame.data() + ws::wire::eth_len + 2); // before any padding
    for (std::size_t len = 0; len < real; ++len) // every truncation refused
        EXPECT_FALSE(ws::parse_tcp_segment(frame.data(), len, in)) << len;
    Bytes bad = frame;
    bad[ws::wire::eth_len + 9] = 17; // UDP
    EXPECT_FALSE(ws::parse_tcp_segment(bad.data(), bad.size(), in));
    bad = frame;
    bad[ws::wire::l4_off + 12] = 0xf0; // data offset past the segment
    EXPECT_FALSE(ws::parse_tcp_segment(bad.data(), bad.size(), in));
}

} // namespace
