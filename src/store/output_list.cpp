// -oL: masscan's list format, "open tcp 80 198.19.0.5 1700000000", between a
// "#masscan" header and a "# end" trailer.
#include <fmt/format.h>

#include "wirespeed/address.hpp"
#include "wirespeed/outputs.hpp"

namespace ws {
namespace {

class ListWriter final : public OutputWriter {
public:
    ListWriter(const std::string& path, OutputMode mode) : file_(path, mode) { file_.write("#masscan\n"); }
    void write(const ResultRecord& r, double seen_at_unix, std::span<const std::uint8_t>) override {
        char ip[max_ip_text];
        format_ip(record_address(r), ip);
        fmt::memory_buffer line;
        fmt::format_to(std::back_inserter(line), "{} {} {} {} {}\n", to_string(r.state), to_string(r.proto), r.port,
                       ip, static_cast<long long>(seen_at_unix));
        file_.write(std::string_view(line.data(), line.size()));
    }
    void flush() override { file_.flush(); }
    void finish() override {
        file_.write("# end\n");
        file_.close();
    }

private:
    OutputFile file_;
};

} // namespace

std::unique_ptr<OutputWriter> make_list_writer(const std::string& path, OutputMode mode) {
    return std::make_unique<ListWriter>(path, mode);
}

} // namespace ws
