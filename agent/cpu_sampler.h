// Owns everything the CPU sampler puts into the kernel: the BPF skeleton, one
// cpu-clock perf event per online CPU, the links between them and the ring
// buffer reader. Destruction (or detach()) releases all of it; nothing is
// pinned, so the kernel also frees it all if flare is killed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "bpf/cpu_sample.h"
#include "common/status.h"

namespace flare::agent {

struct CpuSamplerOptions {
  uint32_t frequency_hz = 99;
  // A power of two, a multiple of the page size. 0: sized from the
  // frequency, the online CPUs and the record size (agent/ring_size.h).
  uint32_t ring_buffer_bytes = 0;
  // FLARE_USER_STACK_FP: return addresses by frame pointers, in the kernel.
  // FLARE_USER_STACK_COPY: registers and up to stack_copy_bytes of stack, for
  // the agent to unwind.
  uint32_t user_stack_kind = FLARE_USER_STACK_FP;
  uint32_t stack_copy_bytes = 32768;  // a multiple of 4096, at most FLARE_MAX_STACK_COPY
};

// Drop counters read from the BPF side, per CPU and cause.
struct SamplerDrops {
  std::vector<uint64_t> per_cpu[FLARE_DROP_MAX];
};

// Per CPU: how long the perf event was enabled (its cpu-clock count) and how
// often the program ran while the CPU was busy (see missed_ticks.h).
struct SamplerTicks {
  int cpu = 0;
  uint64_t enabled_ns = 0;
  uint64_t busy_runs = 0;
};

class CpuSampler {
 public:
  using SampleHandler = std::function<void(const flare_cpu_sample&)>;
  // A copy sample and how many bytes of its `stack` arrived.
  using CopySampleHandler = std::function<void(const flare_cpu_sample_copy&, size_t stack_bytes)>;

  // Opens and loads the BPF program; nothing is attached yet. Samples go to
  // `handler` or, with FLARE_USER_STACK_COPY, to `copy_handler`.
  static Result<std::unique_ptr<CpuSampler>> load(const CpuSamplerOptions& options, SampleHandler handler,
                                                  CopySampleHandler copy_handler = {});
  ~CpuSampler();
  CpuSampler(const CpuSampler&) = delete;
  CpuSampler& operator=(const CpuSampler&) = delete;

  Status add_target(uint32_t pid);
  // Opens the per-CPU perf events and attaches the program to each.
  Status attach();
  // Waits up to timeout_ms for samples and hands each to the handler.
  // Returns the number of samples consumed.
  Result<int> poll(int timeout_ms);
  // Consumes whatever is in the ring buffer without waiting.
  Result<int> drain();
  // Detaches every link and closes every perf event. Idempotent.
  void detach();

  Result<SamplerDrops> read_drops() const;
  // Read before detach(): needs the perf events.
  Result<std::vector<SamplerTicks>> read_ticks() const;
  uint64_t malformed_records() const { return malformed_records_; }
  // The ring buffer's size as loaded (given, or sized from the rate).
  uint32_t ring_buffer_bytes() const;

 private:
  struct Impl;
  explicit CpuSampler(std::unique_ptr<Impl> impl);
  static int on_record(void* ctx, void* data, size_t size);

  std::unique_ptr<Impl> impl_;
  uint64_t malformed_records_ = 0;
};

}  // namespace flare::agent
