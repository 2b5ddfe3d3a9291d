#pragma once
// An in-process OpenSSL server over memory BIOs and the certificates it
// serves, for tests of the TLS client and of service detection: no sockets,
// no packets, every certificate field known in advance.
#include <gtest/gtest.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tls_test {

struct Free {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
    void operator()(X509* p) const { X509_free(p); }
    void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
    void operator()(SSL* p) const { SSL_free(p); }
    void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Free>;
using CertPtr = std::unique_ptr<X509, Free>;

inline constexpr const char* kNotBefore = "20240102030405Z";
inline constexpr const char* kNotAfter = "20340102030405Z";

inline KeyPtr make_key(const std::string& kind) {
    if (kind == "rsa") return KeyPtr(EVP_RSA_gen(2048));
    if (kind == "ec") return KeyPtr(EVP_EC_gen("P-256"));
    return KeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
}

inline void add_name(X509_NAME* name, const char* field, const char* value) {
    ASSERT_EQ(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value),
                                         -1, -1, 0),
              1);
}

// A certificate for key, signed by issuer_key (itself when issuer is null).
inline CertPtr make_cert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key) {
    CertPtr cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 4242);
    ASN1_TIME_set_string_X509(X509_getm_notBefore(cert.get()), kNotBefore);
    ASN1_TIME_set_string_X509(X509_getm_notAfter(cert.get()), kNotAfter);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    add_name(name, "C", "US");
    add_name(name, "O", "Wire, Speed"); // a comma: the one-line form must quote it
    add_name(name, "CN", cn);
    X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
    std::unique_ptr<X509_EXTENSION, Free> san(X509V3_EXT_conf_nid(
        nullptr, &ctx, NID_subject_alt_name, "DNS:tls.test,DNS:www.tls.test,IP:192.0.2.7,IP:2001:db8::7"));
    X509_add_ext(cert.get(), san.get(), -1);
    EVP_PKEY* signer = issuer_key ? issuer_key : key;
    const EVP_MD* md = EVP_PKEY_get_base_id(signer) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
    if (X509_sign(cert.get(), signer, md) <= 0) return nullptr;
    return cert;
}

// Key generation is the slow part (RSA 2048): once per kind for the suite.
struct Identity {
    KeyPtr key;
    CertPtr cert;
};
inline const Identity& identity(const std::string& kind) {
    static std::map<std::string, Identity> made;
    auto it = made.find(kind);
    if (it == made.end()) {
        Identity id;
        id.key = make_key(kind);
        id.cert = make_cert(id.key.get(), "tls.test", nullptr, nullptr);
        it = made.emplace(kind, std::move(id)).first;
    }
    return it->second;
}

struct ServerSetup {
    int min_version = TLS1_VERSION;
    int max_version = 0;
    const char* ciphers = "ALL:@SECLEVEL=0";
};

// The far side: an OpenSSL server over its own pair of memory BIOs.
class Server {
public:
    Server(X509* cert, EVP_PKEY* key, const ServerSetup& setup = {}) : ctx_(SSL_CTX_new(TLS_server_method())) {
        SSL_CTX_set_security_level(ctx_.get(), 0);
        SSL_CTX_set_min_proto_version(ctx_.get(), setup.min_version);
        SSL_CTX_set_max_proto_version(ctx_.get(), setup.max_version);
        SSL_CTX_set_cipher_list(ctx_.get(), setup.ciphers);
        EXPECT_EQ(SSL_CTX_use_certificate(ctx_.get(), cert), 1);
        EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx_.get(), key), 1);
        ssl_.reset(SSL_new(ctx_.get()));
        in_ = BIO_new(BIO_s_mem());
        out_ = BIO_new(BIO_s_mem());
        BIO_set_mem_eof_return(in_, -1);
        BIO_set_mem_eof_return(out_, -1);
        SSL_set_bio(ssl_.get(), in_, out_);
        SSL_set_accept_state(ssl_.get());
    }
    void feed(const std::vector<std::uint8_t>& bytes) {
        if (!bytes.empty()) BIO_write(in_, bytes.data(), static_cast<int>(bytes.size()));
    }
    bool step() { // true once the handshake is done
        const int ret = SSL_do_handshake(ssl_.get());
        ERR_clear_error();
        return ret == 1;
    }
    std::vector<std::uint8_t> take() {
        std::vector<std::uint8_t> out(BIO_ctrl_pending(out_));
        if (!out.empty()) BIO_read(out_, out.data(), static_cast<int>(out.size()));
        return out;
    }
    void write(const std::string& text) {
        std::size_t n = 0;
        ASSERT_EQ(SSL_write_ex(ssl_.get(), text.data(), text.size(), &n), 1);
    }
    std::string read() {
        std::string all;
        std::array<char, 4096> buf{};
        std::size_t n = 0;
        while (SSL_read_ex(ssl_.get(), buf.data(), buf.size(), &n) == 1) all.append(buf.data(), n);
        ERR_clear_error();
        return all;
    }
    void shutdown() { SSL_shutdown(ssl_.get()); }
    SSL* ssl() { return ssl_.get(); }

private:
    std::unique_ptr<SSL_CTX, Free> ctx_;
    std::unique_ptr<SSL, Free> ssl_;
    BIO* in_ = nullptr;
    BIO* out_ = nullptr;
};

} // namespace tls_test
