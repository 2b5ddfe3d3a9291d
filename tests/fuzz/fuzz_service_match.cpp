// Differential libFuzzer target for the service matcher: the input is a
// service's answer, matched against every probe of a small nmap-format probe
// file twice, through the Hyperscan prefilter and through PCRE2 alone. The
// two must name the same line with the same substituted fields: the
// prefilter may only skip lines PCRE2 would not match. Templates ($1, $P,
// $SUBST, $I, cpe) see arbitrary captured bytes here.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "wirespeed/service_probes.hpp"

namespace {

constexpr const char* probes_text = R"(Probe TCP NULL q||
match ssh m|^SSH-([\d.]+)-OpenSSH_([\w._-]+) Debian-(\S*)\r?\n| p/OpenSSH/ v/$2 Debian $3/ i/protocol $1/ cpe:/a:openbsd:openssh:$2/
match ftp m|^220 \(vsFTPd ([-.\w]+)\)\r\n| p/vsftpd/ v/$1/ cpe:/a:vsftpd:vsftpd:$1/
match smtp m|^220 ([\w.-]+) ESMTP Exim (\d[\w.]+) | p/Exim smtpd/ v/$2/ h/$1/
match weird m|^W(.)(..)(.*)$|s p/$P(3)/ v/$SUBST(3,"x","y")/ i/$I(2,">")/ o/$I(2,"<")/ h/$1/ cpe:/a:w:$3/
softmatch ssh m|^SSH-([\d.]+)-|
match binary m|^\x16\x03[\0-\x03]..\x02|s p/TLS/

Probe TCP GetRequest q|GET / HTTP/1.0\r\n\r\n|
ports 80
match http m|^HTTP/1\.[01] \d\d\d .*\r\nServer: nginx/([\d.]+)|s p/nginx/ v/$1/ cpe:/a:igor_sysoev:nginx:$1/
match http m|^HTTP/1\.[01] \d\d\d .*\r\nServer: ([^\r\n]*)|si p/$1/
softmatch http m|^HTTP/1\.[01] \d\d\d|
match redis m|^\$\d+\r\n(?:#[^\r\n]*\r\n)*redis_version:([.\d]+)\r\n|s p/Redis key-value store/ v/$1/
)";

void check(bool ok) {
    if (!ok) __builtin_trap();
}

const ws::ServiceMatcher& matcher() {
    static const ws::ServiceMatcher m(ws::parse_service_probes(probes_text, "fuzz-probes"));
    return m;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ws::ServiceMatcher& m = matcher();
    static ws::ServiceMatcher::Scratch scratch = m.make_scratch();
    const std::span<const std::uint8_t> answer(data, size);
    for (std::size_t probe = 0; probe < m.probes().probes.size(); ++probe) {
        for (const char* soft : {"", "ssh"}) {
            const auto fast = m.match(probe, answer, scratch, soft, ws::ServiceMatcher::Engine::hyperscan_prefilter);
            const auto slow = m.match(probe, answer, scratch, soft, ws::ServiceMatcher::Engine::pcre_only);
            check(fast.has_value() == slow.has_value());
            if (!fast) continue;
            check(fast->line == slow->line && fast->soft == slow->soft && fast->service == slow->service);
            check(fast->product == slow->product && fast->version == slow->version && fast->info == slow->info);
            check(fast->hostname == slow->hostname && fast->ostype == slow->ostype && fast->cpes == slow->cpes);
        }
    }
    return 0;
}
