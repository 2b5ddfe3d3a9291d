// One bounded, FIFO-safe read of a whole data file (nmap's payload and
// service probe databases), shared by their loaders.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "text.hpp"
#include "wirespeed/error.hpp"

namespace ws::detail {

namespace {

struct FileDescriptor {
    int fd;
    ~FileDescriptor() {
        if (fd >= 0) ::close(fd);
    }
};

} // namespace

std::string read_limited_file(const std::string& path, std::size_t max_bytes, std::string_view what,
                              std::string_view limit_name) {
    const auto io_error = [&](int err) {
        return IoError("cannot read " + std::string(what) + " " + quote(path, 96) + ": " + std::strerror(err));
    };
    // O_NONBLOCK: opening a FIFO nobody writes to must not hang.
    FileDescriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
    if (file.fd < 0) throw io_error(errno);
    struct stat st {};
    if (::fstat(file.fd, &st) != 0) throw io_error(errno);
    if (S_ISDIR(st.st_mode)) throw io_error(EISDIR);
    // Never more than the limit, whatever the file claims to be (/dev/zero,
    // an endless pipe), so memory stays bounded.
    std::string text;
    char buffer[1 << 16];
    while (true) {
        const auto n = ::read(file.fd, buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) { // a FIFO whose writer is still busy
                pollfd p{file.fd, POLLIN, 0};
                ::poll(&p, 1, -1);
                continue;
            }
            throw io_error(errno);
        }
        if (n == 0) break;
        if (text.size() + std::size_t(n) > max_bytes)
            throw Error("cannot read " + std::string(what) + " " + quote(path, 96) + ": larger than " +
                        std::to_string(max_bytes) + " bytes (the limit for a " + std::string(limit_name) + ")");
        text.append(buffer, std::size_t(n));
    }
    if (S_ISFIFO(st.st_mode) && text.empty())
        throw IoError("cannot read " + std::string(what) + " " + quote(path, 96) +
                      ": a FIFO or pipe that gave no data (no writer?)");
    return text;
}

} // namespace ws::detail
