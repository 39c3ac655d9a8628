// Writer -> reader round trips, pool interning, chunk self-containment, and
// the reader's refusal of corrupt, truncated and future-version files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "recorder/byte_io.h"
#include "recorder/format.h"
#include "recorder/reader.h"
#include "recorder/writer.h"

namespace flare::rec {
namespace {

namespace fs = std::filesystem;

class RecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("flare-recorder-test-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) { return (dir_ / name).string(); }

  static FileHeader header() {
    FileHeader h;
    h.flare_version = "test";
    h.hostname = "host";
    h.kernel_release = "6.18";
    h.targets = {{42, "./app --flag"}, {43, "other"}};
    h.events = "cpu";
    h.sample_frequency_hz = 99;
    h.sample_period_ns = 1000000000ull / 99;
    h.clock_monotonic_ns = 1000;
    h.clock_realtime_ns = 1700000000000000000ull;
    return h;
  }

  // Writes a small recording: two stacks sharing frames, two threads.
  std::string write_sample_file(const std::string& name, WriterOptions options = {}, int samples = 100) {
    auto writer = RecordingWriter::create(path(name), header(), options);
    EXPECT_TRUE(writer.is_ok()) << writer.status().message();
    RecordingWriter& w = **writer;
    MappingInfo m{42, 0x400000, 0x500000, 0x1000, w.intern_string("/usr/bin/app"), w.intern_string("abcdef")};
    uint32_t mapping = w.add_mapping(m);
    auto frame = [&](const char* fn, uint64_t addr) {
      FrameInfo f;
      f.address = addr;
      f.mapping = mapping;
      f.function = w.intern_string(fn);
      f.file = w.intern_string("app.c");
      f.line = 7;
      f.flags = kFrameResolved;
      return w.add_frame(f);
    };
    uint32_t leaf = frame("leaf", 0x401000), mid = frame("mid", 0x402000), root = frame("main", 0x403000);
    std::vector<uint32_t> s1{leaf, mid, root}, s2{mid, root};
    uint32_t stack1 = w.intern_stack(s1), stack2 = w.intern_stack(s2);
    EXPECT_EQ(w.intern_stack(s1), stack1);  // interned
    EXPECT_NE(stack1, stack2);
    w.set_thread({42, 42, w.intern_string("main")});
    w.set_thread({42, 43, w.intern_string("worker")});
    for (int i = 0; i < samples; ++i) {
      uint64_t t = 5000 + static_cast<uint64_t>(i) * 10'000'000;
      w.add_cpu_sample({t, i % 3 == 0 ? 43u : 42u, i % 2 ? stack1 : stack2, static_cast<uint16_t>(i % 2)});
      EXPECT_TRUE(w.maybe_flush(t).is_ok());
    }
    w.add_lost({LostCause::kRingBufferFull, 1, 5});
    w.add_stat("samples_received", samples);
    EXPECT_TRUE(w.finish().is_ok());
    EXPECT_FALSE(fs::exists(path(name) + ".partial"));
    return path(name);
  }

  static std::string slurp(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  fs::path dir_;
};

TEST_F(RecorderTest, RoundTripKeepsEverything) {
  std::string file = write_sample_file("a.flare");
  auto rec = read_recording(file);
  ASSERT_TRUE(rec.is_ok()) << rec.status().message();
  EXPECT_TRUE(rec->finalized);
  EXPECT_EQ(rec->header.hostname, "host");
  EXPECT_EQ(rec->header.kernel_release, "6.18");
  ASSERT_EQ(rec->header.targets.size(), 2u);
  EXPECT_EQ(rec->header.targets[0].pid, 42u);
  EXPECT_EQ(rec->header.targets[0].command_line, "./app --flag");
  EXPECT_EQ(rec->header.sample_frequency_hz, 99u);
  EXPECT_EQ(rec->header.clock_realtime_ns, 1700000000000000000ull);
  ASSERT_EQ(rec->samples.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    const CpuSample& s = rec->samples[i];
    EXPECT_EQ(s.time_ns, 5000 + static_cast<uint64_t>(i) * 10'000'000);
    EXPECT_EQ(s.tid, i % 3 == 0 ? 43u : 42u);
    EXPECT_EQ(s.cpu, i % 2);
    auto frames = rec->stack(s.stack);
    ASSERT_EQ(frames.size(), i % 2 ? 3u : 2u);
    EXPECT_EQ(rec->str(rec->frames[frames.back()].function), "main");
    EXPECT_EQ(rec->str(rec->frames[frames.front()].function), i % 2 ? "leaf" : "mid");
  }
  const FrameInfo& leaf = rec->frames[rec->stack(rec->samples[1].stack)[0]];
  EXPECT_EQ(leaf.address, 0x401000u);
  EXPECT_EQ(leaf.line, 7u);
  EXPECT_EQ(rec->str(leaf.file), "app.c");
  const MappingInfo& m = rec->mappings[leaf.mapping];
  EXPECT_EQ(rec->str(m.path), "/usr/bin/app");
  EXPECT_EQ(rec->str(m.build_id), "abcdef");
  EXPECT_EQ(m.file_offset, 0x1000u);
  EXPECT_EQ(rec->str(rec->threads.at(43).name), "worker");
  ASSERT_EQ(rec->lost.size(), 1u);
  EXPECT_EQ(rec->lost[0].count, 5u);
  EXPECT_EQ(rec->stat("samples_received"), 100u);
}

// A chunk must define every pool entry it references: a file made of the
// header, any single chunk's blocks and the end block reads on its own.
TEST_F(RecorderTest, EveryChunkIsSelfContained) {
  WriterOptions options;
  options.flush_interval_ns = 50'000'000;   // a block every 5 samples
  options.chunk_duration_ns = 200'000'000;  // a new chunk every ~4 blocks
  std::string bytes = slurp(write_sample_file("chunks.flare", options, 200));

  ByteReader in(bytes);
  in.raw(kFileMagic.size());
  in.u16();
  in.u16();
  in.raw(in.u32());
  in.u32();
  const std::string header_bytes = bytes.substr(0, in.pos());
  struct Block {
    uint32_t chunk;
    BlockKind kind;
    std::string bytes;
  };
  std::vector<Block> blocks;
  while (!in.at_end()) {
    size_t start = in.pos();
    in.raw(4);
    auto kind = static_cast<BlockKind>(in.u8());
    in.raw(3);
    uint32_t chunk = in.u32();
    in.raw(4 + 8 + 8);
    uint32_t clen = in.u32();
    in.raw(12 + clen);
    ASSERT_FALSE(in.failed());
    blocks.push_back({chunk, kind, bytes.substr(start, in.pos() - start)});
  }
  ASSERT_EQ(blocks.back().kind, BlockKind::kEnd);
  const uint32_t chunks = blocks[blocks.size() - 2].chunk + 1;
  ASSERT_GE(chunks, 4u);

  // Block sequence numbers and the header checksum are rewritten so that the
  // extracted chunk is a valid file on its own.
  auto renumbered = [](std::string block, uint32_t seq) {
    ByteWriter w;
    w.u32(seq);
    block.replace(12, 4, w.data());
    ByteWriter crc;
    crc.u32(crc32_of(std::string_view(block).substr(0, kBlockHeaderSize - 4)));
    block.replace(kBlockHeaderSize - 4, 4, crc.data());
    return block;
  };
  size_t total_samples = 0;
  for (uint32_t chunk = 0; chunk < chunks; ++chunk) {
    std::string file = header_bytes;
    uint32_t seq = 0;
    for (const Block& b : blocks) {
      if (b.kind == BlockKind::kData && b.chunk == chunk) file += renumbered(b.bytes, seq++);
    }
    file += renumbered(blocks.back().bytes, seq);
    auto rec = parse_recording(file);
    ASSERT_TRUE(rec.is_ok()) << "chunk " << chunk << ": " << rec.status().message();
    for (const CpuSample& s : rec->samples) {
      ASSERT_FALSE(rec->stack(s.stack).empty());
      EXPECT_EQ(rec->str(rec->frames[rec->stack(s.stack).back()].function), "main");
      EXPECT_TRUE(rec->threads.count(s.tid));
    }
    total_samples += rec->samples.size();
  }
  EXPECT_EQ(total_samples, 200u);
}

TEST_F(RecorderTest, TruncatedFileIsRefusedWithClearError) {
  std::string bytes = slurp(write_sample_file("t.flare"));
  for (size_t cut : {bytes.size() - 1, bytes.size() / 2, size_t{20}, size_t{3}}) {
    auto rec = parse_recording(std::string_view(bytes).substr(0, cut));
    ASSERT_FALSE(rec.is_ok()) << "cut at " << cut;
    EXPECT_EQ(rec.status().code(), ErrorCode::kCorruptData);
    EXPECT_NE(rec.status().message().find_first_of("tnb"), std::string::npos);
  }
}

TEST_F(RecorderTest, SalvageReadsUpToLastCompleteBlock) {
  WriterOptions options;
  options.flush_interval_ns = 100'000'000;
  std::string bytes = slurp(write_sample_file("s.flare", options, 100));
  auto full = parse_recording(bytes);
  ASSERT_TRUE(full.is_ok());
  auto rec = parse_recording(std::string_view(bytes).substr(0, bytes.size() * 2 / 3), {.salvage = true});
  ASSERT_TRUE(rec.is_ok()) << rec.status().message();
  EXPECT_FALSE(rec->finalized);
  EXPECT_GT(rec->samples.size(), 30u);
  EXPECT_LT(rec->samples.size(), 100u);
  EXPECT_GT(rec->trailing_bytes_ignored, 0u);
  for (size_t i = 0; i < rec->samples.size(); ++i) {
    EXPECT_EQ(rec->samples[i].time_ns, full->samples[i].time_ns);
  }
}

TEST_F(RecorderTest, CorruptByteIsDetected) {
  std::string bytes = slurp(write_sample_file("c.flare"));
  for (size_t pos : {size_t{4}, size_t{30}, bytes.size() / 2, bytes.size() - 60}) {
    std::string bad = bytes;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x5a);
    auto rec = parse_recording(bad);
    EXPECT_FALSE(rec.is_ok()) << "flip at " << pos;
  }
}

TEST_F(RecorderTest, NewerMajorVersionIsRefused) {
  std::string bytes = slurp(write_sample_file("v.flare"));
  bytes[kFileMagic.size()] = static_cast<char>(kFormatMajor + 1);
  auto rec = parse_recording(bytes);
  ASSERT_FALSE(rec.is_ok());
  EXPECT_EQ(rec.status().code(), ErrorCode::kUnsupported);
  EXPECT_NE(rec.status().message().find("newer flare"), std::string::npos);
}

TEST_F(RecorderTest, AbandonLeavesNoFile) {
  auto writer = RecordingWriter::create(path("gone.flare"), header());
  ASSERT_TRUE(writer.is_ok());
  EXPECT_TRUE(fs::exists(path("gone.flare.partial")));
  (*writer)->abandon();
  EXPECT_FALSE(fs::exists(path("gone.flare.partial")));
  EXPECT_FALSE(fs::exists(path("gone.flare")));
}

TEST_F(RecorderTest, UnwritablePathFailsAtCreate) {
  auto writer = RecordingWriter::create(path("no/such/dir/x.flare"), header());
  ASSERT_FALSE(writer.is_ok());
  EXPECT_NE(writer.status().message().find("cannot create output file"), std::string::npos);
}

TEST(ByteIo, VarintsRoundTrip) {
  ByteWriter w;
  const uint64_t values[] = {0, 1, 127, 128, 300, 1ull << 35, UINT64_MAX};
  for (uint64_t v : values) w.varint(v);
  const int64_t signed_values[] = {0, -1, 1, -64, 64, INT64_MIN, INT64_MAX};
  for (int64_t v : signed_values) w.svarint(v);
  ByteReader r(w.data());
  for (uint64_t v : values) EXPECT_EQ(r.varint(), v);
  for (int64_t v : signed_values) EXPECT_EQ(r.svarint(), v);
  EXPECT_TRUE(r.at_end());
  EXPECT_FALSE(r.failed());
  EXPECT_EQ(r.varint(), 0u);
  EXPECT_TRUE(r.failed());
}

}  // namespace
}  // namespace flare::rec
