// Folded stacks, top and info of off-CPU and wall-clock time, checked
// against the hand-worked totals of OffCpuRecording.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "tests/unit/viewer_test_support.h"
#include "viewer/folded.h"
#include "viewer/info.h"
#include "viewer/top.h"

namespace flare::viewer {
namespace {

using testing::Json;
using testing::KnownRecording;
using testing::OffCpuRecording;

constexpr double kMs = 1e6;

ViewOptions of(Signal signal, bool user_only = false) { return ViewOptions{.user_only = user_only, .signal = signal}; }

std::string folded(const rec::Recording& rec, ViewOptions options) {
  std::ostringstream out;
  Status st = write_folded(rec, options, out);
  EXPECT_TRUE(st.is_ok()) << st.message();
  return out.str();
}

std::string top(const rec::Recording& rec, TopOptions options) {
  std::ostringstream out;
  Status st = write_top(rec, options, out);
  EXPECT_TRUE(st.is_ok()) << st.message();
  return out.str();
}

Json parse(const std::string& text) {
  Json j;
  EXPECT_TRUE(Json::parse(text, j)) << text;
  return j;
}

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// --- folded ------------------------------------------------------------------

TEST(ViewerOffCpuFolded, BlockedStackThenWakerUpsideDownInMicroseconds) {
  OffCpuRecording k;
  EXPECT_EQ(folded(k.rec(), of(Signal::kOffCpu)),
            "app;[short or rate-limited off-CPU] 900\n"
            "app;main;wait_fn;schedule_[k] 10000\n"  // 6 ms sleeping + 4 ms uninterruptible, no waker
            "app;main;wait_fn;schedule_[k];--;writer_fn;writer_main;writer 60000\n"
            "worker;[short or rate-limited off-CPU] 100\n"
            "worker;worker_loop;compute 6000\n");
}

TEST(ViewerOffCpuFolded, UserOnlyAppliesToTheWakerToo) {
  OffCpuRecording k;
  uint32_t wake_kernel = k.b.kernel_function("try_to_wake_up", 0xffffffff81000400);
  k.b.rec.stacks[k.s_waker].insert(k.b.rec.stacks[k.s_waker].begin(), wake_kernel);
  EXPECT_TRUE(contains(folded(k.rec(), of(Signal::kOffCpu)),
                       "app;main;wait_fn;schedule_[k];--;try_to_wake_up_[k];writer_fn;writer_main;writer 60000\n"));
  EXPECT_EQ(folded(k.rec(), of(Signal::kOffCpu, true)),
            "app;[short or rate-limited off-CPU] 900\n"
            "app;main;wait_fn 10000\n"
            "app;main;wait_fn;--;writer_fn;writer_main;writer 60000\n"
            "worker;[short or rate-limited off-CPU] 100\n"
            "worker;worker_loop;compute 6000\n");
}

TEST(ViewerOffCpuFolded, WallIsCpuAndOffCpuTimeWithoutWakers) {
  OffCpuRecording k;
  EXPECT_EQ(folded(k.rec(), of(Signal::kWall)),
            "app;[short or rate-limited off-CPU] 900\n"
            "app;main 20000\n"
            "app;main;wait_fn;schedule_[k] 70000\n"
            "worker;[short or rate-limited off-CPU] 100\n"
            "worker;worker_loop;compute 56000\n");
}

TEST(ViewerOffCpuFolded, MicrosecondsRoundPerLineAndZeroLinesAreLeftOut) {
  testing::RecordingBuilder b;
  b.enable_offcpu(0, 0);
  b.thread(1, 1, "t");
  uint32_t f = b.user_function("f", 0, 0x10);
  uint32_t g = b.user_function("g", 0, 0x20);
  b.offcpu(1, b.stack({f}), rec::OffCpuState::kSleeping, 300, 0, 0, 0, 0, 2);  // 600 ns in all: 1 us
  b.offcpu(1, b.stack({g}), rec::OffCpuState::kSleeping, 400, 0);               // 0.4 us: left out
  EXPECT_EQ(folded(b.rec, of(Signal::kOffCpu)), "t;f 1\n");
}

TEST(ViewerOffCpuFolded, CpuTypeIsUnchanged) {
  OffCpuRecording k;
  EXPECT_EQ(folded(k.rec(), {}), "app;main 2\nworker;worker_loop;compute 5\n");
}

// --- top ---------------------------------------------------------------------

struct Row {
  std::string name;
  double flat, cum;
  bool operator==(const Row&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Row& r) {
  return os << "{" << r.name << ", " << r.flat << ", " << r.cum << "}";
}
std::vector<Row> rows(const Json& j) {
  std::vector<Row> out;
  for (const Json& f : j["functions"].arr()) out.push_back(Row{f["name"].str(), f["flat"].num(), f["cum"].num()});
  return out;
}

TEST(ViewerOffCpuTop, OffCpuTimePerFunction) {
  OffCpuRecording k;
  Json j = parse(top(k.rec(), TopOptions{.view = of(Signal::kOffCpu), .limit = 0, .json = true}));
  EXPECT_EQ(j["type"].str(), "offcpu");
  EXPECT_EQ(j["unit"].str(), "nanoseconds");
  EXPECT_EQ(j["total_ns"].num(), 77 * kMs);
  EXPECT_EQ(j["offcpu_intervals"].num(), 26);
  EXPECT_EQ(j["blocked_ns"].num(), 63.75 * kMs);
  EXPECT_EQ(j["runq_ns"].num(), 13.25 * kMs);
  EXPECT_EQ(rows(j), (std::vector<Row>{
                         {"schedule", 70 * kMs, 70 * kMs},
                         {"compute", 6 * kMs, 6 * kMs},
                         {"[short or rate-limited off-CPU]", 1 * kMs, 1 * kMs},
                         {"main", 0, 70 * kMs},
                         {"wait_fn", 0, 70 * kMs},
                         {"worker_loop", 0, 6 * kMs},
                     }));
}

TEST(ViewerOffCpuTop, TextInTimeUnits) {
  OffCpuRecording k;
  EXPECT_EQ(top(k.rec(), TopOptions{.view = of(Signal::kOffCpu), .limit = 3}),
            "Total: 0.077s off CPU in 26 intervals (blocked 0.064s, run queue 0.013s)\n"
            "Showing top 3 of 6 functions\n"
            "  flat   flat%    sum%    cum    cum%  function\n"
            "  70ms  90.91%  90.91%   70ms  90.91%  schedule\n"
            "   6ms   7.79%  98.70%    6ms   7.79%  compute\n"
            "   1ms   1.30% 100.00%    1ms   1.30%  [short or rate-limited off-CPU]\n");
}

TEST(ViewerOffCpuTop, WallTime) {
  OffCpuRecording k;
  Json j = parse(top(k.rec(), TopOptions{.view = of(Signal::kWall), .limit = 0, .json = true}));
  EXPECT_EQ(j["type"].str(), "wall");
  EXPECT_EQ(j["total_ns"].num(), 147 * kMs);
  EXPECT_EQ(j["cpu_samples"].num(), 7);
  EXPECT_EQ(rows(j), (std::vector<Row>{
                         {"schedule", 70 * kMs, 70 * kMs},
                         {"compute", 56 * kMs, 56 * kMs},
                         {"main", 20 * kMs, 90 * kMs},
                         {"[short or rate-limited off-CPU]", 1 * kMs, 1 * kMs},
                         {"wait_fn", 0, 70 * kMs},
                         {"worker_loop", 0, 56 * kMs},
                     }));
  std::string text = top(k.rec(), TopOptions{.view = of(Signal::kWall), .limit = 1});
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "Total: 0.147s of wall-clock time (0.070s on CPU in 7 samples, 0.077s off CPU in 26 intervals)");
}

TEST(ViewerOffCpuTop, RateLimitedIntervalsAreNotLostTime) {
  OffCpuRecording k;
  k.b.rec.lost.push_back(rec::LostRecord{rec::LostCause::kOffCpuRateLimited, 0, 12});
  TopOptions options{.view = of(Signal::kOffCpu), .limit = 0, .json = true};
  EXPECT_EQ(parse(top(k.rec(), options))["lost_events"].num(), 0) << "their time is in the totals";
  k.b.rec.lost.push_back(rec::LostRecord{rec::LostCause::kOffCpuUntracked, 1, 2});
  EXPECT_EQ(parse(top(k.rec(), options))["lost_events"].num(), 2);
  options.json = false;
  EXPECT_TRUE(contains(top(k.rec(), options), "Lost: 2 events were dropped"));
}

TEST(ViewerOffCpuTop, CpuJsonNamesItsUnit) {
  OffCpuRecording k;
  Json j = parse(top(k.rec(), TopOptions{.view = {}, .limit = 0, .json = true}));
  EXPECT_EQ(j["type"].str(), "cpu");
  EXPECT_EQ(j["unit"].str(), "samples");
  EXPECT_EQ(j["total_samples"].num(), 7);
}

TEST(ViewerOffCpuViews, MissingSignalIsOneClearError) {
  KnownRecording k;
  std::ostringstream out;
  Status st = write_folded(k.rec(), of(Signal::kOffCpu), out);
  EXPECT_EQ(st.code(), ErrorCode::kNotFound);
  EXPECT_EQ(st.message(),
            "--type offcpu needs off-CPU data, but the recording has none (events: cpu); record with --events "
            "cpu,offcpu");
  st = write_top(k.rec(), TopOptions{.view = of(Signal::kWall)}, out);
  EXPECT_EQ(st.code(), ErrorCode::kNotFound);
  EXPECT_TRUE(out.str().empty());
  EXPECT_FALSE(has_offcpu(k.rec()));
  k.b.rec.offcpu_totals.push_back(rec::OffCpuTotal{});  // records without the header's word still count
  EXPECT_TRUE(has_offcpu(k.rec()));
  EXPECT_EQ(parse_signal("wall"), Signal::kWall);
  EXPECT_EQ(parse_signal("alloc"), Signal::kAlloc);
  EXPECT_EQ(parse_signal("goroutine"), Signal::kGoroutine);
}

// --- info --------------------------------------------------------------------

TEST(ViewerOffCpuInfo, TextShowsPerThreadTimesStatesAndGates) {
  OffCpuRecording k;
  k.b.rec.lost.push_back(rec::LostRecord{rec::LostCause::kOffCpuRateLimited, 0, 12});
  k.b.rec.lost.push_back(rec::LostRecord{rec::LostCause::kOffCpuUntracked, 1, 2});
  std::ostringstream out;
  ASSERT_TRUE(write_info(k.rec(), false, out).is_ok());
  std::string text = out.str();
  SCOPED_TRACE(text);
  EXPECT_TRUE(contains(text, "Events:      cpu,offcpu\n"));
  EXPECT_TRUE(contains(text, "Off-CPU:     26 intervals, 0.077s (blocked 0.064s, run queue 0.013s)\n"));
  EXPECT_TRUE(contains(text, "             7 recorded with stacks (1 clipped at capture start, 1 at its end), "
                             "19 only totalled\n"));
  EXPECT_TRUE(contains(text, "  by state:  sleeping 19, uninterruptible 1, preempted 6\n"));
  EXPECT_TRUE(contains(text, "  gates:     intervals under 1ms or beyond 1000 per second are only totalled\n"));
  // tid, pid, on-CPU, blocked, run queue, intervals by state, name; most time first.
  EXPECT_TRUE(contains(text, "         200        200     0.020s     0.064s     0.007s         19          1"
                             "          0  app\n"));
  EXPECT_TRUE(contains(text, "         201        200     0.050s     0.000s     0.006s          0          0"
                             "          6  worker\n"));
  EXPECT_LT(text.rfind("  app\n"), text.rfind("  worker\n"));
  EXPECT_TRUE(contains(text, "by cause:  offcpu_rate_limited 12, offcpu_untracked 2"));
  EXPECT_TRUE(contains(text, "offcpu 7 wakeup 0 alloc 0 free 0 goroutine 0 thread 0 offcpu_total 3\n"));
}

TEST(ViewerOffCpuInfo, JsonCarriesTheSameFacts) {
  OffCpuRecording k;
  std::ostringstream out;
  ASSERT_TRUE(write_info(k.rec(), true, out).is_ok());
  Json j = parse(out.str());
  const Json& off = j["offcpu"];
  EXPECT_EQ(off["min_ns"].num(), 1 * kMs);
  EXPECT_EQ(off["max_per_second"].num(), 1000);
  EXPECT_EQ(off["intervals"].num(), 26);
  EXPECT_EQ(off["recorded"].num(), 7);
  EXPECT_EQ(off["totalled"].num(), 19);
  EXPECT_EQ(off["clipped_start"].num(), 1);
  EXPECT_EQ(off["clipped_end"].num(), 1);
  EXPECT_EQ(off["blocked_ns"].num(), 63.75 * kMs);
  EXPECT_EQ(off["runq_ns"].num(), 13.25 * kMs);
  EXPECT_EQ(off["intervals_by_state"]["sleeping"].num(), 19);
  EXPECT_EQ(off["intervals_by_state"]["uninterruptible"].num(), 1);
  EXPECT_EQ(off["intervals_by_state"]["preempted"].num(), 6);
  EXPECT_EQ(off["intervals_by_state"]["unknown"].num(), 0);
  const Json& threads = off["threads"];
  ASSERT_EQ(threads.arr().size(), 2u);
  EXPECT_EQ(threads[0]["tid"].num(), 200);
  EXPECT_EQ(threads[0]["name"].str(), "app");
  EXPECT_EQ(threads[0]["oncpu_ns"].num(), 20 * kMs);
  EXPECT_EQ(threads[0]["blocked_ns"].num(), 63.75 * kMs);
  EXPECT_EQ(threads[0]["runq_ns"].num(), 7.15 * kMs);
  EXPECT_EQ(threads[0]["intervals"].num(), 20);
  EXPECT_EQ(threads[1]["oncpu_ns"].num(), 50 * kMs);
  EXPECT_EQ(threads[1]["blocked_ns"].num(), 0);
  EXPECT_EQ(threads[1]["runq_ns"].num(), 6.1 * kMs);
  EXPECT_EQ(threads[1]["intervals_by_state"]["preempted"].num(), 6);
  EXPECT_EQ(j["event_counts"]["offcpu_total"].num(), 3);

  KnownRecording cpu_only;
  std::ostringstream cpu_out;
  ASSERT_TRUE(write_info(cpu_only.rec(), true, cpu_out).is_ok());
  EXPECT_TRUE(parse(cpu_out.str())["offcpu"].is_null());
  std::ostringstream cpu_text;
  ASSERT_TRUE(write_info(cpu_only.rec(), false, cpu_text).is_ok());
  EXPECT_FALSE(contains(cpu_text.str(), "Off-CPU")) << cpu_text.str();
}

}  // namespace
}  // namespace flare::viewer
