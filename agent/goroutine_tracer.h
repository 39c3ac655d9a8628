// Owns everything the goroutine tracer puts into the kernel: the BPF
// skeleton (bpf/goroutine_tracer.bpf.c), one uprobe_multi link per target on
// the Go runtime's park and ready functions, and the ring buffer reader.
// Destruction (or detach()) releases all of it; nothing is pinned.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/go_binary.h"
#include "bpf/goroutine_event.h"
#include "common/status.h"

namespace flare::agent {

struct GoroutineTracerOptions {
  uint32_t ring_buffer_bytes = 0;  // 0: kMaxRingBytes (agent/ring_size.h)
};

// One probe site, for verbose output.
struct GoroutineProbe {
  std::string function;
  uint64_t offset = 0;    // from the function's entry
  bool emulated = false;  // the probed instruction is emulated in the trap
};

struct GoroutineTargetReport {
  std::vector<GoroutineProbe> probes;
};

class GoroutineTracer {
 public:
  using Handler = std::function<void(const flare_goroutine_event&)>;

  // Opens and loads the BPF program; nothing is attached yet.
  static Result<std::unique_ptr<GoroutineTracer>> load(const GoroutineTracerOptions& options, Handler on_event);
  ~GoroutineTracer();
  GoroutineTracer(const GoroutineTracer&) = delete;
  GoroutineTracer& operator=(const GoroutineTracer&) = delete;

  // Attaches the probes to `executable` (the Go program process `pid` runs
  // or will run, read as `binary`), for this process only.
  Result<GoroutineTargetReport> add_target(uint32_t pid, const std::string& executable, const GoBinary& binary);
  Result<int> poll(int timeout_ms);
  Result<int> drain();
  void detach();

  // Per cause, per CPU.
  Result<std::vector<std::vector<uint64_t>>> read_drops() const;
  Result<uint64_t> read_recursion_misses() const;
  uint64_t malformed_records() const { return malformed_records_; }

 private:
  struct Impl;
  explicit GoroutineTracer(std::unique_ptr<Impl> impl);
  static int on_record(void* ctx, void* data, size_t size);

  std::unique_ptr<Impl> impl_;
  uint64_t malformed_records_ = 0;
};

}  // namespace flare::agent
