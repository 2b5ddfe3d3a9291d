// Feeds arbitrary bytes to the port parsers and checks that the result is
// exactly what a scan loop needs: ports 1-65535, ascending, unique, indexable.
#include "wirespeed/error.hpp"
#include "wirespeed/ports.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

void check_error(const ws::Error& e) {
    const std::string_view message = e.what();
    check(!message.empty() && message.find('\n') == std::string_view::npos);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    try {
        const auto set = ws::parse_ports(input);
        check(!set.empty());
        check(set.count() <= 65535);
        const auto& ports = set.ports();
        check(ports.size() == set.count());
        for (std::uint32_t i = 0; i < set.count(); ++i) {
            check(ports[i] >= 1);
            if (i > 0) check(ports[i - 1] < ports[i]);
            check(set.at(i) == ports[i]);
            check(set.index_of(ports[i]) == i);
        }
        check(!set.contains(0));
        // The dense table must have no stray entries either.
        std::uint32_t members = 0;
        for (std::uint32_t p = 0; p <= 65535; ++p) members += set.contains(std::uint16_t(p)) ? 1 : 0;
        check(members == set.count());
    } catch (const ws::Error& e) {
        check_error(e);
    }

    try {
        const auto range = ws::parse_port_range(input);
        check(range.first >= 1 && range.first <= range.last);
        check(range.size() >= 1 && range.size() <= 65535);
        // A valid range is also a valid port list with the same members.
        const auto set = ws::parse_ports(input);
        check(set.count() == range.size() && set.at(0) == range.first && set.at(set.count() - 1) == range.last);
    } catch (const ws::Error& e) {
        check_error(e);
    }
    return 0;
}
