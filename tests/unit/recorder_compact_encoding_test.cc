// The compact encodings of format 2.0: the columnar cpu_sample_batch record
// (sample_batch.h) and stack_delta records built from the writer's StackTrie.
// Each must give back exactly what was written, for the awkward inputs real
// captures produce: times going backwards across CPUs, missed timer ticks,
// stacks that share root-side frames or are suffixes of one another.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include <zstd.h>

#include <fstream>
#include <sstream>

#include "recorder/byte_io.h"
#include "recorder/format.h"
#include "recorder/reader.h"
#include "recorder/sample_batch.h"
#include "recorder/stack_trie.h"
#include "recorder/writer.h"

namespace flare::rec {
namespace {

namespace fs = std::filesystem;

bool same(const CpuSample& a, const CpuSample& b) {
  return a.time_ns == b.time_ns && a.tid == b.tid && a.stack == b.stack && a.cpu == b.cpu;
}

std::vector<CpuSample> round_trip(const std::vector<CpuSample>& samples, uint64_t period) {
  ByteWriter out;
  encode_sample_batch(samples, period, out);
  ByteReader in(out.data());
  std::vector<CpuSample> decoded;
  EXPECT_TRUE(decode_sample_batch(in, decoded));
  EXPECT_TRUE(in.at_end());
  return decoded;
}

TEST(SampleBatch, AwkwardTimesDecodeExactly) {
  const uint64_t period = 10'101'010;
  std::vector<CpuSample> samples{
      {5'000'000'000'000, 100, 1, 0},
      {5'000'000'004'000, 101, 2, 1},
      {4'999'999'990'000, 102, 3, 2},                // earlier than the sample before it (another CPU)
      {5'000'000'000'000 + period - 700, 100, 1, 0},  // next tick, early
      {5'000'000'004'000 + 3 * period + 900, 101, 2, 1},  // two ticks missed, late
      {5'000'000'000'000 + period - 700, 103, 4, 0},  // same time on the same CPU
      {5'000'000'000'000, 103, 4, 0},                // backwards on the same CPU
      {0, 104, 0, 65535},                            // extremes
      {UINT64_MAX, 0xffffffff, 0xffffffff, 65535},
      {1, 104, 7, 3},
  };
  for (uint64_t p : {period, uint64_t{0}, uint64_t{1}, uint64_t{1} << 62}) {
    SCOPED_TRACE(p);
    std::vector<CpuSample> decoded = round_trip(samples, p);
    ASSERT_EQ(decoded.size(), samples.size());
    for (size_t i = 0; i < samples.size(); ++i) EXPECT_TRUE(same(decoded[i], samples[i])) << i;
  }
  EXPECT_TRUE(round_trip({}, period).empty());
}

// Random captures: CPUs interleaved out of order, ticks missed, jitter.
TEST(SampleBatch, RandomCapturesDecodeExactly) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 50; ++round) {
    const uint64_t period = 1'000'000'000 / (1 + rng() % 5000);
    std::vector<uint64_t> tick(8, 1'000'000'000'000 + rng() % period);
    std::vector<CpuSample> samples;
    for (int i = 0; i < 500; ++i) {
      auto cpu = static_cast<uint16_t>(rng() % tick.size());
      tick[cpu] += period * (1 + (rng() % 10 == 0 ? rng() % 5 : 0));
      uint64_t jitter = rng() % 200'000;
      samples.push_back({tick[cpu] + jitter - 100'000, static_cast<uint32_t>(1000 + rng() % 12),
                         static_cast<uint32_t>(1 + rng() % 3000), cpu});
    }
    std::vector<CpuSample> decoded = round_trip(samples, period);
    ASSERT_EQ(decoded.size(), samples.size());
    for (size_t i = 0; i < samples.size(); ++i) ASSERT_TRUE(same(decoded[i], samples[i])) << round << " " << i;
  }
}

TEST(SampleBatch, MalformedBodiesAreRejected) {
  std::vector<CpuSample> samples{{1000, 5, 1, 0}, {2000, 6, 2, 1}};
  ByteWriter good;
  encode_sample_batch(samples, 100, good);
  // Every cut of a valid body fails (never reads past its end).
  for (size_t cut = 0; cut < good.size(); ++cut) {
    ByteReader in(std::string_view(good.data()).substr(0, cut));
    std::vector<CpuSample> out;
    EXPECT_FALSE(decode_sample_batch(in, out)) << cut;
  }
  ByteWriter huge;  // a count far beyond the bytes present
  huge.varint(100);
  huge.varint(uint64_t{1} << 40);
  ByteReader in_huge(huge.data());
  std::vector<CpuSample> out;
  EXPECT_FALSE(decode_sample_batch(in_huge, out));

  ByteWriter bad_index;  // place index 1 of a 1-place list
  bad_index.varint(0);   // period
  bad_index.varint(1);   // samples
  bad_index.varint(1);   // places
  bad_index.varint(42);  // tid
  bad_index.varint(0);   // cpu
  for (int i = 0; i < 4; ++i) bad_index.varint(1);
  ByteReader in_bad(bad_index.data());
  out.clear();
  EXPECT_FALSE(decode_sample_batch(in_bad, out));
}

TEST(StackTrie, FindsTheLongestSharedRootSideRun) {
  StackTrie trie;
  // Leaf first: {leaf, ..., root}.
  std::vector<uint32_t> a{5, 4, 3, 2, 1}, b{9, 3, 2, 1}, c{3, 2, 1}, d{7, 8}, e{6, 4, 3, 2, 1};
  EXPECT_EQ(trie.add(a, 1).shared, 0u);
  StackTrie::Match mb = trie.add(b, 2);
  EXPECT_EQ(mb.stack, 1u);
  EXPECT_EQ(mb.shared, 3u);
  StackTrie::Match mc = trie.add(c, 3);  // wholly a root-side run of a
  EXPECT_EQ(mc.shared, 3u);
  EXPECT_NE(mc.stack, 0u);
  EXPECT_EQ(trie.add(d, 4).stack, 0u);  // nothing in common
  StackTrie::Match me = trie.add(e, 5);
  EXPECT_EQ(me.stack, 1u);
  EXPECT_EQ(me.shared, 4u);
  trie.clear();
  EXPECT_EQ(trie.add(e, 1).stack, 0u);
}

// Past its size cap the trie stops indexing new stacks, but still finds
// bases among the ones it indexed.
TEST(StackTrie, KeepsMatchingAfterTheCap) {
  StackTrie trie;
  std::vector<uint32_t> indexed{3, 2, 1};
  trie.add(indexed, 1);
  uint32_t id = 2, frame = 100;
  std::vector<uint32_t> filler(64);
  for (size_t edges = 3; edges <= StackTrie::kMaxEdges; edges += filler.size()) {
    for (auto& f : filler) f = frame++;  // nothing shared: every frame is an edge
    trie.add(filler, id++);
  }
  std::vector<uint32_t> late{9, 8, 2, 1};
  StackTrie::Match m = trie.add(late, id++);
  EXPECT_EQ(m.stack, 1u);
  EXPECT_EQ(m.shared, 2u);
  std::vector<uint32_t> later{7, 8, 2, 1};  // shares 3 with `late`, which was not indexed
  m = trie.add(later, id++);
  EXPECT_EQ(m.stack, 1u);
  EXPECT_EQ(m.shared, 2u);
}

class CompactRecordingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("flare-compact-test-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) { return (dir_ / name).string(); }
  fs::path dir_;
};

// Many stacks sharing root-side runs, written through several chunks (pools
// and the trie reset at each) with CPUs out of time order: every sample
// reads back with its exact time, thread, CPU and frame sequence.
TEST_F(CompactRecordingTest, StacksAndSamplesRoundTripAcrossChunks) {
  FileHeader h;
  h.events = "cpu";
  h.sample_frequency_hz = 99;
  h.sample_period_ns = 10'101'010;
  h.minor = 0;  // an input's older header (flare slice): the writer writes its own version
  WriterOptions options;
  options.flush_interval_ns = 250'000'000;
  options.chunk_duration_ns = 1'000'000'000;
  auto writer = RecordingWriter::create(path("c.flare"), h, options);
  ASSERT_TRUE(writer.is_ok()) << writer.status().message();
  RecordingWriter& w = **writer;

  std::mt19937_64 rng(11);
  // Stack shapes as function names, root first, drawn as a call tree.
  std::vector<std::vector<std::string>> shapes{{"main"}};
  for (int i = 0; i < 300; ++i) {
    std::vector<std::string> s = shapes[rng() % shapes.size()];
    s.resize(1 + rng() % s.size());
    for (size_t d = 0, n = 1 + rng() % 6; d < n; ++d) s.push_back("fn" + std::to_string(rng() % 20));
    shapes.push_back(s);
  }
  shapes.push_back({});  // a sample without a stack

  struct Expected {
    uint64_t time;
    uint32_t tid;
    uint16_t cpu;
    std::vector<std::string> root_first;
  };
  std::vector<Expected> expected;
  uint64_t generation = UINT64_MAX;
  std::unordered_map<std::string, uint32_t> frame_ids;
  uint64_t now = 1'000'000'000'000;
  for (int i = 0; i < 3000; ++i) {
    if (w.generation() != generation) {
      generation = w.generation();
      frame_ids.clear();
    }
    const auto& shape = shapes[rng() % shapes.size()];
    std::vector<uint32_t> frames;  // leaf first
    for (auto it = shape.rbegin(); it != shape.rend(); ++it) {
      auto [f, inserted] = frame_ids.try_emplace(*it, 0);
      if (inserted) {
        FrameInfo info;
        info.address = 0x1000 + f->first.size();
        info.function = w.intern_string(*it);
        info.flags = kFrameResolved;
        f->second = w.add_frame(info);
      }
      frames.push_back(f->second);
    }
    uint32_t stack = w.intern_stack(frames);
    auto cpu = static_cast<uint16_t>(i % 4);
    uint64_t t = now + cpu * 3'000'000 - (rng() % 2'000'000);  // CPUs interleaved, not time-ordered
    auto tid = static_cast<uint32_t>(100 + rng() % 6);
    w.set_thread(1, tid, "t");
    w.add_cpu_sample({t, tid, stack, cpu});
    expected.push_back({t, tid, cpu, shape});
    if (cpu == 3) now += 10'101'010 * (1 + rng() % 3);
    ASSERT_TRUE(w.maybe_flush(now).is_ok());
  }
  ASSERT_TRUE(w.finish().is_ok());
  EXPECT_GE(w.chunks_started(), 3u);

  auto rec = read_recording(path("c.flare"));
  ASSERT_TRUE(rec.is_ok()) << rec.status().message();
  EXPECT_EQ(rec->header.major, kFormatMajor);
  EXPECT_EQ(rec->header.minor, kFormatMinor);
  EXPECT_EQ(rec->unknown_records_skipped, 0u);
  ASSERT_EQ(rec->samples.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const CpuSample& s = rec->samples[i];
    ASSERT_EQ(s.time_ns, expected[i].time) << i;
    ASSERT_EQ(s.tid, expected[i].tid) << i;
    ASSERT_EQ(s.cpu, expected[i].cpu) << i;
    std::vector<std::string> names;
    auto frames = rec->stack(s.stack);
    for (auto it = frames.rbegin(); it != frames.rend(); ++it) names.push_back(rec->str(rec->frames[*it].function));
    ASSERT_EQ(names, expected[i].root_first) << i;
  }
}

// A forged chunk whose stack_delta records each repeat the previous stack
// plus one frame: a few bytes per record, quadratic frames in total. The
// reader must refuse it, not materialize them.
TEST_F(CompactRecordingTest, StackDeltaChainsCannotExpandWithoutBound) {
  auto writer = RecordingWriter::create(path("empty.flare"), FileHeader{});
  ASSERT_TRUE(writer.is_ok());
  ASSERT_TRUE((*writer)->finish().is_ok());
  std::ifstream f(path("empty.flare"), std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string bytes = ss.str();

  auto record = [](ByteWriter& out, RecordType type, const ByteWriter& body) {
    out.varint(static_cast<uint32_t>(type));
    out.bytes(body.data());
  };
  ByteWriter records, body;
  body.varint(1);  // frame 1 at address 0x10, nothing else known
  for (int i = 0; i < 7; ++i) body.varint(i == 0 ? 0x10 : 0);
  record(records, RecordType::kFrame, body);
  for (uint64_t k = 0; k < 4000; ++k) {
    body.clear();
    body.varint(k);  // base: the previous stack (none for the first)
    body.varint(k);  // all of its frames
    body.varint(1);
    body.varint(1);
    record(records, RecordType::kStackDelta, body);
  }
  std::string compressed(ZSTD_compressBound(records.size()), '\0');
  compressed.resize(ZSTD_compress(compressed.data(), compressed.size(), records.data().data(), records.size(), 3));
  ByteWriter block;
  block.u32(kBlockMagic);
  block.u8(static_cast<uint8_t>(BlockKind::kData));
  block.u8(kBlockChunkStart);
  block.u16(0);
  block.u32(0);
  block.u32(0);
  block.u64(0);
  block.u64(0);
  block.u32(static_cast<uint32_t>(compressed.size()));
  block.u32(static_cast<uint32_t>(records.size()));
  block.u32(crc32_of(compressed));
  block.u32(crc32_of(block.data()));
  block.raw(compressed);
  bytes.insert(bytes.size() - kBlockHeaderSize, block.data());

  auto rec = parse_recording(bytes);
  ASSERT_FALSE(rec.is_ok());
  EXPECT_EQ(rec.status().code(), ErrorCode::kCorruptData);
  EXPECT_NE(rec.status().message().find("more frames"), std::string::npos) << rec.status().message();
}

}  // namespace
}  // namespace flare::rec
