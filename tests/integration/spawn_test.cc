// `flare record -o FILE -- CMD ARGS...`: flare starts CMD, records it from
// its first instruction to its exit, and exits with CMD's exit status.
#include <cstdlib>

#include <tuple>

#include "tests/integration/support/flare_test.h"

namespace flare::testing {
namespace {

using namespace std::chrono_literals;

class SpawnTest : public IntegrationTest {};

// "key=N" from the workloads' last lines ("cpu_ns worker_a=N worker_b=N",
// "cpu_ns=N"): the CPU time the workload measured for itself, in seconds.
double reported_cpu_s(const std::string& out, const std::string& key) {
  size_t at = out.find(key + "=");
  if (at == std::string::npos) {
    ADD_FAILURE() << "the workload did not report " << key << ":\n" << out;
    return 0;
  }
  return std::strtod(out.c_str() + at + key.size() + 1, nullptr) / 1e9;
}

TEST_F(SpawnTest, RecordsTheWholeRunOfTheCommandAndExitsWithItsStatus) {
  fs::path out = path("spawn.flare");
  SCOPED_TRACE("other perf/BPF users at the start of the capture: " + other_profilers());
  Argv args = {"record", "-F", "99", "-o", out.string(), "--", kFpChains, "--seconds", "2"};
  RunResult r = flare(args, 30s);
  ASSERT_TRUE(r.status.ok()) << describe(args, r);
  // The command ran to its normal end (its stdout is flare's stdout).
  EXPECT_NE(r.out.find("done\n"), std::string::npos) << describe(args, r);
  ASSERT_TRUE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out.string() + ".partial"));

  // The capture spans the command's whole life, so the CPU time fp_chains
  // measured for its workers is the truth for the sample counts (by design
  // 2 s * 0.75 and 2 s * 0.25 CPU; less if the machine is busy).
  const double cpu_a = reported_cpu_s(r.out, "worker_a");
  const double cpu_b = reported_cpu_s(r.out, "worker_b");
  auto stacks = folded(out);
  ThreadChainCounts a = count_chain(stacks, "worker_a", kChainA);
  ThreadChainCounts b = count_chain(stacks, "worker_b", kChainB);
  // +-20 % of CPU seconds * 99 Hz, as in cpu_profile_test.
  auto info = info_json(out);
  ASSERT_TRUE(info);
  SCOPED_TRACE("sampler ticks flare reports as missed: " + std::to_string(sampler_ticks_missed(*info)));
  for (auto [samples, cpu, name] : {std::tuple{a.samples, cpu_a, "worker_a"}, std::tuple{b.samples, cpu_b, "worker_b"}}) {
    EXPECT_GE(static_cast<double>(samples), cpu * 99 * 0.80) << name << ", cpu " << cpu << " s";
    EXPECT_LE(static_cast<double>(samples), cpu * 99 * 1.20) << name << ", cpu " << cpu << " s";
  }
  EXPECT_GE(a.with_chain, static_cast<uint64_t>(0.9 * a.samples)) << a.with_chain << "/" << a.samples;
  EXPECT_GE(b.with_chain, static_cast<uint64_t>(0.9 * b.samples)) << b.with_chain << "/" << b.samples;
  ASSERT_GT(a.samples + b.samples, 0u);
  // Shares within +-8 points of the measured ones (2 s gives ~200 samples,
  // fewer than the 5 s check in cpu_profile_test, hence wider).
  EXPECT_NEAR(static_cast<double>(a.samples) / static_cast<double>(a.samples + b.samples), cpu_a / (cpu_a + cpu_b),
              0.08)
      << "a=" << a.samples << " b=" << b.samples;
}

TEST_F(SpawnTest, ExitsWithTheCommandsNonZeroStatusAndKeepsTheRecording) {
  fs::path out = path("spawn.flare");
  // exit_soon spins 1 s in main -> exit_soon_work -> exit_soon_leaf, then
  // exits 3.
  Argv args = {"record", "-F", "99", "-o", out.string(), "--", kExitSoon, "--after-ms", "1000", "--status", "3",
               "--spin"};
  RunResult r = flare(args, 30s);
  EXPECT_TRUE(r.status.exited && r.status.exit_code == 3) << describe(args, r);
  ASSERT_TRUE(fs::exists(out)) << "the recording of a failing command is still wanted";
  EXPECT_FALSE(fs::exists(out.string() + ".partial"));

  auto stacks = folded(out);
  ThreadChainCounts c = count_chain(stacks, "exit_soon", kChainExitSoon);
  // By design 1 s * 99 Hz * 1.0 CPU = 99 samples; the truth is the CPU time
  // exit_soon reports for itself. +-20 %.
  const double cpu = reported_cpu_s(r.out, "cpu_ns");
  EXPECT_NEAR(static_cast<double>(c.samples), cpu * 99, cpu * 99 * 0.2) << "cpu " << cpu << " s";
  EXPECT_GE(c.with_chain, static_cast<uint64_t>(0.9 * c.samples)) << c.with_chain << "/" << c.samples;
}

TEST_F(SpawnTest, CommandThatCannotBeExecutedIsAnError) {
  fs::path out = path("spawn.flare");
  Argv args = {"record", "-o", out.string(), "--", (dir() / "no-such-program").string()};
  RunResult r = flare(args, 30s);
  EXPECT_FALSE(r.status.ok()) << describe(args, r);
  // Either flare's own error (exit 1) or the shell convention for "command
  // not found" (127); in both cases one error line and no recording.
  EXPECT_TRUE(r.status.exited && (r.status.exit_code == 1 || r.status.exit_code == 127)) << describe(args, r);
  std::vector<std::string> lines = lines_of(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_EQ(lines[0].rfind("flare: error:", 0), 0u) << r.err;
  EXPECT_TRUE(no_output_left(out));
}

}  // namespace
}  // namespace flare::testing
