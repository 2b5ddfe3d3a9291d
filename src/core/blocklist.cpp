#include "wirespeed/targets.hpp"

namespace ws {

namespace detail {
// Generated at build time from config/blocklist.conf by scripts/embed_text.py.
std::string_view blocklist_text() noexcept;
} // namespace detail

std::string_view default_blocklist_text() noexcept { return detail::blocklist_text(); }

TargetSet default_blocklist() { return parse_target_text(default_blocklist_text(), "blocklist.conf"); }

} // namespace ws
