// Agent-side off-CPU logic without BPF: /proc task states and turning tracer
// events into recorded intervals and totals.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "agent/offcpu_processor.h"
#include "agent/task_list.h"
#include "recorder/reader.h"

namespace flare::agent {
namespace {

TEST(TaskList, ParsesStatLinesWithAwkwardNames) {
  auto t = parse_task_stat("123 (worker) S 1 2 3");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->tid, 123u);
  EXPECT_EQ(t->comm, "worker");
  EXPECT_EQ(t->state, 'S');
  auto odd = parse_task_stat("77 (a) b (c)) D 1");
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->comm, "a) b (c)");
  EXPECT_EQ(odd->state, 'D');
  EXPECT_FALSE(parse_task_stat("garbage"));
  EXPECT_FALSE(parse_task_stat("12 (x)"));
  EXPECT_FALSE(parse_task_stat("x1 (x) S"));
}

TEST(TaskList, ListsThisProcess) {
  auto tasks = list_task_states(static_cast<uint32_t>(getpid()));
  ASSERT_FALSE(tasks.empty());
  bool found_self = false;
  for (const auto& t : tasks) found_self |= t.tid == static_cast<uint32_t>(getpid());
  EXPECT_TRUE(found_self);
}

TEST(OffCpuState, FromProcLetters) {
  EXPECT_EQ(offcpu_state_from_proc('S'), rec::OffCpuState::kSleeping);
  EXPECT_EQ(offcpu_state_from_proc('D'), rec::OffCpuState::kUninterruptible);
  EXPECT_FALSE(offcpu_state_from_proc('R'));
  EXPECT_FALSE(offcpu_state_from_proc('Z'));
}

class OffCpuProcessorTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kStart = 1'000'000'000;

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("flare-offcpu-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "t.flare").string();
    rec::FileHeader h;
    h.events = "offcpu";
    h.clock_monotonic_ns = kStart;
    writer_ = std::move(rec::RecordingWriter::create(path_, h).value());
    stacks_.emplace(*writer_, std::nullopt, std::make_shared<SymbolFileCache>());
    processor_.emplace(*writer_, *stacks_, kStart);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  rec::Recording finish() {
    EXPECT_TRUE(writer_->finish().is_ok());
    auto rec = rec::read_recording(path_);
    EXPECT_TRUE(rec.is_ok()) << rec.status().message();
    return std::move(rec).value();
  }

  static std::unique_ptr<flare_offcpu_event> event(uint32_t tid, uint64_t out, uint64_t wake, uint64_t in,
                                                   uint8_t state) {
    auto e = std::make_unique<flare_offcpu_event>();
    *e = {};
    e->pid = 10;
    e->tid = tid;
    e->switch_out_ns = out;
    e->wakeup_ns = wake;
    e->switch_in_ns = in;
    e->state = state;
    std::snprintf(e->comm, sizeof e->comm, "t%u", tid);
    return e;
  }

  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<rec::RecordingWriter> writer_;
  std::optional<SampleProcessor> stacks_;
  std::optional<OffCpuProcessor> processor_;
};

TEST_F(OffCpuProcessorTest, SplitsIntervalsIntoBlockedAndRunQueue) {
  auto slept = event(11, kStart + 100, kStart + 20'000'100, kStart + 20'050'100, FLARE_OFFCPU_SLEEPING);
  slept->waker_pid = 20;
  slept->waker_tid = 21;
  std::snprintf(slept->waker_comm, sizeof slept->waker_comm, "waker");
  slept->waker.kernel_ips[0] = 0xffffffff81000000ull;
  slept->waker.kernel_bytes = 8;
  processor_->process(*slept);
  // A waker whose stack was not captured (blocked < the minimum) is not
  // named: it cannot be told from an interrupt on top of a bystander.
  auto unverified = event(13, kStart + 100, kStart + 200, kStart + 300'000, FLARE_OFFCPU_SLEEPING);
  unverified->waker_pid = 20;
  unverified->waker_tid = 22;
  processor_->process(*unverified);
  processor_->process(*event(12, kStart + 500, 0, kStart + 4'500, FLARE_OFFCPU_PREEMPTED));
  rec::Recording rec = finish();
  std::sort(rec.offcpu.begin(), rec.offcpu.end(), [](auto& a, auto& b) { return a.tid < b.tid; });
  std::swap(rec.offcpu[1], rec.offcpu[2]);  // order: 11, 13, 12
  ASSERT_EQ(rec.offcpu.size(), 3u);
  EXPECT_EQ(rec.offcpu[0].tid, 11u);
  EXPECT_EQ(rec.offcpu[0].time_ns, kStart + 100);
  EXPECT_EQ(rec.offcpu[0].blocked_ns, 20'000'000u);
  EXPECT_EQ(rec.offcpu[0].runq_ns, 50'000u);
  EXPECT_EQ(rec.offcpu[0].waker_tid, 21u);
  ASSERT_NE(rec.offcpu[0].waker_stack, 0u);
  EXPECT_EQ(rec.stack(rec.offcpu[0].waker_stack).size(), 1u);
  EXPECT_EQ(rec.str(rec.threads.at(21).name), "waker");
  EXPECT_EQ(rec.threads.at(21).pid, 20u);
  EXPECT_EQ(rec.offcpu[1].tid, 13u);
  EXPECT_EQ(rec.offcpu[1].waker_tid, 0u);
  EXPECT_EQ(rec.offcpu[2].state, rec::OffCpuState::kPreempted);
  EXPECT_EQ(rec.offcpu[2].blocked_ns, 0u);
  EXPECT_EQ(rec.offcpu[2].runq_ns, 4'000u);
}

TEST_F(OffCpuProcessorTest, ClipsIntervalsAtBothEnds) {
  auto before = event(11, kStart, kStart + 3'000, kStart + 5'000, FLARE_OFFCPU_SLEEPING);
  before->flags = FLARE_OFFCPU_CLIPPED_START;
  processor_->process(*before);
  processor_->process_open(*event(12, kStart + 7'000, 0, 0, FLARE_OFFCPU_UNINTERRUPTIBLE), kStart + 10'000);
  processor_->add_blocked_throughout(10, 13, "stuck", rec::OffCpuState::kSleeping, kStart + 10'000);
  EXPECT_TRUE(processor_->seen(13));
  EXPECT_FALSE(processor_->seen(14));
  rec::Recording rec = finish();
  ASSERT_EQ(rec.offcpu.size(), 3u);
  EXPECT_EQ(rec.offcpu[0].flags, rec::kOffCpuClippedStart);
  EXPECT_EQ(rec.offcpu[0].blocked_ns, 3'000u);
  EXPECT_EQ(rec.offcpu[0].runq_ns, 2'000u);
  // Its user stack was never seen: the placeholder frame says so.
  auto frames = rec.stack(rec.offcpu[0].stack);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(rec.str(rec.frames[frames[0]].function), "[off-CPU since before the capture]");
  EXPECT_EQ(rec.offcpu[1].flags, rec::kOffCpuClippedEnd);
  EXPECT_EQ(rec.offcpu[1].blocked_ns, 3'000u);
  EXPECT_EQ(rec.offcpu[2].flags, rec::kOffCpuClippedStart | rec::kOffCpuClippedEnd);
  EXPECT_EQ(rec.offcpu[2].time_ns, kStart);
  EXPECT_EQ(rec.offcpu[2].blocked_ns, 10'000u);
  EXPECT_EQ(processor_->stats().whole_capture, 1u);
}

TEST_F(OffCpuProcessorTest, WritesTotalsAsDeltasOfTheCumulativeCounts) {
  std::vector<OffCpuTotalEntry> totals = {{{11, FLARE_OFFCPU_SLEEPING}, {3, 300, 30}}};
  processor_->add_totals(totals, kStart + 1);
  processor_->add_totals(totals, kStart + 2);  // unchanged: nothing written
  totals[0].total = {5, 500, 60};
  processor_->add_totals(totals, kStart + 3);
  rec::Recording rec = finish();
  ASSERT_EQ(rec.offcpu_totals.size(), 2u);
  EXPECT_EQ(rec.offcpu_totals[0].count, 3u);
  EXPECT_EQ(rec.offcpu_totals[1].count, 2u);
  EXPECT_EQ(rec.offcpu_totals[1].blocked_ns, 200u);
  EXPECT_EQ(rec.offcpu_totals[1].runq_ns, 30u);
  EXPECT_EQ(rec.offcpu_totals[1].time_ns, kStart + 3);
  EXPECT_EQ(processor_->stats().totalled, 5u);
}

// A thread gone at one chunk boundary is forgotten at the next (its last
// totals read in between); the tracer is told which totals to delete, and
// a tid that shows up again starts from zero, so nothing is counted twice.
TEST_F(OffCpuProcessorTest, ForgetsEndedThreadsOneChunkAfterTheyAreGone) {
  std::vector<OffCpuTotalEntry> totals = {{{11, FLARE_OFFCPU_SLEEPING}, {3, 300, 30}},
                                          {{11, FLARE_OFFCPU_PREEMPTED}, {1, 0, 10}},
                                          {{12, FLARE_OFFCPU_SLEEPING}, {2, 200, 20}}};
  processor_->add_totals(totals, kStart + 1);
  EXPECT_EQ(processor_->threads_tracked(), 2u);
  // 11 has ended: nothing is forgotten yet, its last totals may still come.
  EXPECT_TRUE(processor_->forget_ended_threads({12}).empty());
  EXPECT_TRUE(processor_->seen(11));
  totals[0].total = {4, 400, 40};
  processor_->add_totals(totals, kStart + 2);
  std::vector<flare_offcpu_total_key> forgotten = processor_->forget_ended_threads({12});
  ASSERT_EQ(forgotten.size(), 2u);
  for (const flare_offcpu_total_key& key : forgotten) EXPECT_EQ(key.tid, 11u);
  EXPECT_FALSE(processor_->seen(11));
  EXPECT_TRUE(processor_->seen(12));
  EXPECT_EQ(processor_->threads_tracked(), 1u);
  EXPECT_EQ(processor_->stats().threads_forgotten, 1u);
  // The tracer deleted 11's totals; a new thread 11 counts from zero.
  processor_->add_totals({{{11, FLARE_OFFCPU_SLEEPING}, {1, 100, 0}}}, kStart + 3);
  rec::Recording rec = finish();
  uint64_t count_11 = 0;
  for (const rec::OffCpuTotal& t : rec.offcpu_totals) count_11 += t.tid == 11 ? t.count : 0;
  EXPECT_EQ(count_11, 4u + 1u + 1u);
}

TEST_F(OffCpuProcessorTest, AThreadMissingFromOneListingOnlyIsKept) {
  processor_->add_totals({{{11, FLARE_OFFCPU_SLEEPING}, {3, 300, 30}}}, kStart + 1);
  EXPECT_TRUE(processor_->forget_ended_threads({}).empty());    // a listing that missed it
  EXPECT_TRUE(processor_->forget_ended_threads({11}).empty());  // there again
  EXPECT_TRUE(processor_->forget_ended_threads({}).empty());    // missing once more: not yet
  EXPECT_TRUE(processor_->seen(11));
  EXPECT_EQ(processor_->forget_ended_threads({}).size(), 1u);
  EXPECT_FALSE(processor_->seen(11));
}

}  // namespace
}  // namespace flare::agent
