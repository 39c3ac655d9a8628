#include "recorder/reader.h"

#include <zstd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "recorder/block_inflater.h"
#include "recorder/byte_io.h"
#include "recorder/content_index.h"
#include "recorder/format.h"
#include "recorder/sample_batch.h"

namespace flare::rec {

namespace {

Status corrupt(const std::string& what) { return Status(ErrorCode::kCorruptData, what); }

Status parse_header(ByteReader& in, FileHeader& h) {
  std::string_view magic = in.raw(kFileMagic.size());
  if (in.failed() || magic != kFileMagic) return corrupt("not a flare recording (bad magic)");
  h.major = in.u16();
  h.minor = in.u16();
  if (in.failed()) return corrupt("truncated file header");
  // 2.0 only changed how samples and stacks are written (docs/FORMAT.md):
  // one decoder reads both.
  if (h.major < kOldestReadableMajor || h.major > kFormatMajor) {
    return Status(ErrorCode::kUnsupported, "recording format version " + std::to_string(h.major) + "." +
                                               std::to_string(h.minor) + " is not supported by this flare (reads " +
                                               std::to_string(kOldestReadableMajor) + ".x to " +
                                               std::to_string(kFormatMajor) + ".x); use a newer flare");
  }
  uint32_t body_len = in.u32();
  std::string_view body = in.raw(body_len);
  uint32_t crc = in.u32();
  if (in.failed()) return corrupt("truncated file header");
  if (crc32_of(body) != crc) return corrupt("file header checksum mismatch");

  ByteReader fields(body);
  while (!fields.at_end()) {
    auto tag = static_cast<HeaderTag>(fields.varint());
    std::string_view value = fields.bytes();
    if (fields.failed()) return corrupt("malformed file header field");
    ByteReader v(value);
    switch (tag) {
      case HeaderTag::kFlareVersion: h.flare_version = value; break;
      case HeaderTag::kHostname: h.hostname = value; break;
      case HeaderTag::kKernelRelease: h.kernel_release = value; break;
      case HeaderTag::kEvents: h.events = value; break;
      case HeaderTag::kTarget: {
        TargetInfo t;
        t.pid = static_cast<uint32_t>(v.varint());
        t.command_line = v.bytes();
        h.targets.push_back(std::move(t));
        break;
      }
      case HeaderTag::kSampleFrequencyHz: h.sample_frequency_hz = static_cast<uint32_t>(v.varint()); break;
      case HeaderTag::kSamplePeriodNs: h.sample_period_ns = v.varint(); break;
      case HeaderTag::kClockMonotonicNs: h.clock_monotonic_ns = v.varint(); break;
      case HeaderTag::kClockRealtimeNs: h.clock_realtime_ns = v.varint(); break;
      case HeaderTag::kOffCpuMinNs: h.offcpu_min_ns = v.varint(); break;
      case HeaderTag::kOffCpuMaxPerSecond: h.offcpu_max_per_second = static_cast<uint32_t>(v.varint()); break;
      case HeaderTag::kUserStacks: h.user_stacks = value; break;
      case HeaderTag::kStackCopyBytes: h.stack_copy_bytes = static_cast<uint32_t>(v.varint()); break;
      case HeaderTag::kAllocSampleRate: h.alloc_sample_rate = v.varint(); break;
      case HeaderTag::kAllocSeed: h.alloc_seed = v.varint(); break;
      case HeaderTag::kLossesAtFlush: h.losses_at_flush = v.varint() != 0; break;
      default: break;  // a newer minor version's field
    }
    if (v.failed()) return corrupt("malformed file header field");
  }
  return Status::ok();
}

// Chunk-local ids must stay small enough that a corrupt id cannot make us
// allocate gigabytes: no real chunk comes close to this many entries.
constexpr uint64_t kMaxLocalId = 1u << 24;

// A stack_delta record of a few bytes can repeat the frames of a deep stack
// defined before it, so a forged file could make the reader materialize far
// more frames than it has bytes. Real recordings define well under one frame
// per decompressed byte; the reader refuses more than this many.
constexpr uint64_t kMaxStackFramesPerByte = 16;
constexpr uint64_t kStackFrameAllowance = 1u << 20;  // for tiny files

bool same_content(const MappingInfo& a, const MappingInfo& b) {
  return a.pid == b.pid && a.start == b.start && a.end == b.end && a.file_offset == b.file_offset &&
         a.path == b.path && a.build_id == b.build_id;
}

bool same_content(const FrameInfo& a, const FrameInfo& b) {
  return a.address == b.address && a.mapping == b.mapping && a.function == b.function && a.file == b.file &&
         a.line == b.line && a.kind == b.kind && a.flags == b.flags;
}

// For reserving the sample vector: few CPU samples take less on disk.
constexpr size_t kLeastBytesPerSampleOnDisk = 6;
// Bounds the guess for huge files of other events (384 MiB of address space).
constexpr size_t kMostSamplesReserved = size_t{1} << 24;
// A reservation this much larger than what was used is given back.
constexpr size_t kSampleSlack = 4096;

// Decodes blocks into a Recording. Pool entries arrive with chunk-local ids
// and are merged by content into the Recording's global pools, so equal
// frames and stacks of different chunks (or of concatenated files) get one id.
class BlockParser {
 public:
  explicit BlockParser(Recording& rec) : rec_(rec) {}

  void start_chunk() {
    strings_.assign(1, 0);
    mappings_.assign(1, 0);
    frames_.assign(1, 0);
    stacks_.assign(1, 0);
    last_stack_id_ = 0;
  }

  // `decoded`, when not null, holds the block's sample batches decoded
  // ahead (block_inflater.h).
  Status parse(std::string_view raw, ChunkSummary& chunk, const BlockInflater::Block* decoded) {
    decoded_ = decoded;
    next_batch_ = 0;
    stack_frame_budget_ += kMaxStackFramesPerByte * raw.size();
    ByteReader in(raw);
    uint64_t prev_time = 0;
    while (!in.at_end()) {
      auto type = static_cast<RecordType>(in.varint());
      std::string_view body = in.bytes();
      if (in.failed()) return corrupt("malformed record framing");
      ByteReader r(body);
      Status st = parse_record(type, r, prev_time, chunk);
      if (!st.is_ok()) return st;
      if (r.failed()) return corrupt("truncated record of type " + std::to_string(static_cast<uint32_t>(type)));
    }
    return Status::ok();
  }

 private:
  // Maps a chunk-local reference to a global id; false when undefined.
  static bool lookup(const std::vector<uint32_t>& local, uint64_t id, uint32_t& out) {
    if (id == 0) {
      out = 0;
      return true;
    }
    if (id >= local.size() || local[id] == 0) return false;
    out = local[id];
    return true;
  }

  static bool define(std::vector<uint32_t>& local, uint64_t id, uint32_t global) {
    if (id == 0 || id > kMaxLocalId) return false;
    if (local.size() <= id) local.resize(id + 1, 0);
    local[id] = global;
    return true;
  }

  uint32_t global_string(std::string_view s) {
    auto [id, inserted] = string_ids_.find_or_insert(ContentHash().add(s).value(),
                                                     static_cast<uint32_t>(rec_.strings.size()),
                                                     [&](uint32_t id) { return rec_.strings[id] == s; });
    if (inserted) rec_.strings.emplace_back(s);
    return id;
  }

  static void note_time(uint64_t t, ChunkSummary& chunk) {
    if (chunk.first_ns == 0 || t < chunk.first_ns) chunk.first_ns = t;
    if (t > chunk.last_ns) chunk.last_ns = t;
  }

  // Interns the stack in stack_frames_ by content and binds the
  // chunk-local id to it.
  Status define_stack(uint64_t id) {
    const std::vector<uint32_t>& frames = stack_frames_;
    if (frames.size() > stack_frame_budget_) return corrupt("stack records define more frames than the file can hold");
    stack_frame_budget_ -= frames.size();
    auto [global, inserted] = stack_ids_.find_or_insert(
        ContentHash().add(frames).value(), static_cast<uint32_t>(rec_.stacks.size()),
        [&](uint32_t id) { return rec_.stacks[id] == frames; });
    if (inserted) rec_.stacks.push_back(frames);
    if (!define(stacks_, id, global)) return corrupt("bad stack id");
    last_stack_id_ = id;
    return Status::ok();
  }

  uint64_t take_time(ByteReader& r, uint64_t& prev_time, ChunkSummary& chunk) {
    uint64_t t = prev_time + static_cast<uint64_t>(r.svarint());
    prev_time = t;
    note_time(t, chunk);
    return t;
  }

  Status parse_record(RecordType type, ByteReader& r, uint64_t& prev_time, ChunkSummary& chunk) {
    switch (type) {
      case RecordType::kString: {
        uint64_t id = r.varint();
        std::string_view s = r.bytes();
        if (r.failed()) return Status::ok();  // reported by the caller
        if (!define(strings_, id, global_string(s))) return corrupt("bad string id");
        return Status::ok();
      }
      case RecordType::kMapping: {
        uint64_t id = r.varint();
        MappingInfo m;
        m.pid = static_cast<uint32_t>(r.varint());
        m.start = r.varint();
        m.end = r.varint();
        m.file_offset = r.varint();
        uint64_t path = r.varint(), build_id = r.varint();
        if (!lookup(strings_, path, m.path) || !lookup(strings_, build_id, m.build_id)) {
          return corrupt("mapping references an undefined string");
        }
        uint64_t hash =
            ContentHash().add(m.pid).add(m.start).add(m.end).add(m.file_offset).add(m.path).add(m.build_id).value();
        auto [global, inserted] = mapping_ids_.find_or_insert(hash, static_cast<uint32_t>(rec_.mappings.size()),
                                                              [&](uint32_t id) { return same_content(rec_.mappings[id], m); });
        if (inserted) rec_.mappings.push_back(m);
        if (!define(mappings_, id, global)) return corrupt("bad mapping id");
        return Status::ok();
      }
      case RecordType::kFrame: {
        uint64_t id = r.varint();
        FrameInfo f;
        f.address = r.varint();
        uint64_t mapping = r.varint(), function = r.varint(), file = r.varint();
        f.line = static_cast<uint32_t>(r.varint());
        f.kind = r.varint() == 1 ? FrameKind::kKernel : FrameKind::kUser;
        f.flags = static_cast<uint8_t>(r.varint());
        if (!lookup(mappings_, mapping, f.mapping)) return corrupt("frame references an undefined mapping");
        if (!lookup(strings_, function, f.function) || !lookup(strings_, file, f.file)) {
          return corrupt("frame references an undefined string");
        }
        uint64_t hash = ContentHash()
                            .add(f.address)
                            .add(f.mapping)
                            .add(f.function)
                            .add(f.file)
                            .add(f.line)
                            .add(static_cast<uint64_t>(f.kind))
                            .add(f.flags)
                            .value();
        auto [global, inserted] = frame_ids_.find_or_insert(hash, static_cast<uint32_t>(rec_.frames.size()),
                                                            [&](uint32_t id) { return same_content(rec_.frames[id], f); });
        if (inserted) rec_.frames.push_back(f);
        if (!define(frames_, id, global)) return corrupt("bad frame id");
        return Status::ok();
      }
      case RecordType::kStack: {
        uint64_t id = r.varint();
        uint64_t n = r.varint();
        if (n > r.remaining()) return corrupt("bad stack record");
        stack_frames_.resize(n);
        for (auto& f : stack_frames_) {
          if (!lookup(frames_, r.varint(), f) || f == 0) return corrupt("stack references an undefined frame");
        }
        return define_stack(id);
      }
      case RecordType::kStackDelta: {
        uint64_t base = r.varint(), shared = r.varint(), n = r.varint();
        if (n > r.remaining()) return corrupt("bad stack record");
        uint32_t base_global = 0;
        if (!lookup(stacks_, base, base_global)) return corrupt("stack references an undefined stack");
        const std::vector<uint32_t>& base_frames = rec_.stacks[base_global];
        if (shared > base_frames.size()) return corrupt("bad stack record");
        if (n + shared > stack_frame_budget_) return corrupt("stack records define more frames than the file can hold");
        stack_frames_.resize(n + shared);
        for (uint64_t i = 0; i < n; ++i) {
          if (!lookup(frames_, r.varint(), stack_frames_[i]) || stack_frames_[i] == 0) {
            return corrupt("stack references an undefined frame");
          }
        }
        std::copy(base_frames.end() - static_cast<ptrdiff_t>(shared), base_frames.end(), stack_frames_.begin() + n);
        return define_stack(last_stack_id_ + 1);
      }
      case RecordType::kThread: {
        ThreadInfo t;
        t.pid = static_cast<uint32_t>(r.varint());
        t.tid = static_cast<uint32_t>(r.varint());
        if (!lookup(strings_, r.varint(), t.name)) return corrupt("thread references an undefined string");
        rec_.threads[t.tid] = t;
        return Status::ok();
      }
      case RecordType::kCpuSample: {
        CpuSample s;
        s.time_ns = take_time(r, prev_time, chunk);
        s.tid = static_cast<uint32_t>(r.varint());
        uint64_t stack = r.varint();
        s.cpu = static_cast<uint16_t>(r.varint());
        if (!lookup(stacks_, stack, s.stack)) return corrupt("sample references an undefined stack");
        rec_.samples.push_back(s);
        return Status::ok();
      }
      case RecordType::kCpuSampleBatch: {
        size_t first = rec_.samples.size();
        if (decoded_ && next_batch_ < decoded_->batch_ends.size()) {
          auto begin = decoded_->samples.begin();
          rec_.samples.insert(rec_.samples.end(),
                              begin + static_cast<ptrdiff_t>(next_batch_ ? decoded_->batch_ends[next_batch_ - 1] : 0),
                              begin + static_cast<ptrdiff_t>(decoded_->batch_ends[next_batch_]));
          ++next_batch_;
        } else if (!decode_sample_batch(r, rec_.samples)) {
          return corrupt("bad cpu sample batch");
        }
        for (size_t i = first; i < rec_.samples.size(); ++i) {
          CpuSample& s = rec_.samples[i];
          if (!lookup(stacks_, s.stack, s.stack)) return corrupt("sample references an undefined stack");
          note_time(s.time_ns, chunk);
        }
        return Status::ok();
      }
      case RecordType::kOffCpu: {
        OffCpuInterval e;
        e.time_ns = take_time(r, prev_time, chunk);
        e.blocked_ns = r.varint();
        e.runq_ns = r.varint();
        e.tid = static_cast<uint32_t>(r.varint());
        uint64_t stack = r.varint();
        e.waker_tid = static_cast<uint32_t>(r.varint());
        uint64_t waker_stack = r.varint();
        e.state = static_cast<OffCpuState>(r.varint());
        e.flags = static_cast<uint8_t>(r.varint());
        if (!lookup(stacks_, stack, e.stack) || !lookup(stacks_, waker_stack, e.waker_stack)) {
          return corrupt("off-CPU interval references an undefined stack");
        }
        rec_.offcpu.push_back(e);
        return Status::ok();
      }
      case RecordType::kOffCpuTotal: {
        OffCpuTotal e;
        e.time_ns = take_time(r, prev_time, chunk);
        e.tid = static_cast<uint32_t>(r.varint());
        e.state = static_cast<OffCpuState>(r.varint());
        e.count = r.varint();
        e.blocked_ns = r.varint();
        e.runq_ns = r.varint();
        rec_.offcpu_totals.push_back(e);
        return Status::ok();
      }
      case RecordType::kWakeup: {
        Wakeup e;
        e.time_ns = take_time(r, prev_time, chunk);
        e.waker_pid = static_cast<uint32_t>(r.varint());
        e.waker_tid = static_cast<uint32_t>(r.varint());
        e.wakee_tid = static_cast<uint32_t>(r.varint());
        if (!lookup(stacks_, r.varint(), e.waker_stack)) return corrupt("wakeup references an undefined stack");
        rec_.wakeups.push_back(e);
        return Status::ok();
      }
      case RecordType::kAllocation: {
        Allocation e;
        e.time_ns = take_time(r, prev_time, chunk);
        e.tid = static_cast<uint32_t>(r.varint());
        uint64_t stack = r.varint();
        e.address = r.varint();
        e.size = r.varint();
        e.weight = r.varint();
        if (!r.at_end()) e.flags = static_cast<uint8_t>(r.varint());  // since 2.3
        if (!lookup(stacks_, stack, e.stack)) return corrupt("allocation references an undefined stack");
        rec_.allocations.push_back(e);
        return Status::ok();
      }
      case RecordType::kFree: {
        Free e;
        e.time_ns = take_time(r, prev_time, chunk);
        e.tid = static_cast<uint32_t>(r.varint());
        e.address = r.varint();
        rec_.frees.push_back(e);
        return Status::ok();
      }
      case RecordType::kGoroutine: {
        GoroutineEvent e;
        e.time_ns = take_time(r, prev_time, chunk);
        e.kind = static_cast<GoroutineEventKind>(r.varint());
        e.tid = static_cast<uint32_t>(r.varint());
        e.goid = r.varint();
        e.waker_goid = r.varint();
        uint64_t reason = r.varint(), stack = r.varint();
        if (!lookup(strings_, reason, e.reason) || !lookup(stacks_, stack, e.stack)) {
          return corrupt("goroutine event references an undefined entry");
        }
        if (!r.at_end()) e.wait_ns = r.varint();  // since 2.4
        if (!r.at_end()) e.flags = static_cast<uint8_t>(r.varint());
        rec_.goroutine_events.push_back(e);
        return Status::ok();
      }
      case RecordType::kThreadEvent: {
        ThreadEvent e;
        e.time_ns = take_time(r, prev_time, chunk);
        e.kind = static_cast<ThreadEventKind>(r.varint());
        e.pid = static_cast<uint32_t>(r.varint());
        e.tid = static_cast<uint32_t>(r.varint());
        rec_.thread_events.push_back(e);
        return Status::ok();
      }
      case RecordType::kLost: {
        LostRecord l;
        l.cause = static_cast<LostCause>(r.varint());
        l.cpu = static_cast<uint32_t>(r.varint());
        l.count = r.varint();
        rec_.lost.push_back(l);
        return Status::ok();
      }
      case RecordType::kStat: {
        std::string name(r.bytes());
        uint64_t value = r.varint();
        for (auto& [k, v] : rec_.stats) {
          if (k == name) {
            v = value;  // later values supersede earlier ones
            return Status::ok();
          }
        }
        rec_.stats.emplace_back(std::move(name), value);
        return Status::ok();
      }
    }
    ++rec_.unknown_records_skipped;  // a record type of a newer minor version
    return Status::ok();
  }

  Recording& rec_;
  // Chunk-local id -> global id, per pool; 0 = undefined.
  std::vector<uint32_t> strings_{0}, mappings_{0}, frames_{0}, stacks_{0};
  uint64_t last_stack_id_ = 0;  // a stack_delta record's id is the next one
  uint64_t stack_frame_budget_ = kStackFrameAllowance;  // see kMaxStackFramesPerByte
  // Global ids by content, for merging the chunks' pools.
  ContentIndex string_ids_, mapping_ids_, frame_ids_, stack_ids_;
  std::vector<uint32_t> stack_frames_;  // the stack record being decoded, reused
  const BlockInflater::Block* decoded_ = nullptr;  // the current block's batches, decoded ahead
  size_t next_batch_ = 0;
};

}  // namespace

Result<Recording> parse_recording(std::string_view bytes, const ReadOptions& options) {
  Recording rec;
  rec.file_bytes = bytes.size();
  ByteReader in(bytes);
  FLARE_RETURN_IF_ERROR(parse_header(in, rec.header));

  // CPU samples dominate most recordings at 5-10 bytes each on disk: sized
  // for them up front, the sample vector is filled in place instead of
  // being copied at every doubling. Pages never written cost no memory.
  rec.samples.reserve(std::min(bytes.size() / kLeastBytesPerSampleOnDisk, kMostSamplesReserved));

  BlockParser parser(rec);
  BlockInflater inflater(bytes, in.pos());
  BlockInflater::Block inflated;
  std::string raw;
  uint32_t expected_seq = 0;
  bool in_chunk = false;
  while (!in.at_end()) {
    size_t block_start = in.pos();
    // A block that fails any check ends the intact prefix of the file.
    auto stop = [&](const std::string& why) {
      rec.truncation = {true, block_start, bytes.size() - block_start, why + " at byte " + std::to_string(block_start)};
    };
    if (in.remaining() < kBlockHeaderSize) {
      stop("incomplete block header");
      break;
    }
    std::string_view header_bytes = bytes.substr(block_start, kBlockHeaderSize - 4);
    uint32_t magic = in.u32();
    auto kind = static_cast<BlockKind>(in.u8());
    uint8_t flags = in.u8();
    in.u16();
    uint32_t chunk_id = in.u32();
    uint32_t seq = in.u32();
    in.u64();
    in.u64();
    uint32_t compressed_len = in.u32();
    uint32_t raw_len = in.u32();
    uint32_t payload_crc = in.u32();
    uint32_t header_crc = in.u32();
    if (magic != kBlockMagic || crc32_of(header_bytes) != header_crc) {
      stop("bad block header");
      break;
    }
    if (compressed_len > kMaxBlockPayload || raw_len > kMaxBlockPayload) {
      stop("oversized block");
      break;
    }
    if (in.remaining() < compressed_len) {
      stop("incomplete block");
      break;
    }
    std::string_view payload = in.raw(compressed_len);
    const bool have_inflated = inflater.take(block_start, inflated);
    if ((have_inflated ? inflated.payload_crc : crc32_of(payload)) != payload_crc) {
      stop("block checksum mismatch");
      break;
    }
    if (kind == BlockKind::kEnd) {
      rec.finalized = true;
      ++rec.blocks_read;
      if (!in.at_end()) {
        rec.truncation = {false, in.pos(), bytes.size() - in.pos(), "data after the end block ignored"};
      }
      break;
    }
    if (kind != BlockKind::kData) {
      ++rec.blocks_read;
      continue;  // a block kind from a newer minor version
    }
    const bool chunk_start = flags & kBlockChunkStart;
    if (chunk_start ? seq != 0 : (!in_chunk || seq != expected_seq || chunk_id != rec.chunks.back().chunk_id)) {
      stop("block out of sequence");
      break;
    }
    bool decompressed = false;
    if (have_inflated) {
      decompressed = inflated.decompressed;
      raw.swap(inflated.raw);
    } else {
      raw.resize(raw_len);
      size_t n = ZSTD_decompress(raw.data(), raw.size(), payload.data(), payload.size());
      decompressed = !ZSTD_isError(n) && n == raw_len;
    }
    if (!decompressed) {
      stop("block does not decompress");
      break;
    }
    if (chunk_start) {
      parser.start_chunk();
      rec.chunks.push_back(ChunkSummary{chunk_id});
      in_chunk = true;
    }
    expected_seq = seq + 1;
    ChunkSummary& chunk = rec.chunks.back();
    Status st = parser.parse(raw, chunk, have_inflated ? &inflated : nullptr);
    // A block that passed its checksum but does not parse was written wrong
    // or deliberately forged: never a crash artifact, so always an error.
    if (!st.is_ok()) return st.with_context("block at byte " + std::to_string(block_start));
    ++chunk.blocks;
    chunk.file_bytes += kBlockHeaderSize + compressed_len;
    chunk.raw_bytes += raw_len;
    ++rec.blocks_read;
  }
  if (rec.samples.capacity() > 2 * rec.samples.size() + kSampleSlack) rec.samples.shrink_to_fit();
  if (!rec.finalized && !rec.truncation.truncated) {
    rec.truncation = {true, bytes.size(), 0, "no end marker"};
  }
  if (rec.truncation.truncated && !options.salvage) {
    return corrupt("the recording is incomplete (" + rec.truncation.reason +
                   "): the capture was killed or the file was cut or damaged; --salvage reads the intact part");
  }
  return rec;
}

Result<Recording> read_recording(const std::string& path, const ReadOptions& options) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Status(ErrorCode::kNotFound, "cannot open recording " + path);
  std::string content;
  // A regular file is read in one go into a buffer of its size; anything
  // else (a pipe, /dev/stdin) through a growing one.
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) {
    const auto size = static_cast<std::streamsize>(std::filesystem::file_size(path, ec));
    if (ec) return Status(ErrorCode::kIo, "cannot read recording " + path);
    content.resize(static_cast<size_t>(size));
    file.read(content.data(), size);
    if (file.gcount() != size) return Status(ErrorCode::kIo, "cannot read recording " + path);
  } else {
    std::ostringstream stream;
    stream << file.rdbuf();
    if (file.bad()) return Status(ErrorCode::kIo, "cannot read recording " + path);
    content = std::move(stream).str();
  }
  auto result = parse_recording(content, options);
  if (!result.is_ok()) return result.status().with_context(path);
  return result;
}

}  // namespace flare::rec
