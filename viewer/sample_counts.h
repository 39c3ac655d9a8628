// Collapsing millions of samples into a few thousand distinct keys before any
// string or protobuf work happens: the per-sample path touches integers only,
// which is what lets conversion keep up with millions of samples a second.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "recorder/model.h"

namespace flare::viewer {

struct StackThreadCount {
  uint32_t stack = 0;
  uint32_t tid = 0;
  uint64_t count = 0;
};

// One entry per distinct (stack id, tid), in order of first appearance so the
// output of every view is deterministic for a given recording.
std::vector<StackThreadCount> count_by_stack_and_thread(std::span<const rec::CpuSample> samples);

// Samples per stack id, indexed by stack id (size == rec.stacks.size()).
// A sample naming a stack id the recording does not have counts as stack 0,
// the empty stack, matching what Recording::stack() returns for it.
std::vector<uint64_t> count_by_stack(const rec::Recording& rec);

}  // namespace flare::viewer
