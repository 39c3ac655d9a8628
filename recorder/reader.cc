#include "recorder/reader.h"

#include <zstd.h>

#include <fstream>
#include <sstream>

#include "recorder/byte_io.h"
#include "recorder/format.h"

namespace flare::rec {

namespace {

Status corrupt(const std::string& what) { return Status(ErrorCode::kCorruptData, what); }

Status parse_header(ByteReader& in, FileHeader& h) {
  std::string_view magic = in.raw(kFileMagic.size());
  if (in.failed() || magic != kFileMagic) return corrupt("not a flare recording (bad magic)");
  h.major = in.u16();
  h.minor = in.u16();
  if (in.failed()) return corrupt("truncated file header");
  if (h.major != kFormatMajor) {
    return Status(ErrorCode::kUnsupported, "recording format version " + std::to_string(h.major) + "." +
                                               std::to_string(h.minor) + " is not supported by this flare (reads " +
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
      default: break;  // a newer minor version's field
    }
    if (v.failed()) return corrupt("malformed file header field");
  }
  return Status::ok();
}

template <typename T>
void put(std::vector<T>& pool, uint64_t id, T value) {
  if (pool.size() <= id) pool.resize(id + 1);
  pool[id] = std::move(value);
}

// Ids must stay small enough that a corrupt id cannot make us allocate
// gigabytes: no real recording comes close to this many entries.
constexpr uint64_t kMaxId = 1u << 28;

class BlockParser {
 public:
  explicit BlockParser(Recording& rec) : rec_(rec) {}

  Status parse(std::string_view raw) {
    ByteReader in(raw);
    uint64_t prev_time = 0;
    while (!in.at_end()) {
      auto type = static_cast<RecordType>(in.varint());
      std::string_view body = in.bytes();
      if (in.failed()) return corrupt("malformed record framing");
      ByteReader r(body);
      FLARE_RETURN_IF_ERROR(parse_record(type, r, prev_time));
      if (r.failed()) return corrupt("truncated record of type " + std::to_string(static_cast<uint32_t>(type)));
    }
    return Status::ok();
  }

 private:
  bool defined_string(uint64_t id) const { return id < rec_.strings.size(); }

  Status parse_record(RecordType type, ByteReader& r, uint64_t& prev_time) {
    switch (type) {
      case RecordType::kString: {
        uint64_t id = r.varint();
        std::string_view s = r.bytes();
        if (id == 0 || id > kMaxId) return corrupt("bad string id");
        put(rec_.strings, id, std::string(s));
        return Status::ok();
      }
      case RecordType::kMapping: {
        uint64_t id = r.varint();
        MappingInfo m;
        m.pid = static_cast<uint32_t>(r.varint());
        m.start = r.varint();
        m.end = r.varint();
        m.file_offset = r.varint();
        m.path = static_cast<uint32_t>(r.varint());
        m.build_id = static_cast<uint32_t>(r.varint());
        if (id == 0 || id > kMaxId) return corrupt("bad mapping id");
        if (!defined_string(m.path) || !defined_string(m.build_id)) return corrupt("mapping references an undefined string");
        put(rec_.mappings, id, m);
        return Status::ok();
      }
      case RecordType::kFrame: {
        uint64_t id = r.varint();
        FrameInfo f;
        f.address = r.varint();
        f.mapping = static_cast<uint32_t>(r.varint());
        f.function = static_cast<uint32_t>(r.varint());
        f.file = static_cast<uint32_t>(r.varint());
        f.line = static_cast<uint32_t>(r.varint());
        f.kind = r.varint() == 1 ? FrameKind::kKernel : FrameKind::kUser;
        f.flags = static_cast<uint8_t>(r.varint());
        if (id == 0 || id > kMaxId) return corrupt("bad frame id");
        if (f.mapping >= rec_.mappings.size()) return corrupt("frame references an undefined mapping");
        if (!defined_string(f.function) || !defined_string(f.file)) return corrupt("frame references an undefined string");
        put(rec_.frames, id, f);
        return Status::ok();
      }
      case RecordType::kStack: {
        uint64_t id = r.varint();
        uint64_t n = r.varint();
        if (id == 0 || id > kMaxId || n > r.remaining()) return corrupt("bad stack record");
        std::vector<uint32_t> frames(n);
        for (auto& f : frames) {
          uint64_t fid = r.varint();
          if (fid == 0 || fid >= rec_.frames.size()) return corrupt("stack references an undefined frame");
          f = static_cast<uint32_t>(fid);
        }
        put(rec_.stacks, id, std::move(frames));
        return Status::ok();
      }
      case RecordType::kThread: {
        ThreadInfo t;
        t.pid = static_cast<uint32_t>(r.varint());
        t.tid = static_cast<uint32_t>(r.varint());
        t.name = static_cast<uint32_t>(r.varint());
        if (!defined_string(t.name)) return corrupt("thread references an undefined string");
        rec_.threads[t.tid] = t;
        return Status::ok();
      }
      case RecordType::kCpuSample: {
        CpuSample s;
        s.time_ns = prev_time + static_cast<uint64_t>(r.svarint());
        s.tid = static_cast<uint32_t>(r.varint());
        uint64_t stack = r.varint();
        s.cpu = static_cast<uint16_t>(r.varint());
        if (stack >= rec_.stacks.size()) return corrupt("sample references an undefined stack");
        s.stack = static_cast<uint32_t>(stack);
        prev_time = s.time_ns;
        rec_.samples.push_back(s);
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
    return Status::ok();  // unknown record type of this major version: skipped
  }

  Recording& rec_;
};

}  // namespace

Result<Recording> parse_recording(std::string_view bytes, const ReadOptions& options) {
  Recording rec;
  ByteReader in(bytes);
  FLARE_RETURN_IF_ERROR(parse_header(in, rec.header));

  BlockParser parser(rec);
  std::string raw;
  uint32_t expected_seq = 0;
  while (!in.at_end()) {
    size_t block_start = in.pos();
    // A block that fails any check ends the salvageable prefix.
    auto stop = [&](const std::string& why) -> Status {
      if (options.salvage) {
        rec.trailing_bytes_ignored = bytes.size() - block_start;
        return Status::ok();
      }
      return corrupt(why + " at byte " + std::to_string(block_start) +
                     " (the recording is truncated or corrupt; --salvage reads the intact part)");
    };
    if (in.remaining() < kBlockHeaderSize) {
      FLARE_RETURN_IF_ERROR(stop("incomplete block header"));
      break;
    }
    std::string_view header_bytes = bytes.substr(block_start, kBlockHeaderSize - 4);
    uint32_t magic = in.u32();
    auto kind = static_cast<BlockKind>(in.u8());
    in.u8();
    in.u16();
    in.u32();  // chunk sequence: chunks need no special handling, ids are file-global
    uint32_t seq = in.u32();
    in.u64();
    in.u64();
    uint32_t compressed_len = in.u32();
    uint32_t raw_len = in.u32();
    uint32_t payload_crc = in.u32();
    uint32_t header_crc = in.u32();
    if (magic != kBlockMagic || crc32_of(header_bytes) != header_crc) {
      FLARE_RETURN_IF_ERROR(stop("bad block header"));
      break;
    }
    if (seq != expected_seq) {
      FLARE_RETURN_IF_ERROR(stop("block sequence gap"));
      break;
    }
    if (compressed_len > kMaxBlockPayload || raw_len > kMaxBlockPayload || in.remaining() < compressed_len) {
      FLARE_RETURN_IF_ERROR(stop("incomplete block"));
      break;
    }
    std::string_view payload = in.raw(compressed_len);
    if (crc32_of(payload) != payload_crc) {
      FLARE_RETURN_IF_ERROR(stop("block checksum mismatch"));
      break;
    }
    ++expected_seq;
    if (kind == BlockKind::kEnd) {
      rec.finalized = true;
      ++rec.blocks_read;
      break;
    }
    if (kind != BlockKind::kData) {
      ++rec.blocks_read;
      continue;  // a block kind from a newer minor version
    }
    raw.resize(raw_len);
    size_t n = ZSTD_decompress(raw.data(), raw.size(), payload.data(), payload.size());
    if (ZSTD_isError(n) || n != raw_len) {
      FLARE_RETURN_IF_ERROR(stop("block does not decompress"));
      break;
    }
    Status st = parser.parse(raw);
    if (!st.is_ok()) return st.with_context("block at byte " + std::to_string(block_start));
    ++rec.blocks_read;
  }
  if (!rec.finalized && !options.salvage) {
    return corrupt("the recording is incomplete: it has no end marker (was the capture killed?); --salvage reads "
                   "the intact part");
  }
  return rec;
}

Result<Recording> read_recording(const std::string& path, const ReadOptions& options) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Status(ErrorCode::kNotFound, "cannot open recording " + path);
  std::ostringstream content;
  content << file.rdbuf();
  if (file.bad()) return Status(ErrorCode::kIo, "cannot read recording " + path);
  auto result = parse_recording(content.str(), options);
  if (!result.is_ok()) return result.status().with_context(path);
  return result;
}

}  // namespace flare::rec
