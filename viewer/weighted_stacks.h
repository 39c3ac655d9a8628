// Every signal as one list of weighted stacks, so pprof, folded and top read
// CPU samples, off-CPU intervals and their mix (wall) the same way, and a
// number means the same thing in each of them.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "recorder/model.h"
#include "viewer/signal.h"

namespace flare::viewer {

// What a thread was doing: CPU samples are kStateRunning; off-CPU states are
// the recorded rec::OffCpuState values (1..3), kept raw so a value from a
// newer writer still shows up (as "unknown") instead of being dropped.
inline constexpr uint8_t kStateRunning = 0;

// "running", "sleeping", "uninterruptible", "preempted", or "unknown".
const char* thread_state_name(uint8_t state);

// The one frame shown for off-CPU time that was only totalled (OffCpuTotal:
// intervals under the recording's minimum length or over its rate cap have
// no stack). Views show it so totals stay complete and the gap is visible.
inline constexpr std::string_view kUntracedOffCpuFrame = "[short or rate-limited off-CPU]";

struct WeightedStack {
  uint32_t stack = 0;  // recording stack id; unused when totals_only
  uint32_t tid = 0;
  uint8_t state = kStateRunning;
  bool totals_only = false;  // from OffCpuTotal records: shown as kUntracedOffCpuFrame
  uint32_t waker_tid = 0;    // off-CPU: the thread that woke it, 0 for none
  uint32_t waker_stack = 0;  // and its stack at the wakeup
  uint64_t count = 0;        // CPU samples, off-CPU intervals, or objects allocated / in use
  uint64_t ns = 0;           // the time they stand for (0 for alloc and inuse)
  uint64_t bytes = 0;        // alloc, inuse: bytes allocated / still in use (estimated when sampled)
  uint32_t reason = 0;       // goroutine: the wait reason (string id)
};

// One entry per distinct (stack, tid, state, waker tid, waker stack) — for
// totals per (tid, state) — in order of first appearance, so every view is
// deterministic. cpu: samples, ns = samples x period. offcpu: intervals with
// ns = blocked + run-queue time (clipped intervals count what lies inside
// the capture), then the totals. wall: cpu entries, then offcpu entries.
// alloc, inuse: per (stack, tid), objects (rounded) and bytes (alloc_profile.h);
// inuse leaves out the entries with nothing in use. goroutine: per (parking
// stack, tid, reason), waits ended by a ready and their time (park -> ready).
std::vector<WeightedStack> weighted_stacks(const rec::Recording& rec, Signal signal);

// The value a count-based view shows for an entry: samples for cpu (what the
// CPU views always showed), nanoseconds for the time-based signals, bytes for
// alloc and inuse.
inline uint64_t view_weight(const WeightedStack& w, Signal signal) {
  if (is_alloc_signal(signal)) return w.bytes;
  return signal == Signal::kCpu ? w.count : w.ns;
}

}  // namespace flare::viewer
