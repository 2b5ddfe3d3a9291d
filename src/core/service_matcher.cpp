// The service matcher: PCRE2 for every match line, Hyperscan as a prefilter
// over all lines of a probe, so most lines that cannot match are never run.
#include "wirespeed/service_probes.hpp"

#include "wirespeed/error.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs/hs.h>
#include <pcre2.h>

#include <openssl/evp.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>

#include <tbb/parallel_for.h>

#include "text.hpp"

namespace ws {

namespace {

// nmap's field buffers (testMatch): a longer result leaves the field empty.
constexpr std::size_t product_max = 79, version_max = 79, info_max = 255, hostname_max = 79, ostype_max = 31,
                      devicetype_max = 31, cpe_max = 79;
// nmap's ovector allows 50 groups; templates only reach $9.
constexpr std::uint32_t ovector_pairs = 50;

struct HsDatabaseDeleter {
    void operator()(hs_database_t* db) const noexcept { hs_free_database(db); }
};
struct CodeDeleter {
    void operator()(pcre2_code* code) const noexcept { pcre2_code_free(code); }
};

// One probe's lines compiled.
struct CompiledProbe {
    std::vector<std::unique_ptr<pcre2_code, CodeDeleter>> codes; // per match line
    // Hyperscan databases over the lines it accepts (ids are line indices),
    // a few per big probe so they compile in parallel; empty when none.
    std::vector<std::unique_ptr<hs_database_t, HsDatabaseDeleter>> hs;
    std::vector<std::uint32_t> pcre_only; // lines Hyperscan refused, ascending
};

// Lines per Hyperscan database: Hyperscan needs ~2 ms a pattern for nmap's
// (12k lines: ~25 s on one core), and chunks let every core take a share.
constexpr std::size_t hs_chunk_lines = 512;

// One Hyperscan database to build: some lines of one probe.
struct HsTask {
    std::size_t probe;
    std::vector<std::uint32_t> ids;
    std::unique_ptr<hs_database_t, HsDatabaseDeleter> database;
    std::vector<std::uint32_t> refused; // lines the whole-database compile still refused
};

unsigned hs_flags(const ServiceMatchLine& m) {
    return HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY | (m.caseless ? HS_FLAG_CASELESS : 0u) |
           (m.dotall ? HS_FLAG_DOTALL : 0u);
}

// ---- the compiled-database cache ------------------------------------------
//
// One file per set of patterns, CACHE_DIR/service-hs-<key hex>.bin, native
// byte order (the key pins the platform):
//   magic "WSSVCHS\0" | u32 format | key[32]
//   u64 hs_exact | u64 hs_prefilter | u64 pcre_only | u64 probes
//   per probe: u32 n, n x u32 PCRE2-only line (ascending) |
//              u32 m, m x (u64 size, size bytes of hs_serialize_database)
//   SHA-256 of every byte before it
// Everything read is bounds-checked; any mismatch means recompile.

constexpr char cache_magic[8] = {'W', 'S', 'S', 'V', 'C', 'H', 'S', '\0'};
constexpr std::uint32_t cache_format = 1; // bump when the layout or what is compiled changes
constexpr std::size_t max_cache_bytes = std::size_t(256) << 20; // nmap's file: ~21 MB
using Digest = std::array<unsigned char, 32>;
constexpr std::size_t cache_header_bytes = sizeof cache_magic + sizeof(std::uint32_t) + sizeof(Digest);

class Sha256 {
public:
    Sha256() : ctx_(EVP_MD_CTX_new()) {
        if (!ctx_ || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) {
            EVP_MD_CTX_free(ctx_);
            throw Error("cannot initialise SHA-256 (OpenSSL EVP)");
        }
    }
    ~Sha256() { EVP_MD_CTX_free(ctx_); }
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(const void* data, std::size_t size) {
        if (size && EVP_DigestUpdate(ctx_, data, size) != 1) throw Error("SHA-256 update failed (OpenSSL EVP)");
    }
    template <class T>
    void value(T v) {
        update(&v, sizeof v);
    }
    void text(std::string_view s) {
        value(std::uint64_t(s.size()));
        update(s.data(), s.size());
    }
    Digest final() {
        Digest out{};
        unsigned size = 0;
        if (EVP_DigestFinal_ex(ctx_, out.data(), &size) != 1 || size != out.size())
            throw Error("SHA-256 final failed (OpenSSL EVP)");
        return out;
    }

private:
    EVP_MD_CTX* ctx_;
};

Digest sha256(const unsigned char* data, std::size_t size) {
    Sha256 h;
    h.update(data, size);
    return h.final();
}

std::string hex(const Digest& d) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const auto b : d) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

// Bounded reads from an untrusted byte range: a read past the end sets
// ok = false and returns zeros.
struct Reader {
    const unsigned char* p;
    std::size_t left;
    bool ok = true;
    template <class T>
    T get() {
        T v{};
        if (!ok || left < sizeof v) {
            ok = false;
            return v;
        }
        std::memcpy(&v, p, sizeof v);
        p += sizeof v;
        left -= sizeof v;
        return v;
    }
    const unsigned char* take(std::size_t n) {
        if (!ok || left < n) {
            ok = false;
            return nullptr;
        }
        const auto* at = p;
        p += n;
        left -= n;
        return at;
    }
};

template <class T>
void put(std::vector<unsigned char>& out, T v) {
    const auto* b = reinterpret_cast<const unsigned char*>(&v);
    out.insert(out.end(), b, b + sizeof v);
}

enum class CacheRead { hit, absent, bad };

// The whole file, or nullopt (absent when it does not exist or cannot be opened).
std::optional<std::vector<unsigned char>> read_cache_file(const std::string& path, bool& exists) {
    exists = false;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    exists = true;
    std::vector<unsigned char> bytes;
    struct stat st{};
    bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 &&
              std::uint64_t(st.st_size) <= max_cache_bytes;
    if (ok) {
        bytes.resize(std::size_t(st.st_size));
        std::size_t done = 0;
        while (ok && done < bytes.size()) {
            const auto n = ::read(fd, bytes.data() + done, bytes.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) ok = false; // an error, or shorter than fstat said
            else done += std::size_t(n);
        }
    }
    ::close(fd);
    if (!ok) return std::nullopt;
    return bytes;
}

// Writes bytes to path through a temp file in the same directory and a
// rename, so a reader sees the old file, no file or the whole new one. A
// crash may leave a short file behind: the trailing SHA-256 catches it.
bool write_cache_file(const std::string& dir, const std::string& path, const std::vector<unsigned char>& bytes) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    std::string tmp = dir + "/.service-hs-XXXXXX";
    const int fd = ::mkstemp(tmp.data());
    if (fd < 0) return false;
    bool ok = true;
    std::size_t done = 0;
    while (ok && done < bytes.size()) {
        const auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) ok = false;
        else done += std::size_t(n);
    }
    if (::close(fd) != 0) ok = false;
    if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) ok = false;
    if (!ok) ::unlink(tmp.c_str());
    return ok;
}

bool hs_accepts(const std::string& pattern, unsigned flags) {
    hs_expr_info_t* info = nullptr;
    hs_compile_error_t* error = nullptr;
    const auto rc = hs_expression_info(pattern.c_str(), flags, &info, &error);
    if (error) hs_free_compile_error(error);
    std::free(info);
    return rc == HS_SUCCESS;
}

} // namespace

struct ServiceMatcher::Impl {
    ServiceProbes db;
    std::vector<CompiledProbe> compiled;
    MatcherStats stats;
    std::size_t max_lines = 0;

    Impl(const ServiceProbes& probes, const std::string& cache_dir) : db(probes) {
        compiled.resize(db.probes.size());
        // PCRE2 first, cache or not: a bad regex is refused the same way.
        for (std::size_t i = 0; i < db.probes.size(); ++i) {
            max_lines = std::max(max_lines, db.probes[i].matches.size());
            for (const auto& m : db.probes[i].matches) compiled[i].codes.emplace_back(compile_pcre(m));
        }
        std::string path;
        Digest key{};
        if (!cache_dir.empty()) {
            try {
                key = cache_key();
                path = cache_dir + "/service-hs-" + hex(key) + ".bin";
            } catch (const std::exception&) {
                // No SHA-256 or platform today: compile, without a cache.
            }
        }
        if (!path.empty()) {
            CacheRead read = CacheRead::bad;
            try {
                read = load_cache(path, key);
            } catch (const std::exception&) {
                // Out of memory for the file, say: as good as corrupt.
            }
            switch (read) {
            case CacheRead::hit: ++stats.cache_hits; return;
            case CacheRead::absent: ++stats.cache_misses; break;
            case CacheRead::bad: ++stats.cache_errors; break;
            }
        }
        compile_hs_all();
        if (path.empty()) return;
        try {
            const auto bytes = serialize(key);
            if (!bytes.empty() && write_cache_file(cache_dir, path, bytes)) ++stats.cache_writes;
        } catch (const std::exception&) {
            // The matcher is complete; only its cache file is missing.
        }
    }

    void compile_hs_all() {
        std::vector<HsTask> tasks;
        const auto verdicts = classify_all();
        for (std::size_t i = 0; i < db.probes.size(); ++i) classify_probe(i, verdicts[i], tasks);
        tbb::parallel_for(std::size_t{0}, tasks.size(), [&](std::size_t t) { compile_hs(tasks[t]); });
        for (auto& task : tasks) {
            auto& out = compiled[task.probe];
            if (task.database) out.hs.push_back(std::move(task.database));
            for (const auto id : task.refused) demote(verdicts[task.probe][id], id, out);
        }
        for (auto& c : compiled) std::sort(c.pcre_only.begin(), c.pcre_only.end());
    }

    // What the Hyperscan side depends on: every line's pattern and flags (in
    // probe order), how lines are chunked, Hyperscan's version and the
    // platform it compiles for, and the cache format.
    Digest cache_key() const {
        Sha256 h;
        h.text("wirespeed service matcher Hyperscan cache");
        h.value(cache_format);
        h.value(std::uint32_t(0x01020304)); // the file is in native byte order
        h.text(hs_version());
        hs_platform_info_t platform{};
        if (hs_populate_platform(&platform) != HS_SUCCESS) throw Error("hs_populate_platform failed");
        h.value(std::uint64_t(platform.tune));
        h.value(std::uint64_t(platform.cpu_features));
        h.value(std::uint64_t(platform.reserved1));
        h.value(std::uint64_t(platform.reserved2));
        h.value(std::uint64_t(hs_chunk_lines));
        h.value(std::uint64_t(db.probes.size()));
        for (const auto& probe : db.probes) {
            h.value(std::uint64_t(probe.matches.size()));
            for (const auto& m : probe.matches) {
                h.text(m.pattern);
                h.value(std::uint32_t(hs_flags(m)));
            }
        }
        return h.final();
    }

    std::vector<unsigned char> serialize(const Digest& key) const {
        std::vector<unsigned char> out(cache_magic, cache_magic + sizeof cache_magic);
        put(out, cache_format);
        out.insert(out.end(), key.begin(), key.end());
        put(out, std::uint64_t(stats.hs_exact));
        put(out, std::uint64_t(stats.hs_prefilter));
        put(out, std::uint64_t(stats.pcre_only));
        put(out, std::uint64_t(compiled.size()));
        for (const auto& c : compiled) {
            put(out, std::uint32_t(c.pcre_only.size()));
            for (const auto id : c.pcre_only) put(out, id);
            put(out, std::uint32_t(c.hs.size()));
            for (const auto& database : c.hs) {
                char* bytes = nullptr;
                std::size_t size = 0;
                if (hs_serialize_database(database.get(), &bytes, &size) != HS_SUCCESS) return {};
                put(out, std::uint64_t(size));
                out.insert(out.end(), bytes, bytes + size);
                std::free(bytes);
            }
        }
        const auto check = sha256(out.data(), out.size());
        out.insert(out.end(), check.begin(), check.end());
        return out;
    }

    // Fills compiled[*].hs and pcre_only and the line counts from the cache
    // file, or changes nothing and says why not.
    CacheRead load_cache(const std::string& path, const Digest& key) {
        bool exists = false;
        const auto file = read_cache_file(path, exists);
        if (!file) return exists ? CacheRead::bad : CacheRead::absent;
        const auto& bytes = *file;
        if (bytes.size() < cache_header_bytes + sizeof(Digest)) return CacheRead::bad;
        const auto body = bytes.size() - sizeof(Digest);
        const auto check = sha256(bytes.data(), body);
        if (std::memcmp(check.data(), bytes.data() + body, check.size()) != 0) return CacheRead::bad;
        Reader r{bytes.data(), body};
        const auto* magic = r.take(sizeof cache_magic);
        if (!magic || std::memcmp(magic, cache_magic, sizeof cache_magic) != 0) return CacheRead::bad;
        if (r.get<std::uint32_t>() != cache_format) return CacheRead::bad;
        const auto* stored_key = r.take(key.size());
        if (!stored_key || std::memcmp(stored_key, key.data(), key.size()) != 0) return CacheRead::bad;
        MatcherStats counts;
        counts.hs_exact = r.get<std::uint64_t>();
        counts.hs_prefilter = r.get<std::uint64_t>();
        counts.pcre_only = r.get<std::uint64_t>();
        if (!r.ok || r.get<std::uint64_t>() != db.probes.size()) return CacheRead::bad;
        std::vector<std::vector<std::uint32_t>> pcre_only(db.probes.size());
        std::vector<std::vector<std::unique_ptr<hs_database_t, HsDatabaseDeleter>>> hs(db.probes.size());
        std::uint64_t lines_total = 0, pcre_total = 0;
        for (std::size_t i = 0; i < db.probes.size(); ++i) {
            const auto lines = db.probes[i].matches.size();
            lines_total += lines;
            const auto n = r.get<std::uint32_t>();
            if (!r.ok || n > lines) return CacheRead::bad;
            for (std::uint32_t k = 0; k < n; ++k) {
                const auto id = r.get<std::uint32_t>();
                if (!r.ok || id >= lines || (k > 0 && id <= pcre_only[i].back())) return CacheRead::bad;
                pcre_only[i].push_back(id);
            }
            pcre_total += n;
            const auto m = r.get<std::uint32_t>();
            if (!r.ok || m > lines) return CacheRead::bad;
            for (std::uint32_t k = 0; k < m; ++k) {
                const auto size = r.get<std::uint64_t>();
                if (!r.ok || size == 0 || size > r.left) return CacheRead::bad;
                const auto* data = r.take(std::size_t(size));
                hs_database_t* database = nullptr;
                if (hs_deserialize_database(reinterpret_cast<const char*>(data), std::size_t(size), &database) !=
                    HS_SUCCESS)
                    return CacheRead::bad;
                hs[i].emplace_back(database);
                if (!block_mode(database)) return CacheRead::bad;
            }
        }
        if (!r.ok || r.left != 0 || counts.pcre_only != pcre_total ||
            counts.hs_exact + counts.hs_prefilter + counts.pcre_only != lines_total ||
            counts.hs_exact > lines_total || counts.hs_prefilter > lines_total)
            return CacheRead::bad;
        for (std::size_t i = 0; i < db.probes.size(); ++i) {
            compiled[i].pcre_only = std::move(pcre_only[i]);
            compiled[i].hs = std::move(hs[i]);
        }
        stats.hs_exact = counts.hs_exact;
        stats.hs_prefilter = counts.hs_prefilter;
        stats.pcre_only = counts.pcre_only;
        return CacheRead::hit;
    }

    static bool block_mode(const hs_database_t* database) {
        char* info = nullptr;
        if (hs_database_info(database, &info) != HS_SUCCESS || !info) return false;
        const bool block = std::strstr(info, "Mode: BLOCK") != nullptr;
        std::free(info);
        return block;
    }

    [[noreturn]] void fail(std::size_t line, const std::string& what) const {
        throw Error(db.name + ":" + std::to_string(line) + ": " + what);
    }

    enum class Verdict : std::uint8_t { exact, prefilter, pcre_only };

    static Verdict classify(const ServiceMatchLine& m) {
        // A pattern with a NUL byte cannot be handed to Hyperscan's C string API.
        if (m.pattern.find('\0') != std::string::npos) return Verdict::pcre_only;
        if (hs_accepts(m.pattern, hs_flags(m))) return Verdict::exact;
        if (hs_accepts(m.pattern, hs_flags(m) | HS_FLAG_PREFILTER)) return Verdict::prefilter;
        return Verdict::pcre_only;
    }

    // What Hyperscan can take of every line (hs_expression_info, ~0.2 ms a
    // line: a few seconds for nmap's file, so in parallel too).
    std::vector<std::vector<Verdict>> classify_all() const {
        std::vector<std::vector<Verdict>> out(db.probes.size());
        std::vector<std::pair<std::size_t, std::size_t>> lines;
        for (std::size_t p = 0; p < db.probes.size(); ++p) {
            out[p].resize(db.probes[p].matches.size());
            for (std::size_t i = 0; i < db.probes[p].matches.size(); ++i) lines.emplace_back(p, i);
        }
        tbb::parallel_for(std::size_t{0}, lines.size(), [&](std::size_t k) {
            const auto [p, i] = lines[k];
            out[p][i] = classify(db.probes[p].matches[i]);
        });
        return out;
    }

    // A probe's lines Hyperscan can take, queued as tasks of hs_chunk_lines
    // lines; the others to PCRE2 alone.
    void classify_probe(std::size_t index, const std::vector<Verdict>& verdicts, std::vector<HsTask>& tasks) {
        auto& out = compiled[index];
        std::vector<std::uint32_t> hs_ids;
        for (std::uint32_t id = 0; id < verdicts.size(); ++id) {
            switch (verdicts[id]) {
            case Verdict::exact: ++stats.hs_exact; hs_ids.push_back(id); break;
            case Verdict::prefilter: ++stats.hs_prefilter; hs_ids.push_back(id); break;
            case Verdict::pcre_only: ++stats.pcre_only; out.pcre_only.push_back(id); break;
            }
        }
        for (std::size_t first = 0; first < hs_ids.size(); first += hs_chunk_lines) {
            const auto last = std::min(hs_ids.size(), first + hs_chunk_lines);
            tasks.push_back({index, {hs_ids.begin() + std::ptrdiff_t(first), hs_ids.begin() + std::ptrdiff_t(last)}, {}, {}});
        }
    }

    pcre2_code* compile_pcre(const ServiceMatchLine& m) const {
        int code = 0;
        PCRE2_SIZE offset = 0;
        const std::uint32_t options = (m.caseless ? PCRE2_CASELESS : 0u) | (m.dotall ? PCRE2_DOTALL : 0u);
        auto* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(m.pattern.data()), m.pattern.size(), options, &code,
                                 &offset, nullptr);
        if (!re) {
            PCRE2_UCHAR message[256];
            pcre2_get_error_message(code, message, sizeof message);
            fail(m.line, "invalid regex " + detail::quote(m.pattern, 96) + ": " + reinterpret_cast<char*>(message) +
                             " at offset " + std::to_string(offset));
        }
        return re;
    }

    // The task's lines in one block-mode database, all with
    // HS_FLAG_PREFILTER (exact where Hyperscan can, a superset otherwise).
    // A line the whole-database compile still refuses goes to PCRE2 only.
    // Runs on any thread: touches only its task.
    void compile_hs(HsTask& task) const {
        const auto& lines = db.probes[task.probe].matches;
        auto& ids = task.ids;
        while (!ids.empty()) {
            std::vector<const char*> patterns;
            std::vector<unsigned> flags;
            for (const auto id : ids) {
                patterns.push_back(lines[id].pattern.c_str());
                flags.push_back(hs_flags(lines[id]) | HS_FLAG_PREFILTER);
            }
            hs_database_t* database = nullptr;
            hs_compile_error_t* error = nullptr;
            const auto rc = hs_compile_multi(patterns.data(), flags.data(), ids.data(), unsigned(ids.size()),
                                             HS_MODE_BLOCK, nullptr, &database, &error);
            if (rc == HS_SUCCESS) {
                task.database.reset(database);
                return;
            }
            const int bad = error ? error->expression : -1;
            if (error) hs_free_compile_error(error);
            if (bad < 0 || std::size_t(bad) >= ids.size()) {
                // Not one pattern's fault (e.g. resources): PCRE2 runs them all.
                task.refused.insert(task.refused.end(), ids.begin(), ids.end());
                return;
            }
            task.refused.push_back(ids[std::size_t(bad)]);
            ids.erase(ids.begin() + bad);
        }
    }

    void demote(Verdict counted_as, std::uint32_t id, CompiledProbe& out) {
        if (counted_as == Verdict::exact)
            --stats.hs_exact;
        else
            --stats.hs_prefilter;
        ++stats.pcre_only;
        out.pcre_only.push_back(id);
    }
};

struct ServiceMatcher::Scratch::State {
    hs_scratch_t* hs = nullptr;
    pcre2_match_data* data = nullptr;
    std::vector<std::uint8_t> candidate; // per line of the probe being matched: Hyperscan reported it
    ~State() {
        if (hs) hs_free_scratch(hs);
        if (data) pcre2_match_data_free(data);
    }
};

ServiceMatcher::Scratch::Scratch(std::unique_ptr<State> state) : state_(std::move(state)) {}
ServiceMatcher::Scratch::~Scratch() = default;
ServiceMatcher::Scratch::Scratch(Scratch&&) noexcept = default;
ServiceMatcher::Scratch& ServiceMatcher::Scratch::operator=(Scratch&&) noexcept = default;

ServiceMatcher::ServiceMatcher(const ServiceProbes& db, const std::string& cache_dir)
    : impl_(std::make_unique<Impl>(db, cache_dir)) {}

std::string default_service_cache_dir() {
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && xdg[0] == '/') return std::string(xdg) + "/wirespeed";
    if (const char* home = std::getenv("HOME"); home && home[0]) return std::string(home) + "/.cache/wirespeed";
    return {};
}
ServiceMatcher::~ServiceMatcher() = default;
ServiceMatcher::ServiceMatcher(ServiceMatcher&&) noexcept = default;
ServiceMatcher& ServiceMatcher::operator=(ServiceMatcher&&) noexcept = default;

const MatcherStats& ServiceMatcher::stats() const noexcept { return impl_->stats; }
const ServiceProbes& ServiceMatcher::probes() const noexcept { return impl_->db; }

ServiceMatcher::Scratch ServiceMatcher::make_scratch() const {
    auto state = std::make_unique<Scratch::State>();
    // One scratch grown to fit every database (Hyperscan allows that).
    for (const auto& c : impl_->compiled)
        for (const auto& database : c.hs)
            if (hs_alloc_scratch(database.get(), &state->hs) != HS_SUCCESS)
                throw Error("cannot allocate Hyperscan scratch space");
    state->data = pcre2_match_data_create(ovector_pairs, nullptr);
    if (!state->data) throw Error("cannot allocate PCRE2 match data");
    state->candidate.assign(impl_->max_lines, 0);
    return Scratch(std::move(state));
}

namespace {

// The candidate flags of the probe being scanned; an id past them (only a
// database from a doctored cache file could report one) is ignored.
struct Candidates {
    std::uint8_t* flags;
    std::size_t size;
};

int on_hs_match(unsigned id, unsigned long long, unsigned long long, unsigned, void* context) {
    auto& c = *static_cast<Candidates*>(context);
    if (id < c.size) c.flags[id] = 1;
    return 0; // keep scanning: SINGLEMATCH reports each line at most once
}

// The match line's fields from the groups PCRE2 captured.
ServiceMatch fill(const ServiceMatchLine& m, std::size_t probe, std::size_t index, std::span<const std::uint8_t> subject,
                  pcre2_match_data* data, int rc) {
    const auto* ovector = pcre2_get_ovector_pointer(data);
    std::string_view groups[10];
    const std::size_t count = std::min<std::size_t>(std::size_t(rc), 10);
    for (std::size_t g = 0; g < count; ++g) {
        const auto start = ovector[2 * g], end = ovector[2 * g + 1];
        if (start != PCRE2_UNSET && end >= start && end <= subject.size())
            groups[g] = {reinterpret_cast<const char*>(subject.data()) + start, end - start};
    }
    const std::span<const std::string_view> set(groups, count);
    const auto field = [&](const std::string& tmpl, std::size_t max, bool cpe = false) {
        if (tmpl.empty()) return std::string();
        return substitute_service_template(tmpl, set, cpe, max).value_or(std::string());
    };
    ServiceMatch out;
    out.probe = probe;
    out.match = index;
    out.line = m.line;
    out.soft = m.soft;
    out.service = m.service;
    out.product = field(m.product, product_max);
    out.version = field(m.version, version_max);
    out.info = field(m.info, info_max);
    out.hostname = field(m.hostname, hostname_max);
    out.ostype = field(m.ostype, ostype_max);
    out.devicetype = field(m.devicetype, devicetype_max);
    for (const auto& cpe : m.cpes)
        if (auto value = field(cpe, cpe_max, true); !value.empty()) out.cpes.push_back(std::move(value));
    return out;
}

} // namespace

std::optional<ServiceMatch> ServiceMatcher::match(std::size_t probe, std::span<const std::uint8_t> response,
                                                  Scratch& scratch, std::string_view soft_service,
                                                  Engine engine) const {
    const auto& db = impl_->db;
    if (probe >= db.probes.size()) return std::nullopt;
    auto& state = *scratch.state_;
    std::optional<ServiceMatch> soft;
    for (const auto p : db.probes[probe].fallbacks) {
        const auto& lines = db.probes[p].matches;
        const auto& compiled = impl_->compiled[p];
        // hs_scan takes an unsigned length: a larger response (never a banner) skips the prefilter.
        const bool prefilter = engine == Engine::hyperscan_prefilter && !compiled.hs.empty() &&
                               response.size() <= std::numeric_limits<unsigned>::max();
        if (prefilter) {
            std::fill_n(state.candidate.begin(), lines.size(), std::uint8_t{0});
            for (const auto id : compiled.pcre_only) state.candidate[id] = 1;
            Candidates candidates{state.candidate.data(), lines.size()};
            for (const auto& database : compiled.hs) {
                const auto rc = hs_scan(database.get(), reinterpret_cast<const char*>(response.data()),
                                        unsigned(response.size()), 0, state.hs, on_hs_match, &candidates);
                if (rc != HS_SUCCESS) throw Error("Hyperscan scan failed (error " + std::to_string(rc) + ")");
            }
        }
        for (std::size_t i = 0; i < lines.size(); ++i) {
            const auto& m = lines[i];
            if (prefilter && !state.candidate[i]) continue;
            // Only a hard match can improve on a softmatch already held.
            if (m.soft && (soft || !soft_service.empty())) continue;
            const int rc = pcre2_match(compiled.codes[i].get(), response.data(), response.size(), 0, 0, state.data,
                                       nullptr);
            if (rc == PCRE2_ERROR_NOMATCH) continue;
            if (rc < 0) continue; // a match limit hit: nmap warns and treats it as no match
            auto found = fill(m, p, i, response, state.data, rc == 0 ? int(ovector_pairs) : rc);
            if (!m.soft) return found;
            soft = std::move(found);
        }
    }
    return soft;
}

} // namespace ws
