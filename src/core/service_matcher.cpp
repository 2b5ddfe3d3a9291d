// The service matcher: PCRE2 for every match line, Hyperscan as a prefilter
// over all lines of a probe, so most lines that cannot match are never run.
#include "wirespeed/service_probes.hpp"

#include "wirespeed/error.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs/hs.h>
#include <pcre2.h>

#include <algorithm>
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

    explicit Impl(const ServiceProbes& probes) : db(probes) {
        compiled.resize(db.probes.size());
        std::vector<HsTask> tasks;
        for (std::size_t i = 0; i < db.probes.size(); ++i) classify_probe(i, tasks);
        tbb::parallel_for(std::size_t{0}, tasks.size(), [&](std::size_t t) { compile_hs(tasks[t]); });
        for (auto& task : tasks) {
            auto& out = compiled[task.probe];
            if (task.database) out.hs.push_back(std::move(task.database));
            for (const auto id : task.refused) demote(db.probes[task.probe].matches[id], id, out);
        }
        for (auto& c : compiled) std::sort(c.pcre_only.begin(), c.pcre_only.end());
    }

    [[noreturn]] void fail(std::size_t line, const std::string& what) const {
        throw Error(db.name + ":" + std::to_string(line) + ": " + what);
    }

    // PCRE2 for every line (an invalid regex is refused here), and what
    // Hyperscan can take of them, queued as tasks of hs_chunk_lines lines.
    void classify_probe(std::size_t index, std::vector<HsTask>& tasks) {
        const auto& probe = db.probes[index];
        auto& out = compiled[index];
        max_lines = std::max(max_lines, probe.matches.size());
        std::vector<std::uint32_t> hs_ids;
        for (std::uint32_t id = 0; id < probe.matches.size(); ++id) {
            const auto& m = probe.matches[id];
            out.codes.emplace_back(compile_pcre(m));
            // A pattern with a NUL byte cannot be handed to Hyperscan's C string API.
            const bool has_nul = m.pattern.find('\0') != std::string::npos;
            if (!has_nul && hs_accepts(m.pattern, hs_flags(m))) {
                ++stats.hs_exact;
                hs_ids.push_back(id);
            } else if (!has_nul && hs_accepts(m.pattern, hs_flags(m) | HS_FLAG_PREFILTER)) {
                ++stats.hs_prefilter;
                hs_ids.push_back(id);
            } else {
                ++stats.pcre_only;
                out.pcre_only.push_back(id);
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

    void demote(const ServiceMatchLine& m, std::uint32_t id, CompiledProbe& out) {
        // It was counted as accepted by hs_expression_info.
        if (hs_accepts(m.pattern, hs_flags(m)))
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

ServiceMatcher::ServiceMatcher(const ServiceProbes& db) : impl_(std::make_unique<Impl>(db)) {}
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

int on_hs_match(unsigned id, unsigned long long, unsigned long long, unsigned, void* context) {
    static_cast<std::uint8_t*>(context)[id] = 1;
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
            for (const auto& database : compiled.hs) {
                const auto rc = hs_scan(database.get(), reinterpret_cast<const char*>(response.data()),
                                        unsigned(response.size()), 0, state.hs, on_hs_match, state.candidate.data());
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
