// -oJ: NDJSON, one object per result and never an enclosing array, so every
// complete line of an interrupted run is valid JSON on its own:
// {"ip":"198.19.0.5","port":80,"proto":"tcp","state":"open","reason":"syn-ack","ttl":64,"window":65160,"ts":1700000001.5}
// Every value of a port's line is a fixed word, an address or a number:
// nothing needs escaping, and the line is formatted directly (the collector's
// hot path). scan --service adds a line per identified service, after its
// port's line, built through nlohmann::json (names, banners and certificates
// are text from the network):
// {"ip":"198.19.0.5","port":22,"proto":"tcp","type":"service","ts":1700000002.5,
//  "service":{"name":"ssh","product":"OpenSSH","version":"9.2p1 Debian 2+deb12u3","info":"protocol 2.0",
//             "ostype":"Linux","cpe":["cpe:/a:openbsd:openssh:9.2p1","cpe:/o:linux:linux_kernel"],
//             "method":"probed","conf":10,"probe":"NULL"},
//  "banner":"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"}
// (one line). "service" leaves out what is not known (empty strings, an empty
// cpe list, soft and tunnel unless set); "tls" (version, cipher and, with a
// certificate, subject, issuer, san_dns, san_ip, not_before, not_after,
// sha256, key_type, key_bits, self_signed) is there when TLS was spoken.
// "banner" is the answer as text, as masscan --banners and ZGrab2 give it;
// when the bytes are not valid UTF-8 each invalid byte shows as U+FFFD there
// and "banner_base64" holds the exact bytes.
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "wirespeed/address.hpp"
#include "wirespeed/outputs.hpp"
#include "wirespeed/service_result.hpp"

namespace ws {
namespace {

// A timestamp as the port lines write it where JSON allows: whole seconds as
// an integer, non-finite as null.
nlohmann::ordered_json timestamp(double seconds) {
    if (!std::isfinite(seconds)) return nullptr;
    if (seconds == std::floor(seconds) && std::fabs(seconds) < 9e15) return static_cast<std::int64_t>(seconds);
    return seconds;
}

nlohmann::ordered_json service_json(const ServiceResult& s) {
    char ip[max_ip_text];
    format_ip(s.address, ip);
    nlohmann::ordered_json line;
    line["ip"] = ip;
    line["port"] = s.port;
    line["proto"] = to_string(s.proto);
    line["type"] = "service";
    line["ts"] = timestamp(s.seen_at_unix);
    nlohmann::ordered_json service;
    service["name"] = s.name;
    auto optional = [&service](const char* key, const std::string& value) {
        if (!value.empty()) service[key] = value;
    };
    optional("product", s.product);
    optional("version", s.version);
    optional("info", s.info);
    optional("hostname", s.hostname);
    optional("ostype", s.ostype);
    optional("devicetype", s.devicetype);
    if (!s.cpes.empty()) service["cpe"] = s.cpes;
    service["method"] = to_string(s.method);
    service["conf"] = s.confidence;
    if (s.soft) service["soft"] = true;
    optional("tunnel", s.tunnel);
    optional("probe", s.probe);
    line["service"] = std::move(service);
    if (s.tls) {
        const TlsInfo& t = *s.tls;
        nlohmann::ordered_json tls;
        tls["version"] = t.version;
        tls["cipher"] = t.cipher;
        if (t.has_certificate) {
            tls["subject"] = t.subject;
            tls["issuer"] = t.issuer;
            tls["san_dns"] = t.san_dns;
            tls["san_ip"] = t.san_ip;
            tls["not_before"] = t.not_before;
            tls["not_after"] = t.not_after;
            tls["sha256"] = t.sha256;
            tls["key_type"] = t.key_type;
            tls["key_bits"] = t.key_bits;
            tls["self_signed"] = t.self_signed;
        }
        line["tls"] = std::move(tls);
    }
    if (!s.banner.empty()) {
        line["banner"] = std::string(s.banner.begin(), s.banner.end()); // dump() replaces invalid UTF-8
        if (!valid_utf8(s.banner)) line["banner_base64"] = base64(s.banner);
    }
    return line;
}

class JsonWriter final : public OutputWriter {
public:
    JsonWriter(const std::string& path, OutputMode mode) : file_(path, mode) {}
    void write(const ResultRecord& r, double seen_at_unix, std::span<const std::uint8_t> data) override {
        char ip[max_ip_text];
        format_ip(record_address(r), ip);
        fmt::memory_buffer line;
        fmt::format_to(std::back_inserter(line),
                       "{{\"ip\":\"{}\",\"port\":{},\"proto\":\"{}\",\"state\":\"{}\",\"reason\":\"{}\",\"ttl\":{},"
                       "\"window\":{},\"ts\":{}",
                       ip, r.port, to_string(r.proto), to_string(r.state), to_string(r.reason), unsigned(r.ttl), unsigned(r.window),
                       format_timestamp(seen_at_unix));
        if (!data.empty()) fmt::format_to(std::back_inserter(line), ",\"data\":\"{}\"", base64(data));
        line.append(std::string_view("}\n"));
        file_.write(std::string_view(line.data(), line.size()));
    }
    void write_service(const ServiceResult& s) override {
        std::string line = service_json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        line += '\n';
        file_.write(line);
    }
    void flush() override { file_.flush(); }
    void finish() override { file_.close(); }

private:
    OutputFile file_;
};

} // namespace

bool valid_utf8(std::span<const std::uint8_t> bytes) noexcept {
    std::size_t i = 0;
    while (i < bytes.size()) {
        const std::uint8_t c = bytes[i];
        std::size_t extra;
        std::uint32_t min;
        if (c < 0x80) { ++i; continue; }
        if ((c & 0xe0) == 0xc0) { extra = 1; min = 0x80; }
        else if ((c & 0xf0) == 0xe0) { extra = 2; min = 0x800; }
        else if ((c & 0xf8) == 0xf0) { extra = 3; min = 0x10000; }
        else return false;
        if (bytes.size() - i <= extra) return false; // cut short
        std::uint32_t code = c & (0x3f >> extra);
        for (std::size_t k = 1; k <= extra; ++k) {
            if ((bytes[i + k] & 0xc0) != 0x80) return false;
            code = (code << 6) | (bytes[i + k] & 0x3f);
        }
        // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
        if (code < min || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return false;
        i += extra + 1;
    }
    return true;
}

std::unique_ptr<OutputWriter> make_json_writer(const std::string& path, OutputMode mode) {
    return std::make_unique<JsonWriter>(path, mode);
}

} // namespace ws
