#pragma once
// What service detection (scan --service, issue 12) says about one open port:
// the service as nmap's probe database names it, how it was found, the bytes
// it answered and, when it spoke TLS, its certificate. The service thread
// builds these; the collector hands them to the store and the outputs, which
// see results, never probes or connections.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "wirespeed/address.hpp"
#include "wirespeed/record.hpp"
#include "wirespeed/tls_session.hpp"

namespace ws {

// nmap's <service method="...">: "probed" when a match line named it,
// "table" when only the port number did (nmap-services), as nmap does when no
// probe matched.
enum class ServiceMethod : std::uint8_t { probed = 1, table = 2 };

constexpr const char* to_string(ServiceMethod method) noexcept {
    return method == ServiceMethod::probed ? "probed" : "table";
}

struct ServiceResult {
    IpAddress address;
    std::uint16_t port = 0;
    Proto proto = Proto::tcp;
    double seen_at_unix = 0; // when the service was identified

    // nmap's fields, templates substituted (empty = not known).
    std::string name;        // "ssh", "http", "ssl/http" is name "http" with tunnel "ssl"
    std::string product;     // p/
    std::string version;     // v/
    std::string info;        // i/ (nmap's XML calls it extrainfo)
    std::string hostname;    // h/
    std::string ostype;      // o/
    std::string devicetype;  // d/
    std::vector<std::string> cpes; // "cpe:/a:openbsd:openssh:9.2p1", in match-line order

    ServiceMethod method = ServiceMethod::probed;
    int confidence = 10;     // nmap's conf: 10 for a match line, 3 for the port table
    bool soft = false;       // only a softmatch named it (product/version usually empty)
    std::string tunnel;      // "ssl" when the service ran inside TLS, else empty
    std::string probe;       // the probe whose answer matched: "NULL", "GetRequest", ...
    std::vector<std::uint8_t> banner; // the answer as received (plaintext inside TLS), at most --banner-bytes

    std::optional<TlsInfo> tls; // the TLS session and leaf certificate, when TLS was spoken
};

} // namespace ws
