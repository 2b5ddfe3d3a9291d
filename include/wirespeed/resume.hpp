#pragma once
// Resume: what a checkpoint holds, reading it back, and the fingerprint that
// tells whether a resumed scan is the same scan.
#include <cstdint>
#include <functional>
#include <span>
#include <optional>
#include <string>
#include <vector>

#include "wirespeed/cookie.hpp"
#include "wirespeed/plan.hpp"
#include "wirespeed/record.hpp"
#include "wirespeed/service_result.hpp"

namespace ws {

struct ResumePoint {
    std::int64_t scan_id = 0;
    std::string status;      // of the interrupted scan: running (killed) or interrupted
    std::string config;      // the scan's arguments, as recorded (JSON array of strings)
    std::string fingerprint;
    std::uint64_t seed = 0;
    CookieKey key{};
    std::vector<std::uint64_t> slots; // per TX lcore: every slot before it had its full wait window
};

// The newest resumable scan of the database (status running = killed,
// interrupted or stopped by a guard, and complete too when
// `include_complete`: scan --resume DB --service names a finished scan's
// open ports), with a checkpoint. Throws ws::Error naming the path when
// there is none.
ResumePoint load_resume_point(const std::string& db_path, bool include_complete = false);

// Every result of a scan, in insertion order, with its reply bytes (UDP);
// addresses of either family. Throws ws::Error naming the row and the value
// when an ip is no address.
void for_each_result(const std::string& db_path, std::int64_t scan_id,
                     const std::function<void(const ResultRecord&, double seen_at_unix, std::span<const std::uint8_t> data)>& fn);
// The same with the scan's services (scan --service; none in a database
// written before it), each after the result that was newest when it was
// written, as the live outputs and export have them (ResultSink::replay,
// then ResultSink::replay_service). A corrupt services row throws ws::Error
// naming it.
void for_each_result(const std::string& db_path, std::int64_t scan_id,
                     const std::function<void(const ResultRecord&, double seen_at_unix, std::span<const std::uint8_t> data)>& fn,
                     const std::function<void(const ServiceResult&)>& service_fn);

// "targets=<hash>;ports=<spec>;seed=N;shard=I/N;retries=R;tx=T": the parts that
// define which probes a scan sends, in a form whose differences can be named.
std::string plan_fingerprint(const ScanPlan& plan, const ScanConfig& config);
// Empty when equal, else e.g. "the target set differs, the seed differs".
std::string fingerprint_difference(const std::string& recorded, const std::string& now);

std::string encode_slots(const std::vector<std::uint64_t>& slots);
std::vector<std::uint64_t> decode_slots(const std::string& text); // throws ws::Error

// Arguments <-> the JSON array stored in scans.config.
std::string encode_args(const std::vector<std::string>& args);
std::vector<std::string> decode_args(const std::string& json); // throws ws::Error

} // namespace ws
