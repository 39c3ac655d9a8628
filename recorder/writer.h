// Streams a recording to disk: a header, then chunks of blocks. Each block is
// one zstd frame of records, flushed at least every flush interval. The file
// is written as PATH.partial and renamed to PATH only by finish(), so a file
// under the final name is always complete; a crash leaves PATH.partial, which
// reads up to its last complete block.
//
// Chunks are self-contained: ids are local to a chunk and every string,
// mapping, frame, stack and thread a chunk uses is defined in it. When a new
// chunk starts, all pools are dropped (so memory does not grow with capture
// length) and generation() changes: every id handed out before is invalid and
// callers that cache ids must drop their caches.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "recorder/byte_io.h"
#include "recorder/format.h"
#include "recorder/model.h"
#include "recorder/stack_trie.h"

namespace flare::rec {

class RecordingWriter;

// Where a writer that writes each chunk as a file of its own puts them (the
// flight recorder's repository). Every such file is a complete recording:
// the header (with the clock pair of the chunk's start), the chunk's blocks
// and an end block.
class ChunkFileSink {
 public:
  virtual ~ChunkFileSink() = default;
  // The final name of the file for the chunk starting at this CLOCK_REALTIME.
  virtual std::string next_chunk_path(uint64_t start_realtime_ns) = 0;
  // The last moment to add records (statistics, say) to the chunk's file.
  virtual void closing_chunk(RecordingWriter& writer) = 0;
  // The chunk's file is complete under its final name.
  virtual void chunk_finished(const std::string& path) = 0;
};

struct WriterOptions {
  uint64_t flush_interval_ns = 1'000'000'000;  // at most this long between blocks
  uint64_t chunk_duration_ns = 60'000'000'000;
  uint64_t chunk_max_bytes = 16u << 20;
  // A block is also written once this many bytes of records wait for it:
  // at a high event rate (every allocation sampled) a second's worth would
  // otherwise sit in memory, twice while the buffer grows.
  uint64_t block_max_raw_bytes = 1u << 20;
  int zstd_level = 3;
  // Set: every chunk goes to a file of its own (see ChunkFileSink); the path
  // given to create() is the first chunk's. Not owned.
  ChunkFileSink* chunk_files = nullptr;
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

  // Pool entries: ids are valid until generation() changes.
  uint32_t intern_string(std::string_view s);
  uint32_t add_mapping(const MappingInfo& mapping);
  uint32_t add_frame(const FrameInfo& frame);
  uint32_t intern_stack(std::span<const uint32_t> frame_ids);
  uint64_t generation() const { return generation_; }

  // Records a thread's process and name; cheap to call on every event.
  void set_thread(uint32_t pid, uint32_t tid, std::string_view name);

  void add_cpu_sample(const CpuSample& sample);
  void add_offcpu(const OffCpuInterval& interval);
  void add_offcpu_total(const OffCpuTotal& total);
  void add_wakeup(const Wakeup& wakeup);
  void add_allocation(const Allocation& allocation);
  void add_free(const Free& free);
  void add_goroutine_event(const GoroutineEvent& event);
  void add_thread_event(const ThreadEvent& event);
  void add_lost(const LostRecord& lost);
  void add_stat(std::string_view name, uint64_t value);

  // Flushes when the flush interval has passed since the last flush (or
  // enough records wait: block_max_raw_bytes), and starts a new chunk when
  // the current one is old or large enough.
  Status maybe_flush(uint64_t now_ns);
  // Whether maybe_flush(now_ns) will flush: the last moment to add what the
  // block should carry.
  bool flush_due(uint64_t now_ns) const;
  Status flush();
  // Final flush, end block, fsync, rename PATH.partial -> PATH.
  Status finish();
  // Removes PATH.partial: for captures that failed before producing data.
  void abandon();

  const std::string& path() const { return path_; }
  uint64_t bytes_written() const { return bytes_written_; }
  uint64_t samples_written() const { return samples_written_; }
  uint32_t chunks_started() const { return chunk_seq_ + 1; }

 private:
  struct ThreadState {
    uint32_t pid = 0;
    std::string name;
    bool emitted = false;  // in the current chunk
    // Chunks started since its end event: late events (totals, out-of-order
    // rings) may still name it in the next chunk, so it is forgotten after that.
    uint8_t chunks_since_end = 0;
    bool ended = false;
  };

  RecordingWriter(std::string path, int fd, const WriterOptions& options, const FileHeader& header);

  void ensure_thread(uint32_t tid);
  void begin_record(RecordType type);
  void end_record();
  void put_time(uint64_t time_ns);
  void start_new_chunk();
  Status start_new_chunk_file(uint64_t now_ns);
  Status finish_file();
  Status write_block(BlockKind kind, std::string_view payload, uint32_t raw_len);
  Status write_all(std::string_view bytes);

  std::string path_;
  std::string partial_path_;
  int fd_ = -1;
  WriterOptions options_;
  FileHeader header_;  // written again at the start of every chunk file

  // Pools of the current chunk.
  std::unordered_map<std::string, uint32_t> string_ids_;
  uint32_t next_mapping_id_ = 1;
  uint32_t next_frame_id_ = 1;
  std::unordered_map<std::string, uint32_t> stack_ids_;  // key: frame ids as raw bytes
  std::string stack_key_;
  StackTrie stack_trie_;  // finds the base of each new stack's stack_delta record
  std::unordered_map<uint32_t, ThreadState> threads_;

  ByteWriter pending_;  // records of the block being built
  // CPU samples of the block being built: written as one cpu_sample_batch
  // record at the end of the block, after every pool entry they refer to.
  std::vector<CpuSample> samples_;
  uint64_t sample_period_ns_ = 0;  // the header's: the grid sample times are predicted on
  ByteWriter record_;   // the record being encoded
  RecordType record_type_ = RecordType::kString;
  void* zstd_ctx_ = nullptr;
  std::string compressed_;

  uint64_t generation_ = 0;
  uint32_t chunk_seq_ = 0;
  uint32_t block_seq_ = 0;  // within the chunk
  uint64_t chunk_start_ns_ = 0;
  uint64_t chunk_bytes_ = 0;
  uint64_t last_flush_ns_ = 0;
  uint64_t block_first_ns_ = UINT64_MAX;
  uint64_t block_last_ns_ = 0;
  uint64_t prev_event_ns_ = 0;
  uint64_t bytes_written_ = 0;
  uint64_t samples_written_ = 0;
  bool finished_ = false;
};

}  // namespace flare::rec
