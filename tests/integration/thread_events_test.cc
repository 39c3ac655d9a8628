// Thread lifecycle: every recording carries when target threads were created
// and when they ended (thread_event records), checked against fp_chains, whose
// worker_late thread starts mid-capture and whose threads all end before it
// exits.
#include <algorithm>
#include <map>
#include <string>

#include "recorder/reader.h"
#include "tests/integration/support/flare_test.h"

namespace flare::testing {
namespace {

using namespace std::chrono_literals;

class ThreadEventsTest : public IntegrationTest {};

// How long after its exit event a thread may still be sampled (see below).
constexpr uint64_t kExitPathNs = 10'000'000;

TEST_F(ThreadEventsTest, StartAndEndOfEveryThreadAroundItsSamples) {
  fs::path out = path("threads.flare");
  Argv args = {"record", "-o", out.string(), "--", kFpChains, "--seconds", "3", "--late-thread-after", "1"};
  RunResult r = flare(args, 60s);
  ASSERT_TRUE(r.status.ok()) << describe(args, r);
  auto read = rec::read_recording(out.string());
  ASSERT_TRUE(read.is_ok()) << read.status().message();
  const rec::Recording& rec = read.value();
  ASSERT_EQ(rec.header.targets.size(), 1u);
  const uint32_t pid = rec.header.targets[0].pid;

  std::map<std::string, uint32_t> tid_by_name;
  for (const auto& [tid, info] : rec.threads) tid_by_name[rec.str(info.name)] = tid;
  for (const char* name : {"worker_a", "worker_b", "worker_late"}) {
    ASSERT_TRUE(tid_by_name.count(name)) << name << " unknown to the recording";
  }

  // First and last sample per thread.
  std::map<uint32_t, std::pair<uint64_t, uint64_t>> sampled;
  for (const rec::CpuSample& s : rec.samples) {
    auto [it, inserted] = sampled.try_emplace(s.tid, s.time_ns, s.time_ns);
    it->second.first = std::min(it->second.first, s.time_ns);
    it->second.second = std::max(it->second.second, s.time_ns);
  }
  std::map<uint32_t, std::vector<const rec::ThreadEvent*>> starts, ends;
  for (const rec::ThreadEvent& e : rec.thread_events) {
    EXPECT_EQ(e.pid, pid) << "an event of another process";
    (e.kind == rec::ThreadEventKind::kStart ? starts : ends)[e.tid].push_back(&e);
  }

  // Every worker thread was created after attach (the command is held until
  // the sampler is attached) and ends before the process: one start and one
  // end each, around all of its samples. The main thread only ends.
  for (const char* name : {"worker_a", "worker_b", "worker_late"}) {
    const uint32_t tid = tid_by_name[name];
    ASSERT_EQ(starts[tid].size(), 1u) << name;
    ASSERT_EQ(ends[tid].size(), 1u) << name;
    ASSERT_TRUE(sampled.count(tid)) << name << " has no samples";
    EXPECT_LE(starts[tid][0]->time_ns, sampled[tid].first) << name << " sampled before it started";
    // sched_process_exit fires early in do_exit; the thread then still runs
    // the kernel's exit path (releasing its memory, files, ...) and can be
    // sampled there, a fraction of a millisecond later (0.13 ms seen).
    EXPECT_GE(ends[tid][0]->time_ns + kExitPathNs, sampled[tid].second) << name << " sampled long after it ended";
    EXPECT_GE(starts[tid][0]->time_ns, rec.header.clock_monotonic_ns) << name;
  }
  EXPECT_TRUE(starts[pid].empty()) << "the main thread existed before the capture";
  ASSERT_EQ(ends[pid].size(), 1u) << "the main thread's end";
  for (const char* name : {"worker_a", "worker_b", "worker_late"}) {
    EXPECT_LE(ends[tid_by_name[name]][0]->time_ns, ends[pid][0]->time_ns) << name << " ended after the process";
  }
  // worker_late starts about a second after the others (--late-thread-after 1).
  const double late_after_s =
      static_cast<double>(starts[tid_by_name["worker_late"]][0]->time_ns - starts[tid_by_name["worker_a"]][0]->time_ns) /
      1e9;
  EXPECT_NEAR(late_after_s, 1.0, 0.3);
}

}  // namespace
}  // namespace flare::testing
