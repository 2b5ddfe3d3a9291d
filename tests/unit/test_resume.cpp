#include "wirespeed/resume.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

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
