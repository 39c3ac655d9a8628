// Turns goroutine tracer output into recording entries: parks with their
// wait reason (the runtime's own text) and parking stack, readies with the
// waker goroutine, its stack and the park->ready latency.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>

#include "agent/go_binary.h"
#include "agent/goroutine_pairing.h"
#include "agent/sample_processor.h"
#include "bpf/goroutine_event.h"
#include "recorder/writer.h"

namespace flare::agent {

struct GoroutineStats {
  uint64_t parks = 0;
  uint64_t readies = 0;
  uint64_t netpoll_readies = 0;  // ... of which made by the netpoller
  uint64_t stackless = 0;        // user stack not captured
};

class GoroutineProcessor {
 public:
  GoroutineProcessor(rec::RecordingWriter& writer, SampleProcessor& stacks);

  // The binary process `pid` runs: its wait reason names.
  void add_target(uint32_t pid, std::shared_ptr<const GoBinary> binary);
  void process(const flare_goroutine_event& event);
  const GoroutineStats& stats() const { return stats_; }
  const GoroutinePairing& pairing() const { return pairing_; }

 private:
  uint32_t reason_string(uint32_t pid, uint32_t reason);

  rec::RecordingWriter& writer_;
  SampleProcessor& stacks_;
  std::unordered_map<uint32_t, std::shared_ptr<const GoBinary>> binaries_;
  GoroutinePairing pairing_;
  GoroutineStats stats_;
};

}  // namespace flare::agent
