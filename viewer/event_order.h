// Every timed record of a recording, merged into one time-ordered list, for
// the views that show events one by one (flare print, JFR export).
#pragma once

#include <cstdint>
#include <vector>

#include "recorder/model.h"

namespace flare::viewer {

enum class EventKind : uint8_t {
  kCpuSample,    // rec.samples
  kOffCpu,       // rec.offcpu
  kOffCpuTotal,  // rec.offcpu_totals
  kWakeup,       // rec.wakeups
  kAlloc,        // rec.allocations
  kFree,         // rec.frees
  kGoroutine,    // rec.goroutine_events
  kThread,       // rec.thread_events
};

struct EventRef {
  uint64_t time_ns = 0;  // CLOCK_MONOTONIC
  EventKind kind = EventKind::kCpuSample;
  uint32_t index = 0;  // into the vector `kind` names
};

// Sorted by time; events of equal time keep the order of the list above,
// and their recorded order within a kind.
std::vector<EventRef> events_in_time_order(const rec::Recording& rec);

}  // namespace flare::viewer
