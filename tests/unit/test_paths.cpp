// check_path_collisions: table-driven over the ways two options can name one
// file (same spelling, ./ and dir/.., hard and symbolic links, a database's
// SQLite siblings) and the ways they do not collide (two inputs, character
// devices, different files).
#include "wirespeed/error.hpp"
#include "wirespeed/paths.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace ws {
namespace {

namespace fs = std::filesystem;

struct TempDir {
    fs::path path = fs::temp_directory_path() / ("ws_paths_" + std::to_string(::getpid()));
    TempDir() {
        fs::remove_all(path);
        fs::create_directories(path / "sub");
        std::ofstream(path / "a") << "a\n";
        std::ofstream(path / "b") << "b\n";
        fs::create_hard_link(path / "a", path / "a-hard");
        fs::create_symlink(path / "a", path / "a-sym");
        std::ofstream(path / "x.db") << "";
        ::mkfifo((path / "fifo").c_str(), 0600);
    }
    ~TempDir() { fs::remove_all(path); }
    std::string operator/(const std::string& name) const { return (path / name).string(); }
};

std::string error_of(const std::vector<PathUse>& uses) {
    try {
        check_path_collisions(uses);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

constexpr PathRole in = PathRole::input, out = PathRole::output, db_in = PathRole::database_input,
                   db_out = PathRole::database_output;

TEST(Paths, Collisions) {
    const TempDir d;
    const std::string cwd_relative = fs::relative(d / "a", fs::current_path()).string();
    struct Case {
        const char* name;
        std::vector<PathUse> uses;
        std::string needle; // "" = no collision
    };
    const std::vector<Case> cases = {
        {"two outputs, one file", {{"-oL", d / "a", out}, {"-oJ", d / "a", out}}, "-oL and -oJ name the same file"},
        {"output over an input", {{"-iL", d / "a", in}, {"-oL", d / "a", out}}, "refusing to overwrite an input"},
        {"input after the output", {{"-oX", d / "a", out}, {"--config", d / "a", in}}, "-oX and --config"},
        {"relative and absolute", {{"-oL", cwd_relative, out}, {"-oJ", d / "a", out}}, "same file"},
        {"dir/.. spelling", {{"-oL", d / "sub/../a", out}, {"-oJ", d / "a", out}}, "same file"},
        {"./ spelling", {{"-oL", d / "./a", out}, {"-oJ", d / "a", out}}, "same file"},
        {"hard link", {{"-oL", d / "a-hard", out}, {"-oJ", d / "a", out}}, "same file"},
        {"symbolic link", {{"-oL", d / "a-sym", out}, {"-oJ", d / "a", out}}, "same file"},
        {"not yet existing", {{"-oL", d / "new", out}, {"-oC", d / "sub/../new", out}}, "same file"},
        {"db and metadata", {{"--db", d / "x.db", db_out}, {"--metadata", d / "x.db", out}}, "--db and --metadata"},
        {"db's -wal", {{"--db", d / "x.db", db_out}, {"-oL", d / "x.db-wal", out}}, "write-ahead log of --db"},
        {"db's -journal", {{"--db", d / "x.db", db_out}, {"-oL", d / "x.db-journal", out}}, "rollback journal"},
        {"db's -shm", {{"--db", d / "x.db", db_out}, {"-oL", d / "x.db-shm", out}}, "shared-memory index"},
        {"new db's -wal", {{"--db", d / "new.db", db_out}, {"-oJ", d / "sub/../new.db-wal", out}}, "write-ahead log"},
        {"export over its database", {{"the database", d / "x.db", db_in}, {"-o", d / "x.db", out}}, "refusing to overwrite an input"},
        {"merge into an input", {{"input", d / "x.db", db_in}, {"input", d / "b", db_in}, {"-o", d / "x.db", db_out}}, "same file"},
        {"status file over -iL", {{"-iL", d / "b", in}, {"--status-file", d / "b", out}}, "-iL and --status-file"},
        // not collisions
        {"different files", {{"-oL", d / "a", out}, {"-oJ", d / "b", out}}, ""},
        {"two inputs", {{"-iL", d / "a", in}, {"--excludefile", d / "a", in}, {"--blocklist", d / "a-sym", in}}, ""},
        {"same merge input twice", {{"input", d / "x.db", db_in}, {"input", d / "x.db", db_in}, {"-o", d / "m.db", db_out}}, ""},
        {"/dev/null twice", {{"-oL", "/dev/null", out}, {"-oJ", "/dev/null", out}, {"--metadata", "/dev/null", out}}, ""},
        {"/dev/null as db and output", {{"--db", "/dev/null", db_out}, {"-oL", "/dev/null", out}}, ""},
        {"empty paths", {{"-oL", "", out}, {"-oJ", "", out}}, ""},
        {"a FIFO twice", {{"-oL", d / "fifo", out}, {"-oJ", d / "fifo", out}}, ""},
        {"a file named like a sibling of another file", {{"-oL", d / "a", out}, {"-oJ", d / "a-wal", out}}, ""},
        {"two databases' siblings only", {{"--db", d / "x.db", db_out}, {"-o", d / "y.db", db_out}}, ""},
    };
    for (const auto& c : cases) {
        const std::string error = error_of(c.uses);
        if (c.needle.empty()) {
            EXPECT_EQ(error, "") << c.name;
        } else {
            EXPECT_NE(error.find(c.needle), std::string::npos) << c.name << ": " << error;
            EXPECT_EQ(error.find('\n'), std::string::npos) << c.name;
        }
    }
}

TEST(Paths, MessageNamesBothOptionsAndTheFile) {
    const TempDir d;
    EXPECT_EQ(error_of({{"-oL", d / "a", out}, {"-oJ", d / "a", out}}),
              "-oL and -oJ name the same file \"" + (d / "a") + "\": refusing to let one output overwrite the other");
}

TEST(Paths, Normalise) {
    EXPECT_EQ(normalise_path("/tmp/../tmp/./x"), (fs::canonical("/tmp") / "x").string());
    EXPECT_TRUE(fs::path(normalise_path("relative")).is_absolute());
}

} // namespace
} // namespace ws
