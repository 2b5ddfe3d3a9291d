#include "wirespeed/resume.hpp"
#include "wirespeed/service_result.hpp"

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "wirespeed/db_lock.hpp"
#include "wirespeed/error.hpp"
#include "wirespeed/result_sink.hpp"

namespace ws {
namespace {

ScanConfig config_for(const std::string& targets, const std::string& ports, std::uint64_t seed) {
    ScanConfig c;
    c.target_specs = {targets};
    c.ports_spec = ports;
    c.blocklist_file = "/dev/null";
    c.seed = seed;
    return c;
}

TEST(Resume, FingerprintNamesWhatDiffers) {
    const ScanConfig a = config_for("198.19.0.0/24", "1-100", 7);
    const ScanPlan plan_a = build_plan(a);
    EXPECT_EQ(fingerprint_difference(plan_fingerprint(plan_a, a), plan_fingerprint(build_plan(a), a)), "");

    const ScanConfig other_targets = config_for("198.19.1.0/24", "1-100", 7);
    EXPECT_NE(fingerprint_difference(plan_fingerprint(plan_a, a), plan_fingerprint(build_plan(other_targets), other_targets))
                  .find("the target set differs"),
              std::string::npos);
    const ScanConfig other_ports = config_for("198.19.0.0/24", "1-101", 7);
    const std::string ports_diff =
        fingerprint_difference(plan_fingerprint(plan_a, a), plan_fingerprint(build_plan(other_ports), other_ports));
    EXPECT_NE(ports_diff.find("the ports differ"), std::string::npos) << ports_diff;
    EXPECT_EQ(ports_diff.find("target set"), std::string::npos);
    const ScanConfig other_seed = config_for("198.19.0.0/24", "1-100", 8);
    EXPECT_NE(fingerprint_difference(plan_fingerprint(plan_a, a), plan_fingerprint(build_plan(other_seed), other_seed))
                  .find("the seed differs (7 then, 8 now)"),
              std::string::npos);
}

TEST(Resume, SlotsAndArgsRoundTrip) {
    const std::vector<std::uint64_t> slots = {0, 42, 1ull << 40};
    EXPECT_EQ(decode_slots(encode_slots(slots)), slots);
    EXPECT_THROW(decode_slots("1,x"), Error);
    EXPECT_THROW(decode_slots(""), Error);
    const std::vector<std::string> args = {"scan", "198.19.0.0/16", "-p", "1-1024", "--db", "a \"quoted\" path\\x", "tab\there"};
    EXPECT_EQ(decode_args(encode_args(args)), args);
    EXPECT_THROW(decode_args("not json"), Error);
}

TEST(Resume, CheckpointIsReadBackAndOnlyForUnfinishedScans) {
    const std::string path = "/tmp/ws-resume-" + std::to_string(getpid()) + ".db";
    {
        SqliteWriter writer(path, ScanRecord{.seed = 9, .config_json = encode_args({"scan", "198.19.0.1", "-p", "80"})});
        writer.checkpoint("targets=1;ports=2;seed=9;shard=0/1;retries=0;tx=1", 9, 11, 12, encode_slots({5, 6}), 1.0);
        writer.commit();
    }
    const ResumePoint point = load_resume_point(path);
    EXPECT_EQ(point.status, "running"); // never finished: killed
    EXPECT_EQ(point.seed, 9u);
    EXPECT_EQ(point.key.k0, 11u);
    EXPECT_EQ(point.key.k1, 12u);
    EXPECT_EQ(point.slots, (std::vector<std::uint64_t>{5, 6}));
    EXPECT_EQ(decode_args(point.config), (std::vector<std::string>{"scan", "198.19.0.1", "-p", "80"}));
    {
        SqliteWriter writer(path, point.scan_id);
        writer.finish(ScanCounters{});
    }
    EXPECT_THROW(load_resume_point(path), Error); // complete: nothing to resume
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
    EXPECT_THROW(load_resume_point("/nonexistent/x.db"), Error);
}

// A corrupt scans.config gets a message that names it, never a bare "stoi".
TEST(Resume, CorruptRecordedArgumentsAreNamed) {
    for (const char* bad : {R"(["scan","\u00zz"])", R"(["scan","\u12)", R"(["scan","\u0100"])", R"(["scan")", "[\"a\",x]"}) {
        try {
            decode_args(bad);
            ADD_FAILURE() << "accepted " << bad;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("scans.config"), std::string::npos) << e.what();
        }
    }
    const std::vector<std::string> control = {std::string("a\x01z"), std::string("\x1f")};
    EXPECT_EQ(decode_args(encode_args(control)), control);
}

// A scan that failed (a full disk, say) keeps its checkpoint and resumes.
TEST(Resume, FailedScansResume) {
    const std::string path = "/tmp/ws-resume-failed-" + std::to_string(getpid()) + ".db";
    {
        SqliteWriter writer(path, ScanRecord{.seed = 3, .config_json = encode_args({"scan", "198.19.0.1", "-p", "80"})});
        writer.checkpoint("targets=1;ports=2;seed=3;shard=0/1;retries=0;tx=1", 3, 1, 2, encode_slots({0}), 1.0);
        writer.commit();
        writer.finish(ScanCounters{.status = "failed"});
    }
    EXPECT_EQ(load_resume_point(path).status, "failed");
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

ResultRecord result(const char* address, std::uint16_t port, Proto proto, std::uint8_t ttl) {
    ResultRecord r{};
    r.set_address(*parse_ip(address));
    r.port = port;
    r.proto = proto;
    r.state = PortState::open;
    r.reason = proto == Proto::udp ? Reason::udp_response : Reason::syn_ack;
    r.ttl = ttl;
    r.window = proto == Proto::tcp ? 1024 : 0;
    return r;
}

// A resumed scan replays the committed results of both families exactly
// (address, family, every field, UDP bytes), and its dedup knows them.
TEST(Resume, MixedResultsRoundTrip) {
    const std::string path = "/tmp/ws-resume-mixed-" + std::to_string(getpid()) + ".db";
    const std::uint8_t dns[] = {0x12, 0x34, 0x81, 0x80};
    const std::vector<ResultRecord> written = {
        result("2001:db8:1::5", 443, Proto::tcp, 57),
        result("198.19.0.7", 22, Proto::tcp, 64),
        result("2001:db8::10", 53, Proto::udp, 63),
        result("198.18.0.200", 53, Proto::udp, 62),
    };
    std::int64_t scan_id = 0;
    {
        SqliteWriter writer(path, ScanRecord{.seed = 4});
        scan_id = writer.scan_id();
        for (std::size_t i = 0; i < written.size(); ++i)
            writer.insert(written[i], 1e9 + double(i),
                          written[i].proto == Proto::udp ? std::span<const std::uint8_t>(dns) : std::span<const std::uint8_t>());
        writer.checkpoint("f", 4, 1, 2, encode_slots({1}), 1.0);
        writer.commit();
    }
    ResultSink sink(SinkOptions{}, nullptr, 0);
    std::vector<std::string> replayed;
    for_each_result(path, scan_id, [&](const ResultRecord& r, double seen_at, std::span<const std::uint8_t> data) {
        replayed.push_back(fmt::format("{} {} {} {} {} {} {} {}", format_ip(r.address()), int(r.family), r.port, to_string(r.proto),
                                       to_string(r.reason), r.ttl, r.window, data.size()));
        EXPECT_EQ(seen_at, 1e9 + double(replayed.size() - 1));
        sink.replay(r, seen_at, data);
    });
    EXPECT_EQ(replayed, (std::vector<std::string>{
                            "2001:db8:1::5 6 443 tcp syn-ack 57 1024 0",
                            "198.19.0.7 4 22 tcp syn-ack 64 1024 0",
                            "2001:db8::10 6 53 udp udp-response 63 0 4",
                            "198.18.0.200 4 53 udp udp-response 62 0 4",
                        }));
    EXPECT_EQ(sink.open(), 4u);
    for (const ResultRecord& r : written) {
        EXPECT_TRUE(sink.answered(r.address(), r.proto, r.port)) << format_ip(r.address());
        sink.add(&r, 1); // the resumed run hearing it again: a duplicate
    }
    EXPECT_EQ(sink.duplicates(), written.size());

    // A damaged row is named, never skipped in silence.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "UPDATE results SET ip = '2001:db8::1::5' WHERE rowid = 3", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    try {
        for_each_result(path, scan_id, [](const ResultRecord&, double, std::span<const std::uint8_t>) {});
        ADD_FAILURE() << "read a corrupt address";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()),
                  fmt::format("corrupt result in database \"{}\": row 3 of scan {} has ip \"2001:db8::1::5\"", path, scan_id));
    }
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

// Services (scan --service) replay among the results as they were written,
// including those a resumed run added before any new result; the sink then
// knows them, so hearing one again is a duplicate.
TEST(Resume, ServicesReplayInWrittenOrder) {
    const std::string path = "/tmp/ws-resume-services-" + std::to_string(getpid()) + ".db";
    auto service = [](const char* address, std::uint16_t port, const char* name) {
        ServiceResult s;
        s.address = *parse_ip(address);
        s.port = port;
        s.name = name;
        s.seen_at_unix = 5;
        return s;
    };
    std::int64_t scan_id = 0;
    {
        SqliteWriter writer(path, ScanRecord{.seed = 4});
        scan_id = writer.scan_id();
        writer.insert(result("198.19.0.7", 22, Proto::tcp, 64), 1);
        writer.insert(result("198.19.0.8", 80, Proto::tcp, 64), 2);
        writer.insert_service(service("198.19.0.7", 22, "ssh"));
        writer.insert(result("2001:db8::1", 443, Proto::tcp, 64), 3);
        writer.insert_service(service("198.19.0.8", 80, "http"));
        writer.checkpoint("f", 4, 1, 2, encode_slots({1}), 1.0);
        writer.commit();
    }
    {
        SqliteWriter resumed(path, scan_id);
        resumed.insert_service(service("2001:db8::1", 443, "https")); // before any new result
        resumed.insert(result("198.19.0.9", 25, Proto::tcp, 64), 4);
        resumed.commit();
    }
    ResultSink sink(SinkOptions{}, nullptr, 0);
    std::vector<std::string> order;
    for_each_result(
        path, scan_id,
        [&](const ResultRecord& r, double, std::span<const std::uint8_t>) {
            order.push_back(fmt::format("result {}:{}", format_ip(r.address()), r.port));
        },
        [&](const ServiceResult& s) {
            order.push_back(fmt::format("service {}:{} {}", format_ip(s.address), s.port, s.name));
            sink.replay_service(s);
        });
    EXPECT_EQ(order, (std::vector<std::string>{
                         "result 198.19.0.7:22",
                         "result 198.19.0.8:80",
                         "service 198.19.0.7:22 ssh",
                         "result 2001:db8::1:443",
                         "service 198.19.0.8:80 http",
                         "service 2001:db8::1:443 https",
                         "result 198.19.0.9:25",
                     }));
    EXPECT_EQ(sink.services(), 3u);
    sink.add_service(service("198.19.0.7", 22, "ssh"));
    EXPECT_EQ(sink.duplicate_services(), 1u);
    // Without a service callback the services are not read.
    std::size_t results = 0;
    for_each_result(path, scan_id, [&](const ResultRecord&, double, std::span<const std::uint8_t>) { ++results; });
    EXPECT_EQ(results, 4u);
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

// One scan per database: a second lock on the same file is refused with the
// holder's pid; the lock goes with its owner.
TEST(DatabaseLock, SecondLockIsRefusedNamingThePid) {
    const std::string path = "/tmp/ws-lock-" + std::to_string(getpid()) + ".db";
    {
        DatabaseLock first(path, "--db");
        const pid_t child = fork();
        if (child == 0) { // another process, as a second scan would be
            try {
                DatabaseLock second(path, "--db");
                _exit(1);
            } catch (const Error& e) {
                const std::string msg = e.what();
                _exit(msg.find("in use by another scan (pid " + std::to_string(getppid()) + ")") != std::string::npos ? 0 : 2);
            }
        }
        int status = 0;
        waitpid(child, &status, 0);
        EXPECT_TRUE(WIFEXITED(status));
        EXPECT_EQ(WEXITSTATUS(status), 0);
    }
    EXPECT_NO_THROW(DatabaseLock again(path, "--db")); // released with its owner
    std::filesystem::remove(path);
    EXPECT_THROW(DatabaseLock missing("/nonexistent/dir/x.db", "--db"), Error);
}

} // namespace
} // namespace ws
