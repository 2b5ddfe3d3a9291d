#pragma once
// Output formats: one small interface (OutputWriter, in result_sink.hpp),
// one file per format (src/store/output_*.cpp), like ZMap's output modules.
//
// Every writer buffers through stdio so the collector never blocks on an
// output for long; flush() pushes the buffer to the kernel (the collector calls
// it every ~100 ms), finish() writes any trailer and closes the file.
//
//   list      -oL  masscan list: "open tcp 80 198.19.0.5 1700000000"
//   json      -oJ  NDJSON, one object per result, never an array: an
//                  interrupted run leaves only complete, valid lines
//   csv       -oC  header line + one row per result, --fields chooses columns
//   xml       -oX  nmap XML, valid against nmap.dtd
//   grepable  -oG  nmap grepable
//
// xml and grepable group ports by host, and results arrive in random order
// across hosts (the scan order is a permutation), so those two writers keep
// every result in memory (about 8 bytes per port plus ~60 per host: its
// 16-byte address of either family, a vector, the map node) and write the
// whole document at finish(); flush() does nothing for them. An
// interrupted run that still reaches finish() gets a complete document.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "wirespeed/record.hpp"
#include "wirespeed/result_sink.hpp" // OutputWriter

namespace ws {

inline constexpr std::string_view wirespeed_version = "0.1.0";

// What the nmap formats say about the run as a whole.
struct ScanInfo {
    std::string args;                 // the command line, as the user typed it
    double start_unix = 0;            // scan start, Unix seconds
    std::vector<std::uint16_t> ports; // the scanned TCP ports (scaninfo services), any order
    // When non-zero, finish() reports this as the end time instead of "now"
    // (export of a finished scan); elapsed = end - start_unix.
    double end_unix = 0;
    std::vector<std::uint16_t> udp_ports; // the scanned UDP ports
    bool ping = false;                // ICMP echo probes (--ping)
};

// How an output file is written.
enum class OutputMode {
    stream,  // truncate and write in place: readable while the scan runs (-oL, -oJ, -oC)
    replace, // write PATH's directory/.NAME.tmp-*, rename it onto PATH at close(): the old
             // file stays whole until the new one is complete (-oX, -oG, export -o, --metadata)
    append,  // append in place (--status-file)
};
// replace falls back to writing in place when PATH exists as anything but a
// regular file (a character device such as /dev/null or /dev/stdout, a FIFO,
// a symlink): those are never renamed onto.

// masscan's -oL format: "open tcp 80 198.19.0.5 1700000000".
std::unique_ptr<OutputWriter> make_list_writer(const std::string& path, OutputMode mode = OutputMode::stream);
// -oJ: {"ip":"198.19.0.5","port":80,"proto":"tcp","state":"open","reason":"syn-ack","ttl":64,"window":65160,"ts":1700000001.5}
// (a UDP answer adds "data":"<base64 of its first bytes>"); scan --service
// adds a line per service, "type":"service" (format in src/store/output_json.cpp).
std::unique_ptr<OutputWriter> make_json_writer(const std::string& path, OutputMode mode = OutputMode::stream);
// -oC: `fields` is the --fields value (empty = all, in the default order).
// Throws ws::Error on an unknown field, before creating the file.
std::unique_ptr<OutputWriter> make_csv_writer(const std::string& path, const std::string& fields,
                                              OutputMode mode = OutputMode::stream);
// -oX: nmap XML (results kept in memory, written at finish()).
std::unique_ptr<OutputWriter> make_xml_writer(const std::string& path, ScanInfo info, OutputMode mode = OutputMode::replace);
// -oG: nmap grepable (results kept in memory, written at finish()).
std::unique_ptr<OutputWriter> make_grepable_writer(const std::string& path, ScanInfo info,
                                                   OutputMode mode = OutputMode::replace);

// The CSV columns, in the default order: a result's, then (scan --service)
// a service's. A service is a row of its own after its port's row, with ip,
// port, proto, state "open", ts (when it was identified) and the service
// columns; reason, ttl, window and data stay empty. A result's row leaves the
// service columns empty. cpe, cert_san_dns and cert_san_ip are space-separated
// lists, banner is base64 like data, soft and cert_self_signed are 0/1.
inline constexpr std::string_view csv_field_names[] = {
    "ip", "port", "proto", "state", "reason", "ttl", "window", "ts", "data",
    "service", "product", "version", "info", "hostname", "ostype", "devicetype", "cpe", "method", "conf", "soft",
    "tunnel", "probe", "banner", "tls_version", "tls_cipher", "cert_subject", "cert_issuer", "cert_san_dns",
    "cert_san_ip", "cert_not_before", "cert_not_after", "cert_sha256", "cert_key_type", "cert_key_bits",
    "cert_self_signed"};
inline constexpr std::size_t csv_result_fields = 9; // ip .. data; the rest are a service's
// RFC 4648 base64 (with padding): the UDP reply bytes in -oJ and -oC.
std::string base64(std::span<const std::uint8_t> bytes);
// Whether bytes are well-formed UTF-8 (no overlong forms, surrogates or code
// points past U+10FFFF).
bool valid_utf8(std::span<const std::uint8_t> bytes) noexcept;
// nmap's version column (-oG, normal output): product, version and
// "(extrainfo)", space-separated, each only when known:
// "OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)".
std::string service_version_text(const ServiceResult& service);
// Validates a --fields value ("port,ip"); returns indexes into csv_field_names.
// Empty -> all fields. Throws ws::Error:
//   invalid --fields "x": unknown field "x"; fields are ip,port,proto,state,reason,ttl,window,ts,data
std::vector<std::size_t> parse_csv_fields(std::string_view spec);

// "22,80,443,1000-2000": sorted, deduplicated, consecutive runs as ranges.
std::string compress_ports(std::vector<std::uint16_t> ports);
// A JSON/CSV number for a timestamp: shortest text that reads back as the
// same double ("1700000001.5"); JSON has no NaN/Inf, so those give "null".
std::string format_timestamp(double seconds);
// nmap's date style (ctime, local time): "Mon Jan  1 00:00:00 2024".
std::string format_ctime(double unix_seconds);

// The stdio file every writer writes through (shared by the formats, and
// meant for the metadata and status files too). Every failure throws
// ws::IoError naming the file: the caller turns it into exit code 2.
class OutputFile {
public:
    // `what` names the file in messages ("output file", "metadata file", ...).
    // Throws ws::IoError: cannot create output file "PATH": REASON
    explicit OutputFile(const std::string& path, OutputMode mode = OutputMode::stream, std::string what = "output file");
    ~OutputFile(); // closes quietly when close() was not reached; replace mode removes its temporary file
    OutputFile(const OutputFile&) = delete;
    OutputFile& operator=(const OutputFile&) = delete;

    std::FILE* get() const noexcept { return file_; }
    // Throw ws::IoError: cannot write output file "PATH": REASON (a short
    // fwrite, a failing fflush, e.g. a full disk).
    void write(std::string_view text);
    void flush();
    // Flushes, closes (and in replace mode fsyncs and renames into place).
    // Throws ws::IoError naming the file; any earlier write error included.
    void close();
    const std::string& path() const noexcept { return path_; }

private:
    [[noreturn]] void fail(int err);
    std::string path_;
    std::string what_;
    std::string temp_; // replace mode: the file written, renamed onto path_ by close()
    std::FILE* file_ = nullptr;
};

// The order of every output sorted by address: IPv4 before IPv6, each
// numerically (2001:db8::9 before 2001:db8::10), as the database's
// ORDER BY family, ip_key. IpAddress's own <=> is not it: ::1 sorts below
// every IPv4-mapped address.
constexpr bool address_less(IpAddress a, IpAddress b) noexcept {
    return a.is_ipv4() != b.is_ipv4() ? a.is_ipv4() : a.bits < b.bits;
}

// Results grouped by host, for the formats that print every port of a host
// together (xml, grepable). About 8 bytes per result plus the map's per-host cost.
class HostTable {
public:
    struct Port {
        std::uint16_t port;
        Proto proto;
        PortState state;
        Reason reason;
        std::uint8_t ttl;
    };
    struct Host {
        IpAddress address; // either family
        std::vector<Port> ports;
    };
    void add(const ResultRecord& record);
    // Hosts in address_less order, their ports by ascending (port, proto); a
    // repeated (port, proto) is kept once, as first added. Empties the table.
    std::vector<Host> take_sorted();

private:
    struct AddressHash {
        std::size_t operator()(IpAddress a) const noexcept;
    };
    std::unordered_map<IpAddress, std::vector<Port>, AddressHash> hosts_;
};

// The services (scan --service) of the formats that print them inside their
// port (xml, grepable): one per (address, port, proto), the first kept.
class ServiceTable {
public:
    ServiceTable();
    ~ServiceTable();
    void add(const ServiceResult& service);
    const ServiceResult* find(IpAddress address, std::uint16_t port, Proto proto) const;
    std::size_t size() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Port -> service name, from nmap-services (name, "80/tcp", frequency), else
// /etc/services. instance() loads lazily, once, thread-safely; missing or
// unreadable files mean no names (lookup returns "").
class ServiceNames {
public:
    ServiceNames() = default;
    // Loads the first of `paths` that opens; nmap-services and /etc/services
    // lines parse alike (name, port/proto, anything else ignored).
    static ServiceNames load(const std::vector<std::string>& paths);
    static const ServiceNames& instance(); // /usr/share/nmap/nmap-services, then /etc/services

    std::string_view lookup(std::uint16_t port, Proto proto) const noexcept;
    std::size_t size() const noexcept { return names_.size(); }

private:
    struct Entry {
        std::string name;
        double frequency = -1;
    };
    std::unordered_map<std::uint32_t, Entry> names_; // (proto << 16) | port
};

} // namespace ws
