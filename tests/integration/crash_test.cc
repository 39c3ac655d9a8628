// Crash tolerance of the recording: SIGKILL the agent mid-capture. The file
// it leaves (NAME.partial; NAME never appears) reads up to its last complete
// flush, holds samples up to at most one flush interval before the kill, and
// `flare info` reports the truncation.
#include <signal.h>
#include <time.h>

#include <chrono>
#include <thread>

#include "tests/integration/support/flare_test.h"

namespace flare::testing {
namespace {

using namespace std::chrono_literals;

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

class CrashTest : public IntegrationTest {};

TEST_F(CrashTest, KilledCaptureReadsUpToItsLastFlush) {
  constexpr uint64_t kFlushNs = 250'000'000;
  Child workload = start_fp_chains({"--seconds", "10"});
  const fs::path out = path("killed.flare");
  const fs::path partial = path("killed.flare.partial");
  Child recorder = flare_in_background({"record", "-p", std::to_string(workload.pid()), "--flush", "250ms", "-o",
                                        out.string()});
  std::this_thread::sleep_for(3s);
  ASSERT_TRUE(recorder.running()) << recorder.err_so_far();
  const uint64_t killed_at = monotonic_ns();
  recorder.signal(SIGKILL);
  recorder.wait(10s);

  EXPECT_FALSE(fs::exists(out)) << "a killed capture must not leave a file under the final name";
  ASSERT_TRUE(fs::exists(partial));

  // Without --salvage: the summary of the intact part, then one error line.
  RunResult plain = flare({"info", partial.string()});
  EXPECT_EQ(plain.status.exit_code, 1) << describe({"info", partial.string()}, plain);
  EXPECT_NE(plain.out.find("TRUNCATED:"), std::string::npos) << plain.out;
  EXPECT_NE(plain.err.find("flare: error:"), std::string::npos) << plain.err;

  RunResult salvaged = flare({"info", "--salvage", "--json", partial.string()});
  ASSERT_EQ(salvaged.status.exit_code, 0) << describe({"info", "--salvage", "--json", partial.string()}, salvaged);
  auto info = parse_json_object(salvaged.out);
  ASSERT_TRUE(info) << salvaged.out;
  const auto* truncated = json_get(*info, "truncation.truncated");
  ASSERT_NE(truncated, nullptr);
  EXPECT_TRUE(truncated->bool_value());
  const auto* samples = json_get(*info, "total_samples");
  ASSERT_NE(samples, nullptr);
  // About 3 s of a 1.0-CPU workload at 99 Hz: ~300; at least half of it must
  // have been flushed.
  EXPECT_GT(samples->number_value(), 150) << salvaged.out;

  const auto* start = json_get(*info, "capture_start.monotonic_ns");
  const auto* last = json_get(*info, "last_sample.offset_ns");
  ASSERT_NE(start, nullptr);
  ASSERT_NE(last, nullptr);
  const double last_sample_ns = start->number_value() + last->number_value();
  // One flush interval, plus the agent's 100 ms poll period and scheduling
  // slack on a loaded 2-core machine.
  const double allowed_gap_ns = static_cast<double>(kFlushNs) + 350e6;
  EXPECT_LE(static_cast<double>(killed_at) - last_sample_ns, allowed_gap_ns)
      << "the last sample on disk is " << (static_cast<double>(killed_at) - last_sample_ns) / 1e6
      << " ms older than the kill";

  // convert refuses the damaged file unless told to salvage it...
  const fs::path pprof = path("killed.pb.gz");
  RunResult refused = flare({"convert", partial.string(), "--to", "pprof", "-o", pprof.string()});
  EXPECT_TRUE(is_flare_error(refused, 1));
  EXPECT_FALSE(fs::exists(pprof));
  // ... and with --salvage the result is a profile go tool pprof reads.
  RunResult converted = flare({"convert", "--salvage", partial.string(), "--to", "pprof", "-o", pprof.string()});
  ASSERT_EQ(converted.status.exit_code, 0) << converted.err;
  auto top = go_pprof_top(pprof, "samples");
  ASSERT_TRUE(top);
  EXPECT_GT(top->flat["a_spin_leaf"], 0) << top->raw;
}

}  // namespace
}  // namespace flare::testing
