// Turns allocation tracer output into recording entries: each sampled
// allocation with its stack and the weight that makes totals unbiased, and
// the frees of sampled blocks.
#pragma once

#include <cstdint>

#include "agent/sample_processor.h"
#include "bpf/alloc_event.h"
#include "recorder/writer.h"

namespace flare::agent {

// The bytes a sampled allocation of `size` stands for under a byte-based
// Poisson sampler of mean `rate` bytes: it was sampled with probability
// p = 1 - exp(-size/rate), so it weighs size / p (as Go's runtime/pprof
// scales heap samples). rate <= 1 samples everything: weight = size.
uint64_t alloc_weight(uint64_t size, uint64_t rate);

struct AllocStats {
  uint64_t samples = 0;       // allocations recorded
  uint64_t frees = 0;         // frees of sampled blocks recorded
  uint64_t untracked = 0;     // recorded with kAllocUntracked
  uint64_t stackless = 0;     // user stack not captured
  uint64_t sampled_bytes = 0; // sum of sizes
};

class AllocProcessor {
 public:
  AllocProcessor(rec::RecordingWriter& writer, SampleProcessor& stacks, uint64_t sample_rate);

  void process(const flare_alloc_event& event);
  void process(const flare_free_event& event);
  const AllocStats& stats() const { return stats_; }

 private:
  rec::RecordingWriter& writer_;
  SampleProcessor& stacks_;
  uint64_t sample_rate_;
  AllocStats stats_;
};

}  // namespace flare::agent
