// -oX: nmap XML, valid against nmap.dtd (xmllint --dtdvalid). Hosts group
// their ports, and results arrive in random order across hosts, so this
// writer keeps the results in memory (HostTable) and writes the whole
// document at finish(); flush() has nothing to do.
//
// nmap.dtd only allows scanner="nmap", so the document says scanner="nmap"
// with wirespeed's own version, and names wirespeed in the leading comment
// (where nmap names itself).
#include <algorithm>
#include <chrono>
#include <utility>

#include <fmt/format.h>

#include "wirespeed/address.hpp"
#include "wirespeed/outputs.hpp"

namespace ws {
namespace {

// Attribute text: the five XML specials as entities; control characters that
// XML 1.0 cannot carry at all become '?'.
std::string xml_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
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

double now_unix() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class XmlWriter final : public OutputWriter {
public:
    XmlWriter(const std::string& path, ScanInfo info, OutputMode mode) : info_(std::move(info)), file_(path, mode) {}
    void write(const ResultRecord& r, double, std::span<const std::uint8_t>) override { hosts_.add(r); }
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
                if (const auto name = services.lookup(p.port, p.proto); !name.empty())
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
    OutputFile file_;
};

} // namespace

std::unique_ptr<OutputWriter> make_xml_writer(const std::string& path, ScanInfo info, OutputMode mode) {
    return std::make_unique<XmlWriter>(path, std::move(info), mode);
}

} // namespace ws
