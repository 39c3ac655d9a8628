// Goroutine waits of a recording made with --events goroutine: each park
// paired with the ready that ended it (per process and goroutine id, in time
// order), with the wait reason, the parking stack and the waker. Shared by
// pprof, folded, top and info so a number means the same in each.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "recorder/model.h"

namespace flare::viewer {

struct GoroutineWait {
  uint32_t stack = 0;        // where it parked
  uint32_t reason = 0;       // string id: the runtime's wait reason
  uint32_t tid = 0;          // the thread it parked on
  uint32_t waker_stack = 0;  // who readied it (the netpoller's for netpoll readies)
  uint64_t goid = 0;
  uint64_t waker_goid = 0;   // 0: no goroutine (the scheduler, the netpoller)
  uint64_t park_ns = 0;      // when it parked
  uint64_t wait_ns = 0;      // park -> ready
  bool netpoll = false;      // readied by the netpoller
};

struct ReasonTotals {
  uint64_t parks = 0;
  uint64_t waits = 0;    // parks that a ready ended
  uint64_t wait_ns = 0;  // ... and their time
};

struct GoroutineWaits {
  std::vector<GoroutineWait> waits;  // in order of their ready
  uint64_t parks = 0;
  uint64_t readies = 0;
  uint64_t netpoll_readies = 0;
  uint64_t unpaired_readies = 0;  // their park is not in the recording (before it started)
  uint64_t open_parks = 0;        // parked at the end (or readied by a path not traced)
  uint64_t goroutines = 0;        // distinct (process, goroutine id) seen
  std::map<std::string, ReasonTotals> by_reason;
};

GoroutineWaits goroutine_waits(const rec::Recording& rec);

// The header lists "goroutine", or goroutine records are present.
bool has_goroutines(const rec::Recording& rec);

}  // namespace flare::viewer
