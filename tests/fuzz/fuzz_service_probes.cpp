// nmap-service-probes on arbitrary bytes: every error is one ws::Error line
// naming the file and a line that exists; a parsed database holds together
// (fallbacks in range, counts agree); template substitution never reads past
// its groups; a database small enough is compiled and its first probe matched
// against the input itself, Hyperscan and PCRE2 alone agreeing.
#include "wirespeed/error.hpp"
#include "wirespeed/service_probes.hpp"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

void check_error(const ws::Error& e, std::string_view input) {
    const std::string_view message = e.what();
    check(!message.empty() && message.find('\n') == std::string_view::npos);
    check(message.starts_with("fuzz:"));
    const auto digits = message.substr(5);
    std::size_t line = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), line);
    check(ec == std::errc{} && end < digits.data() + digits.size() && *end == ':');
    check(line >= 1 && line <= std::size_t(std::count(input.begin(), input.end(), '\n')) + 1);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    // Template substitution with the input as the template and as group 1.
    const std::string_view groups[] = {input, input.substr(0, input.size() / 2)};
    const auto substituted = ws::substitute_service_template(input, groups, size % 2 == 0, 256);
    check(!substituted || substituted->size() <= 256);
    check(ws::check_service_template(input).find('\n') == std::string::npos);

    std::optional<ws::ServiceProbes> parsed;
    try {
        parsed = ws::parse_service_probes(input, "fuzz");
    } catch (const ws::Error& e) {
        check_error(e, input);
    }
    if (!parsed) return 0;

    std::size_t matches = 0, soft = 0;
    for (const auto& probe : parsed->probes) {
        check(!probe.fallbacks.empty() && probe.fallbacks.size() <= ws::max_fallbacks);
        for (const auto f : probe.fallbacks) check(f < parsed->probes.size());
        check(probe.rarity >= 1 && probe.rarity <= 9);
        for (const auto& m : probe.matches) (m.soft ? soft : matches) += 1;
    }
    check(matches == parsed->match_count && soft == parsed->softmatch_count);
    for (const auto protocol : {ws::ServiceProtocol::tcp, ws::ServiceProtocol::udp}) {
        const auto order = ws::select_service_probes(*parsed, protocol, 80, size % 3 == 0);
        for (const auto i : order) check(i < parsed->probes.size() && parsed->probes[i].protocol == protocol);
    }

    // Compiling regexes is slow: only small databases.
    if (matches + soft == 0 || matches + soft > 8) return 0;
    try {
        const ws::ServiceMatcher matcher(*parsed);
        auto scratch = matcher.make_scratch();
        for (std::size_t p = 0; p < parsed->probes.size(); ++p) {
            const auto a = matcher.match(p, input, scratch);
            const auto b = matcher.match(p, input, scratch, {}, ws::ServiceMatcher::Engine::pcre_only);
            check(a.has_value() == b.has_value());
            if (a) check(a->line == b->line && a->product == b->product && a->version == b->version);
        }
    } catch (const ws::Error& e) {
        check_error(e, input);
    }
    return 0;
}
