// Reads one BPF ring buffer map (BPF_MAP_TYPE_RINGBUF) through a single
// mapping of its data area, in place of libbpf's ring_buffer.
//
// Why not libbpf's reader: it maps the data area twice, back to back, so a
// record that wraps past the end reads as one piece. The kernel inserts every
// page of that mapping at mmap time (remap_vmalloc_range), so each ring costs
// the agent twice its size in RSS: 8 MiB for a 4 MiB ring, the largest item of
// flare's peak RSS. Here the data area is mapped once (the kernel accepts a
// shorter mapping) and the rare record that wraps is copied into a scratch
// buffer before the handler sees it. Same protocol as the kernel's
// (Documentation/bpf/ringbuf.rst): positions only grow, a record's 8-byte
// header holds its length with a busy and a discard bit, records are 8-byte
// aligned, and the consumer position is published with release semantics.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "agent/unique_fd.h"
#include "common/status.h"

namespace flare::agent {

class RingReader {
 public:
  // Same shape as libbpf's ring_buffer_sample_fn: a non-zero return stops
  // the current consume() and is returned by it.
  using RecordHandler = int (*)(void* ctx, void* data, size_t size);

  // map_fd stays owned by the caller (the skeleton) and must outlive this.
  static Result<std::unique_ptr<RingReader>> open(int map_fd, RecordHandler handler, void* ctx);
  ~RingReader();
  RingReader(const RingReader&) = delete;
  RingReader& operator=(const RingReader&) = delete;

  // Waits up to timeout_ms for the kernel's wakeup, then consumes. Returns
  // the records handed to the handler, or -errno (as libbpf's does).
  int poll(int timeout_ms);
  // Hands every committed record to the handler without waiting.
  int consume();

  // Bytes of the ring's data area (the map's max_entries).
  size_t data_bytes() const { return data_bytes_; }

 private:
  RingReader() = default;

  RecordHandler handler_ = nullptr;
  void* ctx_ = nullptr;
  size_t page_bytes_ = 0;
  size_t data_bytes_ = 0;
  void* consumer_page_ = nullptr;  // read-write: the consumer position
  void* producer_area_ = nullptr;  // read-only: producer position page, then the data once
  UniqueFd epoll_fd_;
  std::vector<uint8_t> wrapped_;  // a record that runs past the data area's end, joined
};

}  // namespace flare::agent
