#pragma once
// One error type for every parser and validator: the message is a single line
// that names the offending value, so the CLI can print it as is and exit 1.
#include <stdexcept>
#include <string>

namespace ws {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A failure while reading or writing a file that was accepted as valid (a full
// disk, an I/O error, a database that cannot be written): a runtime error, exit
// 2 rather than 1. The message names the file and the cause (errno text or
// SQLite's own message).
class IoError : public Error {
public:
    using Error::Error;
};

} // namespace ws
