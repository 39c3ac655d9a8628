// Owns everything the off-CPU tracer puts into the kernel: the BPF skeleton
// with its tp_btf programs on sched_switch, sched_waking, sched_wakeup and
// sched_process_exit, their links and the ring buffer reader. Destruction
// (or detach()) releases all of it; nothing is pinned.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "bpf/offcpu_event.h"
#include "common/status.h"

namespace flare::agent {

struct OffCpuTracerOptions {
  uint64_t min_ns = 100'000;     // shorter intervals are only totalled
  uint32_t max_per_second = 0;   // 0: no cap
  // Mapped whole into the agent (the kernel maps every ring page at mmap),
  // so it counts in full towards the agent's RSS. 0: sized from
  // max_per_second (agent/ring_size.h).
  uint32_t ring_buffer_bytes = 0;
};

struct OffCpuTotalEntry {
  flare_offcpu_total_key key;
  flare_offcpu_total total;  // cumulative since attach
};

class OffCpuTracer {
 public:
  using EventHandler = std::function<void(const flare_offcpu_event&)>;

  // Opens and loads the BPF programs; nothing is attached yet.
  static Result<std::unique_ptr<OffCpuTracer>> load(const OffCpuTracerOptions& options, EventHandler handler);
  ~OffCpuTracer();
  OffCpuTracer(const OffCpuTracer&) = delete;
  OffCpuTracer& operator=(const OffCpuTracer&) = delete;

  Status add_target(uint32_t pid);
  // capture_start_ns (CLOCK_MONOTONIC) is where intervals already open at
  // attach are clipped.
  Status attach(uint64_t capture_start_ns);
  // Runs the parked-threads iterator (bpf/offcpu_tracer.bpf.c): after attach
  // (attach() does) and again before read_open_intervals().
  Status scan_parked_threads();
  // Consumes whatever is in the ring buffer without waiting.
  Result<int> drain();
  void detach();

  Result<std::vector<OffCpuTotalEntry>> read_totals() const;
  // Deletes these totals (of threads that ended), so the table's slots serve
  // new threads however many come and go.
  Status forget_totals(const std::vector<flare_offcpu_total_key>& keys);
  // Threads off-CPU right now (switched out, not yet back), with the state
  // and stacks recorded when they left.
  Result<std::vector<flare_offcpu_event>> read_open_intervals() const;
  // Per cause, per CPU.
  Result<std::array<std::vector<uint64_t>, FLARE_OFFCPU_DROP_MAX>> read_drops() const;
  // Runs of the programs the kernel skipped because another run was in
  // progress on the CPU (bpf_prog_info.recursion_misses), all programs.
  Result<uint64_t> read_recursion_misses() const;
  uint64_t malformed_records() const { return malformed_records_; }
  // The ring buffer's size as loaded (given, or sized from the rate).
  uint32_t ring_buffer_bytes() const;

 private:
  struct Impl;
  explicit OffCpuTracer(std::unique_ptr<Impl> impl);
  static int on_record(void* ctx, void* data, size_t size);

  std::unique_ptr<Impl> impl_;
  uint64_t malformed_records_ = 0;
};

}  // namespace flare::agent
