// Owns everything the allocation tracer puts into the kernel: the BPF
// skeleton (bpf/alloc_tracer.bpf.c), one uprobe-session link per target and
// library on its allocation functions, one uprobe link per target and
// library on free, and the ring buffer reader. Destruction (or detach())
// releases all of it; nothing is pinned.
//
// The links are created with the raw bpf() syscall: uprobe_multi links and
// uprobe sessions (kernel 6.13) postdate Debian's libbpf 1.1. A session lets
// the entry program decide per call whether the return is probed, so the
// return trap is paid only by sampled calls.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/allocator_libraries.h"
#include "bpf/alloc_event.h"
#include "common/status.h"

namespace flare::agent {

struct AllocTracerOptions {
  uint64_t sample_rate = 512 * 1024;  // mean bytes between samples; <= 1: every allocation
  uint64_t seed = 0;
  // true: each thread's generator starts from seed mixed with its tid; false:
  // from seed alone, so a deterministic program samples the same
  // allocations in every run (what --alloc-seed asks for).
  bool seed_threads_by_tid = true;
  // 0: kMaxRingBytes (agent/ring_size.h): the allocation rate is the
  // target's, unknown in advance.
  uint32_t ring_buffer_bytes = 0;
};

// One probe site, for verbose output and the recording's statistics.
struct AllocProbe {
  std::string function;  // first name found at that address
  std::string library;   // path as the target sees it
  uint64_t offset = 0;   // from the function's entry: past instructions the kernel would single-step
  bool emulated = false; // the probed instruction is emulated in the trap
};

struct AllocTargetReport {
  std::vector<AllocProbe> probes;
  std::vector<std::string> warnings;  // one line each, e.g. an allocator flare does not hook
};

class AllocTracer {
 public:
  using AllocHandler = std::function<void(const flare_alloc_event&)>;
  using FreeHandler = std::function<void(const flare_free_event&)>;

  // Opens and loads the BPF programs; nothing is attached yet.
  static Result<std::unique_ptr<AllocTracer>> load(const AllocTracerOptions& options, AllocHandler on_alloc,
                                                   FreeHandler on_free);
  ~AllocTracer();
  AllocTracer(const AllocTracer&) = delete;
  AllocTracer& operator=(const AllocTracer&) = delete;

  // Finds the libraries serving the target's allocations in its mappings and
  // attaches the probes to them, for this process only.
  Result<AllocTargetReport> add_target(uint32_t pid);
  // Probes replacement allocators of a target already added (a spawned
  // command's, known only once it has mapped them).
  Status attach_replacements(uint32_t pid, const std::vector<MappedLibrary>& libraries, AllocTargetReport& report);
  // Probes the Go runtime's own allocation sampling in a Go executable of a
  // target already added. A binary flare cannot hook (stripped, or built
  // without memory profiling) gets a warning in the report, not an error.
  Status attach_go_runtime(uint32_t pid, const MappedLibrary& executable, AllocTargetReport& report);
  // Waits up to timeout_ms for the ring to fill past its wakeup mark, then
  // consumes it.
  Result<int> poll(int timeout_ms);
  // Consumes whatever is in the ring buffer without waiting.
  Result<int> drain();
  void detach();

  // Per cause, per CPU.
  Result<std::array<std::vector<uint64_t>, FLARE_ALLOC_DROP_MAX>> read_drops() const;
  // Allocator calls the programs looked at, by enum flare_alloc_func.
  Result<std::array<uint64_t, FLARE_ALLOC_FUNC_MAX>> read_calls() const;
  // Sampled blocks tracked right now (FLARE_ALLOC_MAX_LIVE at most).
  Result<uint64_t> live_entries() const;
  // Runs of the programs the kernel skipped (bpf_prog_info.recursion_misses).
  Result<uint64_t> read_recursion_misses() const;
  uint64_t malformed_records() const { return malformed_records_; }

 private:
  struct Impl;
  explicit AllocTracer(std::unique_ptr<Impl> impl);
  static int on_record(void* ctx, void* data, size_t size);

  std::unique_ptr<Impl> impl_;
  uint64_t malformed_records_ = 0;
};

}  // namespace flare::agent
