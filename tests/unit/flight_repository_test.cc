// The flight recorder's repository without BPF: chunk file names and
// listing, retention, the lock file, a writer rotating chunk files (each a
// complete recording, pools restarting per file, ended threads forgotten),
// the dump that joins them.
#include "recorder/flight_repository.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "recorder/flight_dump.h"
#include "recorder/reader.h"
#include "recorder/writer.h"

namespace flare::rec {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kSecond = 1'000'000'000ull;
constexpr uint64_t kBaseRealtime = 1'795'000'000ull * kSecond;  // 2026-11-18 11:06:40 UTC

class FlightRepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("flare-flight-test-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir() const { return dir_.string(); }
  void touch(const std::string& name, size_t bytes = 10) {
    std::ofstream(dir_ / name) << std::string(bytes, 'x');
  }

  fs::path dir_;
};

TEST_F(FlightRepositoryTest, ChunkNamesSortByTimeAndParseBack) {
  EXPECT_EQ(utc_stamp(kBaseRealtime + 123'456'789), "20261118T110640.123Z");
  EXPECT_EQ(chunk_file_name(kBaseRealtime, 7), "chunk-20261118T110640.000Z-000007.flare");
  touch(chunk_file_name(kBaseRealtime + 2 * kSecond, 0) + ".partial");
  touch(chunk_file_name(kBaseRealtime, 11));
  touch(chunk_file_name(kBaseRealtime, 9));
  touch("dump-20261118T110640.000Z.flare");
  touch("flight.lock");
  touch("chunk-garbage.flare");
  auto chunks = list_chunk_files(dir());
  ASSERT_TRUE(chunks.is_ok()) << chunks.status().message();
  ASSERT_EQ(chunks->size(), 3u);
  EXPECT_EQ((*chunks)[0].sequence, 9u);
  EXPECT_EQ((*chunks)[1].sequence, 11u);
  EXPECT_EQ((*chunks)[2].start_realtime_ns, kBaseRealtime + 2 * kSecond);
  EXPECT_TRUE((*chunks)[0].complete);
  EXPECT_FALSE((*chunks)[2].complete);
  EXPECT_EQ((*chunks)[0].start_realtime_ns, kBaseRealtime);
  EXPECT_EQ((*chunks)[0].bytes, 10u);
}

std::vector<ChunkFile> chunks_of(std::vector<std::pair<uint64_t, uint64_t>> modified_and_bytes) {
  std::vector<ChunkFile> chunks;
  for (auto [modified, bytes] : modified_and_bytes) {
    ChunkFile c;
    c.modified_realtime_ns = modified;
    c.bytes = bytes;
    chunks.push_back(c);
  }
  return chunks;
}

TEST(FlightRetentionTest, DeletesWholeChunksOlderThanMaxAge) {
  const uint64_t now = kBaseRealtime + 100 * kSecond;
  auto chunks = chunks_of({{now - 40 * kSecond, 1}, {now - 31 * kSecond, 1}, {now - 29 * kSecond, 1}, {now, 1}});
  EXPECT_EQ(chunks_to_delete(chunks, {.max_age_ns = 30 * kSecond}, now), (std::vector<size_t>{0, 1}));
  EXPECT_TRUE(chunks_to_delete(chunks, {.max_age_ns = 60 * kSecond}, now).empty());
  EXPECT_TRUE(chunks_to_delete(chunks, {}, now).empty()) << "no limits, nothing deleted";
}

TEST(FlightRetentionTest, DeletesOldestChunksWhileOverMaxSize) {
  const uint64_t now = kBaseRealtime;
  auto chunks = chunks_of({{now, 400}, {now, 300}, {now, 200}, {now, 100}});
  EXPECT_EQ(chunks_to_delete(chunks, {.max_bytes = 350}, now), (std::vector<size_t>{0, 1}));
  EXPECT_EQ(chunks_to_delete(chunks, {.max_bytes = 600}, now), (std::vector<size_t>{0}));
  EXPECT_TRUE(chunks_to_delete(chunks, {.max_bytes = 1000}, now).empty());
}

TEST(FlightRetentionTest, NeverDeletesTheChunkBeingWritten) {
  const uint64_t now = kBaseRealtime + 100 * kSecond;
  auto chunks = chunks_of({{now - 90 * kSecond, 500}, {now - 80 * kSecond, 500}});
  EXPECT_EQ(chunks_to_delete(chunks, {.max_age_ns = kSecond, .max_bytes = 1}, now), (std::vector<size_t>{0}));
  EXPECT_TRUE(chunks_to_delete(chunks_of({{0, 500}}), {.max_age_ns = kSecond, .max_bytes = 1}, now).empty());
}

TEST_F(FlightRepositoryTest, LockTellsALiveFlightFromADeadOne) {
  {
    auto none = read_flight_owner(dir());
    ASSERT_TRUE(none.is_ok());
    EXPECT_FALSE(none->has_value());
  }
  {
    auto lock = FlightLock::acquire(dir(), 4242);
    ASSERT_TRUE(lock.is_ok()) << lock.status().message();
    auto second = FlightLock::acquire(dir(), 4243);
    ASSERT_FALSE(second.is_ok());
    EXPECT_NE(second.status().message().find("already writes"), std::string::npos) << second.status().message();
    auto owner = read_flight_owner(dir());
    ASSERT_TRUE(owner.is_ok() && owner->has_value());
    EXPECT_TRUE((*owner)->alive);
    EXPECT_EQ((*owner)->pid, static_cast<uint32_t>(getpid()));
    EXPECT_EQ((*owner)->target_pid, 4242u);
    EXPECT_GT((*owner)->started_realtime_ns, kBaseRealtime);
  }
  auto owner = read_flight_owner(dir());
  ASSERT_TRUE(owner.is_ok() && owner->has_value());
  EXPECT_FALSE((*owner)->alive) << "the lock is released when its owner goes";
  EXPECT_EQ((*owner)->target_pid, 4242u);
}

// Names chunk files like the flight command and records what it was told.
class TestSink : public ChunkFileSink {
 public:
  explicit TestSink(std::string dir) : dir_(std::move(dir)) {}
  std::string next_chunk_path(uint64_t start_realtime_ns) override {
    return dir_ + "/" + chunk_file_name(start_realtime_ns, sequence_++);
  }
  void closing_chunk(RecordingWriter& writer) override { writer.add_stat("closing_chunk", ++closed_); }
  void chunk_finished(const std::string& path) override { finished.push_back(path); }
  std::vector<std::string> finished;

 private:
  std::string dir_;
  uint32_t sequence_ = 0;
  uint64_t closed_ = 0;
};

FileHeader test_header() {
  FileHeader h;
  h.targets = {{10, "app"}};
  h.events = "cpu";
  h.sample_frequency_hz = 100;
  h.sample_period_ns = 10'000'000;
  h.clock_monotonic_ns = kSecond;
  h.clock_realtime_ns = kBaseRealtime;
  return h;
}

// 10 s of samples at 100 Hz, a new chunk file every second; one
// short-lived thread per second.
void write_rotating(const std::string& dir, TestSink& sink) {
  WriterOptions options;
  options.flush_interval_ns = 250'000'000;
  options.chunk_duration_ns = kSecond;
  options.chunk_files = &sink;
  auto writer = RecordingWriter::create(sink.next_chunk_path(kBaseRealtime), test_header(), options);
  ASSERT_TRUE(writer.is_ok()) << writer.status().message();
  RecordingWriter& w = **writer;
  uint64_t generation = UINT64_MAX;
  uint32_t stack = 0;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t t = kSecond + static_cast<uint64_t>(i) * 10'000'000;
    const uint32_t short_lived = 100 + static_cast<uint32_t>(i / 100);
    if (w.generation() != generation) {
      generation = w.generation();
      uint32_t mapping = w.add_mapping({10, 0x1000, 0x9000, 0, w.intern_string("/bin/app"), 0});
      FrameInfo f;
      f.address = 0x1234;
      f.mapping = mapping;
      f.function = w.intern_string("work");
      f.flags = kFrameResolved;
      uint32_t frame = w.add_frame(f);
      stack = w.intern_stack({&frame, 1});
    }
    // As the agent does: every event names its thread.
    w.set_thread(10, short_lived, "short");
    w.set_thread(10, 11, "main");
    w.add_cpu_sample({t, i % 2 ? 11u : short_lived, stack, 0});
    if (i % 100 == 99) w.add_thread_event({t, ThreadEventKind::kEnd, 10, short_lived});
    ASSERT_TRUE(w.maybe_flush(t).is_ok());
  }
  ASSERT_TRUE(w.finish().is_ok());
  (void)dir;
}

TEST_F(FlightRepositoryTest, RotatingWriterWritesSelfContainedChunkFiles) {
  TestSink sink(dir());
  write_rotating(dir(), sink);
  auto chunks = list_chunk_files(dir());
  ASSERT_TRUE(chunks.is_ok());
  ASSERT_GE(chunks->size(), 9u);
  ASSERT_LE(chunks->size(), 11u);
  EXPECT_EQ(sink.finished.size(), chunks->size());
  size_t samples = 0;
  for (const ChunkFile& c : *chunks) {
    EXPECT_TRUE(c.complete) << c.path;
    // Each file alone: complete, finalized, every id defined in it.
    auto rec = read_recording(c.path);
    ASSERT_TRUE(rec.is_ok()) << c.path << ": " << rec.status().message();
    EXPECT_TRUE(rec->finalized);
    EXPECT_EQ(rec->chunks.size(), 1u);
    EXPECT_GT(rec->stat("closing_chunk"), 0u);
    for (const CpuSample& s : rec->samples) {
      ASSERT_EQ(rec->stack(s.stack).size(), 1u);
      EXPECT_EQ(rec->str(rec->frames[rec->stack(s.stack)[0]].function), "work");
      ASSERT_TRUE(rec->threads.count(s.tid)) << "thread " << s.tid << " undefined in " << c.path;
    }
    // The clock pair marks the file's own start, so its events come after it.
    if (!rec->samples.empty()) {
      EXPECT_LE(rec->header.clock_monotonic_ns, rec->samples.front().time_ns + 300'000'000);
    }
    // Ended threads are forgotten one chunk after their end: a chunk
    // names the main thread and at most the short-lived threads of its own
    // and the previous second.
    EXPECT_LE(rec->threads.size(), 3u) << c.path;
    samples += rec->samples.size();
  }
  EXPECT_EQ(samples, 1000u);
}

TEST_F(FlightRepositoryTest, DumpJoinsChunksAndCutsTheLastDuration) {
  TestSink sink(dir());
  write_rotating(dir(), sink);
  // A killed flight process leaves its newest chunk unfinished: cut its
  // file in the middle of its last data block (before the 48-byte end
  // block) and name it .partial.
  auto chunks = list_chunk_files(dir());
  ASSERT_TRUE(chunks.is_ok());
  const std::string newest = chunks->back().path;
  const auto size = fs::file_size(newest);
  fs::resize_file(newest, size - 48 - 10);
  fs::rename(newest, newest + ".partial");

  const std::string all = (dir_ / "all.flare").string();
  auto summary = dump_flight(dir(), all);
  ASSERT_TRUE(summary.is_ok()) << summary.status().message();
  EXPECT_EQ(summary->chunks, chunks->size());
  EXPECT_TRUE(summary->skipped.empty());
  auto joined = read_recording(all);
  ASSERT_TRUE(joined.is_ok()) << joined.status().message();
  EXPECT_TRUE(joined->finalized);
  // The cut block of the newest chunk is lost (at most one flush, 25 samples).
  EXPECT_GE(joined->samples.size(), 975u);
  EXPECT_LT(joined->samples.size(), 1000u);
  EXPECT_EQ(joined->samples.front().time_ns, kSecond);
  // Statistics of the newest chunk that has them (the cut one lost its own).
  EXPECT_EQ(joined->stat("closing_chunk"), chunks->size() - 1);

  const std::string last = (dir_ / "last.flare").string();
  summary = dump_flight(dir(), last, {.last_ns = 3 * kSecond});
  ASSERT_TRUE(summary.is_ok()) << summary.status().message();
  auto cut = read_recording(last);
  ASSERT_TRUE(cut.is_ok());
  ASSERT_FALSE(cut->samples.empty());
  const uint64_t span = cut->samples.back().time_ns - cut->samples.front().time_ns;
  EXPECT_LE(span, 3 * kSecond);
  EXPECT_GE(span, 3 * kSecond - 20'000'000);
  EXPECT_LE(summary->chunks, 5u) << "chunks wholly before the window are not joined";

  EXPECT_FALSE(dump_flight((dir_ / "missing").string(), last).is_ok());
}

}  // namespace
}  // namespace flare::rec
