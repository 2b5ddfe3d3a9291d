#pragma once
// A TLS client driven by bytes, not sockets: the user-mode TCP of service
// detection (issue 12) feeds it the peer's ciphertext and sends what it
// produces. OpenSSL runs over two memory BIOs, so nothing here blocks, touches
// a file descriptor or knows about packets. After the handshake the leaf
// certificate is recorded as the scanner saw it: nothing is verified, since a
// scanner reports what a server presents rather than whether to trust it.
//
// One TlsContext (one SSL_CTX) is built once and shared by every connection
// of every RX lcore; one TlsClient per connection, used by one thread.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

// OpenSSL's types, declared so that users of this header need no OpenSSL one.
struct ssl_ctx_st;
struct ssl_st;
struct bio_st;
struct x509_st;

namespace ws {

struct TlsOptions {
    // 0 accepts what old servers still offer (TLS 1.0/1.1, SHA-1 signatures,
    // 1024-bit keys, RSA key exchange): a scanner that refused them would
    // report such a server as "not TLS" instead of recording its certificate.
    int security_level = 0;
    // Ciphertext accepted from the peer over a connection's life: a
    // certificate chain is a few KiB, a banner at most --banner-bytes; a peer
    // that streams forever fails with "too much data" at this many bytes.
    std::size_t max_peer_bytes = 256 * 1024;
};

// The shared, immutable SSL_CTX. Throws ws::Error (one line, OpenSSL's
// reason) when OpenSSL cannot build it.
class TlsContext {
public:
    explicit TlsContext(const TlsOptions& options = {});
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    ssl_ctx_st* native() const noexcept { return ctx_; }
    const TlsOptions& options() const noexcept { return options_; }

private:
    ssl_ctx_st* ctx_ = nullptr;
    TlsOptions options_;
};

enum class TlsState : std::uint8_t {
    handshaking, // waiting for the peer's bytes (or ours to be taken)
    established, // handshake done: TlsInfo is filled, plaintext flows
    failed,      // see failure_reason(); nothing more will happen
    closed,      // the peer closed after the handshake (close_notify or EOF)
};
std::string_view to_string(TlsState state) noexcept;

// What a failure was, for counting by kind; the reason string says the rest.
enum class TlsFailure : std::uint8_t {
    none,
    protocol,      // OpenSSL refused the peer's bytes (not TLS, an alert, no common cipher)
    too_much_data, // the peer sent more than TlsOptions::max_peer_bytes
    truncated,     // the peer closed in the middle of the handshake
    internal,      // OpenSSL failed on our side (allocation, a call out of order)
};
std::string_view to_string(TlsFailure failure) noexcept;

// The session and its leaf certificate as the server presented them.
struct TlsInfo {
    std::string version;            // "TLSv1.3", "TLSv1.2", ... (OpenSSL's names)
    std::string cipher;             // IANA name: "TLS_AES_256_GCM_SHA384"
    bool has_certificate = false;   // false for anonymous suites: the fields below are empty
    // As `openssl x509 -subject` prints them ("C = US, O = x, CN = y"), but
    // non-ASCII kept as UTF-8 (-nameopt oneline,-esc_msb); a name that is not
    // valid UTF-8 is printed as "CN = #0C03..." (each value's DER in hex).
    std::string subject, issuer;
    std::vector<std::string> san_dns; // dNSName entries, in certificate order; bytes outside ASCII 0x20-0x7e and '\' as \xHH
    std::vector<std::string> san_ip;  // iPAddress entries: dotted quad or RFC 5952 text
    std::string not_before, not_after; // ISO 8601 UTC: "2026-01-02T03:04:05Z"
    std::string sha256;             // fingerprint of the DER: 64 lowercase hex digits
    std::string key_type;           // "RSA", "EC", "Ed25519", "Ed448", "DSA", "RSA-PSS" or OpenSSL's name
    int key_bits = 0;
    bool self_signed = false;       // issuer == subject and its own key verifies the signature
};

struct TlsCounters {
    std::uint64_t peer_bytes = 0;      // ciphertext fed
    std::uint64_t output_bytes = 0;    // ciphertext taken
    std::uint64_t plaintext_in = 0;    // plaintext read (the service's answer)
    std::uint64_t plaintext_out = 0;   // plaintext written (the probe)
    std::uint64_t openssl_errors = 0;  // entries drained from OpenSSL's error queue
};

// One connection. Every call returns at once: when OpenSSL needs more of the
// peer's bytes it waits for the next feed(). Output (ClientHello, Finished,
// encrypted probes, alerts) collects until take_output().
class TlsClient {
public:
    // Starts the handshake: the ClientHello is ready in take_output() on
    // return. sni empty = no server_name extension (an address has no name).
    // Throws ws::Error only when OpenSSL cannot allocate the connection.
    // The context must outlive the client.
    explicit TlsClient(const TlsContext& context, std::string_view sni = {});
    ~TlsClient();
    TlsClient(const TlsClient&) = delete;
    TlsClient& operator=(const TlsClient&) = delete;

    // Ciphertext from the peer, in any slicing (one byte or a whole flight).
    // During the handshake it advances it; once established the records wait
    // for read_plaintext(), which is also where an alert or close_notify is
    // seen, so call it after every feed.
    TlsState feed(const std::uint8_t* data, std::size_t size);
    // The peer's FIN: during the handshake a failure ("truncated"), after it
    // a close.
    TlsState peer_closed();

    std::size_t pending_output() const noexcept;
    // Moves up to cap bytes of ciphertext to send into out; returns how many.
    std::size_t take_output(std::uint8_t* out, std::size_t cap) noexcept;

    // A probe's payload, encrypted into the output. Only when established;
    // returns the bytes taken (all of them, or 0 in any other state).
    std::size_t write_plaintext(const std::uint8_t* data, std::size_t size);
    // The service's answer decrypted so far, up to cap bytes; 0 when none is
    // ready yet (or the state changed: closed on close_notify, failed).
    std::size_t read_plaintext(std::uint8_t* out, std::size_t cap);
    // Our close_notify, into the output (polite end; the scanner may RST instead).
    void close_notify();

    TlsState state() const noexcept { return state_; }
    TlsFailure failure() const noexcept { return failure_; }
    const std::string& failure_reason() const noexcept { return reason_; }
    const TlsInfo& info() const noexcept { return info_; } // filled once established
    const TlsCounters& counters() const noexcept { return counters_; }

private:
    void advance_handshake();
    void fail(TlsFailure kind, std::string reason);
    void fail_from_ssl(int ret, std::string_view during);
    std::string drain_errors();
    void record_session();

    // A member that frees itself, so a constructor that throws after SSL_new
    // (its first handshake step allocates) leaks nothing.
    struct SslFree {
        void operator()(ssl_st* ssl) const noexcept;
    };

    const TlsContext& context_;
    std::unique_ptr<ssl_st, SslFree> ssl_;
    bio_st* in_ = nullptr;  // the peer's ciphertext, read by OpenSSL (owned by ssl_ once attached)
    bio_st* out_ = nullptr; // OpenSSL's ciphertext, read by take_output (same)
    TlsState state_ = TlsState::handshaking;
    TlsFailure failure_ = TlsFailure::none;
    std::string reason_;
    TlsInfo info_;
    TlsCounters counters_;
};

// True when the bytes start like a TLS record a server would send first: a
// handshake (0x16) or alert (0x15) record, version 0x03 0x00-0x04, and a
// length a record may have (1 .. 2^14 + 2048). Needs the 5-byte header.
bool looks_like_tls_record(const std::uint8_t* data, std::size_t size) noexcept;

// The certificate fields of TlsInfo, as TlsClient records them from the leaf
// (version and cipher stay empty). Errors count into errors when given.
TlsInfo describe_certificate(x509_st* cert, std::uint64_t* errors = nullptr);

} // namespace ws
