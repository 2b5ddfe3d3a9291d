// -oG: nmap's grepable format. Like the XML writer, it groups ports by host,
// so it keeps the results in memory and writes the file at finish():
//   # wirespeed 0.1.0 scan initiated Mon Jan  1 00:00:00 2024 as: wirespeed ...
//   Host: 198.19.0.5 ()<TAB>Ports: 22/open/tcp//ssh///, 80/open/tcp//http///
// With scan --service a port's service and version columns are what was
// identified, as nmap -sV -oG writes them ("ssl|http" when tunneled in TLS;
// a '/' inside a field becomes '|'):
//   22/open/tcp//ssh//OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)/
//   # wirespeed done at Mon Jan  1 00:00:01 2024 -- 1 IP address (1 host up) scanned in 1.00 seconds
#include <algorithm>
#include <chrono>
#include <utility>

#include <fmt/format.h>

#include "wirespeed/address.hpp"
#include "wirespeed/outputs.hpp"
#include "wirespeed/service_result.hpp"

namespace ws {
namespace {

double now_unix() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// One line per entry: a line break in the arguments would break the format.
std::string one_line(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (c == '\n' || c == '\r') c = ' ';
    return out;
}

// A field of a port entry: '/' separates the fields and ',' the entries, and
// a line break would end the host's line. nmap writes '/' as '|'.
std::string grepable_field(std::string_view text) {
    std::string out = one_line(text);
    for (char& c : out)
        if (c == '/') c = '|';
    return out;
}

class GrepableWriter final : public OutputWriter {
public:
    GrepableWriter(const std::string& path, ScanInfo info, OutputMode mode) : info_(std::move(info)), file_(path, mode) {}
    void write(const ResultRecord& r, double, std::span<const std::uint8_t>) override { hosts_.add(r); }
    void write_service(const ServiceResult& s) override { services_.add(s); }
    void flush() override {}
    void finish() override {
        const double end = info_.end_unix != 0 ? info_.end_unix : now_unix();
        const double elapsed = end > info_.start_unix ? end - info_.start_unix : 0.0;
        const std::vector<HostTable::Host> hosts = hosts_.take_sorted();
        const ServiceNames& services = ServiceNames::instance();

        fmt::memory_buffer out;
        auto put = [&out]<typename... T>(fmt::format_string<T...> text, T&&... args) {
            fmt::format_to(std::back_inserter(out), text, std::forward<T>(args)...);
        };
        put("# wirespeed {} scan initiated {} as: {}\n", wirespeed_version, format_ctime(info_.start_unix), one_line(info_.args));
        for (const auto& host : hosts) {
            char ip[max_ip_text];
            format_ip(host.address, ip);
            // A ping answer is the host's status line (nmap -sn's "Status: Up").
            bool ports = false;
            for (const auto& p : host.ports) {
                if (p.proto != Proto::icmp) ports = true;
                else if (p.state == PortState::up) put("Host: {} ()\tStatus: Up\n", ip);
            }
            if (!ports) continue;
            put("Host: {} ()\tPorts: ", ip);
            bool first = true;
            for (const auto& p : host.ports) {
                if (p.proto == Proto::icmp) continue;
                // port/state/protocol/owner/service/rpc info/version/
                if (const ServiceResult* s = services_.find(host.address, p.port, p.proto))
                    put("{}{}/{}/{}//{}{}//{}/", first ? "" : ", ", p.port, to_string(p.state), to_string(p.proto),
                        s->tunnel == "ssl" ? "ssl|" : "", grepable_field(s->name.empty() ? "unknown" : s->name),
                        grepable_field(service_version_text(*s)));
                else
                    put("{}{}/{}/{}//{}///", first ? "" : ", ", p.port, to_string(p.state), to_string(p.proto),
                        services.lookup(p.port, p.proto));
                first = false;
            }
            put("\n");
        }
        put("# wirespeed done at {} -- {} IP address{} ({} host{} up) scanned in {:.2f} seconds\n", format_ctime(end),
            hosts.size(), hosts.size() == 1 ? "" : "es", hosts.size(), hosts.size() == 1 ? "" : "s", elapsed);
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

std::unique_ptr<OutputWriter> make_grepable_writer(const std::string& path, ScanInfo info, OutputMode mode) {
    return std::make_unique<GrepableWriter>(path, std::move(info), mode);
}

} // namespace ws
