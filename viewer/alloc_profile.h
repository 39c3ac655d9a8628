// Allocation samples as totals per stack and thread: what was allocated
// (every sample scaled by its weight, so totals are unbiased estimates of
// all allocations) and what is still in use at the end of the recording
// (sampled blocks not freed, in time order, realloc's free of the old block
// included). Shared by pprof, top, folded, info and leaks.
#pragma once

#include <cstdint>
#include <vector>

#include "recorder/model.h"

namespace flare::viewer {

// Objects an allocation sample stands for: weight / size (1 when every
// allocation is recorded; 1/p for a block sampled with probability p).
double alloc_objects(const rec::Allocation& a);

struct AllocTotals {
  uint32_t stack = 0;
  uint32_t tid = 0;
  double alloc_objects = 0;
  uint64_t alloc_bytes = 0;  // sum of weights
  double inuse_objects = 0;
  uint64_t inuse_bytes = 0;
  uint64_t samples = 0;      // allocation records behind it
};

// One entry per distinct (stack, tid), in order of first allocation.
std::vector<AllocTotals> alloc_totals(const rec::Recording& rec);

// Indexes into rec.allocations of the samples still in use at the end:
// allocated and not freed afterwards, and tracked (not kAllocUntracked: the
// recorder could not have seen their free).
std::vector<size_t> live_allocations(const rec::Recording& rec);

// True when the recording was made with allocation sampling: the header
// names a sampling rate or "alloc" in its events, or allocation records are
// present.
bool has_alloc(const rec::Recording& rec);

}  // namespace flare::viewer
