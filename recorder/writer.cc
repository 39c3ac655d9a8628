#include "recorder/writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <cstdio>

#include "common/clock.h"
#include "recorder/format.h"
#include "recorder/sample_batch.h"

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
  if (h.offcpu_min_ns) put_varint_field(body, HeaderTag::kOffCpuMinNs, h.offcpu_min_ns);
  if (h.offcpu_max_per_second) put_varint_field(body, HeaderTag::kOffCpuMaxPerSecond, h.offcpu_max_per_second);
  if (!h.user_stacks.empty()) put_field(body, HeaderTag::kUserStacks, h.user_stacks);
  if (h.stack_copy_bytes) put_varint_field(body, HeaderTag::kStackCopyBytes, h.stack_copy_bytes);
  if (h.alloc_sample_rate) {
    put_varint_field(body, HeaderTag::kAllocSampleRate, h.alloc_sample_rate);
    put_varint_field(body, HeaderTag::kAllocSeed, h.alloc_seed);
  }
  if (h.losses_at_flush) put_varint_field(body, HeaderTag::kLossesAtFlush, 1);

  ByteWriter out;
  out.raw(kFileMagic);
  // The version this writer writes, whatever the header says: `flare slice`
  // and `cat` pass an input's header, which may name an older version.
  out.u16(kFormatMajor);
  out.u16(kFormatMinor);
  out.u32(static_cast<uint32_t>(body.size()));
  out.raw(body.data());
  out.u32(crc32_of(body.data()));
  return out.data();
}

}  // namespace

Result<std::unique_ptr<RecordingWriter>> RecordingWriter::create(const std::string& path, const FileHeader& header,
                                                                 const WriterOptions& options) {
  // Checked now, not at the final rename: a capture must not run for its
  // whole duration only to find it cannot be stored under this name.
  struct stat existing {};
  if (::stat(path.c_str(), &existing) == 0 && S_ISDIR(existing.st_mode)) {
    return Status(ErrorCode::kIo, "output " + path + " is a directory; give a file name");
  }
  std::string partial = path + ".partial";
  int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::from_errno(errno, "cannot create output file " + partial);
  std::unique_ptr<RecordingWriter> writer(new RecordingWriter(path, fd, options, header));
  Status st = writer->write_all(encode_header(header));
  if (!st.is_ok()) {
    writer->abandon();
    return st;
  }
  return writer;
}

RecordingWriter::RecordingWriter(std::string path, int fd, const WriterOptions& options, const FileHeader& header)
    : path_(std::move(path)),
      partial_path_(path_ + ".partial"),
      fd_(fd),
      options_(options),
      header_(header),
      sample_period_ns_(header.sample_period_ns) {
  zstd_ctx_ = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(static_cast<ZSTD_CCtx*>(zstd_ctx_), ZSTD_c_compressionLevel, options_.zstd_level);
}

RecordingWriter::~RecordingWriter() {
  if (fd_ >= 0) ::close(fd_);
  ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(zstd_ctx_));
}

uint32_t RecordingWriter::intern_string(std::string_view s) {
  if (s.empty()) return 0;
  auto [it, inserted] = string_ids_.try_emplace(std::string(s), static_cast<uint32_t>(string_ids_.size() + 1));
  if (inserted) {
    begin_record(RecordType::kString);
    record_.varint(it->second);
    record_.bytes(s);
    end_record();
  }
  return it->second;
}

uint32_t RecordingWriter::add_mapping(const MappingInfo& m) {
  uint32_t id = next_mapping_id_++;
  begin_record(RecordType::kMapping);
  record_.varint(id);
  record_.varint(m.pid);
  record_.varint(m.start);
  record_.varint(m.end);
  record_.varint(m.file_offset);
  record_.varint(m.path);
  record_.varint(m.build_id);
  end_record();
  return id;
}

uint32_t RecordingWriter::add_frame(const FrameInfo& f) {
  uint32_t id = next_frame_id_++;
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
  return id;
}

uint32_t RecordingWriter::intern_stack(std::span<const uint32_t> frame_ids) {
  stack_key_.assign(reinterpret_cast<const char*>(frame_ids.data()), frame_ids.size_bytes());
  auto it = stack_ids_.find(stack_key_);
  if (it != stack_ids_.end()) return it->second;
  uint32_t id = static_cast<uint32_t>(stack_ids_.size() + 1);
  stack_ids_.emplace(stack_key_, id);
  // Only the leaf-side frames no earlier stack of the chunk has on top of
  // the same root-side frames; the id is implicit (the next one).
  StackTrie::Match base = stack_trie_.add(frame_ids, id);
  const size_t own = frame_ids.size() - base.shared;
  begin_record(RecordType::kStackDelta);
  record_.varint(base.stack);
  record_.varint(base.shared);
  record_.varint(own);
  for (uint32_t frame : frame_ids.first(own)) record_.varint(frame);
  end_record();
  return id;
}

void RecordingWriter::set_thread(uint32_t pid, uint32_t tid, std::string_view name) {
  ThreadState& t = threads_[tid];
  if (t.pid == pid && t.name == name) return;
  t.pid = pid;
  t.name = name;
  t.emitted = false;  // (re)emitted with the new name on next use
}

void RecordingWriter::ensure_thread(uint32_t tid) {
  auto it = threads_.find(tid);
  if (it == threads_.end() || it->second.emitted) return;
  it->second.emitted = true;
  uint32_t name = intern_string(it->second.name);
  begin_record(RecordType::kThread);
  record_.varint(it->second.pid);
  record_.varint(tid);
  record_.varint(name);
  end_record();
}

void RecordingWriter::begin_record(RecordType type) {
  record_type_ = type;
  record_.clear();
}

void RecordingWriter::end_record() {
  pending_.varint(static_cast<uint32_t>(record_type_));
  pending_.bytes(record_.data());
}

// Event times are deltas from the previous event of the block (the first is
// absolute). Events of different CPUs arrive nearly, not exactly, in time
// order: a signed delta keeps the small backward steps cheap.
void RecordingWriter::put_time(uint64_t time_ns) {
  record_.svarint(static_cast<int64_t>(time_ns - prev_event_ns_));
  prev_event_ns_ = time_ns;
  if (time_ns < block_first_ns_) block_first_ns_ = time_ns;
  if (time_ns > block_last_ns_) block_last_ns_ = time_ns;
}

void RecordingWriter::add_cpu_sample(const CpuSample& sample) {
  ensure_thread(sample.tid);
  samples_.push_back(sample);
  if (sample.time_ns < block_first_ns_) block_first_ns_ = sample.time_ns;
  if (sample.time_ns > block_last_ns_) block_last_ns_ = sample.time_ns;
  ++samples_written_;
}

void RecordingWriter::add_offcpu(const OffCpuInterval& e) {
  ensure_thread(e.tid);
  // The waker may have no event of its own (another process, say), and its
  // name and pid are what a reader shows for it.
  if (e.waker_tid != 0) ensure_thread(e.waker_tid);
  begin_record(RecordType::kOffCpu);
  put_time(e.time_ns);
  record_.varint(e.blocked_ns);
  record_.varint(e.runq_ns);
  record_.varint(e.tid);
  record_.varint(e.stack);
  record_.varint(e.waker_tid);
  record_.varint(e.waker_stack);
  record_.varint(static_cast<uint8_t>(e.state));
  record_.varint(e.flags);
  end_record();
}

void RecordingWriter::add_offcpu_total(const OffCpuTotal& e) {
  ensure_thread(e.tid);
  begin_record(RecordType::kOffCpuTotal);
  put_time(e.time_ns);
  record_.varint(e.tid);
  record_.varint(static_cast<uint8_t>(e.state));
  record_.varint(e.count);
  record_.varint(e.blocked_ns);
  record_.varint(e.runq_ns);
  end_record();
}

void RecordingWriter::add_wakeup(const Wakeup& e) {
  ensure_thread(e.wakee_tid);
  if (e.waker_tid) ensure_thread(e.waker_tid);
  begin_record(RecordType::kWakeup);
  put_time(e.time_ns);
  record_.varint(e.waker_pid);
  record_.varint(e.waker_tid);
  record_.varint(e.wakee_tid);
  record_.varint(e.waker_stack);
  end_record();
}

void RecordingWriter::add_allocation(const Allocation& e) {
  ensure_thread(e.tid);
  begin_record(RecordType::kAllocation);
  put_time(e.time_ns);
  record_.varint(e.tid);
  record_.varint(e.stack);
  record_.varint(e.address);
  record_.varint(e.size);
  record_.varint(e.weight);
  record_.varint(e.flags);
  end_record();
}

void RecordingWriter::add_free(const Free& e) {
  ensure_thread(e.tid);  // readers find the process of the address through it
  begin_record(RecordType::kFree);
  put_time(e.time_ns);
  record_.varint(e.tid);
  record_.varint(e.address);
  end_record();
}

void RecordingWriter::add_goroutine_event(const GoroutineEvent& e) {
  ensure_thread(e.tid);
  begin_record(RecordType::kGoroutine);
  put_time(e.time_ns);
  record_.varint(static_cast<uint8_t>(e.kind));
  record_.varint(e.tid);
  record_.varint(e.goid);
  record_.varint(e.waker_goid);
  record_.varint(e.reason);
  record_.varint(e.stack);
  record_.varint(e.wait_ns);
  record_.varint(e.flags);
  end_record();
}

void RecordingWriter::add_thread_event(const ThreadEvent& e) {
  if (e.kind == ThreadEventKind::kEnd) {
    auto it = threads_.find(e.tid);
    if (it != threads_.end()) it->second.ended = true;
  }
  begin_record(RecordType::kThreadEvent);
  put_time(e.time_ns);
  record_.varint(static_cast<uint8_t>(e.kind));
  record_.varint(e.pid);
  record_.varint(e.tid);
  end_record();
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

void RecordingWriter::start_new_chunk() {
  ++chunk_seq_;
  block_seq_ = 0;
  chunk_bytes_ = 0;
  ++generation_;
  string_ids_.clear();
  stack_ids_.clear();
  stack_trie_.clear();
  next_mapping_id_ = 1;
  next_frame_id_ = 1;
  // Threads that ended are forgotten, so the table holds the live threads
  // however many came and went (a flight recording runs for weeks).
  for (auto it = threads_.begin(); it != threads_.end();) {
    ThreadState& t = it->second;
    if (t.ended && ++t.chunks_since_end > 1) {
      it = threads_.erase(it);
      continue;
    }
    t.emitted = false;
    ++it;
  }
}

Status RecordingWriter::finish_file() {
  FLARE_RETURN_IF_ERROR(flush());
  FLARE_RETURN_IF_ERROR(write_block(BlockKind::kEnd, {}, 0));
  if (::fsync(fd_) != 0) return Status::from_errno(errno, "syncing " + partial_path_);
  ::close(fd_);
  fd_ = -1;
  if (::rename(partial_path_.c_str(), path_.c_str()) != 0) {
    return Status::from_errno(errno, "renaming " + partial_path_ + " to " + path_);
  }
  return Status::ok();
}

// The chunk's file is finished and the next chunk starts a new file, whose
// header has the clock pair of its start: each file reads on its own.
Status RecordingWriter::start_new_chunk_file(uint64_t now_ns) {
  ChunkFileSink& sink = *options_.chunk_files;
  sink.closing_chunk(*this);
  FLARE_RETURN_IF_ERROR(finish_file());
  sink.chunk_finished(path_);
  header_.clock_monotonic_ns = now_ns;
  header_.clock_realtime_ns = clock_ns(CLOCK_REALTIME);
  path_ = sink.next_chunk_path(header_.clock_realtime_ns);
  partial_path_ = path_ + ".partial";
  fd_ = ::open(partial_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) return Status::from_errno(errno, "cannot create chunk file " + partial_path_);
  start_new_chunk();
  block_seq_ = 0;
  return write_all(encode_header(header_));
}

bool RecordingWriter::flush_due(uint64_t now_ns) const {
  return last_flush_ns_ != 0 &&
         (now_ns - last_flush_ns_ >= options_.flush_interval_ns || pending_.size() >= options_.block_max_raw_bytes);
}

Status RecordingWriter::maybe_flush(uint64_t now_ns) {
  if (last_flush_ns_ == 0) {
    last_flush_ns_ = now_ns;
    chunk_start_ns_ = now_ns;
  }
  if (!flush_due(now_ns)) return Status::ok();
  last_flush_ns_ = now_ns;
  FLARE_RETURN_IF_ERROR(flush());
  if (now_ns - chunk_start_ns_ >= options_.chunk_duration_ns || chunk_bytes_ >= options_.chunk_max_bytes) {
    if (options_.chunk_files) {
      FLARE_RETURN_IF_ERROR(start_new_chunk_file(now_ns));
    } else {
      start_new_chunk();
    }
    chunk_start_ns_ = now_ns;
  }
  return Status::ok();
}

Status RecordingWriter::flush() {
  if (!samples_.empty()) {
    begin_record(RecordType::kCpuSampleBatch);
    encode_sample_batch(samples_, sample_period_ns_, record_);
    end_record();
    samples_.clear();
  }
  if (pending_.size() == 0) return Status::ok();
  const std::string& raw = pending_.data();
  compressed_.resize(ZSTD_compressBound(raw.size()));
  size_t n = ZSTD_compress2(static_cast<ZSTD_CCtx*>(zstd_ctx_), compressed_.data(), compressed_.size(), raw.data(),
                            raw.size());
  if (ZSTD_isError(n)) return Status(ErrorCode::kInternal, std::string("zstd: ") + ZSTD_getErrorName(n));
  FLARE_RETURN_IF_ERROR(
      write_block(BlockKind::kData, std::string_view(compressed_.data(), n), static_cast<uint32_t>(raw.size())));
  pending_.clear();
  prev_event_ns_ = 0;
  block_first_ns_ = UINT64_MAX;
  block_last_ns_ = 0;
  return Status::ok();
}

Status RecordingWriter::write_block(BlockKind kind, std::string_view payload, uint32_t raw_len) {
  ByteWriter h;
  h.u32(kBlockMagic);
  h.u8(static_cast<uint8_t>(kind));
  h.u8(block_seq_ == 0 ? kBlockChunkStart : 0);
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
  if (options_.chunk_files) options_.chunk_files->closing_chunk(*this);
  FLARE_RETURN_IF_ERROR(finish_file());
  if (options_.chunk_files) options_.chunk_files->chunk_finished(path_);
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
