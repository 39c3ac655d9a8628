// CPU sampling against fp_chains, whose call chains and CPU shares are known
// (tests/workloads/fp_chains.c): the stacks flare records must be the real
// chains, on the right threads, in the right proportions, including threads
// and libraries that appear or disappear during the capture.
#include <algorithm>
#include <iostream>
#include <chrono>
#include <thread>

#include "tests/integration/support/flare_test.h"

namespace flare::testing {
namespace {

using namespace std::chrono_literals;

constexpr double kHz = 99;

// Tolerances, and why:
// - chain completeness >= 90 %: all of a worker's time is in its chain; the
//   few samples taken while it reads a clock or sleeps (< 1-3 % with perf on
//   the same workload) end in libc/kernel frames instead of the leaf.
constexpr double kMinChainFraction = 0.90;
// - sample count within +-20 % of seconds * Hz * busy CPUs: timer sampling
//   at 99 Hz plus attach/detach edges; perf record -F 99 on this workload
//   lands within 2 %.
constexpr double kCountTolerance = 0.20;
// - a's share of a+b within +-5 points of 75 %.
constexpr double kShareTolerance = 0.05;

// What the workload really did while flare ran, from the kernel's per-thread
// run time (/proc/PID/task/TID/schedstat): the truth to compare with.
struct Measured {
  std::map<std::string, double> cpu_s;  // CPU seconds per thread name
  double wall_s = 0;                    // wall time the snapshot pair spans
  std::string profilers_before;         // other_profilers() at the start
  double busy_cpus() const {
    double sum = 0;
    for (const auto& [name, s] : cpu_s) sum += s;
    return sum / wall_s;
  }
  std::string describe() const {
    std::string out = "measured over " + std::to_string(wall_s) + " s:";
    for (const auto& [name, s] : cpu_s) out += " " + name + "=" + std::to_string(s) + "s";
    out += "\nother perf/BPF users at the start of the capture: " + profilers_before;
    return out;
  }
};

class CpuProfileTest : public IntegrationTest {
 protected:
  // Records `pid` for `duration` at 99 Hz into cap.flare; fails the test on
  // anything but a clean, finalized recording.
  fs::path record_pid(pid_t pid, const char* duration, Measured* measured = nullptr) {
    fs::path out = path("cap.flare");
    Argv args = {"record", "-p", std::to_string(pid), "-d", duration, "-F", "99", "-o", out.string()};
    if (measured) measured->profilers_before = other_profilers();
    auto before = thread_cpu(pid);
    auto start = std::chrono::steady_clock::now();
    RunResult r = flare(args, 30s);
    if (measured) {
      measured->wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      measured->cpu_s = cpu_seconds_by_name(before, thread_cpu(pid));
    }
    EXPECT_TRUE(r.status.ok()) << describe(args, r);
    EXPECT_TRUE(fs::exists(out)) << out;
    fs::path partial = out;
    partial += ".partial";
    EXPECT_FALSE(fs::exists(partial)) << partial << " left behind";
    return out;
  }
};

void expect_chain(const std::vector<FoldedStack>& stacks, const std::string& thread,
                  const std::vector<std::string>& chain, uint64_t min_samples) {
  ThreadChainCounts c = count_chain(stacks, thread, chain);
  EXPECT_GE(c.samples, min_samples) << thread << ": too few samples";
  ASSERT_GT(c.samples, 0u) << thread << " has no samples at all";
  double fraction = static_cast<double>(c.with_chain) / static_cast<double>(c.samples);
  EXPECT_GE(fraction, kMinChainFraction)
      << thread << ": only " << c.with_chain << " of " << c.samples
      << " samples end in the full chain " << ::testing::PrintToString(chain);
}

std::string folded_dump(const std::vector<FoldedStack>& stacks, size_t max_lines = 40) {
  std::vector<FoldedStack> sorted = stacks;
  std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.count > b.count; });
  std::string out;
  for (size_t i = 0; i < sorted.size() && i < max_lines; ++i) {
    out += sorted[i].thread;
    for (auto& f : sorted[i].frames) out += ";" + f;
    out += " " + std::to_string(sorted[i].count) + "\n";
  }
  return out;
}

TEST_F(CpuProfileTest, EachWorkerIsSampledWithItsOwnFullChain) {
  Child target = start_fp_chains({"--seconds", "15"});
  Measured measured;
  fs::path rec = record_pid(target.pid(), "5s", &measured);
  SCOPED_TRACE(measured.describe());
  auto stacks = folded(rec);
  SCOPED_TRACE("folded stacks (top lines):\n" + folded_dump(stacks));
  auto info = info_json(rec);
  ASSERT_TRUE(info);
  SCOPED_TRACE("sampler ticks flare reports as missed: " + std::to_string(sampler_ticks_missed(*info)));

  // 5 s * 99 Hz * 0.75 CPU = 371 samples for worker_a, 124 for worker_b.
  auto min_samples = [&](double cpus) { return static_cast<uint64_t>(5 * kHz * cpus * (1 - kCountTolerance)); };
  expect_chain(stacks, "worker_a", kChainA, min_samples(0.75));
  expect_chain(stacks, "worker_b", kChainB, min_samples(0.25));

  // Attributed to the right thread: no a_* frame in any other thread's
  // stacks and vice versa (the threads run the same code shape at the same
  // time, so a mixed-up tid or stack id would show here).
  EXPECT_EQ(foreign_samples(stacks, "worker_a", kChainA), 0u) << "worker_a's functions on other threads";
  EXPECT_EQ(foreign_samples(stacks, "worker_b", kChainB), 0u) << "worker_b's functions on other threads";
}

TEST_F(CpuProfileTest, PprofFlatSharesAndSampleCountMatchTheWorkload) {
  Child target = start_fp_chains({"--seconds", "15"});
  Measured measured;
  fs::path rec = record_pid(target.pid(), "5s", &measured);
  SCOPED_TRACE(measured.describe());
  fs::path pb = path("cap.pb.gz");
  Argv args = {"convert", rec.string(), "--to", "pprof", "-o", pb.string()};
  RunResult r = flare(args);
  ASSERT_TRUE(r.status.ok()) << describe(args, r);

  auto top = go_pprof_top(pb, "samples");
  ASSERT_TRUE(top);
  SCOPED_TRACE("go tool pprof -top:\n" + top->raw);
  auto info = info_json(rec);
  ASSERT_TRUE(info);
  const double missed = sampler_ticks_missed(*info);
  SCOPED_TRACE("sampler ticks flare reports as missed: " + std::to_string(missed));
  double a = top->flat["a_spin_leaf"];
  double b = top->flat["b_spin_leaf"];
  ASSERT_GT(a + b, 0) << "neither leaf in the profile";
  const double measured_share = measured.cpu_s["worker_a"] / (measured.cpu_s["worker_a"] + measured.cpu_s["worker_b"]);
  const double share = a / (a + b);
  // worker_a burns 3x worker_b's CPU time, nearly all of it in its leaf.
  EXPECT_NEAR(share, kWorkerAShare, kShareTolerance) << "a_spin_leaf=" << a << " b_spin_leaf=" << b;
  // And against what the threads really used during the capture (if this
  // holds and the line above does not, the workload missed its duty cycle,
  // e.g. on an overloaded machine; if this fails, flare's counts are off).
  EXPECT_NEAR(share, measured_share, kShareTolerance) << "flare's share of worker_a vs its measured CPU share";

  // 5 s * 99 Hz * 1.0 busy CPU = 495 samples, by design and as measured.
  const double expected = 5 * kHz * kFpChainsBusyCpus;
  const double expected_measured = 5 * kHz * measured.busy_cpus();
  EXPECT_NEAR(top->total, expected, expected * kCountTolerance) << "pprof total samples";
  EXPECT_GE(top->total, expected_measured * (1 - kCountTolerance))
      << "pprof total samples vs measured busy CPUs " << measured.busy_cpus();
  EXPECT_LE(top->total, expected_measured * (1 + kCountTolerance))
      << "pprof total samples vs measured busy CPUs " << measured.busy_cpus();
  auto samples = info_samples(rec);
  ASSERT_TRUE(samples);
  // At 99 Hz nothing may be dropped in the kernel or the agent, and what the
  // sampler missed is reported (above).
  const google::protobuf::Value* lost = json_get(*info, "lost.total");
  ASSERT_TRUE(lost && lost->has_number_value()) << "info --json has no lost.total";
  EXPECT_EQ(lost->number_value() - missed, 0) << "samples lost at 99 Hz";
  // Same recording, two readers: the totals must agree exactly.
  EXPECT_EQ(static_cast<double>(*samples), top->total) << "info --json and pprof disagree on the sample count";
}

TEST_F(CpuProfileTest, ThreadStartedMidCaptureIsSampledWithItsChain) {
  // worker_late starts 2 s after "ready"; flare is attached well before
  // (checked below through bpftool), and records 5 s.
  Child target = start_fp_chains({"--seconds", "15", "--late-thread-after", "2"});
  fs::path out = path("cap.flare");
  Child recorder = flare_in_background({"record", "-p", std::to_string(target.pid()), "-d", "5s", "-F", "99",
                                        "-o", out.string()});
  // Attached = flare holds BPF programs and links/perf events.
  bool attached = false;
  for (auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
    BpfObjects held = bpf_objects_held_by(recorder.pid());
    if (!held.progs.empty() && !held.links.empty()) {
      attached = true;
      break;
    }
    if (!recorder.running()) break;
    std::this_thread::sleep_for(20ms);
  }
  target.poll_output();
  ASSERT_TRUE(attached) << "flare never attached; stderr: " << recorder.err_so_far();
  bool late_before_attach = target.out_so_far().find("late_started") != std::string::npos;
  ASSERT_FALSE(late_before_attach) << "worker_late started before flare attached; the test proves nothing";
  EXPECT_TRUE(target.wait_for_line("late_started", 10s)) << "worker_late never started";

  RunResult r = recorder.wait(30s);
  ASSERT_TRUE(r.status.ok()) << describe(recorder.argv(), r);
  auto stacks = folded(out);
  SCOPED_TRACE("folded stacks (top lines):\n" + folded_dump(stacks));
  // worker_late runs >= 2.5 s of the capture at 0.5 CPU: >= 124 samples;
  // half of that leaves room for a slow attach.
  expect_chain(stacks, "worker_late", kChainLate, static_cast<uint64_t>(2.5 * kHz * 0.5 * 0.5));
  EXPECT_EQ(foreign_samples(stacks, "worker_late", kChainLate), 0u);
  // The threads that were there from the start are still right.
  expect_chain(stacks, "worker_a", kChainA, 1);
}

TEST_F(CpuProfileTest, DlopenedLibraryIsSymbolizedAfterItWasClosed) {
  // worker_dl loads libflare_dl_workload.so 1.5 s after "ready", spins in it
  // for 1.5 s (0.5 CPU) and dlcloses it, all inside the 5 s capture: the
  // mapping is gone by the time flare finishes.
  Child target = start_fp_chains({"--seconds", "15", "--dlopen-after", "1.5", "--dlopen-lib", kDlLib});
  fs::path rec = record_pid(target.pid(), "5s");
  ASSERT_TRUE(target.wait_for_line("dl_closed unmapped=1", 1s))
      << "the library was not dlclose'd and unmapped during the capture; fp_chains said:\n"
      << target.out_so_far();

  auto stacks = folded(rec);
  SCOPED_TRACE("folded stacks (top lines):\n" + folded_dump(stacks));
  // 1.5 s * 99 Hz * 0.5 CPU = 74 samples; flare_dl_spin reads the thread
  // clock between leaf calls (a syscall), so allow more non-leaf samples.
  ThreadChainCounts c = count_chain(stacks, "worker_dl", kChainDl);
  EXPECT_GE(c.samples, static_cast<uint64_t>(1.5 * kHz * 0.5 * 0.5)) << "worker_dl: too few samples";
  EXPECT_GE(static_cast<double>(c.with_chain), 0.8 * static_cast<double>(c.samples))
      << c.with_chain << " of " << c.samples << " worker_dl samples end in the full chain";

  // No frame of worker_dl may be left as an unresolved library address.
  uint64_t unresolved = 0;
  for (const FoldedStack& s : stacks) {
    for (const std::string& f : s.frames) {
      if (f.find("libflare_dl_workload.so+") != std::string::npos) {
        unresolved += s.count;
        break;
      }
    }
  }
  EXPECT_EQ(unresolved, 0u) << "samples with unsymbolized frames in the dlclose'd library";

  // The external reader sees the same names.
  fs::path pb = path("cap.pb.gz");
  Argv args = {"convert", rec.string(), "--to", "pprof", "-o", pb.string()};
  RunResult r = flare(args);
  ASSERT_TRUE(r.status.ok()) << describe(args, r);
  auto top = go_pprof_top(pb, "samples");
  ASSERT_TRUE(top);
  EXPECT_GT(top->flat["dl_inner_leaf"], 0) << top->raw;
}

TEST_F(CpuProfileTest, TwoProcessesRecordedTogetherKeepTheirThreadsApart) {
  // Two fp_chains at once keep 2 CPUs busy on a 2-core machine, so only the
  // chains and the per-process attribution are checked, not the shares.
  Child first = start_fp_chains({"--seconds", "15"}, /*high_priority=*/false);
  Child second = start_fp_chains({"--seconds", "15"}, /*high_priority=*/false);
  fs::path out = path("cap.flare");
  Argv args = {"record", "-p", std::to_string(first.pid()) + "," + std::to_string(second.pid()), "-d", "3s",
               "-o", out.string()};
  RunResult r = flare(args, 30s);
  ASSERT_TRUE(r.status.ok()) << describe(args, r);

  auto stacks = folded(out);
  SCOPED_TRACE("folded stacks (top lines):\n" + folded_dump(stacks));
  expect_chain(stacks, "worker_a", kChainA, 1);
  expect_chain(stacks, "worker_b", kChainB, 1);

  // Per-thread counts from info --json: every worker thread of both
  // processes has samples of its own (3 s * 99 Hz * 0.25 CPU = 74 for the
  // smaller worker_b; a quarter of that allows for the 2-core contention).
  std::map<pid_t, uint64_t> per_tid = info_thread_samples(out);
  for (Child* c : {&first, &second}) {
    for (const auto& [tid, t] : thread_cpu(c->pid())) {
      if (t.name != "worker_a" && t.name != "worker_b") continue;
      EXPECT_GE(per_tid[tid], static_cast<uint64_t>(3 * kHz * 0.25 * 0.25))
          << t.name << " (tid " << tid << ") of process " << c->pid();
    }
  }
}

// agent/ring_reader.h maps a ring's data area once, so a record that runs
// past its end is joined from two pieces. A 64 KiB ring of frame-pointer
// samples (1,584 bytes with the kernel's header, not a divisor of 64 KiB)
// wraps about every 41 samples: a joining mistake shows as malformed
// records, wrong chains or samples on the wrong thread. Drops are allowed
// (the ring is tiny) but must be counted: received + counted as ring-full
// must cover the ticks.
TEST_F(CpuProfileTest, SmallRingJoinsWrappedRecordsAndCountsWhatDidNotFit) {
  Child target = start_fp_chains({"--seconds", "15"});
  fs::path out = path("cap.flare");
  constexpr double kFastHz = 999;
  auto before = thread_cpu(target.pid());
  Argv args = {"record", "-p", std::to_string(target.pid()), "-d", "3s", "-F", "999", "--unwind", "dwarf",
               "--ring-buffer-kib", "64", "-o", out.string()};
  RunResult r = flare(args, 30s);
  ASSERT_TRUE(r.status.ok()) << describe(args, r);
  std::map<std::string, double> cpu_s = cpu_seconds_by_name(before, thread_cpu(target.pid()));

  auto info = info_json(out);
  ASSERT_TRUE(info);
  EXPECT_EQ(info_stat(*info, "cpu_ring_bytes"), 65536.0);
  EXPECT_EQ(info_stat(*info, "malformed_ring_records"), 0.0);
  auto stacks = folded(out);
  SCOPED_TRACE("folded stacks (top lines):\n" + folded_dump(stacks));
  const double received = info_stat(*info, "samples_received").value_or(0);
  const double ring_full = lost_by_cause(*info, "ring_buffer_full");
  const double missed = sampler_ticks_missed(*info);
  // The workers' CPU time over the whole flare run (start-up included)
  // bounds the ticks from above; the count tolerance covers the edges.
  const double worker_s = cpu_s["worker_a"] + cpu_s["worker_b"];
  SCOPED_TRACE("received " + std::to_string(received) + ", ring full " + std::to_string(ring_full) +
               ", ticks missed " + std::to_string(missed) + ", workers' CPU " + std::to_string(worker_s) + " s");
  EXPECT_GE(received + ring_full + missed, 3 * kFastHz * 1.0 * (1 - kCountTolerance));
  EXPECT_LE(received, worker_s * kFastHz * (1 + kCountTolerance));
  expect_chain(stacks, "worker_a", kChainA, 1);
  expect_chain(stacks, "worker_b", kChainB, 1);
  EXPECT_EQ(foreign_samples(stacks, "worker_a", kChainA), 0u) << "worker_a's functions on other threads";
  EXPECT_EQ(foreign_samples(stacks, "worker_b", kChainB), 0u) << "worker_b's functions on other threads";
}

}  // namespace
}  // namespace flare::testing
