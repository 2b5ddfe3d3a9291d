#include "wirespeed/db_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "wirespeed/error.hpp"

namespace ws {

long flock_holder(unsigned long long dev, unsigned long long ino) {
    // Lines look like "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF";
    // the device is "major:minor" in hex.
    std::ifstream locks("/proc/locks");
    std::string line;
    while (std::getline(locks, line)) {
        std::istringstream fields(line);
        std::string id, kind, advisory, mode, where;
        long pid = 0;
        if (!(fields >> id >> kind)) continue;
        if (kind == "->") fields >> kind; // a waiter, listed under the holder
        if (kind != "FLOCK" || !(fields >> advisory >> mode >> pid >> where)) continue;
        unsigned major_ = 0, minor_ = 0;
        unsigned long long inode = 0;
        if (std::sscanf(where.c_str(), "%x:%x:%llu", &major_, &minor_, &inode) != 3) continue;
        if (inode == ino && makedev(major_, minor_) == dev) return pid;
    }
    return 0;
}

DatabaseLock::DatabaseLock(const std::string& path, const char* option, bool create) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
    if (fd_ < 0) { // a database to create is an output (exit 2); one to resume is an input (exit 1)
        const std::string message = fmt::format("cannot open database \"{}\": {} ({})", path, std::strerror(errno), option);
        if (create) throw IoError(message);
        throw Error(message);
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
    const int err = errno;
    struct stat st{};
    long pid = 0;
    if (err == EWOULDBLOCK && ::fstat(fd_, &st) == 0) pid = flock_holder(st.st_dev, st.st_ino);
    ::close(fd_);
    fd_ = -1;
    if (err != EWOULDBLOCK) throw IoError(fmt::format("cannot lock database \"{}\" ({}): {}", path, option, std::strerror(err)));
    throw IoError(fmt::format("database \"{}\" is in use by another scan{}; wait for it or choose another {}", path,
                            pid ? fmt::format(" (pid {})", pid) : std::string(), option));
}

DatabaseLock::~DatabaseLock() {
    if (fd_ >= 0) ::close(fd_); // releases the flock; SQLite's connection is closed by then
}

} // namespace ws
