#include "viewer/html_timeline.h"

#include <algorithm>
#include <numeric>
#include <tuple>

#include "viewer/sample_weight.h"
#include "viewer/wall_time.h"

namespace flare::viewer {

namespace {

struct PlacedSample {
  uint32_t tid, node;
  uint64_t time_ns;  // since the capture start (earlier samples count as 0)
};

uint64_t bucket_of(const PlacedSample& s, uint64_t width) { return s.time_ns / width; }

// Samples sorted by (tid, node, time) fall into one cell per run of equal
// (tid, node, bucket), so a width is tried with one pass and no hashing.
size_t count_cells(const std::vector<PlacedSample>& sorted, uint64_t width) {
  size_t cells = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i == 0 || sorted[i].tid != sorted[i - 1].tid || sorted[i].node != sorted[i - 1].node ||
        bucket_of(sorted[i], width) != bucket_of(sorted[i - 1], width)) {
      ++cells;
    }
  }
  return cells;
}

CpuCells cpu_cells(const rec::Recording& rec, StackNodes& nodes, size_t max_cells) {
  CpuCells cells;
  uint64_t width = sample_period_ns(rec.header);
  if (width == 0) width = 10'000'000;  // no period known: 10 ms is 100 Hz's
  std::vector<PlacedSample> sorted;
  sorted.reserve(rec.samples.size());
  for (const rec::CpuSample& s : rec.samples) {
    int64_t t = since_capture_start_ns(rec.header, s.time_ns);
    sorted.push_back(PlacedSample{s.tid, nodes.node_of_stack(s.stack), t < 0 ? 0 : static_cast<uint64_t>(t)});
  }
  std::sort(sorted.begin(), sorted.end(), [](const PlacedSample& a, const PlacedSample& b) {
    return std::tie(a.tid, a.node, a.time_ns) < std::tie(b.tid, b.node, b.time_ns);
  });
  while (count_cells(sorted, width) > std::max<size_t>(max_cells, 1) && width < (uint64_t{1} << 62)) width *= 2;
  cells.bucket_ns = width;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const PlacedSample& s = sorted[i];
    uint32_t bucket = static_cast<uint32_t>(std::min<uint64_t>(bucket_of(s, width), UINT32_MAX));
    if (!cells.tid.empty() && cells.tid.back() == s.tid && cells.node.back() == s.node &&
        cells.bucket.back() == bucket) {
      ++cells.count.back();
      continue;
    }
    cells.tid.push_back(s.tid);
    cells.node.push_back(s.node);
    cells.bucket.push_back(bucket);
    cells.count.push_back(1);
  }
  return cells;
}

ThreadActivity thread_activity(const rec::Recording& rec) {
  ThreadActivity activity;
  uint64_t last = 0;
  for (const rec::CpuSample& s : rec.samples) {
    last = std::max<int64_t>(last, since_capture_start_ns(rec.header, s.time_ns));
  }
  uint64_t width = std::max<uint64_t>(sample_period_ns(rec.header), last / kActivityBuckets + 1);
  activity.bucket_ns = width;
  std::vector<std::pair<uint32_t, uint32_t>> keys;  // (tid, bucket) per sample
  keys.reserve(rec.samples.size());
  for (const rec::CpuSample& s : rec.samples) {
    int64_t t = since_capture_start_ns(rec.header, s.time_ns);
    keys.emplace_back(s.tid, static_cast<uint32_t>((t < 0 ? 0 : static_cast<uint64_t>(t)) / width));
  }
  std::sort(keys.begin(), keys.end());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0 && keys[i] == keys[i - 1]) {
      ++activity.count.back();
      continue;
    }
    activity.tid.push_back(keys[i].first);
    activity.bucket.push_back(keys[i].second);
    activity.count.push_back(1);
  }
  return activity;
}

OffCpuSpans offcpu_spans(const rec::Recording& rec, StackNodes& nodes, size_t max_spans) {
  OffCpuSpans spans;
  std::vector<size_t> kept(rec.offcpu.size());
  std::iota(kept.begin(), kept.end(), 0);
  auto length = [&](size_t i) { return rec.offcpu[i].blocked_ns + rec.offcpu[i].runq_ns; };
  if (kept.size() > max_spans) {
    std::nth_element(kept.begin(), kept.begin() + static_cast<ptrdiff_t>(max_spans), kept.end(),
                     [&](size_t a, size_t b) { return length(a) > length(b); });
    spans.spans_omitted = kept.size() - max_spans;
    kept.resize(max_spans);
  }
  std::sort(kept.begin(), kept.end(), [&](size_t a, size_t b) {
    return std::tie(rec.offcpu[a].time_ns, a) < std::tie(rec.offcpu[b].time_ns, b);
  });
  for (size_t i : kept) {
    const rec::OffCpuInterval& o = rec.offcpu[i];
    spans.tid.push_back(o.tid);
    spans.start_ns.push_back(since_capture_start_ns(rec.header, o.time_ns));
    spans.blocked_ns.push_back(o.blocked_ns);
    spans.runq_ns.push_back(o.runq_ns);
    spans.state.push_back(static_cast<uint8_t>(o.state));
    spans.node.push_back(nodes.node_of_stack(o.stack));
    spans.waker_tid.push_back(o.waker_tid);
    spans.waker_node.push_back(o.waker_tid != 0 ? nodes.node_of_stack(o.waker_stack) : CallTree::kRoot);
  }
  return spans;
}

}  // namespace

Timeline build_timeline(const rec::Recording& rec, StackNodes& nodes, const TimelineLimits& limits) {
  Timeline t;
  t.cpu = cpu_cells(rec, nodes, limits.max_cpu_cells);
  t.activity = thread_activity(rec);
  t.offcpu = offcpu_spans(rec, nodes, limits.max_offcpu_spans);
  return t;
}

}  // namespace flare::viewer
