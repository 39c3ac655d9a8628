// The per-thread timeline of `flare view`, bounded so that a long or busy
// recording still makes a page a browser draws at once:
//
// - CPU samples are counted per (thread, time bucket, call-tree node). The
//   bucket starts at one sampling period and doubles until the cells fit in
//   max_cpu_cells, so a short capture keeps every sample's time and a long
//   one keeps its shape at a coarser grain. Selecting a time range in the
//   page re-aggregates the flame graph from these cells, so its resolution
//   is one bucket.
// - For drawing, samples are also counted per (thread, time bucket) alone,
//   at one sampling period or 1/2000 of the capture, whichever is longer,
//   so the timeline keeps its detail when the cells above had to coarsen.
// - Off-CPU intervals recorded one by one are kept with their times, state,
//   blocked stack and waker; beyond max_offcpu_spans only the longest are
//   kept and the rest counted (spans_omitted, shown in the page). Intervals
//   the recorder only totalled have no time of their own and stay out of
//   the timeline (the flame graphs still count them).
#pragma once

#include <cstdint>
#include <vector>

#include "recorder/model.h"
#include "viewer/call_tree.h"

namespace flare::viewer {

struct TimelineLimits {
  size_t max_cpu_cells = 250'000;
  size_t max_offcpu_spans = 100'000;
};

struct CpuCells {
  uint64_t bucket_ns = 0;
  std::vector<uint32_t> tid, bucket, node, count;
};

struct ThreadActivity {
  uint64_t bucket_ns = 0;
  std::vector<uint32_t> tid, bucket, count;
};

inline constexpr uint64_t kActivityBuckets = 2000;

struct OffCpuSpans {
  std::vector<uint32_t> tid;
  std::vector<int64_t> start_ns;  // since the capture start
  std::vector<uint64_t> blocked_ns, runq_ns;
  std::vector<uint8_t> state;  // rec::OffCpuState
  std::vector<uint32_t> node;  // where it blocked
  std::vector<uint32_t> waker_tid;   // 0: none
  std::vector<uint32_t> waker_node;  // the waker's stack (leaf-first names are the page's job)
  uint64_t spans_omitted = 0;
};

struct Timeline {
  CpuCells cpu;
  ThreadActivity activity;
  OffCpuSpans offcpu;
};

Timeline build_timeline(const rec::Recording& rec, StackNodes& nodes, const TimelineLimits& limits);

}  // namespace flare::viewer
