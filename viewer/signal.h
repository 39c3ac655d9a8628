// The signals a view can show, named as everywhere in flare (--events,
// --type, pprof sample types): cpu, offcpu, wall, alloc, inuse, goroutine.
#pragma once

#include <optional>
#include <string_view>

#include "common/status.h"
#include "recorder/model.h"

namespace flare::viewer {

enum class Signal : uint8_t {
  kCpu,     // on-CPU time, from CPU samples
  kOffCpu,  // time switched out: blocked, plus waiting in the run queue
  kWall,    // both: where each thread's wall-clock time went
  kAlloc,   // bytes allocated (sampled allocations, scaled)
  kInUse,   // bytes allocated and not freed by the end of the recording
  kGoroutine,  // time Go goroutines waited parked, from park to ready
};

inline bool is_alloc_signal(Signal signal) { return signal == Signal::kAlloc || signal == Signal::kInUse; }

const char* signal_name(Signal signal);
std::optional<Signal> parse_signal(std::string_view name);

// True when the header's comma-separated event list names `event`.
bool header_lists_event(const rec::FileHeader& header, std::string_view event);

// True when the recording was made with off-CPU tracing: the header lists
// "offcpu", or off-CPU records are present (a header that lost the list).
bool has_offcpu(const rec::Recording& rec);

// An error naming what is missing and how to record it, when `signal` needs
// data the recording does not have; cpu is always accepted (an empty CPU
// view of an empty recording is still a true view).
Status check_signal_recorded(const rec::Recording& rec, Signal signal);

}  // namespace flare::viewer
