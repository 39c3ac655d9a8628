#include "recorder/writer.h"

#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <cstdio>

#include "recorder/format.h"

namespace flare::rec {

namespace {

void put_field(ByteWriter& out, HeaderTag tag, std::string_view value) {
  out.varint(static_cast<uint32_t>(tag));
  out.bytes(value);
}

void put_varint_field(ByteWriter& out, HeaderTag tag, uint64_t value) {
  ByteWriter v;
  v.varint(value);
  put_field(out, tag, v.data());
}

std::string encode_header(const FileHeader& h) {
  ByteWriter body;
  put_field(body, HeaderTag::kFlareVersion, h.flare_version);
  put_field(body, HeaderTag::kHostname, h.hostname);
  put_field(body, HeaderTag::kKernelRelease, h.kernel_release);
  for (const TargetInfo& t : h.targets) {
    ByteWriter target;
    target.varint(t.pid);
    target.bytes(t.command_line);
    put_field(body, HeaderTag::kTarget, target.data());
  }
  put_field(body, HeaderTag::kEvents, h.events);
  put_varint_field(body, HeaderTag::kSampleFrequencyHz, h.sample_frequency_hz);
  put_varint_field(body, HeaderTag::kSamplePeriodNs, h.sample_period_ns);
  put_varint_field(body, HeaderTag::kClockMonotonicNs, h.clock_monotonic_ns);
  put_varint_field(body, HeaderTag::kClockRealtimeNs, h.clock_realtime_ns);

  ByteWriter out;
  out.raw(kFileMagic);
  out.u16(h.major);
  out.u16(h.minor);
  out.u32(static_cast<uint32_t>(body.size()));
  out.raw(body.data());
  out.u32(crc32_of(body.data()));
  return out.data();
}

}  // namespace

Result<std::unique_ptr<RecordingWriter>> RecordingWriter::create(const std::string& path, const FileHeader& header,
                                                                 const WriterOptions& options) {
  std::string partial = path + ".partial";
  int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::from_errno(errno, "cannot create output file " + partial);
  std::unique_ptr<RecordingWriter> writer(new RecordingWriter(path, fd, options));
  Status st = writer->write_all(encode_header(header));
  if (!st.is_ok()) {
    writer->abandon();
    return st;
  }
  return writer;
}

RecordingWriter::RecordingWriter(std::string path, int fd, const WriterOptions& options)
    : path_(std::move(path)), partial_path_(path_ + ".partial"), fd_(fd), options_(options) {
  zstd_ctx_ = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(static_cast<ZSTD_CCtx*>(zstd_ctx_), ZSTD_c_compressionLevel, options_.zstd_level);
}

RecordingWriter::~RecordingWriter() {
  if (fd_ >= 0) ::close(fd_);
  ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(zstd_ctx_));
}

uint32_t RecordingWriter::intern_string(std::string_view s) {
  if (s.empty()) return 0;
  auto [it, inserted] = string_ids_.try_emplace(std::string(s), static_cast<uint32_t>(strings_.size()));
  if (inserted) strings_.emplace_back(s);
  return it->second;
}

uint32_t RecordingWriter::add_mapping(const MappingInfo& mapping) {
  mappings_.push_back(mapping);
  return static_cast<uint32_t>(mappings_.size() - 1);
}

uint32_t RecordingWriter::add_frame(const FrameInfo& frame) {
  frames_.push_back(frame);
  return static_cast<uint32_t>(frames_.size() - 1);
}

uint32_t RecordingWriter::intern_stack(std::span<const uint32_t> frame_ids) {
  std::string key(reinterpret_cast<const char*>(frame_ids.data()), frame_ids.size_bytes());
  auto [it, inserted] = stack_ids_.try_emplace(std::move(key), static_cast<uint32_t>(stack_offsets_.size() - 1));
  if (inserted) {
    stack_frames_.insert(stack_frames_.end(), frame_ids.begin(), frame_ids.end());
    stack_offsets_.push_back(static_cast<uint32_t>(stack_frames_.size()));
  }
  return it->second;
}

void RecordingWriter::set_thread(const ThreadInfo& thread) {
  auto it = threads_.find(thread.tid);
  if (it != threads_.end() && it->second.name == thread.name && it->second.pid == thread.pid) return;
  threads_[thread.tid] = thread;
  thread_marks_.erase(thread.tid);  // re-emit with the new name
}

bool RecordingWriter::emitted(std::vector<uint32_t>& marks, uint32_t id) {
  if (marks.size() <= id) marks.resize(id + 1, 0);
  if (marks[id] == chunk_seq_ + 1) return true;
  marks[id] = chunk_seq_ + 1;
  return false;
}

void RecordingWriter::begin_record(RecordType type) {
  record_type_ = type;
  record_.clear();
}

void RecordingWriter::end_record() {
  pending_.varint(static_cast<uint32_t>(record_type_));
  pending_.bytes(record_.data());
}

void RecordingWriter::ensure_string(uint32_t id) {
  if (id == 0 || emitted(string_marks_, id)) return;
  begin_record(RecordType::kString);
  record_.varint(id);
  record_.bytes(strings_[id]);
  end_record();
}

void RecordingWriter::ensure_mapping(uint32_t id) {
  if (id == 0 || emitted(mapping_marks_, id)) return;
  const MappingInfo& m = mappings_[id];
  ensure_string(m.path);
  ensure_string(m.build_id);
  begin_record(RecordType::kMapping);
  record_.varint(id);
  record_.varint(m.pid);
  record_.varint(m.start);
  record_.varint(m.end);
  record_.varint(m.file_offset);
  record_.varint(m.path);
  record_.varint(m.build_id);
  end_record();
}

void RecordingWriter::ensure_frame(uint32_t id) {
  if (id == 0 || emitted(frame_marks_, id)) return;
  const FrameInfo& f = frames_[id];
  ensure_mapping(f.mapping);
  ensure_string(f.function);
  ensure_string(f.file);
  begin_record(RecordType::kFrame);
  record_.varint(id);
  record_.varint(f.address);
  record_.varint(f.mapping);
  record_.varint(f.function);
  record_.varint(f.file);
  record_.varint(f.line);
  record_.varint(static_cast<uint8_t>(f.kind));
  record_.varint(f.flags);
  end_record();
}

void RecordingWriter::ensure_stack(uint32_t id) {
  if (id == 0 || emitted(stack_marks_, id)) return;
  uint32_t begin = stack_offsets_[id], end = stack_offsets_[id + 1];
  for (uint32_t i = begin; i < end; ++i) ensure_frame(stack_frames_[i]);
  begin_record(RecordType::kStack);
  record_.varint(id);
  record_.varint(end - begin);
  for (uint32_t i = begin; i < end; ++i) record_.varint(stack_frames_[i]);
  end_record();
}

void RecordingWriter::ensure_thread(uint32_t tid) {
  auto it = threads_.find(tid);
  if (it == threads_.end()) return;
  uint32_t& mark = thread_marks_[tid];
  if (mark == chunk_seq_ + 1) return;
  mark = chunk_seq_ + 1;
  ensure_string(it->second.name);
  begin_record(RecordType::kThread);
  record_.varint(it->second.pid);
  record_.varint(it->second.tid);
  record_.varint(it->second.name);
  end_record();
}

void RecordingWriter::add_cpu_sample(const CpuSample& sample) {
  ensure_thread(sample.tid);
  ensure_stack(sample.stack);
  begin_record(RecordType::kCpuSample);
  // Samples from different CPUs arrive nearly, not exactly, in time order:
  // a signed delta keeps the small backward steps cheap.
  record_.svarint(static_cast<int64_t>(sample.time_ns - prev_sample_ns_));
  record_.varint(sample.tid);
  record_.varint(sample.stack);
  record_.varint(sample.cpu);
  end_record();
  prev_sample_ns_ = sample.time_ns;
  if (sample.time_ns < block_first_ns_) block_first_ns_ = sample.time_ns;
  if (sample.time_ns > block_last_ns_) block_last_ns_ = sample.time_ns;
  ++samples_written_;
}

void RecordingWriter::add_lost(const LostRecord& lost) {
  begin_record(RecordType::kLost);
  record_.varint(static_cast<uint32_t>(lost.cause));
  record_.varint(lost.cpu);
  record_.varint(lost.count);
  end_record();
}

void RecordingWriter::add_stat(std::string_view name, uint64_t value) {
  begin_record(RecordType::kStat);
  record_.bytes(name);
  record_.varint(value);
  end_record();
}

Status RecordingWriter::maybe_flush(uint64_t now_ns) {
  if (last_flush_ns_ == 0) last_flush_ns_ = now_ns;
  if (now_ns - last_flush_ns_ < options_.flush_interval_ns) return Status::ok();
  last_flush_ns_ = now_ns;
  if (chunk_start_ns_ == 0) chunk_start_ns_ = now_ns;
  FLARE_RETURN_IF_ERROR(flush());
  if (now_ns - chunk_start_ns_ >= options_.chunk_duration_ns || chunk_bytes_ >= options_.chunk_max_bytes) {
    // A new chunk: every pool entry is emitted again on first use.
    ++chunk_seq_;
    chunk_start_ns_ = now_ns;
    chunk_bytes_ = 0;
  }
  return Status::ok();
}

Status RecordingWriter::flush() {
  if (pending_.size() == 0) return Status::ok();
  const std::string& raw = pending_.data();
  compressed_.resize(ZSTD_compressBound(raw.size()));
  size_t n = ZSTD_compress2(static_cast<ZSTD_CCtx*>(zstd_ctx_), compressed_.data(), compressed_.size(), raw.data(),
                            raw.size());
  if (ZSTD_isError(n)) return Status(ErrorCode::kInternal, std::string("zstd: ") + ZSTD_getErrorName(n));
  FLARE_RETURN_IF_ERROR(
      write_block(BlockKind::kData, std::string_view(compressed_.data(), n), static_cast<uint32_t>(raw.size())));
  pending_.clear();
  prev_sample_ns_ = 0;
  block_first_ns_ = UINT64_MAX;
  block_last_ns_ = 0;
  return Status::ok();
}

Status RecordingWriter::write_block(BlockKind kind, std::string_view payload, uint32_t raw_len) {
  ByteWriter h;
  h.u32(kBlockMagic);
  h.u8(static_cast<uint8_t>(kind));
  h.u8(0);
  h.u16(0);
  h.u32(chunk_seq_);
  h.u32(block_seq_++);
  h.u64(block_first_ns_ == UINT64_MAX ? 0 : block_first_ns_);
  h.u64(block_last_ns_);
  h.u32(static_cast<uint32_t>(payload.size()));
  h.u32(raw_len);
  h.u32(crc32_of(payload));
  h.u32(crc32_of(h.data()));
  // One write per block: a crash leaves at worst one incomplete block at the
  // end, which readers detect by its length and checksum.
  std::string block = h.data();
  block.append(payload);
  chunk_bytes_ += block.size();
  return write_all(block);
}

Status RecordingWriter::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::from_errno(errno, "writing " + partial_path_);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    bytes_written_ += static_cast<uint64_t>(n);
  }
  return Status::ok();
}

Status RecordingWriter::finish() {
  if (finished_) return Status::ok();
  FLARE_RETURN_IF_ERROR(flush());
  FLARE_RETURN_IF_ERROR(write_block(BlockKind::kEnd, {}, 0));
  if (::fsync(fd_) != 0) return Status::from_errno(errno, "syncing " + partial_path_);
  ::close(fd_);
  fd_ = -1;
  if (::rename(partial_path_.c_str(), path_.c_str()) != 0) {
    return Status::from_errno(errno, "renaming " + partial_path_ + " to " + path_);
  }
  finished_ = true;
  return Status::ok();
}

void RecordingWriter::abandon() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!finished_) ::unlink(partial_path_.c_str());
}

}  // namespace flare::rec
