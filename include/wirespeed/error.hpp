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

} // namespace ws
