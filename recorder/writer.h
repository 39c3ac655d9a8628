// Streams a recording to disk: a header, then blocks of zstd-compressed
// records flushed at least every flush interval. The file is written as
// PATH.partial and renamed to PATH only by finish(), so a file under the final
// name is always complete; a crash leaves PATH.partial, readable up to its
// last complete block with `--salvage`.
//
// Ids are dense and global to the file. Chunks (a run of blocks sharing a
// chunk sequence number) are self-contained: every string, mapping, frame,
// stack and thread a chunk references is (re)emitted in that chunk before its
// first use, so chunks can be read, cut or dropped independently.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "recorder/byte_io.h"
#include "recorder/format.h"
#include "recorder/model.h"

namespace flare::rec {

struct WriterOptions {
  uint64_t flush_interval_ns = 1'000'000'000;  // at most this long between blocks
  uint64_t chunk_duration_ns = 60'000'000'000;
  uint64_t chunk_max_bytes = 16u << 20;
  int zstd_level = 3;
};

class RecordingWriter {
 public:
  // Creates PATH.partial (failing early, before any capture starts, if it
  // cannot) and writes the header.
  static Result<std::unique_ptr<RecordingWriter>> create(const std::string& path, const FileHeader& header,
                                                          const WriterOptions& options = {});
  ~RecordingWriter();
  RecordingWriter(const RecordingWriter&) = delete;
  RecordingWriter& operator=(const RecordingWriter&) = delete;

  uint32_t intern_string(std::string_view s);
  uint32_t add_mapping(const MappingInfo& mapping);
  uint32_t add_frame(const FrameInfo& frame);
  uint32_t intern_stack(std::span<const uint32_t> frame_ids);
  // Records a thread's name; called again when the name changes.
  void set_thread(const ThreadInfo& thread);

  void add_cpu_sample(const CpuSample& sample);
  void add_lost(const LostRecord& lost);
  void add_stat(std::string_view name, uint64_t value);

  // Flushes when the flush interval has passed since the last flush.
  Status maybe_flush(uint64_t now_ns);
  Status flush();
  // Final flush, end block, fsync, rename PATH.partial -> PATH.
  Status finish();
  // Removes PATH.partial: for captures that failed before producing data.
  void abandon();

  const std::string& path() const { return path_; }
  uint64_t bytes_written() const { return bytes_written_; }
  uint64_t samples_written() const { return samples_written_; }

 private:
  RecordingWriter(std::string path, int fd, const WriterOptions& options);

  void ensure_string(uint32_t id);
  void ensure_mapping(uint32_t id);
  void ensure_frame(uint32_t id);
  void ensure_stack(uint32_t id);
  void ensure_thread(uint32_t tid);
  void begin_record(RecordType type);
  void end_record();
  Status write_block(BlockKind kind, std::string_view payload, uint32_t raw_len);
  Status write_all(std::string_view bytes);
  bool emitted(std::vector<uint32_t>& marks, uint32_t id);

  std::string path_;
  std::string partial_path_;
  int fd_ = -1;
  WriterOptions options_;

  std::vector<std::string> strings_{""};
  std::unordered_map<std::string, uint32_t> string_ids_;
  std::vector<MappingInfo> mappings_{MappingInfo{}};
  std::vector<FrameInfo> frames_{FrameInfo{}};
  std::vector<uint32_t> stack_frames_;          // all stacks' frame ids, back to back
  std::vector<uint32_t> stack_offsets_{0, 0};   // stack i is [offsets[i], offsets[i+1])
  std::unordered_map<std::string, uint32_t> stack_ids_;  // key: frame ids as raw bytes
  std::unordered_map<uint32_t, ThreadInfo> threads_;

  // Per pool: the chunk number (+1) in which each entry was last emitted.
  std::vector<uint32_t> string_marks_, mapping_marks_, frame_marks_, stack_marks_;
  std::unordered_map<uint32_t, uint32_t> thread_marks_;

  ByteWriter pending_;   // records of the block being built
  ByteWriter record_;    // the record being encoded
  RecordType record_type_ = RecordType::kString;
  void* zstd_ctx_ = nullptr;
  std::string compressed_;

  uint32_t chunk_seq_ = 0;
  uint32_t block_seq_ = 0;
  uint64_t chunk_start_ns_ = 0;
  uint64_t chunk_bytes_ = 0;
  uint64_t last_flush_ns_ = 0;
  uint64_t block_first_ns_ = UINT64_MAX;
  uint64_t block_last_ns_ = 0;
  uint64_t prev_sample_ns_ = 0;
  uint64_t bytes_written_ = 0;
  uint64_t samples_written_ = 0;
  bool finished_ = false;
};

}  // namespace flare::rec
