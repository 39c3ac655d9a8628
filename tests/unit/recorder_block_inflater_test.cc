// The reader decompresses blocks of a large file on a second thread
// (recorder/block_inflater.h). Whatever that thread does, the reader must
// return the same recording, and stop at the same block of a damaged file,
// as reading it all on one thread: every sample of the intact prefix, in
// order, and nothing of the block that failed or after it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "recorder/reader.h"
#include "recorder/writer.h"

namespace flare::rec {
namespace {

namespace fs = std::filesystem;

class BlockInflaterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path =
        (fs::temp_directory_path() / ("flare-inflater-test-" + std::to_string(getpid()) + ".flare")).string();
    FileHeader h;
    h.flare_version = "test";
    h.events = "cpu";
    h.sample_period_ns = 1'000'000;
    // Short blocks, many of them; random times and stacks keep the file
    // well above the size at which the reader starts its thread (1 MiB).
    auto writer = RecordingWriter::create(path, h, {.flush_interval_ns = 50'000'000});
    ASSERT_TRUE(writer.is_ok()) << writer.status().message();
    RecordingWriter& w = **writer;
    std::mt19937_64 rng(7);
    std::vector<uint32_t> stacks;
    uint64_t generation = UINT64_MAX;
    uint64_t t = 1000;
    for (int i = 0; i < kSamples; ++i) {
      if (w.generation() != generation) {
        stacks.clear();
        for (uint32_t s = 0; s < 64; ++s) {
          std::vector<uint32_t> frames;
          for (uint32_t d = 0; d < 8; ++d) {
            FrameInfo f;
            f.address = 0x400000 + 16 * (s * 8 + d);
            f.function = w.intern_string("fn_" + std::to_string(s * 8 + d));
            frames.push_back(w.add_frame(f));
          }
          stacks.push_back(w.intern_stack(frames));
        }
        generation = w.generation();
      }
      t += 1 + rng() % 2'000'000;
      CpuSample s{t, static_cast<uint32_t>(100 + rng() % 8), stacks[rng() % stacks.size()],
                  static_cast<uint16_t>(rng() % 2)};
      w.add_cpu_sample(s);
      written_.push_back(s);
      ASSERT_TRUE(w.maybe_flush(t).is_ok());
    }
    ASSERT_TRUE(w.finish().is_ok());
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    bytes_ = ss.str();
    fs::remove(path);
  }

  // The samples read are the first ones written, time and thread alike.
  static void expect_prefix(const Recording& rec) {
    ASSERT_LE(rec.samples.size(), written_.size());
    for (size_t i = 0; i < rec.samples.size(); ++i) {
      ASSERT_EQ(rec.samples[i].time_ns, written_[i].time_ns) << i;
      ASSERT_EQ(rec.samples[i].tid, written_[i].tid) << i;
    }
  }

  static constexpr int kSamples = 400'000;
  static inline std::string bytes_;
  static inline std::vector<CpuSample> written_;
};

TEST_F(BlockInflaterTest, LargeFileReadsWhole) {
  ASSERT_GT(bytes_.size(), size_t{1} << 20);
  auto rec = parse_recording(bytes_);
  ASSERT_TRUE(rec.is_ok()) << rec.status().message();
  EXPECT_EQ(rec->samples.size(), written_.size());
  EXPECT_GT(rec->blocks_read, 20u);
  expect_prefix(*rec);
}

TEST_F(BlockInflaterTest, DamagedPayloadStopsAtItsBlock) {
  for (size_t at : {bytes_.size() / 5, bytes_.size() / 2, bytes_.size() - 100}) {
    std::string damaged = bytes_;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x5a);
    EXPECT_FALSE(parse_recording(damaged).is_ok()) << at;
    auto rec = parse_recording(damaged, {.salvage = true});
    ASSERT_TRUE(rec.is_ok()) << rec.status().message();
    EXPECT_TRUE(rec->truncation.truncated) << at;
    EXPECT_LE(rec->truncation.offset, at) << rec->truncation.reason;
    EXPECT_LT(rec->samples.size(), written_.size()) << rec->truncation.reason;
    expect_prefix(*rec);
  }
}

TEST_F(BlockInflaterTest, CutFileKeepsItsIntactBlocks) {
  std::string cut = bytes_.substr(0, bytes_.size() * 3 / 4);
  auto rec = parse_recording(cut, {.salvage = true});
  ASSERT_TRUE(rec.is_ok()) << rec.status().message();
  EXPECT_TRUE(rec->truncation.truncated);
  EXPECT_NE(rec->truncation.reason.find("incomplete block"), std::string::npos) << rec->truncation.reason;
  EXPECT_GT(rec->samples.size(), written_.size() / 2);
  EXPECT_LT(rec->samples.size(), written_.size());
  expect_prefix(*rec);
}

}  // namespace
}  // namespace flare::rec
