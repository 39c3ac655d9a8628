#include "viewer/event_order.h"

#include <algorithm>

namespace flare::viewer {

std::vector<EventRef> events_in_time_order(const rec::Recording& rec) {
  std::vector<EventRef> refs;
  refs.reserve(rec.samples.size() + rec.offcpu.size() + rec.offcpu_totals.size() + rec.wakeups.size() +
               rec.allocations.size() + rec.frees.size() + rec.goroutine_events.size() + rec.thread_events.size());
  auto add = [&](const auto& events, EventKind kind) {
    for (size_t i = 0; i < events.size(); ++i) refs.push_back({events[i].time_ns, kind, static_cast<uint32_t>(i)});
  };
  add(rec.samples, EventKind::kCpuSample);
  add(rec.offcpu, EventKind::kOffCpu);
  add(rec.offcpu_totals, EventKind::kOffCpuTotal);
  add(rec.wakeups, EventKind::kWakeup);
  add(rec.allocations, EventKind::kAlloc);
  add(rec.frees, EventKind::kFree);
  add(rec.goroutine_events, EventKind::kGoroutine);
  add(rec.thread_events, EventKind::kThread);
  std::stable_sort(refs.begin(), refs.end(), [](const EventRef& a, const EventRef& b) { return a.time_ns < b.time_ns; });
  return refs;
}

}  // namespace flare::viewer
