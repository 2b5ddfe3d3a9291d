// The file loader behind -iL, --excludefile and --blocklist, on arbitrary
// bytes under small bounds: through a pipe (the streamed path: /dev/stdin, a
// FIFO, a device) and through parse_target_text (the mapped path for regular
// files). Both must agree, every error must be one line naming the file, and
// the bounds must hold whatever the bytes.
#include "wirespeed/error.hpp"
#include "wirespeed/targets.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

constexpr ws::TextLimits limits{.max_line = 64, .max_bytes = 8192};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 16384) return 0; // must fit a pipe's buffer: written before it is read
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    std::optional<ws::TargetSet> mapped;
    std::string mapped_error;
    try {
        mapped = ws::parse_target_text(input, "fuzz.txt", limits);
    } catch (const ws::Error& e) {
        mapped_error = e.what();
        check(!mapped_error.empty() && mapped_error.find('\n') == std::string::npos);
        check(mapped_error.starts_with("fuzz.txt:") || mapped_error.starts_with("cannot read \"fuzz.txt\""));
    }
    if (mapped) {
        // Within the bounds: no line is longer than max_line, the text fits max_bytes.
        check(size <= limits.max_bytes);
        std::string_view rest = input.starts_with("\xEF\xBB\xBF") ? input.substr(3) : input;
        while (!rest.empty()) {
            const std::size_t eol = std::min(rest.find('\n'), rest.size());
            check(eol <= limits.max_line);
            rest.remove_prefix(std::min(eol + 1, rest.size()));
        }
    }

    int fds[2];
    if (::pipe(fds) != 0) return 0;
    const bool written = ::write(fds[1], data, size) == ssize_t(size);
    ::close(fds[1]);
    if (written) {
        const std::string path = "/proc/self/fd/" + std::to_string(fds[0]);
        std::optional<ws::TargetSet> streamed;
        std::string streamed_error;
        try {
            streamed = ws::load_target_file(path, "target file", limits);
        } catch (const ws::Error& e) {
            streamed_error = e.what();
            check(!streamed_error.empty() && streamed_error.find('\n') == std::string::npos);
            check(streamed_error.find(path) != std::string::npos);
        }
        // The same bytes give the same set, or both fail (an empty pipe is an
        // error of its own: no writer).
        if (size > 0) check(streamed.has_value() == mapped.has_value());
        if (streamed && mapped) check(*streamed == *mapped);
    }
    ::close(fds[0]);
    return 0;
}
