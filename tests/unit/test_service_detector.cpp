// The service detector's decisions against scripted peers: which probes go
// out on which connections, what ends a port, and what it is called. The
// "network" here is the stream events the RX lcore would deliver; TLS peers
// are real OpenSSL servers over memory BIOs. A small probe file keeps the
// matcher's compile instant; Debian's file is covered by the lab test.
#include "wirespeed/service_detector.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "tls_test_server.hpp"

namespace {

constexpr const char* probes_text = R"(# a few of nmap's directives, in nmap's syntax
Probe TCP NULL q||
totalwaitms 6000
tcpwrappedms 3000
match ssh m|^SSH-([\d.]+)-OpenSSH_([\w._-]+) Debian-(\S*)\r?\n| p/OpenSSH/ v/$2 Debian $3/ i/protocol $1/ o/Linux/ cpe:/a:openbsd:openssh:$2/ cpe:/o:linux:linux_kernel/a
match ftp m|^220 \(vsFTPd ([-.\w]+)\)\r\n| p/vsftpd/ v/$1/ o/Unix/ cpe:/a:vsftpd:vsftpd:$1/

Probe TCP GetRequest q|GET / HTTP/1.0\r\n\r\n|
rarity 1
ports 80,443,8080
sslports 443
match http m|^HTTP/1\.[01] \d\d\d .*\r\nServer: nginx/([\d.]+)|s p/nginx/ v/$1/ cpe:/a:igor_sysoev:nginx:$1/
softmatch http m|^HTTP/1\.[01] \d\d\d|

Probe TCP HTTPOptions q|OPTIONS / HTTP/1.0\r\n\r\n|
rarity 4
ports 80,443,8080
sslports 443
fallback GetRequest

Probe TCP Help q|HELP\r\n|
rarity 8
ports 8080
)";

using ws::StreamCommand;
using ws::StreamCommandKind;
using ws::StreamEvent;
using ws::StreamEventKind;

const ws::IpAddress peer_ip = ws::IpAddress::from_ipv4(0xc6120316); // 198.18.3.22
const ws::IpAddress our_ip = ws::IpAddress::from_ipv4(0xc6120207);  // 198.18.2.7

struct Conn {
    std::uint16_t port = 0;
    std::string sent; // everything the detector sent on it, in order
    std::uint32_t slot = 0;
    bool closed = false;
    std::unique_ptr<tls_test::Server> tls;
};

class ServiceDetectorTest : public ::testing::Test {
protected:
    ws::ServiceProbes db = ws::parse_service_probes(probes_text, "test-probes");
    ws::ServiceMatcher matcher{db};
    ws::TlsContext tls_context;
    ws::ServiceOptions options;
    std::unique_ptr<ws::ServiceDetector> detector;
    std::map<std::uint32_t, Conn> conns; // by session
    std::vector<std::uint32_t> connect_order;
    std::vector<ws::ServiceResult> results;
    double now = 1000.0;
    std::uint32_t next_slot = 100;

    void make(ws::ServiceOptions o = {}) {
        options = o;
        detector = std::make_unique<ws::ServiceDetector>(matcher, &tls_context, options,
                                                        [](ws::IpAddress) { return our_ip; });
    }
    // Every probe at once unless a test says otherwise (NULL's head start has its own test).
    static ws::ServiceOptions all_at_once() {
        ws::ServiceOptions o;
        o.greeting_wait_ms = 0;
        return o;
    }
    void SetUp() override { make(all_at_once()); }

    void take() {
        for (const StreamCommand& c : detector->commands()) {
            if (c.kind == StreamCommandKind::connect) {
                EXPECT_EQ(ws::IpAddress::from_bytes(c.peer), peer_ip);
                EXPECT_EQ(ws::IpAddress::from_bytes(c.local), our_ip);
                EXPECT_GT(c.lifetime_ms, 6000u - 1u - 5000u);
                Conn& conn = conns[c.session];
                conn.port = c.port;
                conn.sent.assign(reinterpret_cast<const char*>(c.data), c.len);
                connect_order.push_back(c.session);
                continue;
            }
            auto it = conns.find(c.session);
            ASSERT_NE(it, conns.end()) << "a command for a session never connected";
            ASSERT_EQ(c.flow_slot, it->second.slot) << "the command must name the slot its events gave";
            if (c.kind == StreamCommandKind::close) it->second.closed = true;
            else it->second.sent.append(reinterpret_cast<const char*>(c.data), c.len);
        }
        detector->commands().clear();
        for (auto& r : detector->results()) results.push_back(std::move(r));
        detector->results().clear();
    }
    void event(std::uint32_t session, StreamEventKind kind, const std::string& data = {}, bool alive = true) {
        StreamEvent e{};
        e.session = session;
        e.kind = kind;
        peer_ip.to_bytes(e.peer);
        e.port = conns[session].port;
        e.flow_slot = alive ? conns[session].slot : 0;
        e.len = std::uint16_t(data.size());
        std::memcpy(e.data, data.data(), data.size());
        detector->on_event(e, now);
        take();
    }
    void open_port(std::uint16_t port) {
        StreamEvent e{};
        e.kind = StreamEventKind::port_open;
        peer_ip.to_bytes(e.peer);
        e.port = port;
        detector->on_event(e, now);
        take();
    }
    void establish(std::uint32_t session) {
        conns[session].slot = next_slot++;
        event(session, StreamEventKind::established);
    }
    void end(std::uint32_t session, StreamEventKind kind) { event(session, kind, {}, false); }
    std::vector<std::uint32_t> sessions_of(std::uint16_t port, bool tls) {
        std::vector<std::uint32_t> out;
        for (const std::uint32_t s : connect_order) {
            const Conn& c = conns[s];
            const bool is_tls = !c.sent.empty() && static_cast<unsigned char>(c.sent[0]) == 0x16;
            if (c.port == port && is_tls == tls) out.push_back(s);
        }
        return out;
    }
    // Drives the TLS server of a session: feeds it what the detector sent,
    // delivers what it answers. `reply` is written once the request arrived.
    void serve_tls(std::uint32_t session, const std::string& reply) {
        Conn& c = conns[session];
        const auto& id = tls_test::identity("ec");
        if (!c.tls) c.tls = std::make_unique<tls_test::Server>(id.cert.get(), id.key.get());
        std::size_t fed = 0;
        bool replied = false;
        for (int round = 0; round < 12 && !c.closed; ++round) {
            const std::string fresh = c.sent.substr(fed);
            fed = c.sent.size();
            c.tls->feed(std::vector<std::uint8_t>(fresh.begin(), fresh.end()));
            if (c.tls->step() && !replied && !c.tls->read().empty()) {
                c.tls->write(reply);
                replied = true;
            }
            const auto out = c.tls->take();
            if (out.empty() && fed == c.sent.size()) break;
            for (std::size_t at = 0; at < out.size(); at += StreamEvent::max_data)
                event(session, StreamEventKind::data,
                      std::string(out.begin() + long(at), out.begin() + long(std::min(out.size(), at + StreamEvent::max_data))));
        }
    }
};

TEST_F(ServiceDetectorTest, AGreetingNamesTheServiceAndClosesTheOthers) {
    open_port(22);
    // NULL, then the probes of rarity <= 7 (GetRequest, HTTPOptions); Help is rarity 8.
    ASSERT_EQ(connect_order.size(), 3u);
    EXPECT_EQ(conns[connect_order[0]].sent, "");
    EXPECT_EQ(conns[connect_order[1]].sent, "GET / HTTP/1.0\r\n\r\n");
    EXPECT_EQ(conns[connect_order[2]].sent, "OPTIONS / HTTP/1.0\r\n\r\n");
    for (const auto s : connect_order) establish(s);
    event(connect_order[0], StreamEventKind::data, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
    ASSERT_EQ(results.size(), 1u);
    const ws::ServiceResult& r = results[0];
    EXPECT_EQ(r.name, "ssh");
    EXPECT_EQ(r.product, "OpenSSH");
    EXPECT_EQ(r.version, "9.2p1 Debian 2+deb12u3");
    EXPECT_EQ(r.info, "protocol 2.0");
    EXPECT_EQ(r.ostype, "Linux");
    EXPECT_EQ(r.cpes, (std::vector<std::string>{"cpe:/a:openbsd:openssh:9.2p1", "cpe:/o:linux:linux_kernel"})); // nmap's /a flag is not part of the CPE
    EXPECT_EQ(r.method, ws::ServiceMethod::probed);
    EXPECT_EQ(r.confidence, 10);
    EXPECT_EQ(r.probe, "NULL");
    EXPECT_EQ(std::string(r.banner.begin(), r.banner.end()), "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
    EXPECT_TRUE(r.tunnel.empty());
    EXPECT_FALSE(r.tls);
    EXPECT_TRUE(conns[connect_order[1]].closed);
    EXPECT_TRUE(conns[connect_order[2]].closed);
    EXPECT_TRUE(detector->idle());
    EXPECT_EQ(detector->sessions_in_flight(), 0u);
}

TEST_F(ServiceDetectorTest, NullHasAHeadStartSoAGreetingCostsOneConnection) {
    make(ws::ServiceOptions{}); // greeting_wait_ms 300
    open_port(22);
    ASSERT_EQ(connect_order.size(), 1u); // NULL alone
    establish(connect_order[0]);
    now += 0.1;
    detector->tick(now);
    take();
    ASSERT_EQ(connect_order.size(), 1u);
    event(connect_order[0], StreamEventKind::data, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].product, "OpenSSH");
    EXPECT_EQ(connect_order.size(), 1u);

    open_port(80); // no greeting: the other probes start once the head start is over
    ASSERT_EQ(connect_order.size(), 2u);
    establish(connect_order[1]);
    now += 0.29;
    detector->tick(now);
    take();
    EXPECT_EQ(connect_order.size(), 2u);
    now += 0.02;
    detector->tick(now);
    take();
    ASSERT_EQ(connect_order.size(), 4u);
    EXPECT_EQ(conns[connect_order[2]].sent, "GET / HTTP/1.0\r\n\r\n");

    open_port(8080); // NULL refused: no head start to wait for
    ASSERT_EQ(connect_order.size(), 5u);
    end(connect_order[4], StreamEventKind::refused);
    EXPECT_EQ(connect_order.size(), 8u);
}

TEST_F(ServiceDetectorTest, ARequestProbeAnswersWhileNullStillWaits) {
    open_port(80);
    for (const auto s : connect_order) establish(s);
    event(connect_order[1], StreamEventKind::data, "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n\r\n");
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].name, "http");
    EXPECT_EQ(results[0].product, "nginx");
    EXPECT_EQ(results[0].version, "1.22.1");
    EXPECT_EQ(results[0].probe, "GetRequest");
    EXPECT_TRUE(conns[connect_order[0]].closed); // NULL waited for nothing
}

TEST_F(ServiceDetectorTest, TheFirstMatchInProbeOrderWinsNotTheFirstToArrive) {
    open_port(80);
    for (const auto s : connect_order) establish(s);
    // HTTPOptions (after GetRequest in nmap's order) matches first...
    event(connect_order[2], StreamEventKind::data, "HTTP/1.1 200 OK\r\nServer: nginx/9.9\r\n\r\n");
    EXPECT_TRUE(results.empty()); // GetRequest may still answer
    now += 1;
    detector->tick(now);
    take();
    EXPECT_TRUE(results.empty()); // silence is not an answer: it waits for GetRequest's end
    event(connect_order[1], StreamEventKind::data, "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n\r\n");
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].version, "1.22.1");
    EXPECT_EQ(results[0].probe, "GetRequest");
}

TEST_F(ServiceDetectorTest, ALaterMatchWinsOnceTheEarlierAnswerWentQuiet) {
    open_port(80);
    for (const auto s : connect_order) establish(s);
    event(connect_order[1], StreamEventKind::data, "garbage that matches nothing");
    event(connect_order[2], StreamEventKind::data, "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n\r\n");
    EXPECT_TRUE(results.empty());
    now += ws::ServiceDetector::settle_seconds / 2;
    detector->tick(now);
    take();
    EXPECT_TRUE(results.empty());
    now += ws::ServiceDetector::settle_seconds;
    detector->tick(now);
    take();
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].probe, "HTTPOptions");
    EXPECT_EQ(results[0].version, "1.22.1");
}

TEST_F(ServiceDetectorTest, AConnectionStillOpeningIsClosedByItsFirstEvent) {
    open_port(80);
    establish(connect_order[1]);
    event(connect_order[1], StreamEventKind::data, "HTTP/1.0 200 OK\r\nServer: nginx/1.22.1\r\n\r\n");
    ASSERT_EQ(results.size(), 1u);
    EXPECT_FALSE(conns[connect_order[0]].closed); // no slot yet: nothing to name
    establish(connect_order[0]);                  // now it has one
    EXPECT_TRUE(conns[connect_order[0]].closed);
    EXPECT_EQ(detector->counters().stale_events, 1u);
}

TEST_F(ServiceDetectorTest, ASoftmatchIsTheAnswerWhenNothingElseMatches) {
    open_port(8080);
    ASSERT_EQ(connect_order.size(), 4u); // NULL, GetRequest, HTTPOptions, Help (listed for 8080)
    for (const auto s : connect_order) establish(s);
    event(connect_order[1], StreamEventKind::data, "HTTP/1.0 200 OK\r\nServer: other\r\n\r\n");
    EXPECT_TRUE(results.empty()); // a softmatch waits for a hard one
    end(connect_order[1], StreamEventKind::peer_closed);
    end(connect_order[2], StreamEventKind::peer_closed);
    end(connect_order[3], StreamEventKind::peer_closed);
    EXPECT_TRUE(results.empty());
    end(connect_order[0], StreamEventKind::timeout);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].name, "http");
    EXPECT_TRUE(results[0].soft);
    EXPECT_TRUE(results[0].product.empty());
    EXPECT_EQ(results[0].probe, "GetRequest");
}

TEST_F(ServiceDetectorTest, ANullConnectionClosedAtOnceIsTcpwrapped) {
    open_port(22);
    establish(connect_order[0]);
    now += 0.5;
    end(connect_order[0], StreamEventKind::peer_closed);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].name, "tcpwrapped");
    EXPECT_EQ(results[0].confidence, 8);
}

TEST_F(ServiceDetectorTest, NothingMatchedLeavesThePortTableAndTheLongestAnswer) {
    open_port(22);
    for (const auto s : connect_order) establish(s);
    event(connect_order[1], StreamEventKind::data, "??");
    event(connect_order[2], StreamEventKind::data, "what is this");
    now += 10;
    for (const auto s : connect_order) end(s, StreamEventKind::timeout);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].method, ws::ServiceMethod::table);
    EXPECT_EQ(results[0].confidence, 3);
    EXPECT_TRUE(results[0].name.empty());
    EXPECT_EQ(std::string(results[0].banner.begin(), results[0].banner.end()), "what is this");
}

TEST_F(ServiceDetectorTest, HttpsRunsTheProbesInsideTlsAndRecordsTheCertificate) {
    open_port(443);
    const auto plain = sessions_of(443, false), tls = sessions_of(443, true);
    ASSERT_EQ(plain.size(), 3u);
    ASSERT_EQ(tls.size(), 3u); // NULL, GetRequest, HTTPOptions inside TLS
    for (const auto s : connect_order) establish(s);
    // nginx answers plain HTTP on its TLS port with a 400: a match, but the TLS lane decides.
    event(plain[1], StreamEventKind::data, "HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\n\r\n");
    EXPECT_TRUE(results.empty());
    serve_tls(tls[0], "");
    EXPECT_TRUE(results.empty());
    serve_tls(tls[1], "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n\r\n");
    ASSERT_EQ(results.size(), 1u);
    const ws::ServiceResult& r = results[0];
    EXPECT_EQ(r.name, "http");
    EXPECT_EQ(r.product, "nginx");
    EXPECT_EQ(r.version, "1.22.1");
    EXPECT_EQ(r.tunnel, "ssl");
    EXPECT_EQ(r.probe, "GetRequest");
    ASSERT_TRUE(r.tls);
    EXPECT_TRUE(r.tls->has_certificate);
    EXPECT_EQ(r.tls->subject, "C = US, O = \"Wire, Speed\", CN = tls.test");
    EXPECT_EQ(r.tls->key_type, "EC");
    EXPECT_EQ(std::string(r.banner.begin(), r.banner.end()), "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n\r\n");
    EXPECT_EQ(detector->counters().tls_handshakes, 2u);
    for (const auto s : connect_order)
        if (s != tls[1]) {
            EXPECT_TRUE(conns[s].closed) << "session " << s;
        }
}

TEST_F(ServiceDetectorTest, APortThatIsNotTlsKeepsThePlainAnswer) {
    open_port(443);
    const auto plain = sessions_of(443, false), tls = sessions_of(443, true);
    for (const auto s : connect_order) establish(s);
    event(plain[1], StreamEventKind::data, "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n\r\n");
    EXPECT_TRUE(results.empty());
    event(tls[0], StreamEventKind::data, "HTTP/1.1 400 Bad Request\r\n\r\n"); // plain text to a ClientHello
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].name, "http");
    EXPECT_EQ(results[0].product, "nginx");
    EXPECT_TRUE(results[0].tunnel.empty());
    EXPECT_FALSE(results[0].tls);
    EXPECT_EQ(detector->counters().tls_failures, 1u);
}

TEST_F(ServiceDetectorTest, ConnectionsWaitForRoomAndADuplicatePortIsIgnored) {
    ws::ServiceOptions o = all_at_once();
    o.max_sessions = 2;
    make(o);
    open_port(22);
    open_port(22);
    ASSERT_EQ(connect_order.size(), 2u);
    establish(connect_order[0]);
    end(connect_order[1], StreamEventKind::refused);
    ASSERT_EQ(connect_order.size(), 3u); // the third probe got the freed room
    EXPECT_EQ(conns[connect_order[2]].sent, "OPTIONS / HTTP/1.0\r\n\r\n");
    EXPECT_EQ(detector->counters().refused, 1u);
    EXPECT_EQ(detector->counters().ports, 1u);
}

TEST_F(ServiceDetectorTest, FinishAllGivesEveryOpenPortItsBestAnswer) {
    open_port(21);
    open_port(80);
    const auto ftp = sessions_of(21, false);
    establish(ftp[0]);
    event(ftp[0], StreamEventKind::data, "220 (vsFTPd 3.0.3)\r\n");
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].product, "vsftpd");
    EXPECT_EQ(results[0].version, "3.0.3");
    detector->finish_all(now);
    take();
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[1].port, 80);
    EXPECT_EQ(results[1].method, ws::ServiceMethod::table);
    EXPECT_TRUE(detector->idle());
}

} // namespace
