// -oC: CSV (RFC 4180 quoting) with a header line; --fields chooses and orders
// the columns from ip,port,proto,state,reason,ttl,window,ts,data and the
// service columns of scan --service (csv_field_names; default: all; data is a
// UDP answer's first bytes in base64, empty otherwise). A service is a row of
// its own after its port's row (see csv_field_names in outputs.hpp).
// Lines end in "\n", which every CSV reader accepts.
#include <algorithm>

#include <fmt/format.h>

#include "wirespeed/address.hpp"
#include "wirespeed/error.hpp"
#include "wirespeed/outputs.hpp"
#include "wirespeed/service_result.hpp"

namespace ws {
namespace {

constexpr std::size_t field_count = std::size(csv_field_names);

std::string all_field_names() {
    std::string out;
    for (const auto name : csv_field_names) {
        if (!out.empty()) out += ',';
        out += name;
    }
    return out;
}

// RFC 4180: a field holding a comma, a quote or a line break is quoted, and
// its quotes doubled.
void append_field(fmt::memory_buffer& out, std::string_view value) {
    if (value.find_first_of(",\"\r\n") == std::string_view::npos) {
        out.append(value);
        return;
    }
    out.push_back('"');
    for (const char c : value) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
    }
    out.push_back('"');
}

class CsvWriter final : public OutputWriter {
public:
    CsvWriter(const std::string& path, std::vector<std::size_t> fields, OutputMode mode)
        : fields_(std::move(fields)), file_(path, mode) {
        fmt::memory_buffer header;
        for (std::size_t i = 0; i < fields_.size(); ++i) {
            if (i) header.push_back(',');
            append_field(header, csv_field_names[fields_[i]]);
        }
        header.push_back('\n');
        file_.write(std::string_view(header.data(), header.size()));
    }
    void write(const ResultRecord& r, double seen_at_unix, std::span<const std::uint8_t> data) override {
        fmt::memory_buffer line;
        char text[max_ip_text];
        for (std::size_t i = 0; i < fields_.size(); ++i) {
            if (i) line.push_back(',');
            switch (fields_[i]) {
            case 0: append_field(line, std::string_view(text, format_ip(record_address(r), text))); break;
            case 1: fmt::format_to(std::back_inserter(line), "{}", r.port); break;
            case 2: append_field(line, to_string(r.proto)); break;
            case 3: append_field(line, to_string(r.state)); break;
            case 4: append_field(line, to_string(r.reason)); break;
            case 5: fmt::format_to(std::back_inserter(line), "{}", unsigned(r.ttl)); break;
            case 6: fmt::format_to(std::back_inserter(line), "{}", unsigned(r.window)); break;
            case 7: append_field(line, format_timestamp(seen_at_unix)); break;
            case 8: append_field(line, base64(data)); break;
            default: break;
            }
        }
        line.push_back('\n');
        file_.write(std::string_view(line.data(), line.size()));
    }
    void write_service(const ServiceResult& s) override {
        fmt::memory_buffer line;
        char text[max_ip_text];
        auto space_separated = [](const std::vector<std::string>& items) { return fmt::format("{}", fmt::join(items, " ")); };
        const TlsInfo* tls = s.tls ? &*s.tls : nullptr;
        const TlsInfo* cert = tls && tls->has_certificate ? tls : nullptr;
        for (std::size_t i = 0; i < fields_.size(); ++i) {
            if (i) line.push_back(',');
            switch (fields_[i]) {
            case 0: append_field(line, std::string_view(text, format_ip(s.address, text))); break;
            case 1: fmt::format_to(std::back_inserter(line), "{}", s.port); break;
            case 2: append_field(line, to_string(s.proto)); break;
            case 3: append_field(line, to_string(PortState::open)); break;
            case 7: append_field(line, format_timestamp(s.seen_at_unix)); break;
            case 9: append_field(line, s.name); break;
            case 10: append_field(line, s.product); break;
            case 11: append_field(line, s.version); break;
            case 12: append_field(line, s.info); break;
            case 13: append_field(line, s.hostname); break;
            case 14: append_field(line, s.ostype); break;
            case 15: append_field(line, s.devicetype); break;
            case 16: append_field(line, space_separated(s.cpes)); break;
            case 17: append_field(line, to_string(s.method)); break;
            case 18: fmt::format_to(std::back_inserter(line), "{}", s.confidence); break;
            case 19: line.push_back(s.soft ? '1' : '0'); break;
            case 20: append_field(line, s.tunnel); break;
            case 21: append_field(line, s.probe); break;
            case 22: append_field(line, base64(s.banner)); break;
            case 23: if (tls) append_field(line, tls->version); break;
            case 24: if (tls) append_field(line, tls->cipher); break;
            case 25: if (cert) append_field(line, cert->subject); break;
            case 26: if (cert) append_field(line, cert->issuer); break;
            case 27: if (cert) append_field(line, space_separated(cert->san_dns)); break;
            case 28: if (cert) append_field(line, space_separated(cert->san_ip)); break;
            case 29: if (cert) append_field(line, cert->not_before); break;
            case 30: if (cert) append_field(line, cert->not_after); break;
            case 31: if (cert) append_field(line, cert->sha256); break;
            case 32: if (cert) append_field(line, cert->key_type); break;
            case 33: if (cert) fmt::format_to(std::back_inserter(line), "{}", cert->key_bits); break;
            case 34: if (cert) line.push_back(cert->self_signed ? '1' : '0'); break;
            default: break; // reason, ttl, window, data: a result's
            }
        }
        line.push_back('\n');
        file_.write(std::string_view(line.data(), line.size()));
    }
    void flush() override { file_.flush(); }
    void finish() override { file_.close(); }

private:
    std::vector<std::size_t> fields_;
    OutputFile file_;
};

} // namespace

std::vector<std::size_t> parse_csv_fields(std::string_view spec) {
    std::vector<std::size_t> fields;
    if (spec.empty()) {
        for (std::size_t i = 0; i < field_count; ++i) fields.push_back(i);
        return fields;
    }
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = spec.find(',', start);
        std::string_view name = spec.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
        while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
        const auto* found = std::find(std::begin(csv_field_names), std::end(csv_field_names), name);
        if (name.empty())
            throw Error(fmt::format("invalid --fields \"{}\": empty field name; fields are {}", spec, all_field_names()));
        if (found == std::end(csv_field_names))
            throw Error(fmt::format("invalid --fields \"{}\": unknown field \"{}\"; fields are {}", spec, name, all_field_names()));
        const std::size_t index = std::size_t(found - std::begin(csv_field_names));
        if (std::find(fields.begin(), fields.end(), index) != fields.end())
            throw Error(fmt::format("invalid --fields \"{}\": field \"{}\" given twice", spec, name));
        fields.push_back(index);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return fields;
}

std::unique_ptr<OutputWriter> make_csv_writer(const std::string& path, const std::string& fields, OutputMode mode) {
    return std::make_unique<CsvWriter>(path, parse_csv_fields(fields), mode);
}

} // namespace ws
