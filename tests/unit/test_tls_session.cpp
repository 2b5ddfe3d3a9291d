// TlsClient against an in-process OpenSSL server over memory BIOs: no
// sockets, no packets. The server's certificate is made here with OpenSSL's
// APIs, so every field TlsInfo reports is known in advance.
#include "wirespeed/tls_session.hpp"

#include "tls_test_server.hpp" // the server side and its certificates

#include <gtest/gtest.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <ostream>
#include <memory>
#include <string>
#include <vector>

namespace {

using ws::TlsClient;
using ws::TlsContext;
using ws::TlsFailure;
using ws::TlsOptions;
using ws::TlsState;

using tls_test::CertPtr;
using tls_test::Free;
using tls_test::add_name;
using tls_test::identity;
using tls_test::Identity;
using tls_test::KeyPtr;
using tls_test::make_cert;
using tls_test::make_key;
using tls_test::Server;
using tls_test::ServerSetup;
using tls_test::kNotAfter;
using tls_test::kNotBefore;

std::vector<std::uint8_t> take_all(TlsClient& client) {
    std::vector<std::uint8_t> out(client.pending_output());
    out.resize(client.take_output(out.data(), out.size()));
    return out;
}

// Hands bytes to the client `chunk` at a time (1 = byte by byte).
void feed_in_chunks(TlsClient& client, const std::vector<std::uint8_t>& bytes, std::size_t chunk) {
    for (std::size_t at = 0; at < bytes.size() && client.state() != TlsState::failed; at += chunk)
        client.feed(bytes.data() + at, std::min(chunk, bytes.size() - at));
}

// Both sides until neither has anything more to say. Returns the server's
// handshake verdict.
bool pump(TlsClient& client, Server& server, std::size_t chunk) {
    bool server_done = false;
    for (int round = 0; round < 20; ++round) {
        server.feed(take_all(client));
        server_done = server.step();
        std::vector<std::uint8_t> to_client = server.take();
        if (to_client.empty() && client.pending_output() == 0) break;
        feed_in_chunks(client, to_client, chunk);
    }
    return server_done;
}

std::string read_all(TlsClient& client) {
    std::string all;
    std::array<std::uint8_t, 7> buf{}; // small on purpose: several reads per record
    while (std::size_t n = client.read_plaintext(buf.data(), buf.size()))
        all.append(reinterpret_cast<const char*>(buf.data()), n);
    return all;
}

std::string sha256_of(X509* cert) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned len = 0;
    X509_digest(cert, EVP_sha256(), md.data(), &len);
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        std::array<char, 3> two{};
        std::snprintf(two.data(), two.size(), "%02x", md[i]);
        out += two.data();
    }
    return out;
}

struct Variant {
    const char* kind;
    const char* key_type;
    int bits;
    std::size_t chunk;
};

void PrintTo(const Variant& v, std::ostream* os) { *os << v.kind << " fed " << v.chunk << " at a time"; }

class TlsHandshake : public ::testing::TestWithParam<Variant> {};

TEST_P(TlsHandshake, CompletesAndRecordsTheLeaf) {
    const Variant v = GetParam();
    const Identity& id = identity(v.kind);
    ASSERT_TRUE(id.cert);
    TlsContext context;
    TlsClient client(context, "tls.test");
    EXPECT_EQ(client.state(), TlsState::handshaking);
    EXPECT_GT(client.pending_output(), 0u); // the ClientHello, ready at once
    Server server(id.cert.get(), id.key.get());
    EXPECT_TRUE(pump(client, server, v.chunk));
    ASSERT_EQ(client.state(), TlsState::established) << client.failure_reason();
    EXPECT_STREQ(SSL_get_servername(server.ssl(), TLSEXT_NAMETYPE_host_name), "tls.test");

    const ws::TlsInfo& info = client.info();
    EXPECT_EQ(info.version, "TLSv1.3");
    EXPECT_EQ(info.cipher.rfind("TLS_", 0), 0u) << info.cipher;
    EXPECT_TRUE(info.has_certificate);
    EXPECT_EQ(info.subject, "C = US, O = \"Wire, Speed\", CN = tls.test");
    EXPECT_EQ(info.issuer, info.subject);
    EXPECT_EQ(info.san_dns, (std::vector<std::string>{"tls.test", "www.tls.test"}));
    EXPECT_EQ(info.san_ip, (std::vector<std::string>{"192.0.2.7", "2001:db8::7"}));
    EXPECT_EQ(info.not_before, "2024-01-02T03:04:05Z");
    EXPECT_EQ(info.not_after, "2034-01-02T03:04:05Z");
    EXPECT_EQ(info.sha256, sha256_of(id.cert.get()));
    EXPECT_EQ(info.sha256.size(), 64u);
    EXPECT_EQ(info.key_type, v.key_type);
    EXPECT_EQ(info.key_bits, v.bits);
    EXPECT_TRUE(info.self_signed);
    EXPECT_EQ(client.counters().openssl_errors, 0u);
}

TEST_P(TlsHandshake, PlaintextRoundTrip) {
    const Variant v = GetParam();
    const Identity& id = identity(v.kind);
    TlsContext context;
    TlsClient client(context);
    Server server(id.cert.get(), id.key.get());
    pump(client, server, v.chunk);
    ASSERT_EQ(client.state(), TlsState::established) << client.failure_reason();

    const std::string probe = "GET / HTTP/1.0\r\n\r\n";
    EXPECT_EQ(client.write_plaintext(reinterpret_cast<const std::uint8_t*>(probe.data()), probe.size()),
              probe.size());
    server.feed(take_all(client));
    EXPECT_EQ(server.read(), probe);

    const std::string answer = "HTTP/1.0 200 OK\r\nServer: test\r\n\r\n" + std::string(20000, 'x');
    server.write(answer); // two records: one is at most 16 KiB
    server.shutdown();
    feed_in_chunks(client, server.take(), v.chunk);
    EXPECT_EQ(read_all(client), answer);
    EXPECT_EQ(client.state(), TlsState::closed); // the server's close_notify
    EXPECT_EQ(client.counters().plaintext_in, answer.size());
    EXPECT_EQ(client.counters().plaintext_out, probe.size());
}

INSTANTIATE_TEST_SUITE_P(TlsKeys, TlsHandshake,
                         ::testing::Values(Variant{"rsa", "RSA", 2048, 1}, Variant{"rsa", "RSA", 2048, 65536},
                                           Variant{"ec", "EC", 256, 1}, Variant{"ec", "EC", 256, 65536},
                                           Variant{"ed25519", "Ed25519", 256, 7}),
                         [](const auto& p) {
                             return std::string(p.param.kind) + (p.param.chunk == 1 ? "_byte_by_byte"
                                                                 : "_chunks_of_" + std::to_string(p.param.chunk));
                         });

TEST(TlsSession, LegacyServerTls10IsStillSeen) {
    const Identity& id = identity("rsa");
    TlsContext context; // security level 0: TLS 1.0 and SHA-1 handshakes pass
    TlsClient client(context);
    Server server(id.cert.get(), id.key.get(), {.min_version = TLS1_VERSION, .max_version = TLS1_VERSION});
    pump(client, server, 4096);
    ASSERT_EQ(client.state(), TlsState::established) << client.failure_reason();
    EXPECT_EQ(client.info().version, "TLSv1");
    EXPECT_EQ(client.info().key_type, "RSA");
}

TEST(TlsSession, LegacyRsaKeyExchangeIsStillSeen) {
    const Identity& id = identity("rsa");
    TlsContext context;
    TlsClient client(context);
    EXPECT_EQ(client.write_plaintext(reinterpret_cast<const std::uint8_t*>("x"), 1), 0u); // not yet established
    Server server(id.cert.get(), id.key.get(), {.max_version = TLS1_2_VERSION, .ciphers = "AES128-SHA"});
    pump(client, server, 4096);
    ASSERT_EQ(client.state(), TlsState::established) << client.failure_reason();
    EXPECT_EQ(client.info().cipher, "TLS_RSA_WITH_AES_128_CBC_SHA");
}

TEST(TlsSession, Tls12WithAnIssuedCertificateIsNotSelfSigned) {
    const Identity& ca = identity("ec");
    KeyPtr key = make_key("ec");
    CertPtr leaf = make_cert(key.get(), "leaf.tls.test", ca.cert.get(), ca.key.get());
    ASSERT_TRUE(leaf);
    TlsContext context;
    TlsClient client(context);
    Server server(leaf.get(), key.get(), {.max_version = TLS1_2_VERSION});
    pump(client, server, 100);
    ASSERT_EQ(client.state(), TlsState::established) << client.failure_reason();
    EXPECT_EQ(client.info().version, "TLSv1.2");
    EXPECT_EQ(client.info().cipher.rfind("TLS_ECDHE_ECDSA_", 0), 0u) << client.info().cipher;
    EXPECT_EQ(client.info().subject, "C = US, O = \"Wire, Speed\", CN = leaf.tls.test");
    EXPECT_EQ(client.info().issuer, "C = US, O = \"Wire, Speed\", CN = tls.test");
    EXPECT_FALSE(client.info().self_signed);
    EXPECT_EQ(client.counters().openssl_errors, 0u); // "not self-signed" is no error
}

TEST(TlsSession, ACcmOnlyTls13ServerIsSeen) {
    const Identity& id = identity("ec");
    TlsContext context;
    TlsClient client(context);
    Server server(id.cert.get(), id.key.get(), {.min_version = TLS1_3_VERSION});
    ASSERT_EQ(SSL_set_ciphersuites(server.ssl(), "TLS_AES_128_CCM_SHA256"), 1);
    pump(client, server, 4096);
    ASSERT_EQ(client.state(), TlsState::established) << client.failure_reason();
    EXPECT_EQ(client.info().cipher, "TLS_AES_128_CCM_SHA256");
}

TEST(TlsSession, WithoutSniTheServerSeesNoName) {
    const Identity& id = identity("ec");
    TlsContext context;
    TlsClient client(context);
    Server server(id.cert.get(), id.key.get());
    pump(client, server, 4096);
    ASSERT_EQ(client.state(), TlsState::established);
    EXPECT_EQ(SSL_get_servername(server.ssl(), TLSEXT_NAMETYPE_host_name), nullptr);
}

TEST(TlsSession, GarbageFailsWithAReason) {
    TlsContext context;
    TlsClient client(context);
    const std::string http = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    client.feed(reinterpret_cast<const std::uint8_t*>(http.data()), http.size());
    ASSERT_EQ(client.state(), TlsState::failed);
    EXPECT_EQ(client.failure(), TlsFailure::protocol);
    EXPECT_EQ(client.failure_reason().rfind("handshake: error:", 0), 0u) << client.failure_reason();
    EXPECT_NE(client.failure_reason().find("SSL routines"), std::string::npos) << client.failure_reason();
    EXPECT_EQ(client.failure_reason().find('\n'), std::string::npos);
    EXPECT_GE(client.counters().openssl_errors, 1u);
    // Once failed, more bytes change nothing and plaintext goes nowhere.
    EXPECT_EQ(client.feed(reinterpret_cast<const std::uint8_t*>(http.data()), http.size()), TlsState::failed);
    EXPECT_EQ(client.write_plaintext(reinterpret_cast<const std::uint8_t*>(http.data()), http.size()), 0u);
}

TEST(TlsSession, AServerAlertFailsWithItsDescription) {
    TlsContext context;
    TlsClient client(context);
    // What a server that shares no cipher or version with us answers: a fatal
    // handshake_failure (40) alert.
    const std::vector<std::uint8_t> alert = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};
    client.feed(alert.data(), alert.size());
    ASSERT_EQ(client.state(), TlsState::failed);
    EXPECT_EQ(client.failure(), TlsFailure::protocol);
    EXPECT_NE(client.failure_reason().find("handshake failure"), std::string::npos) << client.failure_reason();
}

TEST(TlsSession, TruncatedHandshakeWaitsThenFailsOnClose) {
    const Identity& id = identity("rsa");
    TlsContext context;
    TlsClient client(context);
    Server server(id.cert.get(), id.key.get());
    server.feed(take_all(client));
    server.step();
    std::vector<std::uint8_t> flight = server.take();
    ASSERT_GT(flight.size(), 100u);
    flight.resize(flight.size() / 2);
    feed_in_chunks(client, flight, 1);
    EXPECT_EQ(client.state(), TlsState::handshaking);
    EXPECT_EQ(client.peer_closed(), TlsState::failed);
    EXPECT_EQ(client.failure(), TlsFailure::truncated);
    EXPECT_EQ(client.failure_reason(),
              "handshake: peer closed the connection after " + std::to_string(flight.size()) + " bytes");
}

TEST(TlsSession, ByteCapDuringTheHandshake) {
    const Identity& id = identity("rsa");
    TlsContext context({.max_peer_bytes = 500}); // less than an RSA certificate
    TlsClient client(context);
    Server server(id.cert.get(), id.key.get());
    pump(client, server, 1);
    ASSERT_EQ(client.state(), TlsState::failed);
    EXPECT_EQ(client.failure(), TlsFailure::too_much_data);
    EXPECT_EQ(client.failure_reason(), "too much data: the peer sent more than 500 bytes");
    EXPECT_EQ(client.counters().peer_bytes, 500u); // byte by byte: exactly up to the cap
}

TEST(TlsSession, ByteCapOnAPeerThatStreamsForever) {
    const Identity& id = identity("ec");
    TlsContext context({.max_peer_bytes = 64 * 1024});
    TlsClient client(context);
    Server server(id.cert.get(), id.key.get());
    pump(client, server, 65536);
    ASSERT_EQ(client.state(), TlsState::established);
    std::array<std::uint8_t, 4096> sink{};
    for (int i = 0; i < 100 && client.state() == TlsState::established; ++i) {
        server.write(std::string(4000, 'z'));
        std::vector<std::uint8_t> bytes = server.take();
        client.feed(bytes.data(), bytes.size());
        while (client.read_plaintext(sink.data(), sink.size()) > 0) {
        }
    }
    EXPECT_EQ(client.state(), TlsState::failed);
    EXPECT_EQ(client.failure(), TlsFailure::too_much_data);
    EXPECT_LE(client.counters().peer_bytes, 64u * 1024);
}

TEST(TlsSession, PeerCloseAfterTheHandshakeIsAClose) {
    const Identity& id = identity("ec");
    TlsContext context;
    TlsClient client(context);
    Server server(id.cert.get(), id.key.get());
    pump(client, server, 65536);
    ASSERT_EQ(client.state(), TlsState::established);
    EXPECT_EQ(client.peer_closed(), TlsState::closed);
    EXPECT_EQ(client.failure(), TlsFailure::none);
    client.close_notify();
    EXPECT_GT(client.pending_output(), 0u); // our close_notify alert
}

TEST(TlsSession, TamperedRecordFailsWithAReason) {
    const Identity& id = identity("ec");
    TlsContext context;
    TlsClient client(context);
    Server server(id.cert.get(), id.key.get());
    pump(client, server, 65536);
    ASSERT_EQ(client.state(), TlsState::established);
    server.write("hello");
    std::vector<std::uint8_t> record = server.take();
    record.back() ^= 0x01; // the AEAD tag no longer matches
    client.feed(record.data(), record.size());
    std::array<std::uint8_t, 64> sink{};
    EXPECT_EQ(client.read_plaintext(sink.data(), sink.size()), 0u);
    EXPECT_EQ(client.state(), TlsState::failed);
    EXPECT_EQ(client.failure(), TlsFailure::protocol);
    EXPECT_EQ(client.failure_reason().rfind("read: error:", 0), 0u) << client.failure_reason();
}

TEST(TlsSession, ContextsAndClientsFreeEverything) {
    // Many short-lived clients on one context; LeakSanitizer (scripts/test.sh)
    // checks nothing stays behind, including clients dropped mid-handshake.
    TlsContext context;
    for (int i = 0; i < 50; ++i) {
        TlsClient client(context, i % 2 ? "a.test" : "");
        std::vector<std::uint8_t> hello = take_all(client);
        EXPECT_TRUE(ws::looks_like_tls_record(hello.data(), hello.size())); // the ClientHello is a record too
    }
}

TEST(TlsSession, ANameThatIsNotTextFallsBackToHex) {
    // Bad UTF-8 cannot be signed into a certificate through OpenSSL (it
    // canonicalises names on encoding), so the name is set on a bare X509.
    CertPtr cert(X509_new());
    const unsigned char bad_utf8[] = {'a', 0xff, 'b'};
    ASSERT_EQ(X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", V_ASN1_UTF8STRING, bad_utf8,
                                         sizeof bad_utf8, -1, 0),
              1);
    add_name(X509_get_issuer_name(cert.get()), "CN", "ok");
    const ws::TlsInfo info = ws::describe_certificate(cert.get());
    EXPECT_EQ(info.subject, "CN = #0C0361FF62"); // the DER of the UTF8String, in hex
    EXPECT_EQ(info.issuer, "CN = ok");
}

TEST(TlsSession, SanBytesThatAreNotPrintableAreEscaped) {
    CertPtr cert(X509_new());
    GENERAL_NAMES* names = GENERAL_NAMES_new();
    GENERAL_NAME* dns = GENERAL_NAME_new();
    ASN1_IA5STRING* text = ASN1_IA5STRING_new();
    ASN1_STRING_set(text, "a\nb\xff\\c", 6);
    GENERAL_NAME_set0_value(dns, GEN_DNS, text);
    sk_GENERAL_NAME_push(names, dns);
    ASSERT_EQ(X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names, 0, 0), 1);
    GENERAL_NAMES_free(names);
    EXPECT_EQ(ws::describe_certificate(cert.get()).san_dns, (std::vector<std::string>{"a\\x0ab\\xff\\x5cc"}));
}

TEST(TlsRecord, LooksLikeTls) {
    const std::uint8_t server_hello[] = {0x16, 0x03, 0x03, 0x00, 0x7a, 0x02};
    const std::uint8_t alert[] = {0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28};
    const std::uint8_t ssl3[] = {0x16, 0x03, 0x00, 0x40, 0x00};
    EXPECT_TRUE(ws::looks_like_tls_record(server_hello, sizeof server_hello));
    EXPECT_TRUE(ws::looks_like_tls_record(alert, sizeof alert));
    EXPECT_TRUE(ws::looks_like_tls_record(ssl3, sizeof ssl3));
}

TEST(TlsRecord, LooksLikeTlsRefuses) {
    const std::string http = "HTTP/1.1 200 OK\r\n";
    EXPECT_FALSE(ws::looks_like_tls_record(reinterpret_cast<const std::uint8_t*>(http.data()), http.size()));
    const std::uint8_t app_data[] = {0x17, 0x03, 0x03, 0x00, 0x10};    // not what a server sends first
    const std::uint8_t bad_major[] = {0x16, 0x02, 0x00, 0x00, 0x10};   // SSL 2 / other
    const std::uint8_t bad_minor[] = {0x16, 0x03, 0x05, 0x00, 0x10};   // no such version
    const std::uint8_t empty_len[] = {0x16, 0x03, 0x03, 0x00, 0x00};   // zero-length record
    const std::uint8_t huge_len[] = {0x16, 0x03, 0x03, 0x48, 0x01};    // > 2^14 + 2048
    const std::uint8_t short_header[] = {0x16, 0x03, 0x03, 0x00};       // needs 5 bytes
    EXPECT_FALSE(ws::looks_like_tls_record(app_data, sizeof app_data));
    EXPECT_FALSE(ws::looks_like_tls_record(bad_major, sizeof bad_major));
    EXPECT_FALSE(ws::looks_like_tls_record(bad_minor, sizeof bad_minor));
    EXPECT_FALSE(ws::looks_like_tls_record(empty_len, sizeof empty_len));
    EXPECT_FALSE(ws::looks_like_tls_record(huge_len, sizeof huge_len));
    EXPECT_FALSE(ws::looks_like_tls_record(short_header, sizeof short_header));
    EXPECT_FALSE(ws::looks_like_tls_record(nullptr, 0));
    const std::uint8_t max_len[] = {0x16, 0x03, 0x03, 0x48, 0x00}; // exactly 2^14 + 2048
    EXPECT_TRUE(ws::looks_like_tls_record(max_len, sizeof max_len));
}

// ---------------------------------------------------------------- openssl(1)

std::string run(const std::string& command) {
    std::string out;
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), &pclose);
    if (!pipe) return out;
    std::array<char, 512> buf{};
    while (std::fgets(buf.data(), buf.size(), pipe.get()) != nullptr) out += buf.data();
    return out;
}

// "Jan  2 03:04:05 2024 GMT" (openssl -dates) -> "2024-01-02T03:04:05Z".
std::string iso_from_openssl(const std::string& text) {
    std::tm tm{};
    const char* end = strptime(text.c_str(), "%b %d %H:%M:%S %Y GMT", &tm);
    if (end == nullptr) return "unparsed:" + text;
    std::array<char, 32> out{};
    std::strftime(out.data(), out.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out.data();
}

std::map<std::string, std::string> openssl_x509_fields(X509* cert) {
    const std::filesystem::path file =
        std::filesystem::temp_directory_path() / ("ws_tls_" + std::to_string(getpid()) + ".pem");
    {
        std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(file.c_str(), "w"), &std::fclose);
        if (!f) return {};
        PEM_write_X509(f.get(), cert);
    }
    // -esc_msb: UTF-8 stays UTF-8, as TlsInfo keeps it (the default escapes it).
    const std::string out = run("openssl x509 -in '" + file.string() +
                                "' -nameopt oneline,-esc_msb -noout -subject -issuer -fingerprint -sha256 -dates 2>&1");
    std::filesystem::remove(file);
    std::map<std::string, std::string> fields;
    std::size_t at = 0;
    while (at < out.size()) {
        std::size_t nl = out.find('\n', at);
        if (nl == std::string::npos) nl = out.size();
        const std::string line = out.substr(at, nl - at);
        const std::size_t eq = line.find('=');
        if (eq != std::string::npos) fields[line.substr(0, eq)] = line.substr(eq + 1);
        at = nl + 1;
    }
    return fields;
}

TEST(TlsOpensslCommand, FieldsEqualOpensslX509) {
    if (run("command -v openssl").empty()) GTEST_SKIP() << "openssl(1) is not installed";
    const Identity& ec = identity("ec");
    CertPtr utf8 = make_cert(ec.key.get(), "Z\u00fcrich \u00e9t\u00e9 \u65e5\u672c", nullptr, nullptr);
    ASSERT_TRUE(utf8);
    for (X509* cert : {identity("rsa").cert.get(), ec.cert.get(), identity("ed25519").cert.get(), utf8.get()}) {
        SCOPED_TRACE(ws::describe_certificate(cert).subject);
        const ws::TlsInfo info = ws::describe_certificate(cert);
        std::map<std::string, std::string> cli = openssl_x509_fields(cert);
        ASSERT_EQ(cli.size(), 5u);
        EXPECT_EQ(info.subject, cli["subject"]);
        EXPECT_EQ(info.issuer, cli["issuer"]);
        std::string fingerprint = cli["sha256 Fingerprint"];
        fingerprint.erase(std::remove(fingerprint.begin(), fingerprint.end(), ':'), fingerprint.end());
        std::transform(fingerprint.begin(), fingerprint.end(), fingerprint.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        EXPECT_EQ(info.sha256, fingerprint);
        EXPECT_EQ(info.not_before, iso_from_openssl(cli["notBefore"]));
        EXPECT_EQ(info.not_after, iso_from_openssl(cli["notAfter"]));
    }
}

} // namespace
