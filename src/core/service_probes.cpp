// nmap-service-probes: the parser, the probe selection and template
// substitution (pure; the regex engines are in service_matcher.cpp).
#include "wirespeed/service_probes.hpp"

#include "wirespeed/error.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "text.hpp"

namespace ws {

bool ServicePortSet::contains(std::uint16_t port) const noexcept {
    for (const auto& [first, last] : ranges)
        if (port >= first && port <= last) return true;
    return false;
}

bool ServiceProbe::can_detect(std::string_view service) const noexcept {
    return std::any_of(matches.begin(), matches.end(), [&](const ServiceMatchLine& m) { return m.service == service; });
}

std::optional<std::size_t> ServiceProbes::find(ServiceProtocol protocol, std::string_view probe_name) const noexcept {
    for (std::size_t i = 0; i < probes.size(); ++i)
        if (probes[i].protocol == protocol && probes[i].name == probe_name) return i;
    return std::nullopt;
}

bool ServiceProbes::excluded(ServiceProtocol protocol, std::uint16_t port) const noexcept {
    return (protocol == ServiceProtocol::tcp ? exclude_tcp : exclude_udp).contains(port);
}

namespace {

std::string quote(std::string_view token) { return detail::quote(token, 96); }
using detail::is_space;

constexpr bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_alnum(char c) noexcept { return is_alpha(c) || is_digit(c); }

constexpr int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// nmap's C-string escapes (cstring_unescape): the known letters, \xHH, and a
// backslash before any other non-alphanumeric byte gives that byte; a
// backslash before another letter or digit (an octal escape) is refused.
// Returns the message of the error, or "" with `out` filled.
std::string unescape(std::string_view text, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\') {
            out += text[i];
            continue;
        }
        if (i + 1 == text.size()) return "trailing backslash in " + quote(text);
        const char e = text[++i];
        switch (e) {
        case '0': out += '\0'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        case 'x': {
            const int hi = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
            const int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
            if (hi < 0 || lo < 0) return "bad escape " + quote(text.substr(i - 1, 4)) + ": \\x needs two hex digits";
            out += char(hi * 16 + lo);
            i += 2;
            break;
        }
        default:
            if (is_alnum(e)) return "bad escape " + quote(text.substr(i - 1, 2));
            out += e;
        }
    }
    return {};
}

// ---- template $ commands ---------------------------------------------

// One parsed "$..." item of a template.
struct TemplateVar {
    enum Kind { group, printable, subst, integer } kind = group;
    int number = 0;          // the group, 1-9
    std::string from, to;    // $SUBST's strings; $I's endianness in `from`
    std::size_t end = 0;     // index after the item
};

// Parses a $SUBST/$P/$I argument list starting after '(' at `pos`: integers
// and "strings" (nmap's escapes), comma separated, to ')'.
struct Argument {
    bool is_string;
    long number;
    std::string text;
};

std::string parse_arguments(std::string_view t, std::size_t pos, std::vector<Argument>& args, std::size_t& end) {
    args.clear();
    while (true) {
        while (pos < t.size() && is_space(t[pos])) ++pos;
        if (pos >= t.size()) return "unterminated argument list in " + quote(t);
        if (t[pos] == ')') break;
        if (args.size() == 4) return "too many arguments in " + quote(t);
        if (t[pos] == '"') {
            std::size_t close = pos + 1;
            while (close < t.size() && t[close] != '"') close += t[close] == '\\' ? 2 : 1;
            if (close >= t.size()) return "unterminated string in " + quote(t);
            Argument a{true, 0, {}};
            if (auto err = unescape(t.substr(pos + 1, close - pos - 1), a.text); !err.empty()) return err;
            args.push_back(std::move(a));
            pos = close + 1;
        } else {
            long value = 0;
            const auto [p, ec] = std::from_chars(t.data() + pos, t.data() + t.size(), value);
            if (ec != std::errc{} || p == t.data() + pos) return "bad argument " + quote(t.substr(pos, 8)) + " in " + quote(t);
            args.push_back({false, value, {}});
            pos = std::size_t(p - t.data());
        }
        while (pos < t.size() && is_space(t[pos])) ++pos;
        if (pos < t.size() && t[pos] == ',') {
            ++pos;
        } else if (pos >= t.size() || t[pos] != ')') {
            return "expected ',' or ')' in " + quote(t);
        }
    }
    end = pos + 1;
    return {};
}

// Parses the item at t[pos] == '$'. Returns an error message or "".
std::string parse_var(std::string_view t, std::size_t pos, TemplateVar& var) {
    std::size_t i = pos + 1;
    if (i < t.size() && is_digit(t[i])) {
        var = {TemplateVar::group, t[i] - '0', {}, {}, i + 1};
        if (var.number == 0) return "$0 is not a group in " + quote(t);
        return {};
    }
    std::size_t open = i;
    while (open < t.size() && is_alpha(t[open])) ++open;
    if (open >= t.size() || t[open] != '(' || open == i) return "bad $ item " + quote(t.substr(pos, 12)) + " in " + quote(t);
    const auto command = t.substr(i, open - i);
    std::vector<Argument> args;
    std::size_t end = 0;
    if (auto err = parse_arguments(t, open + 1, args, end); !err.empty()) return err;
    const auto group_ok = [&] { return !args.empty() && !args[0].is_string && args[0].number >= 1 && args[0].number <= 9; };
    if (command == "P") {
        if (args.size() != 1 || !group_ok()) return "$P takes one group 1-9 in " + quote(t);
        var = {TemplateVar::printable, int(args[0].number), {}, {}, end};
    } else if (command == "SUBST") {
        if (args.size() != 3 || !group_ok() || !args[1].is_string || !args[2].is_string || args[1].text.empty())
            return "$SUBST takes a group 1-9 and two strings in " + quote(t);
        var = {TemplateVar::subst, int(args[0].number), args[1].text, args[2].text, end};
    } else if (command == "I") {
        if (args.size() != 2 || !group_ok() || !args[1].is_string || (args[1].text != ">" && args[1].text != "<"))
            return "$I takes a group 1-9 and \">\" or \"<\" in " + quote(t);
        var = {TemplateVar::integer, int(args[0].number), args[1].text, {}, end};
    } else {
        return "unknown $ command " + quote(command) + " in " + quote(t);
    }
    return {};
}

// nmap's transform_cpe: CPE-reserved bytes as %XX, space as '_', the rest
// lower-cased; applied to substituted text only.
void append_cpe_safe(std::string& out, std::string_view s) {
    static constexpr std::string_view reserved = ":/?#[]@!$&'()*+,;=%<>\"";
    static constexpr char hex[] = "0123456789ABCDEF";
    for (const char c : s) {
        if (c != '\0' && reserved.find(c) != std::string_view::npos) {
            out += '%';
            out += hex[(unsigned char)c >> 4];
            out += hex[(unsigned char)c & 0xf];
        } else if (c == ' ') {
            out += '_';
        } else {
            out += (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
        }
    }
}

// The text a $ item stands for, or false when it cannot be made.
bool expand_var(const TemplateVar& var, std::span<const std::string_view> groups, std::string& value) {
    if (std::size_t(var.number) >= groups.size()) return false;
    const auto g = groups[std::size_t(var.number)];
    value.clear();
    switch (var.kind) {
    case TemplateVar::group: value.assign(g); break;
    case TemplateVar::printable:
        for (const char c : g)
            if (c >= 0x20 && c < 0x7f) value += c; // isprint in the C locale
        break;
    case TemplateVar::subst:
        for (std::size_t i = 0; i < g.size();) {
            if (g.substr(i).starts_with(var.from)) {
                value += var.to;
                i += var.from.size();
            } else {
                value += g[i++];
            }
        }
        break;
    case TemplateVar::integer: {
        if (g.size() > 8) return false; // nmap: more than a 64-bit integer fails
        std::uint64_t n = 0;
        for (std::size_t i = 0; i < g.size(); ++i) {
            const auto byte = (unsigned char)(var.from == ">" ? g[i] : g[g.size() - 1 - i]);
            n = (n << 8) | byte;
        }
        value = std::to_string(n);
        break;
    }
    }
    return true;
}

} // namespace

std::string check_service_template(std::string_view tmpl) {
    for (std::size_t pos = tmpl.find('$'); pos != std::string_view::npos; pos = tmpl.find('$', pos)) {
        TemplateVar var;
        if (auto err = parse_var(tmpl, pos, var); !err.empty()) return err;
        pos = var.end;
    }
    return {};
}

std::optional<std::string> substitute_service_template(std::string_view tmpl, std::span<const std::string_view> groups,
                                                       bool cpe, std::size_t max_length) {
    std::string out, value;
    std::size_t pos = 0;
    while (pos < tmpl.size()) {
        const auto dollar = tmpl.find('$', pos);
        out.append(tmpl.substr(pos, dollar == std::string_view::npos ? std::string_view::npos : dollar - pos));
        if (dollar == std::string_view::npos) break;
        TemplateVar var;
        if (!parse_var(tmpl, dollar, var).empty() || !expand_var(var, groups, value)) return std::nullopt;
        if (cpe)
            append_cpe_safe(out, value);
        else
            out += value;
        if (out.size() > max_length) return std::nullopt;
        pos = var.end;
    }
    while (!out.empty() && (is_space(out.back()) || out.back() == ',')) out.pop_back();
    if (out.size() > max_length) return std::nullopt;
    return out;
}

namespace {

// ---- the file parser ---------------------------------------------------

class Parser {
public:
    Parser(std::string_view text, std::string_view name) : text_(text) { db_.name = std::string(name); }

    ServiceProbes run() {
        std::size_t pos = 0;
        while (pos < text_.size()) {
            auto eol = text_.find('\n', pos);
            if (eol == std::string_view::npos) eol = text_.size();
            ++line_;
            auto line = text_.substr(pos, eol - pos);
            pos = eol + 1;
            if (line.size() > max_service_probes_line)
                fail("line longer than " + std::to_string(max_service_probes_line) + " bytes " +
                     detail::quote(line, 32));
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (detail::trim(line).empty() || line.front() == '#') continue;
            directive(line);
        }
        resolve_fallbacks();
        return std::move(db_);
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw Error(db_.name + ":" + std::to_string(line_) + ": " + what);
    }

    ServiceProbe& current(std::string_view keyword) {
        if (db_.probes.empty()) fail(quote(keyword) + " before any Probe line");
        return db_.probes.back();
    }

    void directive(std::string_view line) {
        const auto space = line.find(' ');
        const auto keyword = line.substr(0, space);
        const auto rest = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
        if (keyword == "Probe") return probe(rest);
        if (keyword == "match" || keyword == "softmatch") return match(keyword == "softmatch", rest);
        if (keyword == "Exclude") return exclude(rest);
        if (keyword == "ports") return port_list(rest, current(keyword).ports);
        if (keyword == "sslports") return port_list(rest, current(keyword).sslports);
        if (keyword == "rarity") {
            current(keyword).rarity = int(number(rest, 1, 9, "rarity"));
            return;
        }
        if (keyword == "totalwaitms") {
            current(keyword).totalwaitms = unsigned(number(rest, 100, 300000, "totalwaitms"));
            return;
        }
        if (keyword == "tcpwrappedms") {
            current(keyword).tcpwrappedms = unsigned(number(rest, 100, 300000, "tcpwrappedms"));
            return;
        }
        if (keyword == "fallback") return fallback(rest);
        fail("unknown directive " + quote(keyword));
    }

    long number(std::string_view text, long low, long high, std::string_view what) const {
        const auto value_text = detail::trim(text);
        long value = 0;
        const auto [p, ec] = std::from_chars(value_text.data(), value_text.data() + value_text.size(), value);
        if (value_text.empty() || ec != std::errc{} || p != value_text.data() + value_text.size() || value < low ||
            value > high)
            fail("invalid " + std::string(what) + " " + quote(value_text) + ": expected " + std::to_string(low) + "-" +
                 std::to_string(high));
        return value;
    }

    // "21-25,53,80": each item a port or a range A-B, 0-65535.
    void port_list(std::string_view text, ServicePortSet& set) const {
        const auto list = detail::trim(text);
        if (list.empty()) fail("empty port list");
        std::size_t pos = 0;
        while (true) {
            const auto comma = list.find(',', pos);
            const auto item =
                detail::trim(list.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
            set.ranges.push_back(port_range(item, list));
            if (comma == std::string_view::npos) break;
            pos = comma + 1;
        }
    }

    std::pair<std::uint16_t, std::uint16_t> port_range(std::string_view item, std::string_view list) const {
        const auto port = [&](std::string_view t) -> std::uint16_t {
            const auto v = detail::parse_port_number(detail::trim(t));
            if (!v || *v > 65535)
                fail("invalid port " + quote(item) + " in port list " + quote(list) + ": expected 0-65535 or A-B");
            return std::uint16_t(*v);
        };
        const auto dash = item.find('-');
        if (dash == std::string_view::npos) {
            const auto p = port(item);
            return {p, p};
        }
        const auto first = port(item.substr(0, dash)), last = port(item.substr(dash + 1));
        if (first > last) fail("invalid port range " + quote(item) + ": start is after end");
        return {first, last};
    }

    // "T:9100-9107,U:30000-40000": a T: or U: prefix holds for the items
    // after it; items before any prefix are both protocols.
    void exclude(std::string_view text) {
        if (seen_exclude_) fail("a second Exclude line (only one is allowed)");
        if (!db_.probes.empty()) fail("Exclude after a Probe line (it must come first)");
        seen_exclude_ = true;
        const auto list = detail::trim(text);
        if (list.empty()) fail("empty Exclude list");
        bool tcp = true, udp = true;
        std::size_t pos = 0;
        while (true) {
            const auto comma = list.find(',', pos);
            auto item = detail::trim(list.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
            if (item.size() >= 2 && item[1] == ':') {
                const char p = item[0];
                if (p != 'T' && p != 'U' && p != 't' && p != 'u')
                    fail("invalid protocol prefix " + quote(item.substr(0, 2)) + " in Exclude (T: or U:)");
                tcp = p == 'T' || p == 't';
                udp = !tcp;
                item.remove_prefix(2);
            }
            const auto range = port_range(item, list);
            if (tcp) db_.exclude_tcp.ranges.push_back(range);
            if (udp) db_.exclude_udp.ranges.push_back(range);
            if (comma == std::string_view::npos) break;
            pos = comma + 1;
        }
    }

    // "TCP NAME q|...| [no-payload]"
    void probe(std::string_view rest) {
        ServiceProbe p;
        p.line = line_;
        if (rest.starts_with("TCP "))
            p.protocol = ServiceProtocol::tcp;
        else if (rest.starts_with("UDP "))
            p.protocol = ServiceProtocol::udp;
        else
            fail("invalid probe protocol " + quote(rest.substr(0, rest.find(' '))) + " (TCP or UDP)");
        rest.remove_prefix(4);
        const auto space = rest.find(' ');
        const auto name = rest.substr(0, space);
        if (name.empty() || !is_alnum(name[0])) fail("bad probe name " + quote(name));
        if (space == std::string_view::npos) fail("no probe string after probe name " + quote(name));
        p.name = std::string(name);
        if (db_.find(p.protocol, name)) fail("duplicate probe name " + quote(name));
        rest.remove_prefix(space + 1);
        if (rest.size() < 2 || rest[0] != 'q') fail("probe string must be q<delimiter>...<delimiter>: " + quote(rest));
        const char delimiter = rest[1];
        const auto close = rest.find(delimiter, 2);
        if (close == std::string_view::npos) fail("no closing delimiter in probe string " + quote(rest));
        if (auto err = unescape(rest.substr(2, close - 2), p.payload); !err.empty()) fail(err);
        const auto options = detail::trim(rest.substr(close + 1));
        if (options == "no-payload")
            p.no_payload = true;
        else if (!options.empty())
            fail("unexpected text after probe string " + quote(options));
        db_.probes.push_back(std::move(p));
    }

    void fallback(std::string_view rest) {
        auto& p = current("fallback");
        std::size_t pos = 0;
        const auto sep = [](char c) { return c == ',' || is_space(c); };
        while (pos < rest.size()) {
            while (pos < rest.size() && sep(rest[pos])) ++pos;
            std::size_t end = pos;
            while (end < rest.size() && !sep(rest[end])) ++end;
            if (end > pos) p.fallback_names.emplace_back(rest.substr(pos, end - pos));
            pos = end;
        }
        if (p.fallback_names.empty()) fail("empty fallback list");
        if (p.fallback_names.size() > max_fallbacks - 2)
            fail("more than " + std::to_string(max_fallbacks - 2) + " fallbacks " + quote(rest));
        fallback_lines_.emplace_back(db_.probes.size() - 1, line_);
    }

    // nmap's compileFallbacks: itself, the named probes (same protocol; the
    // NULL probe may be named), then NULL for a TCP probe that is not NULL.
    void resolve_fallbacks() {
        const auto null_probe = db_.find(ServiceProtocol::tcp, "NULL");
        for (std::size_t i = 0; i < db_.probes.size(); ++i) {
            auto& p = db_.probes[i];
            p.fallbacks = {i};
            for (const auto& name : p.fallback_names) {
                // Same protocol first; nmap's own file has a TCP probe fall
                // back to a UDP one (DNSVersionBindReqTCP -> DNSVersionBindReq).
                auto target = db_.find(p.protocol, name);
                if (!target) target = db_.find(other(p.protocol), name);
                if (!target) {
                    const auto it = std::find_if(fallback_lines_.begin(), fallback_lines_.end(),
                                                 [&](const auto& pl) { return pl.first == i; });
                    line_ = it == fallback_lines_.end() ? p.line : it->second;
                    fail("unknown fallback probe " + quote(name) + " for probe " + quote(p.name));
                }
                p.fallbacks.push_back(*target);
            }
            if (p.protocol == ServiceProtocol::tcp && null_probe && i != *null_probe) p.fallbacks.push_back(*null_probe);
        }
    }

    static ServiceProtocol other(ServiceProtocol p) {
        return p == ServiceProtocol::tcp ? ServiceProtocol::udp : ServiceProtocol::tcp;
    }

    // One "<mode><d>text<d>[flags]" item; returns false at the end of text.
    struct Item {
        std::string_view mode, body, flags;
    };
    bool next_item(std::string_view& rest, Item& item) const {
        std::size_t pos = 0;
        while (pos < rest.size() && is_space(rest[pos])) ++pos;
        if (pos == rest.size()) return false;
        std::size_t q = pos;
        while (q < rest.size() && (is_alpha(rest[q]) || rest[q] == ':')) ++q;
        if (q == rest.size() || is_space(rest[q]) || q == pos)
            fail("expected <letter><delimiter>text<delimiter> at " + quote(rest.substr(pos)));
        const char delimiter = rest[q];
        const auto close = rest.find(delimiter, q + 1);
        if (close == std::string_view::npos) fail("no closing delimiter " + quote(std::string_view(&delimiter, 1)) + " in " + quote(rest.substr(pos)));
        std::size_t f = close + 1;
        while (f < rest.size() && is_alpha(rest[f])) ++f;
        if (f < rest.size() && !is_space(rest[f])) fail("expected a space after " + quote(rest.substr(pos, f + 1 - pos)));
        item = {rest.substr(pos, q - pos), rest.substr(q + 1, close - q - 1), rest.substr(close + 1, f - close - 1)};
        rest.remove_prefix(f);
        return true;
    }

    // "SERVICE m|REGEX|[is] [templates]"
    void match(bool soft, std::string_view rest) {
        auto& p = current(soft ? "softmatch" : "match");
        ServiceMatchLine m;
        m.line = line_;
        m.soft = soft;
        const auto space = rest.find(' ');
        if (space == std::string_view::npos || space == 0) fail("no service name and pattern in " + quote(rest));
        m.service = std::string(rest.substr(0, space));
        rest.remove_prefix(space);
        Item item;
        if (!next_item(rest, item) || item.mode != "m") fail("the pattern must be m<delimiter>regex<delimiter>: " + quote(rest));
        m.pattern = std::string(item.body);
        for (const char f : item.flags) {
            if (f == 'i')
                m.caseless = true;
            else if (f == 's')
                m.dotall = true;
            else
                fail("invalid regex option " + quote(std::string_view(&f, 1)) + " (i or s)");
        }
        while (next_item(rest, item)) template_item(m, item);
        ++(soft ? db_.softmatch_count : db_.match_count);
        p.matches.push_back(std::move(m));
    }

    void template_item(ServiceMatchLine& m, const Item& item) const {
        if (auto err = check_service_template(item.body); !err.empty()) fail(err);
        if (item.mode == "cpe:") {
            for (const char f : item.flags)
                if (f != 'a') fail("invalid cpe option " + quote(std::string_view(&f, 1)) + " (only a)");
            m.cpes.push_back("cpe:/" + std::string(item.body));
            return;
        }
        if (!item.flags.empty()) fail("unexpected option " + quote(item.flags) + " after " + quote(item.mode) + " template");
        std::string* field = nullptr;
        if (item.mode == "p") field = &m.product;
        else if (item.mode == "v") field = &m.version;
        else if (item.mode == "i") field = &m.info;
        else if (item.mode == "h") field = &m.hostname;
        else if (item.mode == "o") field = &m.ostype;
        else if (item.mode == "d") field = &m.devicetype;
        else fail("unknown template " + quote(item.mode) + " (p v i h o d cpe:)");
        *field = std::string(item.body); // nmap: a repeated template replaces the earlier one
    }

    std::string_view text_;
    ServiceProbes db_;
    std::size_t line_ = 0;
    bool seen_exclude_ = false;
    std::vector<std::pair<std::size_t, std::size_t>> fallback_lines_; // (probe, line of its fallback)
};

} // namespace

ServiceProbes parse_service_probes(std::string_view text, std::string_view name) {
    if (text.size() > max_service_probes_bytes)
        throw Error("cannot read " + quote(name) + ": larger than " + std::to_string(max_service_probes_bytes) +
                    " bytes (the limit for a service probe file)");
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    return Parser(text, name).run();
}

ServiceProbes load_service_probes(const std::string& path) {
    return parse_service_probes(detail::read_limited_file(path, max_service_probes_bytes, "service probe file", "service probe file"), path);
}

std::vector<std::size_t> select_service_probes(const ServiceProbes& db, ServiceProtocol protocol, std::uint16_t port,
                                               bool is_ssl, int intensity, std::string_view soft_service) {
    if (intensity < 0 || intensity > 9)
        throw Error("invalid version intensity " + quote(std::to_string(intensity)) + ": expected 0-9");
    std::vector<std::size_t> order;
    const auto null_probe = db.find(ServiceProtocol::tcp, "NULL");
    if (protocol == ServiceProtocol::tcp && null_probe) order.push_back(*null_probe);
    const auto probable = [&](const ServiceProbe& p) { return (is_ssl ? p.sslports : p.ports).contains(port); };
    for (std::size_t i = 0; i < db.probes.size(); ++i) {
        const auto& p = db.probes[i];
        if (p.protocol == protocol && i != null_probe && probable(p)) order.push_back(i);
    }
    for (std::size_t i = 0; i < db.probes.size(); ++i) {
        const auto& p = db.probes[i];
        if (p.protocol == protocol && i != null_probe && !probable(p) && p.rarity <= intensity &&
            (soft_service.empty() || p.can_detect(soft_service)))
            order.push_back(i);
    }
    return order;
}

} // namespace ws
