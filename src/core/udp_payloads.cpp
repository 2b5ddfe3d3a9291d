#include "wirespeed/udp_payloads.hpp"

#include "wirespeed/error.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "text.hpp"

namespace ws {

// ---- UdpPayloads -------------------------------------------------------

const UdpPayloads::List& UdpPayloads::for_port(std::uint16_t port) const noexcept {
    static const List none;
    const auto it = by_port_.find(port);
    return it == by_port_.end() ? none : it->second;
}

std::size_t UdpPayloads::payload_count() const noexcept {
    std::size_t n = 0;
    for (const auto& [port, list] : by_port_) n += list.size();
    return n;
}

void UdpPayloads::replace(std::uint16_t port, List payloads) {
    if (payloads.empty())
        by_port_.erase(port);
    else
        by_port_.insert_or_assign(port, std::move(payloads));
}

void UdpPayloads::add(std::uint16_t port, UdpPayload payload) { by_port_[port].push_back(std::move(payload)); }

namespace {

std::string quote(std::string_view token) { return detail::quote(token, 96); }
using detail::is_space;

using detail::in_port_range;
using detail::parse_port_number;

constexpr int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

struct PortRange {
    std::uint32_t first, last; // 1-65535, first <= last
};

struct Token {
    enum Kind { end, word, string } kind;
    std::string_view text; // a string keeps its quotes
    std::size_t line;
};

// One pass over the text, no recursion: a lexer that counts lines and an
// entry loop that consumes its tokens. Every index is checked against the
// text's size before it is read.
class Parser {
public:
    Parser(std::string_view text, std::string_view name) : text_(text), name_(name) {}

    UdpPayloads run() {
        check_lines();
        Token t = next();
        while (t.kind != Token::end) {
            if (t.kind == Token::string)
                fail(t.line, "payload string outside an entry " + quote(t.text) + " (an entry starts with \"udp\")");
            if (t.text != "udp") fail(t.line, "unknown keyword " + quote(t.text) + " (only \"udp\" entries are supported)");
            t = entry(t);
        }
        return std::move(result_);
    }

private:
    [[noreturn]] void fail(std::size_t line, const std::string& what) const {
        throw Error(std::string(name_) + ":" + std::to_string(line) + ": " + what);
    }

    // Before any parsing, so a huge line is never tokenised.
    void check_lines() const {
        std::size_t line = 1;
        for (std::size_t pos = 0; pos < text_.size(); ++line) {
            auto eol = text_.find('\n', pos);
            if (eol == std::string_view::npos) eol = text_.size();
            if (eol - pos > max_nmap_payloads_line)
                fail(line, "line longer than " + std::to_string(max_nmap_payloads_line) + " bytes (the line limit) " +
                               detail::quote(text_.substr(pos, eol - pos), 32));
            pos = eol + 1;
        }
    }

    // Whitespace (counting newlines) and comments, then one token.
    Token next() {
        while (pos_ < text_.size()) {
            const char c = text_[pos_];
            if (c == '\n') {
                ++line_;
                ++pos_;
            } else if (is_space(c)) {
                ++pos_;
            } else if (c == '#') {
                const auto eol = text_.find('\n', pos_);
                pos_ = eol == std::string_view::npos ? text_.size() : eol; // the '\n' is counted above
            } else {
                break;
            }
        }
        if (pos_ == text_.size()) return {Token::end, {}, line_};
        const std::size_t start = pos_;
        if (text_[pos_] == '"') {
            // To the closing quote; a backslash skips the next byte unless it
            // is a newline. Strings do not span lines.
            std::size_t i = pos_ + 1;
            while (true) {
                if (i >= text_.size() || text_[i] == '\n') {
                    fail(line_, "unterminated string " + quote(text_.substr(start, i - start)));
                }
                if (text_[i] == '"') break;
                if (text_[i] == '\\') {
                    if (i + 1 >= text_.size() || text_[i + 1] == '\n') {
                        fail(line_, "unterminated string " + quote(text_.substr(start, i + 1 - start)));
                    }
                    i += 2;
                } else {
                    ++i;
                }
            }
            pos_ = i + 1;
            return {Token::string, text_.substr(start, pos_ - start), line_};
        }
        while (pos_ < text_.size() && !is_space(text_[pos_]) && text_[pos_] != '#' && text_[pos_] != '"') ++pos_;
        return {Token::word, text_.substr(start, pos_ - start), line_};
    }

    // "53,69,32768-65535" -> sorted, merged ranges.
    std::vector<PortRange> port_list(const Token& t) const {
        std::vector<PortRange> ranges;
        std::size_t pos = 0;
        while (true) {
            const auto comma = t.text.find(',', pos);
            const auto item = t.text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
            if (item.empty()) fail(t.line, "empty item in port list " + quote(t.text));
            const auto dash = item.find('-');
            if (dash == std::string_view::npos) {
                const auto port = parse_port_number(item);
                if (!port) fail(t.line, "invalid port " + quote(item) + ": expected a number 1-65535 or a range A-B");
                if (!in_port_range(*port)) fail(t.line, "invalid port " + quote(item) + ": ports are 1-65535");
                ranges.push_back({*port, *port});
            } else {
                const auto first = parse_port_number(item.substr(0, dash));
                const auto last = parse_port_number(item.substr(dash + 1));
                if (!first || !last)
                    fail(t.line, "invalid port range " + quote(item) + ": expected A-B with ports 1-65535");
                if (!in_port_range(*first) || !in_port_range(*last))
                    fail(t.line, "invalid port range " + quote(item) + ": ports are 1-65535");
                if (*first > *last) fail(t.line, "invalid port range " + quote(item) + ": start is after end");
                ranges.push_back({*first, *last});
            }
            if (comma == std::string_view::npos) break;
            pos = comma + 1;
        }
        // Sorted and merged, so a port listed twice gets the payload once and
        // the expansion below costs what the ports are, not what they repeat.
        std::sort(ranges.begin(), ranges.end(), [](const PortRange& a, const PortRange& b) { return a.first < b.first; });
        std::vector<PortRange> merged;
        for (const auto& r : ranges) {
            if (!merged.empty() && r.first <= merged.back().last + 1)
                merged.back().last = std::max(merged.back().last, r.last);
            else
                merged.push_back(r);
        }
        return merged;
    }

    // Appends a string literal's bytes (without its quotes) to the payload.
    void decode(const Token& t, UdpPayload& payload) const {
        const auto body = t.text.substr(1, t.text.size() - 2);
        const auto put = [&](std::uint8_t byte) {
            if (payload.size() == max_udp_payload)
                fail(t.line, "payload longer than " + std::to_string(max_udp_payload) + " bytes at string " + quote(t.text));
            payload.push_back(byte);
        };
        for (std::size_t i = 0; i < body.size(); ++i) {
            if (body[i] != '\\') {
                put(std::uint8_t(body[i]));
                continue;
            }
            // The lexer guarantees a byte after every backslash.
            const char e = body[i + 1];
            const auto escape = [&](std::size_t length) { return body.substr(i, length); };
            switch (e) {
            case 'x': {
                const int hi = i + 2 < body.size() ? hex_value(body[i + 2]) : -1;
                const int lo = i + 3 < body.size() ? hex_value(body[i + 3]) : -1;
                if (hi < 0 || lo < 0) fail(t.line, "bad escape " + quote(escape(4)) + ": \\x needs two hex digits");
                put(std::uint8_t(hi * 16 + lo));
                i += 3;
                continue;
            }
            case '0':
                if (i + 2 < body.size() && body[i + 2] >= '0' && body[i + 2] <= '7')
                    fail(t.line, "ambiguous escape " + quote(escape(3)) +
                                     ": octal escapes are not supported (write \\x00 before the digit)");
                put(0);
                break;
            case 'a': put(0x07); break;
            case 'b': put(0x08); break;
            case 'f': put(0x0c); break;
            case 'n': put(0x0a); break;
            case 'r': put(0x0d); break;
            case 't': put(0x09); break;
            case 'v': put(0x0b); break;
            case '\\':
            case '"':
            case '\'': put(std::uint8_t(e)); break;
            default: fail(t.line, "bad escape " + quote(escape(2)));
            }
            ++i;
        }
    }

    // "udp PORTS STRING... [source PORT]..."; returns the token after it.
    Token entry(const Token& udp) {
        const Token ports = next();
        if (ports.kind == Token::end) fail(udp.line, "missing port list after \"udp\"");
        if (ports.kind == Token::string)
            fail(ports.line, "expected a port list after \"udp\", got a string " + quote(ports.text));
        const auto ranges = port_list(ports);

        Token t = next();
        if (t.kind == Token::end) fail(ports.line, "no payload string after port list " + quote(ports.text));
        if (t.kind != Token::string)
            fail(t.line, "expected a payload string after port list " + quote(ports.text) + ", got " + quote(t.text));
        UdpPayload payload;
        while (t.kind == Token::string) {
            decode(t, payload);
            t = next();
        }
        store(ports, ranges, payload);

        while (t.kind == Token::word && t.text == "source") {
            source(t);
            t = next();
        }
        if (t.kind == Token::string)
            fail(t.line, "payload string after \"source\" " + quote(t.text) + " (strings come before directives)");
        return t;
    }

    // "source PORT": nmap's preferred source port, not honoured by nmap
    // either; validated and dropped. Its value must be on the same line.
    void source(const Token& keyword) {
        while (pos_ < text_.size() && text_[pos_] != '\n' && is_space(text_[pos_])) ++pos_;
        if (pos_ == text_.size() || text_[pos_] == '\n' || text_[pos_] == '#')
            fail(keyword.line, "missing port after \"source\"");
        const Token port = next(); // on this line: no newline was left to skip
        const auto value = port.kind == Token::word ? parse_port_number(port.text) : std::nullopt;
        if (!value || !in_port_range(*value))
            fail(port.line, "invalid source port " + quote(port.text) + ": ports are 1-65535");
    }

    void store(const Token& ports, const std::vector<PortRange>& ranges, const UdpPayload& payload) {
        std::size_t count = 0;
        for (const auto& r : ranges) count += r.last - r.first + 1;
        if (count > max_udp_payload_pairs - pairs_)
            fail(ports.line, "more than " + std::to_string(max_udp_payload_pairs) +
                                 " (port, payload) pairs once port ranges are expanded, at port list " + quote(ports.text));
        if (payload.size() > 0 && count > (max_udp_payload_total_bytes - bytes_) / payload.size())
            fail(ports.line, "more than " + std::to_string(max_udp_payload_total_bytes) +
                                 " payload bytes once port ranges are expanded, at port list " + quote(ports.text));
        pairs_ += count;
        bytes_ += count * payload.size();
        for (const auto& r : ranges) {
            for (std::uint32_t port = r.first; port <= r.last; ++port) {
                const auto& list = result_.for_port(std::uint16_t(port));
                if (list.size() == max_payloads_per_port)
                    fail(ports.line, "more than " + std::to_string(max_payloads_per_port) + " payloads for port " +
                                         quote(std::to_string(port)) + " (nmap's limit)");
                result_.add(std::uint16_t(port), payload);
            }
        }
    }

    std::string_view text_;
    std::string_view name_;
    std::size_t pos_ = 0;
    std::size_t line_ = 1;
    UdpPayloads result_;
    std::size_t pairs_ = 0;
    std::size_t bytes_ = 0;
};

} // namespace

UdpPayloads parse_nmap_payloads(std::string_view text, std::string_view name) {
    if (text.size() > max_nmap_payloads_bytes)
        throw Error("cannot read " + quote(name) + ": larger than " + std::to_string(max_nmap_payloads_bytes) +
                    " bytes (the limit for a payload file)");
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3); // a UTF-8 byte-order mark
    return Parser(text, name).run();
}

UdpPayloads load_nmap_payloads(const std::string& path) {
    return parse_nmap_payloads(detail::read_limited_file(path, max_nmap_payloads_bytes, "nmap payload file", "payload file"), path);
}

UdpPayloadOption parse_udp_payload_option(std::string_view spec) {
    const auto bad = [&](const std::string& why) -> Error { return Error("invalid --udp-payload " + quote(spec) + ": " + why); };
    const auto colon = spec.find(':');
    if (colon == std::string_view::npos) throw bad("expected PORT:HEX, e.g. 53:0x0000");
    const auto port_text = spec.substr(0, colon);
    const auto port = parse_port_number(port_text);
    if (!port || !in_port_range(*port)) throw bad("port " + quote(port_text) + " is not 1-65535");

    auto hex = spec.substr(colon + 1);
    if (hex.starts_with("0x") || hex.starts_with("0X")) hex.remove_prefix(2);
    if (hex.empty()) throw bad("no payload bytes after the port");
    for (char c : hex)
        if (hex_value(c) < 0) throw bad(quote(std::string_view(&c, 1)) + " is not a hex digit");
    if (hex.size() % 2 != 0) throw bad("odd number of hex digits (" + std::to_string(hex.size()) + ")");
    if (hex.size() / 2 > max_udp_payload)
        throw bad("payload of " + std::to_string(hex.size() / 2) + " bytes is longer than " +
                  std::to_string(max_udp_payload) + " bytes");

    UdpPayloadOption option{std::uint16_t(*port), {}};
    option.bytes.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2)
        option.bytes.push_back(std::uint8_t(hex_value(hex[i]) * 16 + hex_value(hex[i + 1])));
    return option;
}

void apply_udp_payload_options(UdpPayloads& payloads, const std::vector<UdpPayloadOption>& options) {
    std::map<std::uint16_t, UdpPayloads::List> given;
    for (const auto& option : options) {
        if (option.port == 0) throw Error("invalid --udp-payload port \"0\": ports are 1-65535");
        if (option.bytes.empty() || option.bytes.size() > max_udp_payload)
            throw Error("invalid --udp-payload for port " + quote(std::to_string(option.port)) + ": " +
                        std::to_string(option.bytes.size()) + " bytes (1-" + std::to_string(max_udp_payload) + ")");
        auto& list = given[option.port];
        if (list.size() == max_payloads_per_port)
            throw Error("more than " + std::to_string(max_payloads_per_port) + " --udp-payload options for port " +
                        quote(std::to_string(option.port)));
        list.push_back(option.bytes);
    }
    // Validated first, so a refused option leaves the payloads as they were.
    for (auto& [port, list] : given) payloads.replace(port, std::move(list));
}

} // namespace ws
