// Owns the thread-lifecycle BPF programs (tp_btf sched_process_fork and
// sched_process_exit), their links and ring buffer: when target threads are
// created and end, for every recording. Destruction (or detach()) releases
// all of it; nothing is pinned.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "bpf/thread_event.h"
#include "common/status.h"

namespace flare::agent {

class ThreadTracer {
 public:
  using EventHandler = std::function<void(const flare_thread_event&)>;

  // Opens and loads the BPF programs; nothing is attached yet.
  static Result<std::unique_ptr<ThreadTracer>> load(EventHandler handler);
  ~ThreadTracer();
  ThreadTracer(const ThreadTracer&) = delete;
  ThreadTracer& operator=(const ThreadTracer&) = delete;

  Status add_target(uint32_t pid);
  Status attach();
  // Hands every queued event to the handler; returns how many.
  Result<int> drain();
  void detach();

  // Events the kernel could not queue (ring full), summed over CPUs.
  Result<uint64_t> read_drops() const;
  uint64_t malformed_records() const { return malformed_records_; }

 private:
  struct Impl;
  explicit ThreadTracer(std::unique_ptr<Impl> impl);
  static int on_record(void* ctx, void* data, size_t size);

  std::unique_ptr<Impl> impl_;
  uint64_t malformed_records_ = 0;
};

}  // namespace flare::agent
