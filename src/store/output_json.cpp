// -oJ: NDJSON, one object per result and never an enclosing array, so every
// complete line of an interrupted run is valid JSON on its own:
// {"ip":"198.19.0.5","port":80,"proto":"tcp","state":"open","reason":"syn-ack","ttl":64,"window":65160,"ts":1700000001.5}
// Every value is a fixed word, an address or a number: nothing needs escaping.
#include <fmt/format.h>

#include "wirespeed/address.hpp"
#include "wirespeed/outputs.hpp"

namespace ws {
namespace {

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
    void flush() override { file_.flush(); }
    void finish() override { file_.close(); }

private:
    OutputFile file_;
};

} // namespace

std::unique_ptr<OutputWriter> make_json_writer(const std::string& path, OutputMode mode) {
    return std::make_unique<JsonWriter>(path, mode);
}

} // namespace ws
