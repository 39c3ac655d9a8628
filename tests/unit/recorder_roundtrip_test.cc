// Writer -> reader round trips, pool interning, chunk self-containment, and
// the reader's refusal of corrupt, truncated and future-version files.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <zstd.h>

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
    h.offcpu_min_ns = 100000;
    h.offcpu_max_per_second = 5000;
    h.alloc_sample_rate = 512 * 1024;
    h.alloc_seed = 1234567890123ull;
    return h;
  }

  // Writes a small recording: two stacks sharing frames, two threads.
  std::string write_sample_file(const std::string& name, WriterOptions options = {}, int samples = 100) {
    auto writer = RecordingWriter::create(path(name), header(), options);
    EXPECT_TRUE(writer.is_ok()) << writer.status().message();
    RecordingWriter& w = **writer;
    // Pool ids live for one chunk: intern again whenever the generation moves.
    uint64_t generation = UINT64_MAX;
    uint32_t stack1 = 0, stack2 = 0;
    auto intern_pools = [&] {
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
      stack1 = w.intern_stack(s1);
      stack2 = w.intern_stack(s2);
      EXPECT_EQ(w.intern_stack(s1), stack1);  // interned
      EXPECT_NE(stack1, stack2);
      generation = w.generation();
    };
    w.set_thread(42, 42, "main");
    w.set_thread(42, 43, "worker");
    for (int i = 0; i < samples; ++i) {
      if (w.generation() != generation) intern_pools();
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
  EXPECT_EQ(rec->header.offcpu_min_ns, 100000u);
  EXPECT_EQ(rec->header.offcpu_max_per_second, 5000u);
  EXPECT_EQ(rec->header.alloc_sample_rate, 512u * 1024);
  EXPECT_EQ(rec->header.alloc_seed, 1234567890123ull);
  EXPECT_EQ(rec->header.major, 2);
  EXPECT_EQ(rec->header.minor, kFormatMinor);
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
// header, any single chunk's blocks and the end block reads on its own, and
// the chunks of a file concatenated in another order read too.
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

  size_t total_samples = 0;
  for (uint32_t chunk = 0; chunk < chunks; ++chunk) {
    std::string file = header_bytes;
    for (const Block& b : blocks) {
      if (b.kind == BlockKind::kData && b.chunk == chunk) file += b.bytes;
    }
    file += blocks.back().bytes;
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

  // Chunks in reverse order: still a valid file with every sample.
  std::string reversed = header_bytes;
  for (uint32_t chunk = chunks; chunk-- > 0;) {
    for (const Block& b : blocks) {
      if (b.kind == BlockKind::kData && b.chunk == chunk) reversed += b.bytes;
    }
  }
  reversed += blocks.back().bytes;
  auto rec = parse_recording(reversed);
  ASSERT_TRUE(rec.is_ok()) << rec.status().message();
  EXPECT_EQ(rec->samples.size(), 200u);
  // Merged by content: the two distinct stacks stay two however chunked.
  EXPECT_EQ(rec->stacks.size(), 3u);  // [0] is the empty "none" stack
}

TEST_F(RecorderTest, PoolsResetPerChunk) {
  WriterOptions options;
  options.flush_interval_ns = 10;
  options.chunk_duration_ns = 10;
  auto writer = RecordingWriter::create(path("reset.flare"), header(), options);
  ASSERT_TRUE(writer.is_ok());
  RecordingWriter& w = **writer;
  EXPECT_EQ(w.intern_string("a"), 1u);
  EXPECT_EQ(w.intern_string("b"), 2u);
  uint64_t generation = w.generation();
  w.add_cpu_sample({100, 1, 0, 0});
  ASSERT_TRUE(w.maybe_flush(100).is_ok());
  ASSERT_TRUE(w.maybe_flush(200).is_ok());
  EXPECT_NE(w.generation(), generation);
  EXPECT_EQ(w.intern_string("b"), 1u);  // a fresh pool: ids restart
  ASSERT_TRUE(w.finish().is_ok());
}

TEST_F(RecorderTest, EveryEventTypeRoundTrips) {
  auto writer = RecordingWriter::create(path("events.flare"), header());
  ASSERT_TRUE(writer.is_ok());
  RecordingWriter& w = **writer;
  FrameInfo f;
  f.address = 0x1234;
  f.function = w.intern_string("park");
  f.flags = kFrameResolved;
  uint32_t frame = w.add_frame(f);
  std::vector<uint32_t> frames{frame};
  uint32_t stack = w.intern_stack(frames);
  w.set_thread(7, 8, "t8");
  w.add_offcpu({1000, 5000, 300, 8, stack, 9, stack, OffCpuState::kUninterruptible, kOffCpuClippedEnd});
  w.add_offcpu_total({1500, 8, OffCpuState::kPreempted, 42, 0, 123456});
  w.add_wakeup({1500, 7, 9, 8, stack});
  w.add_allocation({2000, 8, stack, 0xdead0, 64, 512 * 1024});
  w.add_allocation({2100, 8, stack, 0xbeef0, 32, 16, kAllocUntracked});
  w.add_free({2500, 8, 0xdead0});
  w.add_goroutine_event({3000, GoroutineEventKind::kPark, 8, 17, 0, w.intern_string("chan receive"), stack});
  w.add_goroutine_event({3100, GoroutineEventKind::kReady, 8, 17, 18, 0, stack, 100, kGoroutineFromNetpoll});
  w.add_thread_event({900, ThreadEventKind::kStart, 7, 8});
  ASSERT_TRUE(w.finish().is_ok());

  auto rec = read_recording(path("events.flare"));
  ASSERT_TRUE(rec.is_ok()) << rec.status().message();
  ASSERT_EQ(rec->offcpu.size(), 1u);
  const OffCpuInterval& o = rec->offcpu[0];
  EXPECT_EQ(o.time_ns, 1000u);
  EXPECT_EQ(o.blocked_ns, 5000u);
  EXPECT_EQ(o.runq_ns, 300u);
  EXPECT_EQ(o.waker_tid, 9u);
  EXPECT_EQ(o.state, OffCpuState::kUninterruptible);
  EXPECT_EQ(o.flags, kOffCpuClippedEnd);
  ASSERT_EQ(rec->offcpu_totals.size(), 1u);
  const OffCpuTotal& total = rec->offcpu_totals[0];
  EXPECT_EQ(total.time_ns, 1500u);
  EXPECT_EQ(total.tid, 8u);
  EXPECT_EQ(total.state, OffCpuState::kPreempted);
  EXPECT_EQ(total.count, 42u);
  EXPECT_EQ(total.blocked_ns, 0u);
  EXPECT_EQ(total.runq_ns, 123456u);
  EXPECT_EQ(rec->str(rec->frames[rec->stack(o.stack)[0]].function), "park");
  ASSERT_EQ(rec->wakeups.size(), 1u);
  EXPECT_EQ(rec->wakeups[0].waker_tid, 9u);
  EXPECT_EQ(rec->wakeups[0].wakee_tid, 8u);
  ASSERT_EQ(rec->allocations.size(), 2u);
  EXPECT_EQ(rec->allocations[0].size, 64u);
  EXPECT_EQ(rec->allocations[0].weight, 512u * 1024);
  EXPECT_EQ(rec->allocations[0].flags, 0u);
  EXPECT_EQ(rec->allocations[1].flags, kAllocUntracked);
  ASSERT_EQ(rec->frees.size(), 1u);
  EXPECT_EQ(rec->frees[0].address, 0xdead0u);
  ASSERT_EQ(rec->goroutine_events.size(), 2u);
  EXPECT_EQ(rec->str(rec->goroutine_events[0].reason), "chan receive");
  EXPECT_EQ(rec->goroutine_events[1].waker_goid, 18u);
  EXPECT_EQ(rec->goroutine_events[0].wait_ns, 0u);
  EXPECT_EQ(rec->goroutine_events[1].wait_ns, 100u);  // since 2.4
  EXPECT_EQ(rec->goroutine_events[1].flags, kGoroutineFromNetpoll);
  ASSERT_EQ(rec->thread_events.size(), 1u);
  EXPECT_EQ(rec->thread_events[0].time_ns, 900u);
  EXPECT_EQ(rec->str(rec->threads.at(8).name), "t8");
}

// A record type from a newer minor version is skipped, not an error.
TEST_F(RecorderTest, UnknownRecordTypesAreSkipped) {
  std::string bytes = slurp(write_sample_file("u.flare", {}, 10));
  ByteWriter records;
  records.varint(999);  // unknown type
  records.bytes("future payload");
  std::string compressed(ZSTD_compressBound(records.size()), '\0');
  compressed.resize(ZSTD_compress(compressed.data(), compressed.size(), records.data().data(), records.size(), 1));
  ByteWriter block;
  block.u32(kBlockMagic);
  block.u8(static_cast<uint8_t>(BlockKind::kData));
  block.u8(kBlockChunkStart);
  block.u16(0);
  block.u32(77);
  block.u32(0);
  block.u64(0);
  block.u64(0);
  block.u32(static_cast<uint32_t>(compressed.size()));
  block.u32(static_cast<uint32_t>(records.size()));
  block.u32(crc32_of(compressed));
  block.u32(crc32_of(block.data()));
  block.raw(compressed);
  // Insert before the end block (the last 48 bytes).
  bytes.insert(bytes.size() - kBlockHeaderSize, block.data());
  auto rec = parse_recording(bytes);
  ASSERT_TRUE(rec.is_ok()) << rec.status().message();
  EXPECT_EQ(rec->unknown_records_skipped, 1u);
  EXPECT_EQ(rec->samples.size(), 10u);
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
  EXPECT_TRUE(rec->truncation.truncated);
  EXPECT_GT(rec->truncation.bytes_ignored, 0u);
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

TEST_F(RecorderTest, DirectoryAsOutputFailsAtCreate) {
  fs::create_directories(path("a_dir"));
  auto writer = RecordingWriter::create(path("a_dir"), header());
  ASSERT_FALSE(writer.is_ok());
  EXPECT_NE(writer.status().message().find("is a directory"), std::string::npos);
  EXPECT_FALSE(fs::exists(path("a_dir.partial")));
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

// read_recording reads a regular file in one go at its size, and anything
// else (a pipe, /dev/stdin) as a stream: both give the same recording; a
// directory is refused with an error, not a crash.
TEST_F(RecorderTest, ReadsRegularFilesAndPipesAlikeAndRefusesADirectory) {
  std::string file = write_sample_file("piped.flare", {}, 500);
  auto direct = read_recording(file);
  ASSERT_TRUE(direct.is_ok()) << direct.status().message();
  ASSERT_EQ(direct->samples.size(), 500u);

  std::string fifo = path("pipe");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::thread feeder([&] {
    std::ifstream in(file, std::ios::binary);
    std::ofstream out(fifo, std::ios::binary);
    out << in.rdbuf();
  });
  auto piped = read_recording(fifo);
  feeder.join();
  ASSERT_TRUE(piped.is_ok()) << piped.status().message();
  EXPECT_EQ(piped->file_bytes, direct->file_bytes);
  ASSERT_EQ(piped->samples.size(), direct->samples.size());
  for (size_t i = 0; i < direct->samples.size(); ++i) {
    EXPECT_EQ(piped->samples[i].time_ns, direct->samples[i].time_ns);
    EXPECT_EQ(piped->stack(piped->samples[i].stack).size(), direct->stack(direct->samples[i].stack).size());
  }

  auto dir = read_recording(dir_.string());
  EXPECT_FALSE(dir.is_ok());
}

}  // namespace
}  // namespace flare::rec

namespace flare::rec {
namespace {

// At a high event rate a block is written once block_max_raw_bytes of
// records wait, before the flush interval has passed: what waits in memory
// stays bounded by size, not by time.
TEST_F(RecorderTest, ABlockIsWrittenWhenEnoughRecordsWaitWhateverTheInterval) {
  WriterOptions options;
  options.flush_interval_ns = 3600'000'000'000ull;  // never, by time
  options.block_max_raw_bytes = 64 * 1024;
  auto created = RecordingWriter::create(path("by-size.flare"), header(), options);
  ASSERT_TRUE(created.is_ok()) << created.status().message();
  RecordingWriter& w = **created;
  constexpr uint64_t kStart = 1'000'000'000, kEvents = 100'000;
  ASSERT_TRUE(w.maybe_flush(kStart).is_ok());
  uint64_t flushes = 0;
  for (uint64_t i = 0; i < kEvents; ++i) {
    w.add_free({kStart + i, 7, 0x10000 + i * 64});
    if (w.flush_due(kStart)) ++flushes;
    ASSERT_TRUE(w.maybe_flush(kStart).is_ok());
  }
  ASSERT_TRUE(w.finish().is_ok());
  // ~5 bytes per free record: several blocks of at most 64 KiB each.
  EXPECT_GE(flushes, 4u);
  auto r = read_recording(path("by-size.flare"));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->frees.size(), kEvents);
  EXPECT_GE(r->blocks_read, flushes + 1);
  for (const ChunkSummary& c : r->chunks) EXPECT_LE(c.raw_bytes / std::max<uint64_t>(1, c.blocks), 80u * 1024);
}

}  // namespace
}  // namespace flare::rec
