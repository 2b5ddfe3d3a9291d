#include "wirespeed/tls_session.hpp"

#include "wirespeed/error.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <limits>

namespace ws {

namespace {

// OpenSSL's error queue as one line: the first (root) error names the cause;
// the rest are the frames that passed it up. Every entry is counted.
std::string drain_error_queue(std::uint64_t& counted) {
    std::string first;
    unsigned extra = 0;
    while (unsigned long code = ERR_get_error()) {
        ++counted;
        if (first.empty()) {
            std::array<char, 256> text{};
            ERR_error_string_n(code, text.data(), text.size());
            first = text.data();
        } else {
            ++extra;
        }
    }
    if (extra > 0) first += " (+" + std::to_string(extra) + " more)";
    return first;
}

[[noreturn]] void throw_openssl(std::string_view what) {
    std::uint64_t ignored = 0;
    std::string queue = drain_error_queue(ignored);
    throw Error(std::string(what) + (queue.empty() ? std::string() : ": " + queue));
}

// The one-line form of `openssl x509 -subject` (OpenSSL 3's default
// -nameopt oneline), so a lab check can compare the strings as they are;
// but non-ASCII text stays UTF-8 instead of \C3\BC escapes (`-nameopt
// oneline,-esc_msb`), since outputs and the database store UTF-8 text.
constexpr unsigned long kNameFlags = XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB;
// A value that is not valid UTF-8 (a hostile or broken certificate; OpenSSL
// prints its bytes as they are) would break every text output: the whole
// name falls back to RFC 2253's "#" hex of each value's DER instead.
constexpr unsigned long kNameFallbackFlags = kNameFlags | ASN1_STRFLGS_DUMP_ALL;

// Well-formed UTF-8 (RFC 3629: shortest forms, no surrogates, <= U+10FFFF).
bool valid_utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t extra = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) { ++i; continue; }
        if (c >= 0xc2 && c <= 0xdf) { extra = 1; cp = c & 0x1f; }
        else if (c >= 0xe0 && c <= 0xef) { extra = 2; cp = c & 0x0f; }
        else if (c >= 0xf0 && c <= 0xf4) { extra = 3; cp = c & 0x07; }
        else return false;
        if (i + extra >= text.size()) return false; // cut short
        for (std::size_t k = 1; k <= extra; ++k) {
            const auto cc = static_cast<unsigned char>(text[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if ((extra == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        i += extra + 1;
    }
    return true;
}

std::string mem_bio_text(BIO* bio) {
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

std::string print_name(const X509_NAME* name, unsigned long flags) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    if (!bio || X509_NAME_print_ex(bio.get(), name, 0, flags) < 0) return {};
    return mem_bio_text(bio.get());
}

std::string name_text(const X509_NAME* name, std::uint64_t& errors) {
    if (name == nullptr) return {};
    ERR_set_mark(); // a value that is not text is the certificate's doing, not an error
    std::string text = print_name(name, kNameFlags);
    ERR_pop_to_mark();
    if ((text.empty() && X509_NAME_entry_count(name) > 0) || !valid_utf8(text)) {
        text = print_name(name, kNameFallbackFlags);
        if (text.empty()) drain_error_queue(errors);
    }
    return text;
}

std::string iso8601(const ASN1_TIME* time, std::uint64_t& errors) {
    std::tm tm{};
    if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
        drain_error_queue(errors);
        return {};
    }
    std::array<char, 32> text{};
    std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text.data();
}

std::string hex(const unsigned char* data, std::size_t size) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(size * 2, '0');
    for (std::size_t i = 0; i < size; ++i) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 0x0f];
    }
    return out;
}

std::string ip_text(const ASN1_OCTET_STRING* ip) {
    const int len = ASN1_STRING_length(ip);
    const int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : 0;
    if (family == 0) return "invalid:" + hex(ASN1_STRING_get0_data(ip), static_cast<std::size_t>(len < 0 ? 0 : len));
    std::array<char, INET6_ADDRSTRLEN> text{};
    inet_ntop(family, ASN1_STRING_get0_data(ip), text.data(), text.size()); // inet_ntop is RFC 5952 for v6
    return text.data();
}

// An IA5String as it is when printable ASCII (every real DNS name), with
// any other byte as \xHH, so a hostile SAN cannot put control bytes or
// invalid UTF-8 into the outputs.
std::string printable(const ASN1_STRING* text) {
    static constexpr char digits[] = "0123456789abcdef";
    const unsigned char* data = ASN1_STRING_get0_data(text);
    const int len = ASN1_STRING_length(text);
    std::string out;
    out.reserve(static_cast<std::size_t>(len < 0 ? 0 : len));
    for (int i = 0; i < len; ++i) {
        const unsigned char c = data[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += digits[c >> 4];
            out += digits[c & 0x0f];
        }
    }
    return out;
}

void read_sans(X509* cert, TlsInfo& info) {
    auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (names == nullptr) return; // no extension is normal, not an error
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
        if (name->type == GEN_DNS) {
            info.san_dns.push_back(printable(name->d.dNSName));
        } else if (name->type == GEN_IPADD) {
            info.san_ip.push_back(ip_text(name->d.iPAddress));
        }
    }
    GENERAL_NAMES_free(names);
}

std::string key_type_name(const EVP_PKEY* key) {
    switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA: return "RSA";
    case EVP_PKEY_RSA_PSS: return "RSA-PSS";
    case EVP_PKEY_EC: return "EC";
    case EVP_PKEY_ED25519: return "Ed25519";
    case EVP_PKEY_ED448: return "Ed448";
    case EVP_PKEY_DSA: return "DSA";
    default: break;
    }
    const char* name = EVP_PKEY_get0_type_name(key);
    return name != nullptr ? name : "unknown";
}

void read_key(X509* cert, TlsInfo& info, std::uint64_t& errors) {
    EVP_PKEY* key = X509_get0_pubkey(cert);
    if (key == nullptr) { // an algorithm this OpenSSL does not know
        drain_error_queue(errors);
        info.key_type = "unknown";
        return;
    }
    info.key_type = key_type_name(key);
    info.key_bits = EVP_PKEY_get_bits(key);
}

} // namespace

TlsInfo describe_certificate(x509_st* cert, std::uint64_t* errors) {
    std::uint64_t local = 0;
    std::uint64_t& errs = errors != nullptr ? *errors : local;
    TlsInfo info;
    if (cert == nullptr) return info;
    info.has_certificate = true;
    info.subject = name_text(X509_get_subject_name(cert), errs);
    info.issuer = name_text(X509_get_issuer_name(cert), errs);
    read_sans(cert, info);
    info.not_before = iso8601(X509_get0_notBefore(cert), errs);
    info.not_after = iso8601(X509_get0_notAfter(cert), errs);
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int md_len = 0;
    if (X509_digest(cert, EVP_sha256(), md.data(), &md_len) == 1)
        info.sha256 = hex(md.data(), md_len);
    else
        drain_error_queue(errs);
    read_key(cert, info, errs);
    // 1 = issuer equals subject and the certificate's own key verifies it.
    // A "no" is an answer, not an error: what the check leaves in the queue
    // is dropped rather than counted.
    ERR_set_mark();
    info.self_signed = X509_self_signed(cert, 1) == 1;
    ERR_pop_to_mark();
    return info;
}

// ---------------------------------------------------------------- context

TlsContext::TlsContext(const TlsOptions& options) : options_(options) {
    ERR_clear_error();
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
    if (!ctx) throw_openssl("TLS context: SSL_CTX_new failed");
    // Explicit settings override the system openssl.cnf (Debian's asks for
    // TLS 1.2 at security level 2, which would hide every older server).
    SSL_CTX_set_security_level(ctx.get(), options.security_level);
    if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx.get(), 0) != 1) // 0 = the highest this OpenSSL has
        throw_openssl("TLS context: cannot set protocol versions");
    // Everything compiled in, at the chosen level (the string's own
    // @SECLEVEL would otherwise reset it).
    const std::string ciphers = "ALL:@SECLEVEL=" + std::to_string(options.security_level);
    if (SSL_CTX_set_cipher_list(ctx.get(), ciphers.c_str()) != 1)
        throw_openssl("TLS context: cipher list '" + ciphers + "' refused");
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    // Old servers without RFC 5746 secure renegotiation, which OpenSSL 3
    // refuses by default; we never renegotiate, so nothing is at stake.
    // Padding: ClientHellos of 256-511 bytes (ours, with every cipher) hang
    // some old F5 load balancers.
    SSL_CTX_set_options(ctx.get(), SSL_OP_LEGACY_SERVER_CONNECT | SSL_OP_TLSEXT_PADDING);
    // All five TLS 1.3 suites (OpenSSL offers three by default), so a server
    // that has only CCM still answers.
    if (SSL_CTX_set_ciphersuites(ctx.get(), "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
                                            "TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256") != 1)
        throw_openssl("TLS context: TLS 1.3 cipher suites refused");
    // Targets are all different servers: resumption would never hit.
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
    ctx_ = ctx.release();
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

// ---------------------------------------------------------------- client

std::string_view to_string(TlsState state) noexcept {
    switch (state) {
    case TlsState::handshaking: return "handshaking";
    case TlsState::established: return "established";
    case TlsState::failed: return "failed";
    case TlsState::closed: return "closed";
    }
    return "?";
}

std::string_view to_string(TlsFailure failure) noexcept {
    switch (failure) {
    case TlsFailure::none: return "none";
    case TlsFailure::protocol: return "protocol";
    case TlsFailure::too_much_data: return "too_much_data";
    case TlsFailure::truncated: return "truncated";
    case TlsFailure::internal: return "internal";
    }
    return "?";
}

void TlsClient::SslFree::operator()(ssl_st* ssl) const noexcept { SSL_free(ssl); } // and both BIOs

TlsClient::TlsClient(const TlsContext& context, std::string_view sni) : context_(context) {
    ERR_clear_error(); // another connection's leftovers on this thread are not ours
    ssl_.reset(SSL_new(context.native()));
    if (!ssl_) throw_openssl("TLS client: SSL_new failed");
    SSL* ssl = ssl_.get();
    std::unique_ptr<BIO, decltype(&BIO_free)> in(BIO_new(BIO_s_mem()), &BIO_free);
    std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), &BIO_free);
    if (!in || !out) throw_openssl("TLS client: BIO_new failed");
    // An empty memory BIO means "no bytes yet" (retry), not end of file.
    BIO_set_mem_eof_return(in.get(), -1);
    BIO_set_mem_eof_return(out.get(), -1);
    if (!sni.empty()) {
        const std::string name(sni);
        if (SSL_set_tlsext_host_name(ssl, name.c_str()) != 1)
            throw_openssl("TLS client: server name '" + name + "' refused");
    }
    SSL_set_bio(ssl, in.get(), out.get()); // the SSL owns both from here
    in_ = in.release();
    out_ = out.release();
    SSL_set_connect_state(ssl);
    advance_handshake(); // the ClientHello
}

TlsClient::~TlsClient() = default;

std::string TlsClient::drain_errors() { return drain_error_queue(counters_.openssl_errors); }

void TlsClient::fail(TlsFailure kind, std::string reason) {
    if (state_ == TlsState::failed) return; // the first cause is the one worth reporting
    state_ = TlsState::failed;
    failure_ = kind;
    reason_ = std::move(reason);
}

// Called when an SSL_* call returned ret <= 0 with something other than
// WANT_READ / WANT_WRITE: turns OpenSSL's verdict into one line.
void TlsClient::fail_from_ssl(int ret, std::string_view during) {
    const int code = SSL_get_error(ssl_.get(), ret);
    std::string queue = drain_errors();
    std::string prefix = std::string(during) + ": ";
    switch (code) {
    case SSL_ERROR_SSL:
        fail(TlsFailure::protocol, prefix + (queue.empty() ? "protocol error" : queue));
        return;
    case SSL_ERROR_ZERO_RETURN:
        fail(TlsFailure::truncated, prefix + "peer sent close_notify");
        return;
    case SSL_ERROR_SYSCALL:
        // Memory BIOs make no system calls: an empty queue here means the
        // input ended where a record was still expected.
        fail(TlsFailure::truncated, prefix + (queue.empty() ? "unexpected end of input" : queue));
        return;
    default:
        fail(TlsFailure::internal,
             prefix + "SSL_get_error " + std::to_string(code) + (queue.empty() ? "" : ": " + queue));
        return;
    }
}

void TlsClient::advance_handshake() {
    if (state_ != TlsState::handshaking) return;
    ERR_clear_error();
    const int ret = SSL_do_handshake(ssl_.get());
    if (ret == 1) {
        state_ = TlsState::established;
        record_session();
        return;
    }
    const int code = SSL_get_error(ssl_.get(), ret);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) return; // more bytes, later
    fail_from_ssl(ret, "handshake");
}

void TlsClient::record_session() {
    info_ = describe_certificate(SSL_get0_peer_certificate(ssl_.get()), &counters_.openssl_errors);
    info_.version = SSL_get_version(ssl_.get());
    if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_.get())) {
        const char* name = SSL_CIPHER_standard_name(cipher);
        info_.cipher = name != nullptr ? name : SSL_CIPHER_get_name(cipher);
    }
}

TlsState TlsClient::feed(const std::uint8_t* data, std::size_t size) {
    if (state_ == TlsState::failed || state_ == TlsState::closed || size == 0) return state_;
    const std::size_t cap = context_.options().max_peer_bytes;
    if (counters_.peer_bytes + size > cap) {
        fail(TlsFailure::too_much_data, "too much data: the peer sent more than " + std::to_string(cap) + " bytes");
        return state_;
    }
    // Bounded by the cap above, so the int conversion cannot overflow for any
    // cap below 2 GiB; larger caps are fed in int-sized pieces.
    while (size > 0) {
        const int piece = static_cast<int>(std::min<std::size_t>(size, std::numeric_limits<int>::max()));
        if (BIO_write(in_, data, piece) != piece) {
            fail(TlsFailure::internal, "feed: BIO_write failed: " + drain_errors());
            return state_;
        }
        counters_.peer_bytes += static_cast<std::uint64_t>(piece);
        data += piece;
        size -= static_cast<std::size_t>(piece);
    }
    advance_handshake();
    return state_;
}

TlsState TlsClient::peer_closed() {
    if (state_ == TlsState::handshaking)
        fail(TlsFailure::truncated, "handshake: peer closed the connection after " +
                                        std::to_string(counters_.peer_bytes) + " bytes");
    else if (state_ == TlsState::established)
        state_ = TlsState::closed;
    return state_;
}

std::size_t TlsClient::pending_output() const noexcept { return BIO_ctrl_pending(out_); }

std::size_t TlsClient::take_output(std::uint8_t* out, std::size_t cap) noexcept {
    const std::size_t want = std::min({cap, pending_output(), std::size_t{std::numeric_limits<int>::max()}});
    if (want == 0) return 0;
    const int got = BIO_read(out_, out, static_cast<int>(want));
    if (got <= 0) return 0;
    counters_.output_bytes += static_cast<std::uint64_t>(got);
    return static_cast<std::size_t>(got);
}

std::size_t TlsClient::write_plaintext(const std::uint8_t* data, std::size_t size) {
    if (state_ != TlsState::established || size == 0) return 0;
    ERR_clear_error();
    std::size_t written = 0;
    // A memory BIO never refuses a write, so SSL_write_ex takes everything.
    const int ret = SSL_write_ex(ssl_.get(), data, size, &written);
    if (ret != 1) {
        fail_from_ssl(ret, "write");
        return 0;
    }
    counters_.plaintext_out += written;
    return written;
}

std::size_t TlsClient::read_plaintext(std::uint8_t* out, std::size_t cap) {
    if (state_ != TlsState::established || cap == 0) return 0;
    ERR_clear_error();
    std::size_t got = 0;
    const int ret = SSL_read_ex(ssl_.get(), out, cap, &got);
    if (ret == 1) {
        counters_.plaintext_in += got;
        return got;
    }
    const int code = SSL_get_error(ssl_.get(), ret);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) return 0;
    if (code == SSL_ERROR_ZERO_RETURN) { // close_notify: a clean end of the answer
        state_ = TlsState::closed;
        return 0;
    }
    fail_from_ssl(ret, "read");
    return 0;
}

void TlsClient::close_notify() {
    if (state_ != TlsState::established && state_ != TlsState::closed) return;
    ERR_clear_error();
    // 0 = sent, waiting for the peer's (which we do not need); <0 only on a
    // broken connection, which is about to be dropped anyway: counted.
    if (SSL_shutdown(ssl_.get()) < 0) drain_errors();
}

bool looks_like_tls_record(const std::uint8_t* data, std::size_t size) noexcept {
    if (data == nullptr || size < 5) return false;
    const std::uint8_t type = data[0];
    if (type != 0x16 && type != 0x15) return false; // handshake or alert: what a server sends first
    if (data[1] != 0x03 || data[2] > 0x04) return false; // SSL 3.0 .. TLS 1.3 record versions
    const unsigned length = (static_cast<unsigned>(data[3]) << 8) | data[4];
    return length >= 1 && length <= (1u << 14) + 2048; // TLSCiphertext's limit (RFC 5246 6.2.3)
}

} // namespace ws
