#pragma once
// One scan per database: a scan (or a resume, or a merge into it) holds an
// exclusive flock(2) on the database file for its whole life. flock locks
// are independent of the POSIX byte-range locks SQLite takes on the same
// file, so they never disturb SQLite's own locking, and the kernel drops
// them when the process dies, SIGKILL included.
#include <string>

namespace ws {

class DatabaseLock {
public:
    // Creates the file if it does not exist (SQLite treats an empty file as
    // an empty database). Throws ws::Error naming the file and, when another
    // process holds the lock, its pid:
    //   database "scan.db" is in use by another scan (pid 1234); wait for it or choose another --db
    // create: a new scan's --db (false for --resume, whose database must exist).
    // Throws ws::IoError (exit 2) when the file cannot be created or is in
    // use, ws::Error (exit 1) when a database to resume cannot be opened.
    DatabaseLock(const std::string& path, const char* option, bool create = true);
    ~DatabaseLock();
    DatabaseLock(const DatabaseLock&) = delete;
    DatabaseLock& operator=(const DatabaseLock&) = delete;

private:
    int fd_ = -1;
};

// The pid holding an flock on the file at (dev, ino), from /proc/locks; 0 if none is listed.
long flock_holder(unsigned long long dev, unsigned long long ino);

} // namespace ws
