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

#include <zstd.h>

#include "recorder/byte_io.h"
#include "recorder/format.h"
#include "recorder/reader.h"
#include "recorder/sample_batch.h"
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

// One block of sample batches, the second of them `bad`, after a 1 MiB
// block of a kind this reader skips (so that the file is large enough for
// the inflater's thread): batches decoded ahead must fail exactly as
// batches decoded inline do.
std::string file_with_batches(const std::string& second_batch) {
  auto writer = RecordingWriter::create((fs::temp_directory_path() / "flare-inflater-empty.flare").string(), {});
  EXPECT_TRUE(writer.is_ok());
  EXPECT_TRUE((*writer)->finish().is_ok());
  std::ifstream f(fs::temp_directory_path() / "flare-inflater-empty.flare", std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string bytes = ss.str();
  fs::remove(fs::temp_directory_path() / "flare-inflater-empty.flare");

  auto block = [](BlockKind kind, const std::string& payload, uint32_t raw_len) {
    ByteWriter b;
    b.u32(kBlockMagic);
    b.u8(static_cast<uint8_t>(kind));
    b.u8(kBlockChunkStart);
    b.u16(0);
    b.u32(0);
    b.u32(0);
    b.u64(0);
    b.u64(0);
    b.u32(static_cast<uint32_t>(payload.size()));
    b.u32(raw_len);
    b.u32(crc32_of(payload));
    b.u32(crc32_of(b.data()));
    b.raw(payload);
    return std::string(b.data());
  };
  auto record = [](ByteWriter& out, RecordType type, std::string_view body) {
    out.varint(static_cast<uint32_t>(type));
    out.bytes(body);
  };
  ByteWriter records, body;
  body.varint(1);  // frame 1 at address 0x10
  for (int i = 0; i < 7; ++i) body.varint(i == 0 ? 0x10 : 0);
  record(records, RecordType::kFrame, body.data());
  body.clear();
  body.varint(1);  // stack 1 = [frame 1]
  body.varint(1);
  body.varint(1);
  record(records, RecordType::kStack, body.data());
  std::vector<CpuSample> samples;
  for (uint64_t i = 0; i < 1000; ++i) samples.push_back({1000 + i * 1000, 7, 1, 0});
  body.clear();
  encode_sample_batch(samples, 1000, body);
  record(records, RecordType::kCpuSampleBatch, body.data());
  record(records, RecordType::kCpuSampleBatch, second_batch);

  std::string compressed(ZSTD_compressBound(records.size()), '\0');
  compressed.resize(ZSTD_compress(compressed.data(), compressed.size(), records.data().data(), records.size(), 1));
  std::mt19937_64 rng(3);
  std::string padding(size_t{1} << 20, '\0');
  for (char& c : padding) c = static_cast<char>(rng());
  std::string blocks = block(static_cast<BlockKind>(9), padding, static_cast<uint32_t>(padding.size())) +
                       block(BlockKind::kData, compressed, static_cast<uint32_t>(records.size()));
  bytes.insert(bytes.size() - kBlockHeaderSize, blocks);
  return bytes;
}

std::string batch_of(uint32_t stack) {
  ByteWriter body;
  std::vector<CpuSample> samples;
  for (uint64_t i = 0; i < 500; ++i) samples.push_back({5'000'000 + i * 1000, 8, stack, 1});
  encode_sample_batch(samples, 1000, body);
  return std::string(body.data());
}

TEST(BlockInflaterBatches, DecodedAheadAsInline) {
  auto good = parse_recording(file_with_batches(batch_of(1)));
  ASSERT_TRUE(good.is_ok()) << good.status().message();
  ASSERT_EQ(good->samples.size(), 1500u);
  EXPECT_EQ(good->samples[0].time_ns, 1000u);
  EXPECT_EQ(good->samples[1000].time_ns, 5'000'000u);
  EXPECT_EQ(good->samples[1499].tid, 8u);
  EXPECT_EQ(good->stack(good->samples[1499].stack).size(), 1u);

  auto undefined = parse_recording(file_with_batches(batch_of(5)));
  ASSERT_FALSE(undefined.is_ok());
  EXPECT_NE(undefined.status().message().find("undefined stack"), std::string::npos) << undefined.status().message();

  std::string malformed = batch_of(1);
  malformed.resize(malformed.size() / 2);
  auto bad = parse_recording(file_with_batches(malformed));
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kCorruptData);
  EXPECT_NE(bad.status().message().find("bad cpu sample batch"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace flare::rec
