// Service names (nmap-services, /etc/services) and the small pieces every
// output format shares: the stdio output file, timestamps, port lists.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <tuple>
#include <sstream>

#include <fmt/format.h>

#include "wirespeed/error.hpp"
#include "wirespeed/outputs.hpp"
#include "wirespeed/service_result.hpp"

namespace ws {

// ---------------------------------------------------------------- output file

namespace {

std::string parent_directory(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_name(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

} // namespace

OutputFile::OutputFile(const std::string& path, OutputMode mode, std::string what) : path_(path), what_(std::move(what)) {
    const auto cannot_create = [&](int err) {
        return IoError(fmt::format("cannot create {} \"{}\": {}", what_, path_, std::strerror(err)));
    };
    if (path.empty()) throw cannot_create(ENOENT);
    struct stat st {};
    const bool exists = ::lstat(path.c_str(), &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) throw cannot_create(EISDIR);
    if (mode == OutputMode::replace && (!exists || S_ISREG(st.st_mode)) && path.back() != '/') {
        // A temporary name in the same directory (rename is atomic only
        // within one file system); the kernel applies the umask to 0666.
        const std::string dir = parent_directory(path), base = base_name(path);
        static std::atomic<unsigned> counter{0};
        int fd = -1;
        for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
            temp_ = fmt::format("{}/.{}.tmp-{}-{}", dir, base, ::getpid(), counter.fetch_add(1));
            fd = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            if (fd < 0 && errno != EEXIST) break;
        }
        if (fd < 0) {
            const int err = errno;
            temp_.clear();
            throw cannot_create(err);
        }
        if (exists) (void)::fchmod(fd, st.st_mode & 07777); // the replaced file's permissions
        file_ = ::fdopen(fd, "w");
        if (!file_) {
            const int err = errno;
            ::close(fd);
            ::unlink(temp_.c_str());
            temp_.clear();
            throw cannot_create(err);
        }
        return;
    }
    file_ = std::fopen(path.c_str(), mode == OutputMode::append ? "a" : "w");
    if (!file_) throw cannot_create(errno);
}

OutputFile::~OutputFile() {
    if (file_) std::fclose(file_);
    if (!temp_.empty()) ::unlink(temp_.c_str());
}

void OutputFile::fail(int err) {
    if (file_) std::fclose(file_);
    file_ = nullptr;
    if (!temp_.empty()) ::unlink(temp_.c_str());
    temp_.clear();
    throw IoError(fmt::format("cannot write {} \"{}\": {}", what_, path_, std::strerror(err ? err : EIO)));
}

void OutputFile::write(std::string_view text) {
    if (!file_) throw IoError(fmt::format("cannot write {} \"{}\": already closed after an error", what_, path_));
    if (text.empty()) return;
    errno = 0;
    if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() || std::ferror(file_)) fail(errno);
}

void OutputFile::flush() {
    if (!file_) throw IoError(fmt::format("cannot write {} \"{}\": already closed after an error", what_, path_));
    errno = 0;
    if (std::fflush(file_) != 0 || std::ferror(file_)) fail(errno);
}

void OutputFile::close() {
    if (!file_) return;
    errno = 0;
    if (std::fflush(file_) != 0 || std::ferror(file_)) fail(errno);
    if (!temp_.empty() && ::fsync(::fileno(file_)) != 0) fail(errno);
    std::FILE* f = file_;
    file_ = nullptr;
    if (std::fclose(f) != 0) {
        const int err = errno;
        if (!temp_.empty()) ::unlink(temp_.c_str());
        temp_.clear();
        throw IoError(fmt::format("cannot write {} \"{}\": {}", what_, path_, std::strerror(err)));
    }
    if (!temp_.empty()) {
        if (::rename(temp_.c_str(), path_.c_str()) != 0) {
            const int err = errno;
            ::unlink(temp_.c_str());
            temp_.clear();
            throw IoError(fmt::format("cannot write {} \"{}\": {}", what_, path_, std::strerror(err)));
        }
        temp_.clear();
    }
}

// ---------------------------------------------------------------- helpers

std::string base64(std::span<const std::uint8_t> bytes) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v = (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    if (const std::size_t rest = bytes.size() - i) {
        const std::uint32_t v = (std::uint32_t{bytes[i]} << 16) | (rest == 2 ? std::uint32_t{bytes[i + 1]} << 8 : 0);
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        out += rest == 2 ? alphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::string compress_ports(std::vector<std::uint16_t> ports) {
    std::sort(ports.begin(), ports.end());
    ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
    std::string out;
    for (std::size_t i = 0; i < ports.size();) {
        std::size_t j = i;
        while (j + 1 < ports.size() && ports[j + 1] == ports[j] + 1) ++j;
        if (!out.empty()) out += ',';
        if (j == i) out += fmt::format("{}", ports[i]);
        else out += fmt::format("{}-{}", ports[i], ports[j]);
        i = j + 1;
    }
    return out;
}

std::string format_timestamp(double seconds) {
    if (!std::isfinite(seconds)) return "null";
    return fmt::format("{}", seconds); // shortest round-trip representation
}

std::string format_ctime(double unix_seconds) {
    const std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[64];
    const std::size_t n = std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y", &tm);
    return std::string(buf, n);
}

// ---------------------------------------------------------------- host table

std::size_t HostTable::AddressHash::operator()(IpAddress a) const noexcept {
    // Both halves matter (IPv6 hosts differ in the low half, IPv4 ones in the
    // low 32 bits); std::hash of a uint64_t is the identity, so mix.
    std::uint64_t h = a.high() * 0x9e3779b97f4a7c15ull ^ a.low();
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return std::size_t(h);
}

void HostTable::add(const ResultRecord& r) {
    hosts_[record_address(r)].push_back(Port{r.port, r.proto, r.state, r.reason, r.ttl});
}

std::vector<HostTable::Host> HostTable::take_sorted() {
    std::vector<Host> hosts;
    hosts.reserve(hosts_.size());
    for (auto& [address, ports] : hosts_) {
        std::stable_sort(ports.begin(), ports.end(), [](const Port& a, const Port& b) {
            return a.port != b.port ? a.port < b.port : std::uint8_t(a.proto) < std::uint8_t(b.proto);
        });
        ports.erase(std::unique(ports.begin(), ports.end(),
                                [](const Port& a, const Port& b) { return a.port == b.port && a.proto == b.proto; }),
                    ports.end());
        hosts.push_back(Host{address, std::move(ports)});
    }
    hosts_.clear();
    std::sort(hosts.begin(), hosts.end(), [](const Host& a, const Host& b) { return address_less(a.address, b.address); });
    return hosts;
}

// ---------------------------------------------------------------- service names

namespace {

std::uint32_t service_key(std::uint16_t port, std::uint8_t proto) { return (std::uint32_t{proto} << 16) | port; }

} // namespace

ServiceNames ServiceNames::load(const std::vector<std::string>& paths) {
    ServiceNames names;
    for (const auto& path : paths) {
        std::ifstream in(path);
        if (!in) continue;
        std::string line;
        while (std::getline(in, line)) {
            if (const auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
            std::istringstream fields(line);
            std::string name, port_proto, third;
            if (!(fields >> name >> port_proto)) continue;
            fields >> third;
            const auto slash = port_proto.find('/');
            if (slash == std::string::npos) continue;
            char* end = nullptr;
            const unsigned long port = std::strtoul(port_proto.c_str(), &end, 10);
            if (end != port_proto.c_str() + slash || port == 0 || port > 65535) continue;
            const std::string proto_name = port_proto.substr(slash + 1);
            std::uint8_t proto = 0;
            if (proto_name == "tcp") proto = std::uint8_t(Proto::tcp);
            else if (proto_name == "udp") proto = std::uint8_t(Proto::udp);
            else if (proto_name == "sctp") proto = 132;
            else continue;
            double frequency = 0; // /etc/services: aliases, not a frequency
            if (!third.empty()) {
                char* fend = nullptr;
                const double f = std::strtod(third.c_str(), &fend);
                if (fend && *fend == '\0' && std::isfinite(f)) frequency = f;
            }
            // nmap-services may list a port more than once: the most frequent name wins.
            Entry& entry = names.names_[service_key(std::uint16_t(port), proto)];
            if (frequency > entry.frequency) entry = Entry{name, frequency};
        }
        if (!names.names_.empty()) break;
    }
    return names;
}

const ServiceNames& ServiceNames::instance() {
    static const ServiceNames names = load({"/usr/share/nmap/nmap-services", "/etc/services"});
    return names;
}

std::string_view ServiceNames::lookup(std::uint16_t port, Proto proto) const noexcept {
    const auto it = names_.find(service_key(port, std::uint8_t(proto)));
    return it == names_.end() ? std::string_view{} : std::string_view(it->second.name);
}

} // namespace ws

namespace ws {

// ---------------------------------------------------------------- service table

struct ServiceTable::Impl {
    std::map<std::tuple<uint128, std::uint16_t, std::uint8_t>, ServiceResult> services;
};

ServiceTable::ServiceTable() : impl_(std::make_unique<Impl>()) {}
ServiceTable::~ServiceTable() = default;

void ServiceTable::add(const ServiceResult& service) {
    impl_->services.emplace(std::tuple{service.address.bits, service.port, std::uint8_t(service.proto)}, service);
}

const ServiceResult* ServiceTable::find(IpAddress address, std::uint16_t port, Proto proto) const {
    const auto it = impl_->services.find(std::tuple{address.bits, port, std::uint8_t(proto)});
    return it == impl_->services.end() ? nullptr : &it->second;
}

std::size_t ServiceTable::size() const noexcept { return impl_->services.size(); }

std::string service_version_text(const ServiceResult& s) {
    std::string out = s.product;
    if (!s.version.empty()) out += (out.empty() ? "" : " ") + s.version;
    if (!s.info.empty()) out += (out.empty() ? "(" : " (") + s.info + ")";
    return out;
}

} // namespace ws
