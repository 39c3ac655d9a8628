// Off-CPU tracing against the truth of tests/workloads/offcpu_chains.c: sleep
// durations measured by the sleeping thread itself, the pipe writer that
// wakes the reader, and the kernel's own per-thread accounting
// (/proc/PID/task/TID/schedstat: on-CPU time and run-queue wait).
#include <algorithm>
#include <cmath>
#include <map>
#include <regex>
#include <string>

#include "recorder/reader.h"
#include "tests/integration/support/flare_test.h"

namespace flare::testing {
namespace {

using namespace std::chrono_literals;

// Truth lines printed by offcpu_chains ("sched name=X tid=T run_ns=R ...").
struct ThreadTruth {
  uint32_t tid = 0;
  double run_ns = 0, wait_ns = 0, life_ns = 0;
  double blocked_ns() const { return life_ns - run_ns - wait_ns; }
};

std::map<std::string, ThreadTruth> parse_sched_lines(const std::string& out) {
  std::map<std::string, ThreadTruth> truth;
  std::regex line(R"(sched name=(\S+) tid=(\d+) run_ns=(\d+) wait_ns=(\d+) life_ns=(\d+))");
  for (std::sregex_iterator it(out.begin(), out.end(), line), end; it != end; ++it) {
    ThreadTruth t;
    t.tid = static_cast<uint32_t>(std::stoul((*it)[2]));
    t.run_ns = std::stod((*it)[3]);
    t.wait_ns = std::stod((*it)[4]);
    t.life_ns = std::stod((*it)[5]);
    truth[(*it)[1]] = t;
  }
  return truth;
}

double field(const std::string& out, const std::string& key) {
  std::smatch m;
  std::regex re(key + R"(=(\d+))");
  if (!std::regex_search(out, m, re)) {
    ADD_FAILURE() << "no " << key << "= in the workload's output:\n" << out;
    return 0;
  }
  return std::stod(m[1]);
}

// User function names of a stack, leaf first.
std::vector<std::string> user_functions(const rec::Recording& rec, uint32_t stack) {
  std::vector<std::string> names;
  for (uint32_t f : rec.stack(stack)) {
    if (rec.frames[f].kind == rec::FrameKind::kUser) names.push_back(rec.str(rec.frames[f].function));
  }
  return names;
}

bool starts_with_chain(const std::vector<std::string>& leaf_first, const std::vector<std::string>& chain) {
  return leaf_first.size() >= chain.size() && std::equal(chain.begin(), chain.end(), leaf_first.begin());
}

struct ThreadOffCpu {
  uint64_t intervals = 0;
  double blocked_ns = 0, runq_ns = 0;  // intervals and totals
};

std::map<uint32_t, ThreadOffCpu> offcpu_by_thread(const rec::Recording& rec) {
  std::map<uint32_t, ThreadOffCpu> by;
  for (const auto& o : rec.offcpu) {
    by[o.tid].intervals++;
    by[o.tid].blocked_ns += static_cast<double>(o.blocked_ns);
    by[o.tid].runq_ns += static_cast<double>(o.runq_ns);
  }
  for (const auto& t : rec.offcpu_totals) {
    by[t.tid].blocked_ns += static_cast<double>(t.blocked_ns);
    by[t.tid].runq_ns += static_cast<double>(t.runq_ns);
  }
  return by;
}

// Off-CPU intervals flare reports it could not track (lost cause
// offcpu_untracked: e.g. a switch-in the tracer never saw). Known open
// problem: on a loaded machine a few in a few thousand switch-ins never fire
// sched_switch at all (perf's sched:sched_switch shows the same double
// switch-outs); flare counts each such lost interval. Tests accept a shortfall against the truth
// only up to the intervals flare reports as lost, each at most as long as the
// workload's longest wait (30 ms).
constexpr double kLongestWaitNs = 31e6;

double untracked_intervals(const rec::Recording& rec) {
  double n = 0;
  for (const auto& l : rec.lost) {
    if (l.cause == rec::LostCause::kOffCpuUntracked) n += static_cast<double>(l.count);
  }
  if (n > 0) std::cerr << "KNOWN ISSUE: flare reports " << n << " off-CPU intervals it could not track\n";
  return n;
}

class OffCpuTest : public IntegrationTest {
 protected:
  // Spawns offcpu_chains under flare record --events cpu,offcpu.
  rec::Recording record_spawned(const Argv& workload_args, std::string* workload_out) {
    fs::path out = path("offcpu.flare");
    Argv args = {"record", "--events", "cpu,offcpu", "-o", out.string(), "--", kOffCpuChains};
    args.insert(args.end(), workload_args.begin(), workload_args.end());
    RunResult r = flare(args, 60s);
    EXPECT_TRUE(r.status.ok()) << describe(args, r);
    *workload_out = r.out;
    auto rec = rec::read_recording(out.string());
    EXPECT_TRUE(rec.is_ok()) << rec.status().message();
    return rec.is_ok() ? std::move(rec).value() : rec::Recording{};
  }
};

TEST_F(OffCpuTest, SleepsAreAttributedToTheSleepingFunctionWithTheirDuration) {
  std::string out;
  // --migrate moves the sleeper between CPUs while it sleeps: durations are
  // kept per thread, so they must stay right.
  rec::Recording rec = record_spawned({"--seconds", "4", "--migrate"}, &out);
  auto truth = parse_sched_lines(out);
  ASSERT_TRUE(truth.count("sleeper")) << out;
  const uint32_t sleeper = truth["sleeper"].tid;
  const double slept_ns = field(out, "slept_ns");
  const double sleeps = field(out, "sleeps");

  double under_chain_ns = 0, other_ns = 0;
  uint64_t intervals = 0, named_waker = 0;
  for (const auto& o : rec.offcpu) {
    if (o.tid != sleeper) continue;
    double ns = static_cast<double>(o.blocked_ns + o.runq_ns);
    if (starts_with_chain(user_functions(rec, o.stack), {"sleeper_wait", "sleeper_loop", "sleeper_entry"})) {
      under_chain_ns += ns;
      ++intervals;
      if (o.waker_tid != 0) ++named_waker;
    } else {
      other_ns += ns;
    }
  }
  for (const auto& t : rec.offcpu_totals) {
    if (t.tid == sleeper) other_ns += static_cast<double>(t.blocked_ns + t.runq_ns);
  }
  SCOPED_TRACE("workload output:\n" + out);
  const double lost = untracked_intervals(rec);
  // The sleeps as the sleeper measured them (nanosleep entry to return).
  EXPECT_NEAR(under_chain_ns, slept_ns, 0.10 * slept_ns + lost * kLongestWaitNs) << "off-CPU time under sleeper_wait";
  EXPECT_LT(other_ns, 0.05 * slept_ns) << "off-CPU time of the sleeper elsewhere";
  // One interval per 20 ms sleep, each the right length.
  EXPECT_NEAR(static_cast<double>(intervals), sleeps, 0.05 * sleeps + 2 + lost);
  if (intervals > 0) {
    EXPECT_NEAR(under_chain_ns / static_cast<double>(intervals), slept_ns / sleeps, 0.10 * slept_ns / sleeps);
  }
  // A timer ends each sleep: no user thread woke it.
  EXPECT_LE(named_waker, intervals / 20) << "sleeps with a named waker";
}

TEST_F(OffCpuTest, TheReaderIsWokenByTheWriterFromItsWriteFunction) {
  std::string out;
  rec::Recording rec = record_spawned({"--seconds", "3"}, &out);
  auto truth = parse_sched_lines(out);
  ASSERT_TRUE(truth.count("reader") && truth.count("writer")) << out;
  const uint32_t reader = truth["reader"].tid, writer = truth["writer"].tid;
  const double blocked_truth = field(out, "reader blocked_ns");

  uint64_t reads = 0, by_writer = 0, writer_stack = 0;
  double blocked = 0;
  for (const auto& o : rec.offcpu) {
    if (o.tid != reader) continue;
    if (!starts_with_chain(user_functions(rec, o.stack), {"reader_wait", "reader_loop", "reader_entry"})) continue;
    ++reads;
    blocked += static_cast<double>(o.blocked_ns + o.runq_ns);
    if (o.waker_tid == writer) ++by_writer;
    auto waker = user_functions(rec, o.waker_stack);
    if (starts_with_chain(waker, {"writer_notify", "writer_loop", "writer_entry"})) ++writer_stack;
  }
  SCOPED_TRACE("workload output:\n" + out);
  ASSERT_GT(reads, 50u) << "the reader blocks ~100 times in 3 s";
  EXPECT_GE(by_writer, reads * 9 / 10) << "intervals woken by the writer's tid";
  EXPECT_GE(writer_stack, reads * 9 / 10) << "waker stacks ending in writer_notify <- writer_loop <- writer_entry";
  EXPECT_NEAR(blocked, blocked_truth, 0.10 * blocked_truth + untracked_intervals(rec) * kLongestWaitNs);
  auto it = rec.threads.find(writer);
  ASSERT_NE(it, rec.threads.end());
  EXPECT_EQ(rec.str(it->second.name), "writer");

  // The same truth through the outputs other tools read.
  double all_offcpu_ns = 0, all_intervals = 0;
  for (const auto& o : rec.offcpu) {
    all_offcpu_ns += static_cast<double>(o.blocked_ns + o.runq_ns);
    ++all_intervals;
  }
  for (const auto& t : rec.offcpu_totals) {
    all_offcpu_ns += static_cast<double>(t.blocked_ns + t.runq_ns);
    all_intervals += static_cast<double>(t.count);
  }
  const fs::path recording = path("offcpu.flare");
  const fs::path offcpu_pb = path("offcpu.pb.gz"), wall_pb = path("wall.pb.gz");
  for (auto [type, file] : {std::pair{"offcpu", offcpu_pb}, std::pair{"wall", wall_pb}}) {
    Argv convert = {"convert", recording.string(), "--to", "pprof", "--type", type, "-o", file.string()};
    RunResult c = flare(convert);
    ASSERT_TRUE(c.status.ok()) << describe(convert, c);
  }
  auto delay = go_pprof_top(offcpu_pb, "delay", "ms");
  ASSERT_TRUE(delay);
  EXPECT_NEAR(delay->total, all_offcpu_ns / 1e6, 0.01 * all_offcpu_ns / 1e6 + 1) << delay->raw;
  auto contentions = go_pprof_top(offcpu_pb, "contentions");
  ASSERT_TRUE(contentions);
  EXPECT_NEAR(contentions->total, all_intervals, 1) << contentions->raw;
  auto wall = go_pprof_top(wall_pb, "wall", "ms");
  ASSERT_TRUE(wall);
  const double cpu_ns = static_cast<double>(rec.samples.size() * rec.header.sample_period_ns);
  EXPECT_NEAR(wall->total, (all_offcpu_ns + cpu_ns) / 1e6, 0.01 * (all_offcpu_ns + cpu_ns) / 1e6 + 1) << wall->raw;

  // Folded off-CPU stacks (microseconds): the reader's blocked time sits
  // under reader_wait, joined by "--" to the writer's stack.
  Argv folded_args = {"convert", recording.string(), "--to", "folded", "--type", "offcpu"};
  RunResult f = flare(folded_args);
  ASSERT_TRUE(f.status.ok()) << describe(folded_args, f);
  double reader_us = 0, joined_us = 0;
  for (const FoldedStack& s : parse_folded(f.out)) {
    if (s.thread != "reader") continue;
    const auto at = std::find(s.frames.begin(), s.frames.end(), "reader_wait");
    if (at == s.frames.end()) continue;
    reader_us += static_cast<double>(s.count);
    if (std::find(at, s.frames.end(), "--") != s.frames.end() &&
        std::find(at, s.frames.end(), "writer_notify") != s.frames.end()) {
      joined_us += static_cast<double>(s.count);
    }
  }
  EXPECT_NEAR(reader_us * 1e3, blocked, 0.01 * blocked + 1e6) << f.out.substr(0, 4000);
  EXPECT_GE(joined_us, 0.9 * reader_us) << "reader stacks joined to writer_notify's";
}

TEST_F(OffCpuTest, RunQueueAndOnCpuTimeAgreeWithTheKernelsSchedstat) {
  std::string out;
  // Three spinning threads on two CPUs: each waits in the run queue about a
  // third of the time.
  rec::Recording rec = record_spawned({"--seconds", "4", "--busy", "3"}, &out);
  auto truth = parse_sched_lines(out);
  auto offcpu = offcpu_by_thread(rec);
  std::map<uint32_t, uint64_t> samples;
  for (const auto& s : rec.samples) samples[s.tid]++;
  const double period = static_cast<double>(rec.header.sample_period_ns);
  SCOPED_TRACE("workload output:\n" + out);
  const double lost_ns = untracked_intervals(rec) * kLongestWaitNs;
  for (const char* name : {"busy_0", "busy_1", "busy_2", "sleeper", "writer"}) {
    ASSERT_TRUE(truth.count(name)) << name;
    const ThreadTruth& t = truth[name];
    const ThreadOffCpu& o = offcpu[t.tid];
    SCOPED_TRACE(std::string(name) + ": flare blocked " + std::to_string(o.blocked_ns) + " runq " +
                 std::to_string(o.runq_ns) + "; schedstat run " + std::to_string(t.run_ns) + " wait " +
                 std::to_string(t.wait_ns) + " life " + std::to_string(t.life_ns));
    // Run-queue wait: flare's wakeup/preemption-to-switch-in intervals vs
    // the kernel's sched_info wait time.
    EXPECT_NEAR(o.runq_ns, t.wait_ns, 0.15 * t.wait_ns + 2e6) << "run-queue wait";
    // Blocked (sleeping) time.
    // The truth here is a difference (lifetime - run - wait), and the kernel
    // settles run time lazily (at ticks and switches) while the lifetime is
    // measured from the thread function: it is good to ~1 % of the lifetime,
    // which matters for the spinning threads whose true blocked time is 0.
    EXPECT_NEAR(o.blocked_ns, t.blocked_ns(), 0.15 * std::abs(t.blocked_ns()) + 0.01 * t.life_ns + lost_ns)
        << "blocked time";
    // On-CPU: the lifetime less everything off-CPU, and the CPU samples.
    const double on_cpu = t.life_ns - o.blocked_ns - o.runq_ns;
    EXPECT_NEAR(on_cpu, t.run_ns, 0.15 * t.run_ns + 10e6 + lost_ns) << "on-CPU time from the off-CPU intervals";
  }
  // CPU samples of the spinning threads together. (Per thread, a 10 ms
  // sampling timer against ~3 ms scheduler slices aliases: one thread can
  // be over- and another undersampled by 25 % in a 4 s run, as with perf.)
  double sampled = 0, ran = 0;
  for (const char* name : {"busy_0", "busy_1", "busy_2"}) {
    sampled += static_cast<double>(samples[truth[name].tid]) * period;
    ran += truth[name].run_ns;
  }
  EXPECT_NEAR(sampled, ran, 0.15 * ran) << "CPU samples of busy_* vs their schedstat run time";
}

TEST_F(OffCpuTest, AThreadBlockedForTheWholeCaptureHasTheFullDuration) {
  Child target = Child::spawn({kOffCpuChains, "--seconds", "30", "--stuck"});
  ASSERT_TRUE(target.wait_for_line("ready", 10000ms)) << target.err_so_far();
  fs::path out = path("stuck.flare");
  Argv args = {"record", "--offcpu", "-p", std::to_string(target.pid()), "-d", "2s", "-o", out.string()};
  RunResult r = flare(args, 30s);
  ASSERT_TRUE(r.status.ok()) << describe(args, r);
  auto rec = rec::read_recording(out.string());
  ASSERT_TRUE(rec.is_ok()) << rec.status().message();

  uint32_t stuck = 0;
  for (const auto& [tid, t] : rec->threads) {
    if (rec->str(t.name) == "stuck") stuck = tid;
  }
  ASSERT_NE(stuck, 0u) << "the stuck thread is not in the recording";
  const double duration = static_cast<double>(rec->stat("capture_duration_ns"));
  std::vector<rec::OffCpuInterval> intervals;
  for (const auto& o : rec->offcpu) {
    if (o.tid == stuck) intervals.push_back(o);
  }
  ASSERT_EQ(intervals.size(), 1u) << "one interval spanning the capture";
  EXPECT_EQ(intervals[0].flags, rec::kOffCpuClippedStart | rec::kOffCpuClippedEnd);
  EXPECT_EQ(intervals[0].state, rec::OffCpuState::kSleeping);
  EXPECT_NEAR(static_cast<double>(intervals[0].blocked_ns), duration, 0.05 * duration);
  EXPECT_EQ(intervals[0].time_ns, rec->header.clock_monotonic_ns);
  // Where it waits, though it never ran: read while it was parked.
  auto user = user_functions(*rec, intervals[0].stack);
  EXPECT_TRUE(starts_with_chain(user, {"stuck_wait", "stuck_entry"})) << "user stack of the stuck thread";
  bool in_pipe_read = false;
  for (uint32_t f : rec->stack(intervals[0].stack)) {
    const auto& frame = rec->frames[f];
    if (frame.kind == rec::FrameKind::kKernel && rec->str(frame.function).find("pipe_read") != std::string::npos) {
      in_pipe_read = true;
    }
  }
  EXPECT_TRUE(in_pipe_read) << "kernel stack of the stuck thread";

  // The sleeper was mid-sleep at attach: its first interval is clipped at
  // the start, and still carries its kernel stack.
  uint64_t clipped_start = 0;
  for (const auto& o : rec->offcpu) {
    if ((o.flags & rec::kOffCpuClippedStart) && o.tid != stuck) ++clipped_start;
  }
  EXPECT_GE(clipped_start, 1u);
}

}  // namespace
}  // namespace flare::testing
