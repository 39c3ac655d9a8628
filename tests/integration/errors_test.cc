// Bad input gets one clear line on stderr ("flare: error: ..."), a non-zero
// exit (1 runtime, 2 usage) and no output file that could pass for a good one.
#include <cctype>
#include <fstream>
#include <iterator>

#include "tests/integration/support/flare_test.h"

namespace flare::testing {
namespace {

using namespace std::chrono_literals;

class ErrorsTest : public IntegrationTest {
 protected:
  // A short, valid recording of fp_chains to damage.
  fs::path good_recording() {
    fs::path out = path("good.flare");
    Argv args = {"record", "-o", out.string(), "--", kFpChains, "--seconds", "2"};
    RunResult r = flare(args, 30s);
    EXPECT_TRUE(r.status.ok()) << describe(args, r);
    return out;
  }

  // Every reader of a damaged recording must refuse it the same way: exit
  // 1 with one error line, and no result that could pass for a good one.
  void expect_rejected(const fs::path& bad) {
    SCOPED_TRACE("recording: " + bad.string());
    fs::path pb = path("out.pb.gz");
    fs::path fo = path("out.folded");
    enum class Stdout { kEmpty, kDamageReport, kDamageReportJson };
    struct Case {
      Argv args;
      fs::path output;
      Stdout out;
    };
    const std::vector<Case> cases = {
        // info exists to say what a file holds, so it may describe the
        // intact part -- as long as it says the file is damaged.
        {{"info", bad.string()}, {}, Stdout::kDamageReport},
        {{"info", bad.string(), "--json"}, {}, Stdout::kDamageReportJson},
        {{"top", bad.string()}, {}, Stdout::kEmpty},
        {{"convert", bad.string(), "--to", "pprof", "-o", pb.string()}, pb, Stdout::kEmpty},
        {{"convert", bad.string(), "--to", "folded", "-o", fo.string()}, fo, Stdout::kEmpty},
        {{"convert", bad.string(), "--to", "folded"}, {}, Stdout::kEmpty},
    };
    for (const Case& c : cases) {
      RunResult r = flare(c.args);
      EXPECT_TRUE(is_flare_error(r, 1)) << describe(c.args, r);
      if (!c.output.empty()) {
        EXPECT_TRUE(no_output_left(c.output)) << describe(c.args, r);
      }
      switch (c.out) {
        case Stdout::kEmpty:
          // A converter validates before it writes: no partial profile.
          EXPECT_EQ(r.out, "") << describe(c.args, r);
          break;
        case Stdout::kDamageReport: {
          std::string lower = r.out;
          for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          EXPECT_TRUE(r.out.empty() || lower.find("truncated") != std::string::npos)
              << "info printed a summary without saying the file is damaged\n" << describe(c.args, r);
          break;
        }
        case Stdout::kDamageReportJson:
          if (!r.out.empty()) {
            auto j = parse_json_object(r.out);
            ASSERT_TRUE(j) << describe(c.args, r);
            const google::protobuf::Value* t = json_get(*j, "truncation.truncated");
            EXPECT_TRUE(t && t->bool_value()) << "info --json without truncation.truncated=true\n"
                                              << describe(c.args, r);
          }
          break;
      }
    }
  }
};

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_all(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
  ASSERT_TRUE(out.good()) << p;
}

// A PID that surely names no process: one we just saw exit and reaped.
pid_t dead_pid() {
  Child c = Child::spawn({kExitSoon});
  pid_t pid = c.pid();
  c.wait(10s);
  return pid;
}

TEST_F(ErrorsTest, NonExistentPid) {
  pid_t pid = dead_pid();
  fs::path out = path("cap.flare");
  Argv args = {"record", "-p", std::to_string(pid), "-d", "2s", "-o", out.string()};
  RunResult r = flare(args, 30s);
  EXPECT_TRUE(is_flare_error(r, 1)) << describe(args, r);
  EXPECT_NE(r.err.find(std::to_string(pid)), std::string::npos) << "the error should name the PID: " << r.err;
  EXPECT_TRUE(no_output_left(out));
}

TEST_F(ErrorsTest, OneOfSeveralPidsDoesNotExist) {
  Child target = start_fp_chains({"--seconds", "15"});
  pid_t pid = dead_pid();
  fs::path out = path("cap.flare");
  Argv args = {"record", "-p", std::to_string(target.pid()), "-p", std::to_string(pid), "-d", "2s", "-o",
               out.string()};
  RunResult r = flare(args, 30s);
  EXPECT_TRUE(is_flare_error(r, 1)) << describe(args, r);
  EXPECT_NE(r.err.find(std::to_string(pid)), std::string::npos) << "the error should name the PID: " << r.err;
  EXPECT_TRUE(no_output_left(out));
}

TEST_F(ErrorsTest, TargetExitingDuringAttachFailsCleanlyOrRecordsCleanly) {
  // exit_soon exits N ms after it starts while flare is starting up and
  // attaching to it. Depending on who wins, flare reports the vanished
  // target, or records until the target exits. Either way: no hang, no
  // crash, no half-written file, and one error line when it fails.
  // The delays spread the exit over flare's start-up (BPF load, attach,
  // /proc reads, ~0.1-0.5 s).
  int failures = 0, recordings = 0;
  for (int delay_ms : {0, 0, 10, 30, 60, 100, 150, 250, 400, 600}) {
    SCOPED_TRACE("target exits after " + std::to_string(delay_ms) + " ms");
    fs::path out = path("race-" + std::to_string(delay_ms) + "-" + std::to_string(failures + recordings) + ".flare");
    Child target = Child::spawn({kExitSoon, "--after-ms", std::to_string(delay_ms), "--spin"});
    pid_t pid = target.pid();
    // Reap the target as soon as it exits, as its real parent would; a
    // zombie would still look alive to flare.
    RunResult target_result;
    Background reaper([&] { target_result = target.wait(30s); });
    Argv args = {"record", "-p", std::to_string(pid), "-d", "10s", "-o", out.string()};
    RunResult r = flare(args, 30s);
    reaper.join();
    ASSERT_FALSE(r.status.timed_out) << describe(args, r);
    ASSERT_TRUE(r.status.exited) << "flare crashed: " << describe(args, r);
    if (r.status.exit_code == 0) {
      ++recordings;
      EXPECT_TRUE(fs::exists(out)) << describe(args, r);
      EXPECT_FALSE(fs::exists(out.string() + ".partial")) << describe(args, r);
      // Finalized: it reads back.
      RunResult info = flare({"info", out.string()});
      EXPECT_TRUE(info.status.ok()) << describe({"info", out.string()}, info);
    } else {
      ++failures;
      EXPECT_TRUE(is_flare_error(r, 1)) << describe(args, r);
      EXPECT_TRUE(no_output_left(out)) << describe(args, r);
    }
  }
  std::cerr << "[ info    ] attach race: " << failures << " clean errors, " << recordings
            << " finalized recordings\n";
  // With a 0 ms target, flare must have lost the race at least once: the
  // error path was exercised, not just the happy one.
  EXPECT_GT(failures, 0);
}

TEST_F(ErrorsTest, UnwritableOutputPathFailsBeforeRecording) {
  Child target = start_fp_chains({"--seconds", "30"});
  ASSERT_TRUE(fs::create_directory(path("a-directory")));
  const std::vector<fs::path> outputs = {
      path("missing-dir") / "sub" / "cap.flare",  // parent does not exist
      "/sys/flare-test-cap.flare",                // sysfs: even root cannot create files
      "/proc/flare-test-cap.flare",               // procfs: likewise
      path("a-directory"),                        // a directory, not a file
  };
  for (const fs::path& out : outputs) {
    SCOPED_TRACE("output " + out.string());
    Argv args = {"record", "-p", std::to_string(target.pid()), "-d", "10s", "-o", out.string()};
    auto start = std::chrono::steady_clock::now();
    RunResult r = flare(args, 30s);
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(is_flare_error(r, 1)) << describe(args, r);
    // Checked before attaching, not discovered after a 10 s capture. (5 s is
    // a correctness bound, far above any start-up time, not a speed check.)
    EXPECT_LT(took, 5s) << "the unwritable output was only noticed at the end of the capture";
    if (out != path("a-directory")) {
      EXPECT_TRUE(no_output_left(out)) << describe(args, r);
    } else {
      EXPECT_TRUE(fs::is_directory(out));
      EXPECT_FALSE(fs::exists(out.string() + ".partial"));
    }
  }
}

TEST_F(ErrorsTest, UsageErrorsExitTwo) {
  fs::path out = path("cap.flare");
  const std::vector<Argv> cases = {
      {"record", "-o", out.string()},                                  // neither -p nor a command
      {"record", "-p", "1", "-d", "5parsecs", "-o", out.string()},     // bad duration
      {"record", "-p", "not-a-pid", "-d", "1s", "-o", out.string()},  // bad PID
      {"record", "-p", "1", "--unwind", "lbr", "-o", out.string()},    // unknown unwind mode
      {"record", "-p", "1", "--stack-copy", "6", "-o", out.string()},  // not a multiple of 4 KiB
      {"record", "-p", "1", "--stack-copy", "128", "-o", out.string()},  // over 64 KiB
      {"record", "-p", "1", "--ring-buffer-kib", "100", "-o", out.string()},  // not a power of two
      {"record", "-p", "1", "--ring-buffer-kib", "32", "-o", out.string()},   // under 64 KiB
      {"convert", out.string(), "--to", "no-such-format"},
      {"no-such-subcommand"},
  };
  for (const Argv& args : cases) {
    RunResult r = flare(args);
    EXPECT_TRUE(is_flare_error(r, 2)) << describe(args, r);
    EXPECT_TRUE(no_output_left(out)) << describe(args, r);
  }
}

TEST_F(ErrorsTest, CorruptRecordingIsRejected) {
  fs::path good = good_recording();
  std::string bytes = read_all(good);
  ASSERT_GT(bytes.size(), 256u);
  // Flip 16 bytes in the middle of the file (sample data, not the header).
  std::string corrupt = bytes;
  for (size_t i = corrupt.size() / 2; i < corrupt.size() / 2 + 16; ++i) corrupt[i] = static_cast<char>(~corrupt[i]);
  fs::path bad = path("corrupt.flare");
  write_all(bad, corrupt);
  expect_rejected(bad);
}

TEST_F(ErrorsTest, TruncatedRecordingIsRejected) {
  fs::path good = good_recording();
  std::string bytes = read_all(good);
  ASSERT_GT(bytes.size(), 256u);
  fs::path bad = path("truncated.flare");
  write_all(bad, bytes.substr(0, bytes.size() / 2));
  expect_rejected(bad);
}

TEST_F(ErrorsTest, FileThatIsNotARecordingIsRejected) {
  fs::path bad = path("not-a-recording.flare");
  write_all(bad, "this is a text file, not a flare recording\n");
  expect_rejected(bad);
  fs::path empty = path("empty.flare");
  write_all(empty, "");
  expect_rejected(empty);
  RunResult r = flare({"info", path("does-not-exist.flare").string()});
  EXPECT_TRUE(is_flare_error(r, 1)) << describe({"info", "does-not-exist.flare"}, r);
}

}  // namespace
}  // namespace flare::testing
