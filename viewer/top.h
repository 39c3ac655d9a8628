// Where the time went, per function, as text or JSON: CPU samples, off-CPU
// time or wall-clock time (TopOptions.view.signal).
#pragma once

#include <cstddef>
#include <ostream>

#include "common/status.h"
#include "recorder/model.h"
#include "viewer/view_options.h"

namespace flare::viewer {

struct TopOptions {
  ViewOptions view;
  size_t limit = 20;  // rows shown; 0 shows all
  bool json = false;
};

// Per function (by display name, see frame_names.h): flat = weight where it
// is the leaf, cum = weight where it is anywhere on the stack, counted once
// per stack however deep the recursion. The weight is samples for cpu and
// nanoseconds for offcpu and wall (see weighted_stacks.h); off-CPU time only
// totalled by the recorder is one row, "[short or rate-limited off-CPU]".
// Rows are sorted by flat, then cum, both descending, like
// `go tool pprof -top`. Fails when the recording lacks the signal's data.
//
// JSON: {"type", "unit" ("samples" or "nanoseconds": flat and cum),
//        cpu: "total_samples", "period_ns", "total_ns";
//        offcpu/wall: "total_ns", "period_ns", "cpu_samples",
//                     "offcpu_intervals", "blocked_ns", "runq_ns";
//        "lost_events", "finalized", "functions": [{"name", "flat", "cum"}, ...]}
Status write_top(const rec::Recording& rec, const TopOptions& options, std::ostream& out);

}  // namespace flare::viewer
