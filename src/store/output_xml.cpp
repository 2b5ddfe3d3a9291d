// -oX: nmap XML, valid against nmap.dtd (xmllint --dtdvalid). Hosts group
// their ports, and results arrive in random order across hosts, so this
// writer keeps the results in memory (HostTable) and writes the whole
// document at finish(); flush() has nothing to do.
//
// nmap.dtd only allows scanner="nmap", so the document says scanner="nmap"
// with wirespeed's own version, and names wirespeed in the leading comment
// (where nmap names itself).
//
// scan --service: a port's <service> is what was identified, as nmap -sV
// writes it (attributes in nmap's order, cpe children):
//   <service name="ssh" product="OpenSSH" version="9.2p1 Debian 2+deb12u3" extrainfo="protocol 2.0"
//    ostype="Linux" method="probed" conf="10"><cpe>cpe:/a:openbsd:openssh:9.2p1</cpe></service>
// and a TLS certificate adds <script id="ssl-cert" output="..."/> after it,
// in the layout of nmap's ssl-cert script (Subject, Subject Alternative Name,
// Issuer, Public Key type/bits, Not valid before/after, SHA-256), its names
// as OpenSSL prints them.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <utility>

#include <fmt/format.h>

#include "wirespeed/address.hpp"
#include "wirespeed/outputs.hpp"
#include "wirespeed/service_result.hpp"

namespace ws {
namespace {

// Attribute text: the five XML specials as entities; control characters that
// XML 1.0 cannot carry at all become '?'.
// Bytes that are not UTF-8 (a service's fields hold captures of what the
// network sent) become '?' too, so the document stays well-formed.
std::string xml_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (const auto lead = static_cast<unsigned char>(c); lead >= 0x80) {
            const std::size_t length = (lead & 0xe0) == 0xc0 ? 2 : (lead & 0xf0) == 0xe0 ? 3 : (lead & 0xf8) == 0xf0 ? 4 : 1;
            const auto* bytes = reinterpret_cast<const std::uint8_t*>(text.data()) + i;
            if (length > 1 && i + length <= text.size() && valid_utf8({bytes, length})) {
                out.append(text.substr(i, length));
                i += length - 1;
            } else {
                out += '?';
            }
            continue;
        }
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&apos;"; break;
        case '\t': out += "&#9;"; break;
        case '\n': out += "&#10;"; break;
        case '\r': out += "&#13;"; break;
        default: out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
        }
    }
    return out;
}

// A comment may not contain "--" (nmap writes the second '-' as "&#45;" too).
std::string comment_text(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (c == '-' && !out.empty() && out.back() == '-') out += "&#45;";
        else out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
    }
    return out;
}

std::string_view xml_protocol(Proto p) {
    switch (p) {
    case Proto::tcp: return "tcp";
    case Proto::udp: return "udp";
    case Proto::icmp: return "ip";
    }
    return "ip";
}

// <service .../> of an identified port; nmap's attribute order.
std::string service_element(const ServiceResult& s) {
    std::string out = fmt::format("<service name=\"{}\"", xml_escape(s.name.empty() ? "unknown" : s.name));
    const std::pair<const char*, const std::string*> texts[] = {{"product", &s.product},   {"version", &s.version},
                                                                {"extrainfo", &s.info},    {"hostname", &s.hostname},
                                                                {"ostype", &s.ostype},     {"devicetype", &s.devicetype}};
    for (const auto& [name, value] : texts)
        if (!value->empty()) out += fmt::format(" {}=\"{}\"", name, xml_escape(*value));
    if (s.tunnel == "ssl") out += " tunnel=\"ssl\""; // nmap.dtd knows no other tunnel
    out += fmt::format(" method=\"{}\" conf=\"{}\"", to_string(s.method), std::clamp(s.confidence, 0, 10));
    if (s.cpes.empty()) return out + "/>";
    out += '>';
    for (const auto& cpe : s.cpes) out += fmt::format("<cpe>{}</cpe>", xml_escape(cpe));
    return out + "</service>";
}

// nmap's ssl-cert output, from what TlsInfo holds.
std::string ssl_cert_script(const TlsInfo& t) {
    std::string text = "Subject: " + t.subject;
    std::string san;
    for (const auto& dns : t.san_dns) san += (san.empty() ? "DNS:" : ", DNS:") + dns;
    for (const auto& ip : t.san_ip) san += (san.empty() ? "IP Address:" : ", IP Address:") + ip;
    if (!san.empty()) text += "\nSubject Alternative Name: " + san;
    std::string key_type = t.key_type;
    for (char& c : key_type) c = char(std::tolower(static_cast<unsigned char>(c)));
    text += fmt::format("\nIssuer: {}\nPublic Key type: {}\nPublic Key bits: {}\nNot valid before: {}\nNot valid after:  {}\nSHA-256: {}",
                        t.issuer, key_type, t.key_bits, t.not_before, t.not_after, t.sha256);
    return fmt::format("<script id=\"ssl-cert\" output=\"{}\"/>", xml_escape(text));
}

double now_unix() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class XmlWriter final : public OutputWriter {
public:
    XmlWriter(const std::string& path, ScanInfo info, OutputMode mode) : info_(std::move(info)), file_(path, mode) {}
    void write(const ResultRecord& r, double, std::span<const std::uint8_t>) override { hosts_.add(r); }
    void write_service(const ServiceResult& s) override { services_.add(s); }
    void flush() override {}
    void finish() override {
        const double end = info_.end_unix != 0 ? info_.end_unix : now_unix();
        const double elapsed = end > info_.start_unix ? end - info_.start_unix : 0.0;
        const std::vector<HostTable::Host> hosts = hosts_.take_sorted();
        const ServiceNames& services = ServiceNames::instance();
        auto unique_ports = [](std::vector<std::uint16_t> ports) {
            std::sort(ports.begin(), ports.end());
            ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
            return ports;
        };
        const std::vector<std::uint16_t> tcp_ports = unique_ports(info_.ports), udp_ports = unique_ports(info_.udp_ports);

        fmt::memory_buffer out;
        auto put = [&out]<typename... T>(fmt::format_string<T...> text, T&&... args) {
            fmt::format_to(std::back_inserter(out), text, std::forward<T>(args)...);
        };
        const std::string startstr = format_ctime(info_.start_unix);
        put("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>\n");
        put("<!-- wirespeed {} scan initiated {} as: {} -->\n", wirespeed_version, startstr, comment_text(info_.args));
        put("<nmaprun scanner=\"nmap\" args=\"{}\" start=\"{}\" startstr=\"{}\" version=\"{}\" xmloutputversion=\"1.05\">\n",
            xml_escape(info_.args), static_cast<long long>(info_.start_unix), startstr, wirespeed_version);
        // One scaninfo per protocol scanned, as nmap writes for -sS -sU.
        if (!tcp_ports.empty() || (udp_ports.empty() && !info_.ping))
            put("<scaninfo type=\"syn\" protocol=\"tcp\" numservices=\"{}\" services=\"{}\"/>\n", tcp_ports.size(),
                compress_ports(tcp_ports));
        if (!udp_ports.empty())
            put("<scaninfo type=\"udp\" protocol=\"udp\" numservices=\"{}\" services=\"{}\"/>\n", udp_ports.size(),
                compress_ports(udp_ports));
        put("<verbose level=\"0\"/>\n<debugging level=\"0\"/>\n");
        for (const auto& host : hosts) {
            // The host is up because it answered; its status reason is the
            // echo reply's when it answered a ping (as nmap says), else the
            // first open port's (syn-ack), else its lowest port's.
            const HostTable::Port* why = &host.ports.front();
            for (const auto& p : host.ports)
                if (p.state == PortState::open && why->state != PortState::open) why = &p;
            for (const auto& p : host.ports)
                if (p.proto == Proto::icmp) why = &p;
            char ip[max_ip_text];
            format_ip(host.address, ip);
            put("<host><status state=\"up\" reason=\"{}\" reason_ttl=\"{}\"/>\n", to_string(why->reason), unsigned(why->ttl));
            // nmap.dtd's addrtype is (ipv4 | ipv6 | mac).
            put("<address addr=\"{}\" addrtype=\"{}\"/>\n<ports>", ip, host.address.is_ipv4() ? "ipv4" : "ipv6");
            for (const auto& p : host.ports) {
                if (p.proto == Proto::icmp) continue; // the ping is the host's status, not a port
                put("<port protocol=\"{}\" portid=\"{}\"><state state=\"{}\" reason=\"{}\" reason_ttl=\"{}\"/>",
                    xml_protocol(p.proto), p.port, to_string(p.state), to_string(p.reason), unsigned(p.ttl));
                if (const ServiceResult* s = services_.find(host.address, p.port, p.proto)) {
                    put("{}", service_element(*s));
                    if (s->tls && s->tls->has_certificate) put("{}", ssl_cert_script(*s->tls));
                } else if (const auto name = services.lookup(p.port, p.proto); !name.empty())
                    put("<service name=\"{}\" method=\"table\" conf=\"3\"/>", xml_escape(name));
                put("</port>\n");
            }
            put("</ports>\n</host>\n");
        }
        const std::string endstr = format_ctime(end);
        const std::string summary =
            fmt::format("wirespeed done at {}; {} IP address{} ({} host{} up) scanned in {:.2f} seconds", endstr, hosts.size(),
                        hosts.size() == 1 ? "" : "es", hosts.size(), hosts.size() == 1 ? "" : "s", elapsed);
        put("<runstats><finished time=\"{}\" timestr=\"{}\" summary=\"{}\" elapsed=\"{:.2f}\" exit=\"success\"/>",
            static_cast<long long>(end), endstr, xml_escape(summary), elapsed);
        put("<hosts up=\"{}\" down=\"0\" total=\"{}\"/>\n</runstats>\n</nmaprun>\n", hosts.size(), hosts.size());
        file_.write(std::string_view(out.data(), out.size()));
        file_.close();
    }

private:
    ScanInfo info_;
    HostTable hosts_;
    ServiceTable services_;
    OutputFile file_;
};

} // namespace

std::unique_ptr<OutputWriter> make_xml_writer(const std::string& path, ScanInfo info, OutputMode mode) {
    return std::make_unique<XmlWriter>(path, std::move(info), mode);
}

} // namespace ws
