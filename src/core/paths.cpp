#include "wirespeed/paths.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "wirespeed/error.hpp"

namespace ws {

std::string normalise_path(const std::string& path) {
    std::error_code ec;
    const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
    if (ec) return path;
    const std::filesystem::path canonical = std::filesystem::weakly_canonical(absolute, ec);
    return (ec ? absolute.lexically_normal() : canonical).string();
}

namespace {

// One file a use claims: by inode when it exists, else by normalised path.
struct Claim {
    std::size_t use;        // index into the uses
    std::string shown;      // the path as shown in the message
    std::string what;       // "" for the file itself, else which sibling
    bool exists = false;
    dev_t dev = 0;
    ino_t ino = 0;
    std::string normal;
};

bool writes(PathRole role) { return role == PathRole::output || role == PathRole::database_output; }
bool is_database(PathRole role) { return role == PathRole::database_input || role == PathRole::database_output; }

// nullopt: a character device, a FIFO or a socket (/dev/null, /dev/stdout on
// a terminal or a pipe), which nothing truncates: those never collide.
std::optional<Claim> claim(std::size_t use, const std::string& path, std::string what) {
    Claim c{use, path, std::move(what)};
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
        if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) return std::nullopt;
        c.exists = true;
        c.dev = st.st_dev;
        c.ino = st.st_ino;
    } else {
        c.normal = normalise_path(path);
    }
    return c;
}

bool same(const Claim& a, const Claim& b) {
    if (a.exists != b.exists) return false;
    return a.exists ? a.dev == b.dev && a.ino == b.ino : a.normal == b.normal;
}

} // namespace

void check_path_collisions(const std::vector<PathUse>& uses) {
    std::vector<Claim> claims;
    for (std::size_t i = 0; i < uses.size(); ++i) {
        const PathUse& u = uses[i];
        if (u.path.empty()) continue;
        if (auto c = claim(i, u.path, "")) claims.push_back(std::move(*c));
        if (!is_database(u.role)) continue;
        // SQLite names the journal after the path it opened, symlinks resolved.
        const std::string base = normalise_path(u.path);
        const std::pair<const char*, const char*> siblings[] = {
            {"-wal", "write-ahead log"}, {"-journal", "rollback journal"}, {"-shm", "shared-memory index"}};
        for (const auto& [suffix, what] : siblings)
            if (auto c = claim(i, base + suffix, what)) claims.push_back(std::move(*c));
    }
    for (std::size_t a = 0; a < claims.size(); ++a) {
        for (std::size_t b = a + 1; b < claims.size(); ++b) {
            const Claim& x = claims[a];
            const Claim& y = claims[b];
            if (x.use == y.use || !same(x, y)) continue;
            const PathUse& ux = uses[x.use];
            const PathUse& uy = uses[y.use];
            if (!writes(ux.role) && !writes(uy.role)) continue;
            if (!x.what.empty() && !y.what.empty()) continue; // two databases' siblings meet only if the databases do
            const Claim& sibling = x.what.empty() ? y : x;
            const std::string file = sibling.what.empty()
                                         ? fmt::format("\"{}\"", ux.path)
                                         : fmt::format("\"{}\" (the {} of {})", sibling.shown, sibling.what, uses[sibling.use].option);
            const char* why = !writes(ux.role) || !writes(uy.role) ? "refusing to overwrite an input"
                                                                   : "refusing to let one output overwrite the other";
            throw Error(fmt::format("{} and {} name the same file {}: {}", ux.option, uy.option, file, why));
        }
    }
}

} // namespace ws
