#include "viewer/pprof.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <google/protobuf/arena.h>

#include "viewer/alloc_profile.h"
#include "viewer/goroutine_waits.h"
#include "viewer/gzip.h"
#include "viewer/pprof_builder.h"
#include "viewer/sample_weight.h"
#include "viewer/weighted_stacks.h"

namespace flare::viewer {

namespace {

// The span the profile's events cover, for Profile.duration_nanos: CPU
// sample times, and off-CPU intervals from switch-out to back on CPU.
struct TimeSpan {
  std::optional<uint64_t> first, last;
  void add(uint64_t from, uint64_t to) {
    first = first ? std::min(*first, from) : from;
    last = last ? std::max(*last, to) : to;
  }
  int64_t duration() const { return first ? pprof_int64(*last - *first) : 0; }
};

TimeSpan time_span(const rec::Recording& rec, Signal signal) {
  TimeSpan span;
  if (is_alloc_signal(signal)) {
    for (const rec::Allocation& a : rec.allocations) span.add(a.time_ns, a.time_ns);
    for (const rec::Free& f : rec.frees) span.add(f.time_ns, f.time_ns);
    return span;
  }
  if (signal == Signal::kGoroutine) {
    for (const GoroutineWait& w : goroutine_waits(rec).waits) span.add(w.park_ns, w.park_ns + w.wait_ns);
    return span;
  }
  if (signal != Signal::kOffCpu) {
    for (const rec::CpuSample& s : rec.samples) span.add(s.time_ns, s.time_ns);
  }
  if (signal != Signal::kCpu) {
    for (const rec::OffCpuInterval& i : rec.offcpu) span.add(i.time_ns, i.time_ns + i.blocked_ns + i.runq_ns);
  }
  return span;
}

PprofLayout layout_for(const rec::Recording& rec, Signal signal) {
  PprofLayout layout;
  const int64_t period = pprof_int64(sample_period_ns(rec.header));
  switch (signal) {
    case Signal::kCpu:
      layout.sample_types = {{"samples", "count"}, {"cpu", "nanoseconds"}};
      layout.period_type = {"cpu", "nanoseconds"};
      layout.period = period;
      layout.default_sample_type = "cpu";
      break;
    case Signal::kOffCpu:
    case Signal::kGoroutine:
      // As runtime/pprof writes block profiles: pprof then labels the
      // views "contentions" and "delay" and shows delay by default.
      layout.sample_types = {{"contentions", "count"}, {"delay", "nanoseconds"}};
      layout.period_type = {"contentions", "count"};
      layout.period = 1;
      layout.default_sample_type = "delay";
      break;
    case Signal::kWall:
      layout.sample_types = {{"wall", "nanoseconds"}};
      layout.period_type = {"wall", "nanoseconds"};
      layout.period = period;
      layout.default_sample_type = "wall";
      break;
    case Signal::kAlloc:
    case Signal::kInUse:
      // Go's heap profile layout: pprof knows these names (-sample_index,
      // the -alloc_space / -inuse_space shortcuts); the period is the mean
      // sampling interval in bytes, as runtime/pprof writes it.
      layout.sample_types = {{"alloc_objects", "count"},
                             {"alloc_space", "bytes"},
                             {"inuse_objects", "count"},
                             {"inuse_space", "bytes"}};
      layout.period_type = {"space", "bytes"};
      layout.period = pprof_int64(std::max<uint64_t>(1, rec.header.alloc_sample_rate));
      layout.default_sample_type = signal == Signal::kAlloc ? "alloc_space" : "inuse_space";
      break;
  }
  layout.time_nanos = pprof_int64(rec.header.clock_realtime_ns);
  layout.duration_nanos = time_span(rec, signal).duration();
  return layout;
}

// pprof cannot show a waker's stack, so entries that differ only in it are
// merged; the waker thread stays apart as a label.
std::vector<PprofSample> alloc_samples(const rec::Recording& rec) {
  std::vector<PprofSample> out;
  for (const AllocTotals& t : alloc_totals(rec)) {
    PprofSample s;
    s.stack = t.stack;
    s.tid = t.tid;
    s.values = {pprof_int64(static_cast<uint64_t>(std::llround(t.alloc_objects))), pprof_int64(t.alloc_bytes),
                pprof_int64(static_cast<uint64_t>(std::llround(t.inuse_objects))), pprof_int64(t.inuse_bytes)};
    out.push_back(s);
  }
  return out;
}

// Goroutine waits by parking stack, thread and reason: Go's block-profile
// values, with the reason as a label.
std::vector<PprofSample> goroutine_samples(const rec::Recording& rec) {
  std::vector<PprofSample> out;
  for (const WeightedStack& w : weighted_stacks(rec, Signal::kGoroutine)) {
    PprofSample s;
    s.stack = w.stack;
    s.tid = w.tid;
    s.reason = rec.str(w.reason);
    s.values = {pprof_int64(w.count), pprof_int64(w.ns)};
    out.push_back(s);
  }
  return out;
}

std::vector<PprofSample> pprof_samples(const rec::Recording& rec, Signal signal) {
  if (is_alloc_signal(signal)) return alloc_samples(rec);
  if (signal == Signal::kGoroutine) return goroutine_samples(rec);
  std::vector<PprofSample> out;
  using Key = std::tuple<uint32_t, bool, uint32_t, uint8_t, uint32_t>;
  std::map<Key, size_t> index;
  for (const WeightedStack& w : weighted_stacks(rec, signal)) {
    if (signal == Signal::kCpu) {
      // Already one entry per (stack, tid).
      out.push_back(PprofSample{w.stack, {}, w.tid, nullptr, 0, {}, {pprof_int64(w.count), pprof_int64(w.ns)}});
      continue;
    }
    auto [it, inserted] = index.try_emplace(Key{w.stack, w.totals_only, w.tid, w.state, w.waker_tid}, out.size());
    if (inserted) {
      PprofSample s;
      s.stack = w.stack;
      if (w.totals_only) s.placeholder = kUntracedOffCpuFrame;
      s.tid = w.tid;
      s.state = thread_state_name(w.state);
      s.waker_tid = w.waker_tid;
      out.push_back(s);
    }
    PprofSample& s = out[it->second];
    if (signal == Signal::kOffCpu) {
      s.values[0] = pprof_int64(static_cast<uint64_t>(s.values[0]) + w.count);
      s.values[1] = pprof_int64(static_cast<uint64_t>(s.values[1]) + w.ns);
    } else {
      s.values[0] = pprof_int64(static_cast<uint64_t>(s.values[0]) + w.ns);
    }
  }
  return out;
}

}  // namespace

Status write_pprof(const rec::Recording& rec, const ViewOptions& options, std::ostream& out) {
  FLARE_RETURN_IF_ERROR(check_signal_recorded(rec, options.signal));
  std::vector<PprofSample> samples = pprof_samples(rec, options.signal);
  google::protobuf::Arena arena;
  auto* profile = google::protobuf::Arena::CreateMessage<perftools::profiles::Profile>(&arena);
  build_pprof(rec, options, layout_for(rec, options.signal), samples, *profile);
  std::string bytes;
  if (!profile->SerializeToString(&bytes)) {
    return Status(ErrorCode::kInternal, "pprof: serializing the profile failed");
  }
  return write_gzip(bytes, out).with_context("writing pprof");
}

}  // namespace flare::viewer
