#pragma once
// Which files a command reads and writes, and the check that none of its
// outputs is also one of its inputs or another of its outputs (a command must
// never truncate what it is about to read, or write two formats into one file).
// Pure: stat(2) and path arithmetic only; nothing is opened or created.
#include <string>
#include <vector>

namespace ws {

enum class PathRole {
    input,           // read only (-iL, --excludefile, --blocklist, --config)
    output,          // created, truncated or appended to (-oL, --metadata, --status-file, export -o)
    database_input,  // a SQLite database that is only read (export, merge inputs)
    database_output, // a SQLite database that is written (--db, --resume, merge -o)
};

struct PathUse {
    std::string option; // as the user knows it: "-oL", "--db", "merge input"
    std::string path;
    PathRole role;
};

// Throws ws::Error, one line naming both options and the file, when two uses
// name the same file and at least one of them writes it:
//   -oL and -oJ name the same file "x.out": refusing to let one overwrite the other
// Same file means the same (st_dev, st_ino) where the file exists, else the
// same normalised absolute path (symlinks in the existing part resolved). A
// database also claims its SQLite siblings PATH-wal, PATH-journal and
// PATH-shm. Character devices, FIFOs and sockets (/dev/null, /dev/stdout on
// a terminal or a pipe) never collide: nothing truncates them. Empty paths
// are ignored; two inputs never collide. /dev/stdout redirected to a regular
// file is that file, and does collide with it.
void check_path_collisions(const std::vector<PathUse>& uses);

// Absolute, lexically normal, symlinks of the existing prefix resolved
// (std::filesystem::weakly_canonical); the path itself when that fails.
std::string normalise_path(const std::string& path);

} // namespace ws
