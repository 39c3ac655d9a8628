// Losses reach the recording as they grow: the lost records of a file, even
// one cut short after a flush, add up to the kernel counters as they were at
// its last block, and `flare info` knows whether they can be trusted.
#include "agent/loss_ledger.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <utility>

#include "recorder/reader.h"
#include "viewer/info.h"

namespace flare::agent {
namespace {

namespace fs = std::filesystem;
using rec::LostCause;

class LossLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("flare-loss-ledger-test-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) { return (dir_ / name).string(); }

  static rec::FileHeader header(bool losses_at_flush) {
    rec::FileHeader h;
    h.targets = {{10, "app"}};
    h.events = "cpu";
    h.sample_frequency_hz = 100;
    h.sample_period_ns = 10'000'000;
    h.clock_monotonic_ns = 1'000'000'000;
    h.clock_realtime_ns = 1'700'000'000'000'000'000ull;
    h.losses_at_flush = losses_at_flush;
    return h;
  }

  std::unique_ptr<rec::RecordingWriter> create(const std::string& file, bool losses_at_flush = true) {
    auto writer = rec::RecordingWriter::create(path(file), header(losses_at_flush));
    EXPECT_TRUE(writer.is_ok()) << writer.status().message();
    return writer.is_ok() ? std::move(writer).value() : nullptr;
  }

  static rec::Recording read(const std::string& file, bool salvage = false) {
    auto r = rec::read_recording(file, {.salvage = salvage});
    EXPECT_TRUE(r.is_ok()) << file << ": " << r.status().message();
    return r.is_ok() ? std::move(r).value() : rec::Recording{};
  }

  // (cause, cpu) -> count, summed over every lost record.
  static std::map<std::pair<LostCause, uint32_t>, uint64_t> lost_by_cause_and_cpu(const rec::Recording& r) {
    std::map<std::pair<LostCause, uint32_t>, uint64_t> sums;
    for (const rec::LostRecord& l : r.lost) sums[{l.cause, l.cpu}] += l.count;
    return sums;
  }

  static std::string info_text(const rec::Recording& r) {
    std::ostringstream out;
    EXPECT_TRUE(viewer::write_info(r, /*json=*/false, out).is_ok());
    return out.str();
  }

  fs::path dir_;
};

TEST_F(LossLedgerTest, LostRecordsAddUpToTheCountersLastValues) {
  auto writer = create("grow.flare");
  ASSERT_TRUE(writer);
  LossLedger ledger;
  EXPECT_EQ(ledger.write_growth(*writer, "ring", LostCause::kRingBufferFull, {3, 0}), 3u);
  ASSERT_TRUE(writer->flush().is_ok());
  EXPECT_EQ(ledger.write_growth(*writer, "ring", LostCause::kRingBufferFull, {5, 2}), 7u);
  // Unchanged counters write nothing.
  EXPECT_EQ(ledger.write_growth(*writer, "ring", LostCause::kRingBufferFull, {5, 2}), 7u);
  // Another counter of the same cause keeps its own account.
  EXPECT_EQ(ledger.write_growth(*writer, "other_ring", LostCause::kRingBufferFull, {1, 1}), 2u);
  // Kept for all CPUs together.
  EXPECT_EQ(ledger.write_growth_all_cpus(*writer, "misses", LostCause::kOffCpuUntracked, 4), 4u);
  EXPECT_EQ(ledger.write_growth_all_cpus(*writer, "misses", LostCause::kOffCpuUntracked, 9), 9u);
  // An estimate that goes down writes nothing until it passes what was written.
  EXPECT_EQ(ledger.write_growth(*writer, "ticks", LostCause::kSamplerTicksMissed, {10}), 10u);
  EXPECT_EQ(ledger.write_growth(*writer, "ticks", LostCause::kSamplerTicksMissed, {8}), 10u);
  EXPECT_EQ(ledger.write_growth(*writer, "ticks", LostCause::kSamplerTicksMissed, {12}), 12u);
  // A stack that could not be read degrades an event without losing it.
  EXPECT_EQ(ledger.write_growth(*writer, "stacks", LostCause::kUserStackFailed, {6}), 6u);
  EXPECT_EQ(ledger.events_lost(), 7u + 2u + 9u);
  ASSERT_TRUE(writer->finish().is_ok());

  const rec::Recording r = read(path("grow.flare"));
  EXPECT_TRUE(r.header.losses_at_flush);
  EXPECT_TRUE(r.losses_known());
  auto sums = lost_by_cause_and_cpu(r);
  EXPECT_EQ((sums[{LostCause::kRingBufferFull, 0}]), 5u + 1u);
  EXPECT_EQ((sums[{LostCause::kRingBufferFull, 1}]), 2u + 1u);
  EXPECT_EQ((sums[{LostCause::kOffCpuUntracked, rec::kLostCpuUnknown}]), 9u);
  EXPECT_EQ((sums[{LostCause::kSamplerTicksMissed, 0}]), 12u);
  EXPECT_EQ((sums[{LostCause::kUserStackFailed, 0}]), 6u);
  for (const rec::LostRecord& l : r.lost) EXPECT_GT(l.count, 0u) << "only growth is written";
}

// A file cut after a flush (a crash, a flight chunk still being written)
// holds the losses up to that flush, and says the counts are known.
TEST_F(LossLedgerTest, AnUnfinishedFileHoldsTheLossesOfItsLastBlock) {
  auto writer = create("cut.flare");
  ASSERT_TRUE(writer);
  LossLedger ledger;
  ledger.write_growth(*writer, "ring", LostCause::kRingBufferFull, {4, 1});
  ASSERT_TRUE(writer->flush().is_ok());
  ledger.write_growth(*writer, "ring", LostCause::kRingBufferFull, {40, 10});  // never flushed
  const rec::Recording r = read(path("cut.flare") + ".partial", /*salvage=*/true);
  EXPECT_FALSE(r.finalized);
  auto sums = lost_by_cause_and_cpu(r);
  EXPECT_EQ((sums[{LostCause::kRingBufferFull, 0}]), 4u);
  EXPECT_EQ((sums[{LostCause::kRingBufferFull, 1}]), 1u);
  EXPECT_TRUE(r.losses_known());
  const std::string info = info_text(r);
  EXPECT_NE(info.find("Lost:        5 events"), std::string::npos) << info;
  EXPECT_EQ(info.find("not known"), std::string::npos) << info;
  writer->abandon();
}

// Before 2.5 the counts were written when a capture ended: an unfinished
// file of that kind must not claim that nothing was dropped.
TEST_F(LossLedgerTest, InfoDoesNotClaimNothingDroppedWhenItCannotKnow) {
  auto writer = create("old.flare", /*losses_at_flush=*/false);
  ASSERT_TRUE(writer);
  writer->add_thread_event({1'100'000'000, rec::ThreadEventKind::kStart, 10, 11});
  ASSERT_TRUE(writer->flush().is_ok());
  const rec::Recording cut = read(path("old.flare") + ".partial", /*salvage=*/true);
  EXPECT_FALSE(cut.losses_known());
  std::string info = info_text(cut);
  EXPECT_EQ(info.find("nothing dropped"), std::string::npos) << info;
  EXPECT_NE(info.find("drop counts not known"), std::string::npos) << info;

  // The same kind of file with its end statistics knows its counts.
  writer->add_stat("capture_duration_ns", 1'000'000'000);
  ASSERT_TRUE(writer->finish().is_ok());
  const rec::Recording ended = read(path("old.flare"));
  EXPECT_TRUE(ended.losses_known());
  info = info_text(ended);
  EXPECT_NE(info.find("nothing dropped"), std::string::npos) << info;
}

}  // namespace
}  // namespace flare::agent
