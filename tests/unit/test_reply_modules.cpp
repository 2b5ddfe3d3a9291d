// Replies to the UDP and ICMP echo probe modules: UDP answers (open, their
// data kept), ICMP unreachables quoting a UDP probe (closed / filtered) or an
// echo (filtered), echo replies (up). Every frame is written here by hand with
// the test's own checksum code.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "wirespeed/cookie.hpp"
#include "wirespeed/reply.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr std::uint32_t our_ip = 0x0a000001;    // 10.0.0.1
constexpr std::uint32_t target_ip = 0xc0000205; // 192.0.2.5
constexpr std::uint32_t router_ip = 0xc6336401; // 198.51.100.1
constexpr ws::PortRange source_ports{40000, 40999};
constexpr std::uint8_t reply_ttl = 57;
constexpr std::uint8_t icmp_ttl = 250;

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

// RFC 1071, written out: big-endian words, odd byte padded, end-around carry.
std::uint16_t folded_sum(const std::uint8_t* p, std::size_t n) {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < n; i += 2) sum += std::uint32_t(p[i]) * 256 + (i + 1 < n ? p[i + 1] : 0);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
    return std::uint16_t(sum);
}
std::uint16_t checksum(const Bytes& b) { return std::uint16_t(~folded_sum(b.data(), b.size()) & 0xffff); }

// ---- hand-written packets

// An IPv4 header (no options) for `l4_len` bytes of `protocol`, checksummed.
Bytes ipv4_header(std::uint32_t src, std::uint32_t dst, std::uint8_t protocol, std::size_t l4_len, std::uint16_t id,
                  std::uint8_t ttl, std::uint16_t flags = 0x4000) {
    Bytes h;
    h.push_back(0x45);
    h.push_back(0);
    push16(h, std::uint16_t(20 + l4_len));
    push16(h, id);
    push16(h, flags);
    h.push_back(ttl);
    h.push_back(protocol);
    push16(h, 0);
    push32(h, src);
    push32(h, dst);
    set16(h, 10, checksum(h));
    return h;
}

Bytes ethernet_frame(const Bytes& ip_packet) {
    Bytes f = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0xfe, 0x08, 0x00}; // to us, from the gateway
    f.insert(f.end(), ip_packet.begin(), ip_packet.end());
    return f;
}

enum class UdpSum { computed, zero };

// A UDP datagram src:sport -> dst:dport, its checksum over the pseudo header.
Bytes udp_datagram(std::uint32_t src, std::uint32_t dst, std::uint16_t sport, std::uint16_t dport, const Bytes& payload,
                   UdpSum mode = UdpSum::computed) {
    Bytes u;
    push16(u, sport);
    push16(u, dport);
    push16(u, std::uint16_t(8 + payload.size()));
    push16(u, 0);
    u.insert(u.end(), payload.begin(), payload.end());
    if (mode == UdpSum::computed) {
        Bytes pseudo;
        push32(pseudo, src);
        push32(pseudo, dst);
        push16(pseudo, 17);
        push16(pseudo, std::uint16_t(u.size()));
        pseudo.insert(pseudo.end(), u.begin(), u.end());
        const std::uint16_t sum = checksum(pseudo);
        set16(u, 6, sum == 0 ? 0xffff : sum);
    }
    return u;
}

Bytes ip_packet(std::uint32_t src, std::uint32_t dst, std::uint8_t protocol, const Bytes& l4, std::uint16_t id,
                std::uint8_t ttl) {
    Bytes p = ipv4_header(src, dst, protocol, l4.size(), id, ttl);
    p.insert(p.end(), l4.begin(), l4.end());
    return p;
}

// An ICMP message: type, code, the 4-byte rest of header, data; checksummed.
Bytes icmp_message(std::uint8_t type, std::uint8_t code, std::uint32_t rest, const Bytes& data) {
    Bytes m = {type, code, 0, 0};
    push32(m, rest);
    m.insert(m.end(), data.begin(), data.end());
    set16(m, 2, checksum(m));
    return m;
}

// Rewrites the IPv4 checksum of a frame after an edit (the header at 14).
void fix_ip(Bytes& f) {
    set16(f, 24, 0);
    set16(f, 24, checksum(Bytes(f.begin() + 14, f.begin() + 14 + (f[14] & 0x0f) * 4)));
}
// Rewrites the UDP checksum of a frame whose IPv4 header is 20 bytes, over the UDP length.
void fix_udp(Bytes& f) {
    const std::size_t len = get16(f, 38);
    Bytes pseudo(f.begin() + 26, f.begin() + 34);
    push16(pseudo, 17);
    push16(pseudo, std::uint16_t(len));
    set16(f, 40, 0);
    pseudo.insert(pseudo.end(), f.begin() + 34, f.begin() + 34 + std::ptrdiff_t(len));
    const std::uint16_t sum = checksum(pseudo);
    set16(f, 40, sum == 0 ? 0xffff : sum);
}

Bytes patterned(std::size_t n, std::uint8_t seed = 0x30) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = std::uint8_t(seed + i * 7);
    return b;
}

class ReplyModules : public ::testing::Test {
protected:
    ws::CookieMaker cookies{ws::CookieKey{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull}, source_ports};
    ws::ReplyContext context{our_ip, &cookies};

    ws::Cookie cookie(std::uint32_t ip, std::uint16_t port, ws::Proto proto) const {
        return cookies.make(ip, port, our_ip, proto);
    }
    std::uint16_t dns_id(std::uint32_t ip) const { return std::uint16_t(cookie(ip, 53, ws::Proto::udp).isn); }

    // target:port's answer to our UDP probe, to the source port its cookie chose.
    Bytes udp_reply(std::uint32_t ip, std::uint16_t port, const Bytes& payload, UdpSum mode = UdpSum::computed) const {
        const std::uint16_t ours = cookie(ip, port, ws::Proto::udp).source_port;
        return ethernet_frame(ip_packet(ip, our_ip, 17, udp_datagram(ip, our_ip, port, ours, payload, mode), 0x0bcd,
                                        reply_ttl));
    }
    // A DNS answer carrying the transaction ID our probe carried (header + a few bytes).
    Bytes dns_reply(std::uint32_t ip, std::uint16_t id, std::size_t len = 40) const {
        Bytes payload = patterned(len);
        if (len >= 2) {
            payload[0] = std::uint8_t(id >> 8);
            payload[1] = std::uint8_t(id);
        }
        return udp_reply(ip, 53, payload);
    }

    // The IPv4 packet of our UDP probe to ip:port (what an ICMP error quotes).
    Bytes udp_probe(std::uint32_t ip, std::uint16_t port, const Bytes& payload = {}) const {
        const ws::Cookie c = cookie(ip, port, ws::Proto::udp);
        return ip_packet(our_ip, ip, 17, udp_datagram(our_ip, ip, c.source_port, port, payload), c.ip_id, 64);
    }
    // The IPv4 packet of our echo request to ip.
    Bytes echo_probe(std::uint32_t ip) const {
        const ws::Cookie c = cookie(ip, 0, ws::Proto::icmp);
        return ip_packet(our_ip, ip, 1, icmp_message(8, 0, c.isn, {}), c.ip_id, 64);
    }
    // An ICMP destination unreachable from `from`, quoting `quoted`.
    static Bytes unreachable(const Bytes& quoted, std::uint8_t code, std::uint32_t from = router_ip) {
        return ethernet_frame(ip_packet(from, our_ip, 1, icmp_message(3, code, 0, quoted), 0, icmp_ttl));
    }
    // ip's echo reply to our echo request (identifier and sequence from the cookie).
    Bytes echo_reply(std::uint32_t ip, const Bytes& data = {}) const {
        return ethernet_frame(ip_packet(ip, our_ip, 1, icmp_message(0, 0, cookie(ip, 0, ws::Proto::icmp).isn, data),
                                        0x4321, reply_ttl));
    }

    // From an exactly-sized heap copy, so ASan flags any read past the end;
    // the copy stays alive for `data` to be compared (kept in `last_`).
    ws::ParsedReply parse(const Bytes& f, ws::RxChecksums hints = {}) {
        last_ = std::make_unique<std::uint8_t[]>(f.size() + 1);
        if (!f.empty()) std::memcpy(last_.get(), f.data(), f.size());
        return ws::parse_reply(last_.get(), f.size(), context, hints);
    }
    const std::uint8_t* last() const { return last_.get(); }

    void expect_rejected(const Bytes& f, ws::RejectReason reason, ws::RxChecksums hints = {}) {
        const ws::ParsedReply r = parse(f, hints);
        ASSERT_EQ(r.kind, ws::ReplyKind::rejected) << "want " << ws::to_string(reason);
        EXPECT_EQ(r.reject, reason) << "got " << ws::to_string(r.reject) << ", want " << ws::to_string(reason);
    }

    static ws::ResultRecord record(std::uint32_t ip, ws::Proto proto, std::uint16_t port, std::uint8_t ttl,
                                   ws::PortState state, ws::Reason reason) {
        ws::ResultRecord r{};
        r.set_ipv4(ip);
        r.port = port;
        r.window = 0;
        r.proto = proto;
        r.state = state;
        r.reason = reason;
        r.ttl = ttl;
        return r;
    }
    static void expect_record(const ws::ParsedReply& got, const ws::ResultRecord& want) {
        ASSERT_EQ(got.kind, ws::ReplyKind::result) << ws::to_string(got.reject);
        EXPECT_EQ(got.record.proto, want.proto);
        EXPECT_EQ(got.record.port, want.port);
        EXPECT_EQ(got.record.state, want.state);
        EXPECT_EQ(got.record.reason, want.reason) << ws::to_string(got.record.reason);
        EXPECT_EQ(got.record.ttl, want.ttl);
        EXPECT_EQ(std::memcmp(&got.record, &want, sizeof want), 0); // every byte
    }
    // A UDP answer from ip:port: open, its data where the frame holds it.
    void expect_udp_open(const Bytes& f, std::uint32_t ip, std::uint16_t port, std::size_t data_len) {
        const ws::ParsedReply r = parse(f);
        expect_record(r, record(ip, ws::Proto::udp, port, reply_ttl, ws::PortState::open, ws::Reason::udp_response));
        EXPECT_EQ(r.local_port, cookie(ip, port, ws::Proto::udp).source_port);
        EXPECT_EQ(r.data_len, data_len);
        if (r.kind == ws::ReplyKind::result) {
            EXPECT_EQ(r.data, last() + 42); // inside the frame, right after the UDP header
        }
    }
    void expect_every_truncation_rejected(const Bytes& f) {
        for (std::size_t len = 0; len < f.size(); ++len) {
            const ws::ParsedReply r = parse(Bytes(f.begin(), f.begin() + std::ptrdiff_t(len)));
            ASSERT_EQ(r.kind, ws::ReplyKind::rejected) << "len " << len;
            EXPECT_EQ(r.reject, ws::RejectReason::truncated) << "len " << len << ": " << ws::to_string(r.reject);
        }
    }

    // Every single-bit flip of `good` (the Ethernet header included) is
    // rejected, or -- a MAC address, a zeroed UDP checksum field -- gives the
    // very same result: never a result for something else.
    void expect_no_flip_changes_the_result(const Bytes& good, bool data_protected = true) {
        const ws::ParsedReply want = parse(good);
        ASSERT_EQ(want.kind, ws::ReplyKind::result) << ws::to_string(want.reject);
        const Bytes want_data(want.data, want.data + want.data_len);
        std::size_t accepted = 0;
        for (std::size_t at = 0; at < good.size(); ++at)
            for (int bit = 0; bit < 8; ++bit) {
                Bytes f = good;
                f[at] ^= std::uint8_t(1u << bit);
                const ws::ParsedReply r = parse(f);
                if (r.kind == ws::ReplyKind::rejected) continue;
                ++accepted;
                ASSERT_EQ(r.kind, ws::ReplyKind::result) << "byte " << at << " bit " << bit;
                ASSERT_EQ(std::memcmp(&r.record, &want.record, sizeof want.record), 0) << "byte " << at << " bit " << bit;
                ASSERT_EQ(r.local_port, want.local_port) << "byte " << at << " bit " << bit;
                if (data_protected) {
                    ASSERT_EQ(Bytes(r.data, r.data + r.data_len), want_data) << "byte " << at << " bit " << bit;
                }
                // What may flip without consequence: the MAC addresses; in a
                // UDP answer, its checksum field (to 0, "none"), and without a
                // checksum, the length (shorter) and the data.
                const bool udp = good[23] == 17;
                const bool allowed = at < 12 || (udp && (at == 40 || at == 41)) || (udp && !data_protected && at >= 38);
                ASSERT_TRUE(allowed) << "byte " << at << " bit " << bit << " accepted";
            }
        EXPECT_GE(accepted, 12u * 8u); // the MAC flips at least
    }

private:
    std::unique_ptr<std::uint8_t[]> last_;
};

// ---------------------------------------------------------------- UDP answers

TEST_F(ReplyModules, UdpAnswerIsOpenWithItsData) {
    const Bytes payload = patterned(41); // odd length: the sum pads it
    const Bytes f = udp_reply(target_ip, 161, payload);
    expect_udp_open(f, target_ip, 161, payload.size());
    const ws::ParsedReply r = parse(f);
    ASSERT_EQ(r.kind, ws::ReplyKind::result);
    EXPECT_EQ(Bytes(r.data, r.data + r.data_len), payload);
    EXPECT_EQ(r.record.window, 0);
    EXPECT_EQ(r.record.elapsed_ms, 0u);
}

TEST_F(ReplyModules, UdpDataLengthsAndThe512ByteCap) {
    for (std::size_t n : {0u, 1u, 2u, 7u, 511u, 512u, 513u, 1000u, 1400u, 1472u}) {
        SCOPED_TRACE(n);
        const Bytes payload = patterned(n, std::uint8_t(n));
        const Bytes f = udp_reply(target_ip, 123, payload);
        expect_udp_open(f, target_ip, 123, n < 512 ? n : 512);
        const ws::ParsedReply r = parse(f);
        ASSERT_EQ(r.kind, ws::ReplyKind::result);
        EXPECT_EQ(Bytes(r.data, r.data + r.data_len), Bytes(payload.begin(), payload.begin() + r.data_len));
    }
}

// A runt answer padded to 60 bytes by the link: the padding is not data.
TEST_F(ReplyModules, UdpEthernetPaddingIsNotData) {
    Bytes f = udp_reply(target_ip, 7, {});
    ASSERT_EQ(f.size(), 42u);
    f.resize(60, 0xee);
    expect_udp_open(f, target_ip, 7, 0);
    Bytes g = udp_reply(target_ip, 7, {1, 2, 3});
    g.resize(60, 0xee);
    expect_udp_open(g, target_ip, 7, 3);
}

TEST_F(ReplyModules, UdpWrongCookiePort) {
    const std::uint16_t ours = cookie(target_ip, 161, ws::Proto::udp).source_port;
    // In our range, but not the port this probe went out from.
    for (std::uint16_t port : {std::uint16_t(ours == source_ports.last ? source_ports.first : ours + 1),
                               std::uint16_t(ours == source_ports.first ? source_ports.last : ours - 1)}) {
        Bytes f = udp_reply(target_ip, 161, patterned(10));
        set16(f, 36, port);
        fix_udp(f);
        expect_rejected(f, ws::RejectReason::bad_cookie);
    }
    // Outside our range: rejected before any PRF.
    for (std::uint16_t port : {std::uint16_t(source_ports.first - 1), std::uint16_t(source_ports.last + 1),
                               std::uint16_t(53), std::uint16_t(65535)}) {
        Bytes f = udp_reply(target_ip, 161, patterned(10));
        set16(f, 36, port);
        fix_udp(f);
        expect_rejected(f, ws::RejectReason::wrong_source_port);
    }
    // From another port, or another host, than the probe's cookie names.
    Bytes other_port = udp_reply(target_ip, 161, patterned(10));
    set16(other_port, 34, 162);
    fix_udp(other_port);
    if (cookie(target_ip, 162, ws::Proto::udp).source_port != ours)
        expect_rejected(other_port, ws::RejectReason::bad_cookie);
    Bytes other_host = udp_reply(target_ip, 161, patterned(10));
    other_host[29] ^= 0x01;
    fix_ip(other_host);
    fix_udp(other_host);
    if (cookie(target_ip ^ 1, 161, ws::Proto::udp).source_port != ours)
        expect_rejected(other_host, ws::RejectReason::bad_cookie);
}

// The protocol is in the cookie: a UDP answer sent to our TCP probe's source port is not ours.
TEST_F(ReplyModules, UdpAnswerToTheTcpCookieIsBadCookie) {
    int checked = 0;
    for (std::uint16_t port = 1; port < 200 && checked < 20; ++port) {
        const std::uint16_t tcp = cookie(target_ip, port, ws::Proto::tcp).source_port;
        if (tcp == cookie(target_ip, port, ws::Proto::udp).source_port) continue;
        Bytes f = udp_reply(target_ip, port, patterned(4));
        set16(f, 36, tcp);
        fix_udp(f);
        expect_rejected(f, ws::RejectReason::bad_cookie);
        ++checked;
    }
    EXPECT_EQ(checked, 20);
}

TEST_F(ReplyModules, DnsAnswerMustCarryOurId) {
    const std::uint16_t id = dns_id(target_ip);
    expect_udp_open(dns_reply(target_ip, id), target_ip, 53, 40);
    expect_udp_open(dns_reply(target_ip, id, 2), target_ip, 53, 2); // the ID alone is enough
    for (std::uint16_t wrong : {std::uint16_t(id ^ 1), std::uint16_t(id ^ 0x8000), std::uint16_t(~id),
                                std::uint16_t(id + 0x100)})
        expect_rejected(dns_reply(target_ip, wrong), ws::RejectReason::bad_cookie);
    expect_rejected(dns_reply(target_ip, id, 1), ws::RejectReason::bad_cookie); // no room for an ID
    expect_rejected(dns_reply(target_ip, id, 0), ws::RejectReason::bad_cookie);
    // Another host's ID is not this host's.
    if (dns_id(target_ip + 1) != id) {
        expect_rejected(dns_reply(target_ip, dns_id(target_ip + 1)), ws::RejectReason::bad_cookie);
    }

    // A port-53 payload too short to carry an ID: the engine turns the check off.
    context.udp_dns_id = false;
    expect_udp_open(dns_reply(target_ip, std::uint16_t(id ^ 1)), target_ip, 53, 40);
    expect_udp_open(dns_reply(target_ip, id, 1), target_ip, 53, 1);
    expect_udp_open(dns_reply(target_ip, id, 0), target_ip, 53, 0);
    // The source port is still checked.
    Bytes f = dns_reply(target_ip, id);
    const std::uint16_t ours = get16(f, 36);
    set16(f, 36, std::uint16_t(ours == source_ports.last ? source_ports.first : ours + 1));
    fix_udp(f);
    expect_rejected(f, ws::RejectReason::bad_cookie);
}

// Only answers from port 53 are held to a DNS ID.
TEST_F(ReplyModules, DnsIdOnlyOnPort53) {
    for (std::uint16_t port : {std::uint16_t(5353), std::uint16_t(853), std::uint16_t(54), std::uint16_t(52)}) {
        Bytes payload = patterned(20);
        payload[0] = 0xde;
        payload[1] = 0xad;
        expect_udp_open(udp_reply(target_ip, port, payload), target_ip, port, 20);
    }
}

TEST_F(ReplyModules, UdpChecksum) {
    const Bytes good = udp_reply(target_ip, 161, patterned(33));
    ASSERT_NE(get16(good, 40), 0);
    for (std::size_t at : {34u, 37u, 38u, 40u, 41u, 42u, 60u, 74u}) {
        SCOPED_TRACE(at);
        Bytes f = good;
        f[at] ^= 0x04; // any word of the datagram, the checksum itself included
        if (at == 38) {
            // A changed length with a stale sum: a length that still fits checks the sum.
            set16(f, 38, std::uint16_t(get16(good, 38) - 2));
        }
        expect_rejected(f, ws::RejectReason::bad_udp_checksum);
    }
    // The sum is over the pseudo header: a datagram summed for another destination.
    Bytes other = good;
    set16(other, 30, 0x0a00);
    set16(other, 32, 0x0002);
    fix_udp(other);
    set16(other, 32, 0x0001);
    ASSERT_EQ(get16(other, 30), 0x0a00);
    expect_rejected(other, ws::RejectReason::bad_udp_checksum);
    // ... and over the protocol and length words of the pseudo header too.
    Bytes relength = good;
    relength.push_back(0x00); // one more (zero) byte: a zero pads the odd sum the same way
    set16(relength, 16, std::uint16_t(get16(relength, 16) + 1));
    set16(relength, 38, std::uint16_t(get16(relength, 38) + 1));
    fix_ip(relength);
    expect_rejected(relength, ws::RejectReason::bad_udp_checksum);
}

// RFC 768: 0 is "no checksum" over IPv4; a computed 0 goes out as 0xffff.
TEST_F(ReplyModules, UdpChecksumZeroMeansNone) {
    expect_udp_open(udp_reply(target_ip, 161, patterned(33), UdpSum::zero), target_ip, 161, 33);
    expect_udp_open(udp_reply(target_ip, 7, {}, UdpSum::zero), target_ip, 7, 0);
    // Tune two payload bytes until the true sum is 0: the field says 0xffff, which checks.
    Bytes f = udp_reply(target_ip, 161, patterned(34));
    for (std::uint32_t w = 0; w <= 0xffff; ++w) {
        set16(f, 42, std::uint16_t(w));
        fix_udp(f);
        if (get16(f, 40) == 0xffff) break;
    }
    ASSERT_EQ(get16(f, 40), 0xffff);
    expect_udp_open(f, target_ip, 161, 34);
    set16(f, 40, 0); // and 0 there is "none": accepted too
    expect_udp_open(f, target_ip, 161, 34);
}

TEST_F(ReplyModules, UdpNicChecksumHints) {
    using H = ws::ChecksumHint;
    Bytes bad = udp_reply(target_ip, 161, patterned(12));
    bad[45] ^= 0x01;
    EXPECT_EQ(parse(bad, {H::unknown, H::good}).kind, ws::ReplyKind::result); // the NIC's word
    expect_rejected(bad, ws::RejectReason::bad_udp_checksum, {H::good, H::unknown});
    expect_rejected(udp_reply(target_ip, 161, patterned(12)), ws::RejectReason::bad_udp_checksum, {H::good, H::bad});
}

TEST_F(ReplyModules, UdpLengths) {
    const Bytes good = udp_reply(target_ip, 161, patterned(20));
    expect_every_truncation_rejected(good);
    // The UDP length claims more than the IP packet holds.
    Bytes longer = good;
    set16(longer, 38, std::uint16_t(get16(good, 38) + 1));
    expect_rejected(longer, ws::RejectReason::truncated);
    set16(longer, 38, 0xffff);
    expect_rejected(longer, ws::RejectReason::truncated);
    // A UDP length below its own header.
    for (std::uint16_t len = 0; len < 8; ++len) {
        Bytes f = good;
        set16(f, 38, len);
        expect_rejected(f, ws::RejectReason::truncated);
    }
    // An IP packet too short for a UDP header, whatever the frame holds after it.
    for (std::size_t l4 = 0; l4 < 8; ++l4) {
        Bytes f = good;
        set16(f, 16, std::uint16_t(20 + l4));
        fix_ip(f);
        expect_rejected(f, ws::RejectReason::truncated);
    }
    // Bytes past the UDP length inside the IP packet are not the datagram's:
    // neither summed nor kept as data.
    Bytes trailing = good;
    for (int i = 0; i < 9; ++i) trailing.push_back(0x99);
    set16(trailing, 16, std::uint16_t(get16(trailing, 16) + 9));
    fix_ip(trailing);
    expect_udp_open(trailing, target_ip, 161, 20);
    // A shorter UDP length, summed over what it claims: the data is that much.
    Bytes shorter = good;
    set16(shorter, 38, 8 + 5);
    fix_udp(shorter);
    expect_udp_open(shorter, target_ip, 161, 5);
    // The IP total length cuts the datagram its UDP length claims.
    Bytes cut = good;
    set16(cut, 16, std::uint16_t(get16(cut, 16) - 1));
    fix_ip(cut);
    expect_rejected(cut, ws::RejectReason::truncated);
}

// ------------------------------------------- ICMP unreachable quoting UDP

TEST_F(ReplyModules, UnreachableQuotingUdpEveryCode) {
    const std::uint16_t sport = cookie(target_ip, 161, ws::Proto::udp).source_port;
    for (unsigned code = 0; code <= 255; ++code) {
        SCOPED_TRACE(code);
        const ws::Reason reason = code == 0   ? ws::Reason::net_unreach
                                  : code == 1 ? ws::Reason::host_unreach
                                  : code == 2 ? ws::Reason::proto_unreach
                                  : code == 3 ? ws::Reason::port_unreach
                                  : (code == 9 || code == 10 || code == 13) ? ws::Reason::admin_prohibited
                                                                              : ws::Reason::unreach_other;
        // nmap: port unreachable from the target itself is a closed UDP port;
        // from anyone else (a firewall rejecting for it), and any other code,
        // filtered -- with the code's reason either way.
        for (std::uint32_t from : {target_ip, router_ip, target_ip + 1}) {
            const ws::PortState state =
                code == 3 && from == target_ip ? ws::PortState::closed : ws::PortState::filtered;
            const ws::ParsedReply r = parse(unreachable(udp_probe(target_ip, 161, patterned(5)), std::uint8_t(code), from));
            expect_record(r, record(target_ip, ws::Proto::udp, 161, icmp_ttl, state, reason));
            EXPECT_EQ(r.local_port, sport);
            EXPECT_EQ(r.data, nullptr);
            EXPECT_EQ(r.data_len, 0);
        }
    }
}

TEST_F(ReplyModules, UnreachableQuotingUdpMinimalQuoteAndOptions) {
    Bytes quote = udp_probe(target_ip, 53, patterned(12));
    quote.resize(28); // RFC 792: the header and 8 bytes
    const auto want = record(target_ip, ws::Proto::udp, 53, icmp_ttl, ws::PortState::closed, ws::Reason::port_unreach);
    expect_record(parse(unreachable(quote, 3, target_ip)), want);
    Bytes shorter = quote;
    shorter.resize(27);
    expect_rejected(unreachable(shorter, 3, target_ip), ws::RejectReason::truncated);
    // A quoted header with options (IHL 6..15): the UDP header is found behind them.
    for (unsigned ihl = 6; ihl <= 15; ++ihl) {
        Bytes q = quote;
        const std::size_t extra = (ihl - 5) * 4;
        q.insert(q.begin() + 20, extra, 0x01);
        q[0] = std::uint8_t(0x40 | ihl);
        expect_record(parse(unreachable(q, 3, target_ip)), want);
    }
    expect_every_truncation_rejected(unreachable(quote, 3, target_ip));
}

TEST_F(ReplyModules, UnreachableQuotingUdpCookieChecks) {
    const Bytes probe = udp_probe(target_ip, 161, patterned(6));
    ASSERT_EQ(parse(unreachable(probe, 3)).kind, ws::ReplyKind::result);

    Bytes other_id = probe; // the quoted IP ID is ours: 16 more cookie bits
    for (std::uint16_t flip : {0x0001, 0x0100, 0x8000, 0xffff}) {
        set16(other_id, 4, std::uint16_t(get16(probe, 4) ^ flip));
        expect_rejected(unreachable(other_id, 3), ws::RejectReason::bad_cookie);
    }
    Bytes other_sport = probe;
    const std::uint16_t sport = get16(probe, 20);
    set16(other_sport, 20, std::uint16_t(sport == source_ports.last ? source_ports.first : sport + 1));
    expect_rejected(unreachable(other_sport, 3), ws::RejectReason::bad_cookie);
    Bytes out_of_range = probe;
    set16(out_of_range, 20, 1234);
    expect_rejected(unreachable(out_of_range, 3), ws::RejectReason::wrong_source_port);
    Bytes other_dport = probe;
    set16(other_dport, 22, 162);
    expect_rejected(unreachable(other_dport, 3), ws::RejectReason::bad_cookie); // port 162's cookie: other sport and IP ID
    Bytes other_target = probe;
    other_target[19] ^= 0x01;
    expect_rejected(unreachable(other_target, 3), ws::RejectReason::bad_cookie);
    Bytes not_from_us = probe;
    not_from_us[15] ^= 0x01;
    expect_rejected(unreachable(not_from_us, 3), ws::RejectReason::bad_cookie);
    Bytes as_tcp = probe; // our UDP probe relabelled TCP: the TCP module's cookie does not match
    as_tcp[9] = 6;
    expect_rejected(unreachable(as_tcp, 3), ws::RejectReason::bad_cookie);
    Bytes fragment = probe;
    set16(fragment, 6, 0x0001);
    expect_rejected(unreachable(fragment, 3), ws::RejectReason::fragment);
}

// ------------------------------------------------------------- ICMP echo

TEST_F(ReplyModules, EchoReplyIsUp) {
    const Bytes f = echo_reply(target_ip);
    const ws::ParsedReply r = parse(f);
    expect_record(r, record(target_ip, ws::Proto::icmp, 0, reply_ttl, ws::PortState::up, ws::Reason::echo_reply));
    EXPECT_EQ(r.local_port, 0);
    EXPECT_EQ(r.data, nullptr);
    EXPECT_EQ(r.data_len, 0);
    // With data (a responder padding its reply), and padded by the link.
    expect_record(parse(echo_reply(target_ip, patterned(56))),
                  record(target_ip, ws::Proto::icmp, 0, reply_ttl, ws::PortState::up, ws::Reason::echo_reply));
    expect_record(parse(echo_reply(target_ip, patterned(7))),
                  record(target_ip, ws::Proto::icmp, 0, reply_ttl, ws::PortState::up, ws::Reason::echo_reply));
    Bytes padded = f;
    padded.resize(60, 0xee);
    expect_record(parse(padded), record(target_ip, ws::Proto::icmp, 0, reply_ttl, ws::PortState::up, ws::Reason::echo_reply));
    expect_every_truncation_rejected(f);
}

TEST_F(ReplyModules, EchoReplyCookie) {
    const std::uint32_t isn = cookie(target_ip, 0, ws::Proto::icmp).isn;
    auto with_rest = [&](std::uint32_t rest) {
        return ethernet_frame(ip_packet(target_ip, our_ip, 1, icmp_message(0, 0, rest, {}), 1, reply_ttl));
    };
    ASSERT_EQ(parse(with_rest(isn)).kind, ws::ReplyKind::result);
    for (std::uint32_t wrong_id : {0x00010000u, 0x80000000u, 0xffff0000u})
        expect_rejected(with_rest(isn ^ wrong_id), ws::RejectReason::bad_cookie);
    for (std::uint32_t wrong_seq : {0x00000001u, 0x00008000u, 0x0000ffffu})
        expect_rejected(with_rest(isn ^ wrong_seq), ws::RejectReason::bad_cookie);
    expect_rejected(with_rest((isn << 16) | (isn >> 16)), ws::RejectReason::bad_cookie); // id and seq swapped
    // Another host's identifier and sequence.
    const std::uint32_t other = cookie(target_ip + 1, 0, ws::Proto::icmp).isn;
    if (other != isn) {
        expect_rejected(with_rest(other), ws::RejectReason::bad_cookie);
    }
    // The cookie is the ICMP one, not the TCP cookie of port 0.
    const std::uint32_t tcp = cookie(target_ip, 0, ws::Proto::tcp).isn;
    if (tcp != isn) {
        expect_rejected(with_rest(tcp), ws::RejectReason::bad_cookie);
    }
}

TEST_F(ReplyModules, EchoReplyChecksumAndType) {
    Bytes bad = echo_reply(target_ip);
    bad[37] ^= 0x01;
    expect_rejected(bad, ws::RejectReason::bad_icmp_checksum);
    Bytes zero = echo_reply(target_ip);
    set16(zero, 36, 0);
    if (get16(echo_reply(target_ip), 36) != 0 && get16(echo_reply(target_ip), 36) != 0xffff)
        expect_rejected(zero, ws::RejectReason::bad_icmp_checksum); // ICMP has no "no checksum"
    Bytes data_changed = echo_reply(target_ip, patterned(9));
    data_changed.back() ^= 0x10;
    expect_rejected(data_changed, ws::RejectReason::bad_icmp_checksum);
    // The NIC's L4 verdict never applies to ICMP.
    expect_rejected(bad, ws::RejectReason::bad_icmp_checksum, {ws::ChecksumHint::good, ws::ChecksumHint::good});
    EXPECT_EQ(parse(echo_reply(target_ip), {ws::ChecksumHint::good, ws::ChecksumHint::bad}).kind,
              ws::ReplyKind::result);

    const std::uint32_t isn = cookie(target_ip, 0, ws::Proto::icmp).isn;
    for (std::uint8_t code : {1, 8, 255}) { // an echo reply has code 0
        expect_rejected(ethernet_frame(ip_packet(target_ip, our_ip, 1, icmp_message(0, code, isn, {}), 1, reply_ttl)),
                        ws::RejectReason::icmp_not_unreach);
    }
    for (std::uint8_t type : {8, 11, 13, 14, 5, 4}) { // request, time exceeded, timestamp, redirect...
        expect_rejected(ethernet_frame(ip_packet(target_ip, our_ip, 1, icmp_message(type, 0, isn, {}), 1, reply_ttl)),
                        ws::RejectReason::icmp_not_unreach);
    }
    // An echo reply shorter than its 8-byte header.
    Bytes tiny = ethernet_frame(ip_packet(target_ip, our_ip, 1, Bytes{0, 0, 0xff, 0xff}, 1, reply_ttl));
    expect_rejected(tiny, ws::RejectReason::truncated);
}

TEST_F(ReplyModules, UnreachableQuotingEchoIsFiltered) {
    for (unsigned code = 0; code <= 255; ++code) {
        SCOPED_TRACE(code);
        const ws::Reason reason = code == 0   ? ws::Reason::net_unreach
                                  : code == 1 ? ws::Reason::host_unreach
                                  : code == 2 ? ws::Reason::proto_unreach
                                  : code == 3 ? ws::Reason::port_unreach
                                  : (code == 9 || code == 10 || code == 13) ? ws::Reason::admin_prohibited
                                                                              : ws::Reason::unreach_other;
        const ws::ParsedReply r = parse(unreachable(echo_probe(target_ip), std::uint8_t(code)));
        expect_record(r, record(target_ip, ws::Proto::icmp, 0, icmp_ttl, ws::PortState::filtered, reason));
        EXPECT_EQ(r.local_port, 0);
        EXPECT_EQ(r.data_len, 0);
    }
    expect_every_truncation_rejected(unreachable(echo_probe(target_ip), 1));
}

TEST_F(ReplyModules, UnreachableQuotingEchoCookieChecks) {
    const Bytes probe = echo_probe(target_ip);
    Bytes wrong_id = probe;
    wrong_id[24] ^= 0x01;
    expect_rejected(unreachable(wrong_id, 1), ws::RejectReason::bad_cookie);
    Bytes wrong_seq = probe;
    wrong_seq[27] ^= 0x80;
    expect_rejected(unreachable(wrong_seq, 1), ws::RejectReason::bad_cookie);
    Bytes reply_quoted = probe; // a quoted echo *reply* is not our request
    reply_quoted[20] = 0;
    expect_rejected(unreachable(reply_quoted, 1), ws::RejectReason::bad_cookie);
    Bytes other_target = probe;
    other_target[19] ^= 0x01;
    expect_rejected(unreachable(other_target, 1), ws::RejectReason::bad_cookie);
    Bytes not_from_us = probe;
    not_from_us[15] ^= 0x01;
    expect_rejected(unreachable(not_from_us, 1), ws::RejectReason::bad_cookie);
}

// ------------------------------------------------------- single-bit flips

TEST_F(ReplyModules, EverySingleBitFlipGivesNoOtherResult) {
    const Bytes frames[] = {
        udp_reply(target_ip, 161, patterned(37)),
        udp_reply(target_ip, 7, {}),
        dns_reply(target_ip, dns_id(target_ip), 30),
        echo_reply(target_ip),
        echo_reply(target_ip, patterned(11)),
        unreachable(udp_probe(target_ip, 161, patterned(6)), 3),
        unreachable(udp_probe(target_ip, 53, patterned(12)), 13, target_ip),
        unreachable(echo_probe(target_ip), 1),
    };
    for (const Bytes& good : frames) {
        SCOPED_TRACE(good.size());
        expect_no_flip_changes_the_result(good);
    }
}

// Without a UDP checksum the data is unprotected (that is what 0 means), but
// the result -- host, port, state, our port -- still never changes.
TEST_F(ReplyModules, SingleBitFlipsOfAnUnsummedUdpAnswer) {
    expect_no_flip_changes_the_result(udp_reply(target_ip, 161, patterned(37), UdpSum::zero), false);
}

// Random UDP answers of every size, summed or not, from random hosts and ports.
TEST_F(ReplyModules, RandomUdpAnswers) {
    std::mt19937_64 rng(0x756470);
    for (int i = 0; i < 2000; ++i) {
        const std::uint32_t ip = std::uint32_t(rng());
        std::uint16_t port = std::uint16_t(rng());
        if (port == 0 || port == 53) port = 1;
        const Bytes payload = patterned(rng() % 700, std::uint8_t(rng()));
        const UdpSum mode = i % 3 ? UdpSum::computed : UdpSum::zero;
        const Bytes f = udp_reply(ip, port, payload, mode);
        const ws::ParsedReply r = parse(f);
        expect_record(r, record(ip, ws::Proto::udp, port, reply_ttl, ws::PortState::open, ws::Reason::udp_response));
        ASSERT_EQ(r.data_len, payload.size() < 512 ? payload.size() : 512);
        ASSERT_EQ(Bytes(r.data, r.data + r.data_len), Bytes(payload.begin(), payload.begin() + r.data_len));
        ASSERT_EQ(r.local_port, cookie(ip, port, ws::Proto::udp).source_port);
    }
}

} // namespace
