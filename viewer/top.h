// Where the CPU time went, per function, as text or JSON.
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

// Per function (by display name, see frame_names.h): flat = samples where it
// is the leaf, cum = samples where it is anywhere on the stack, counted once
// per sample however deep the recursion. Rows are sorted by flat, then cum,
// both descending, like `go tool pprof -top`.
//
// JSON: {"total_samples", "period_ns", "total_ns", "lost_events",
//        "finalized", "functions": [{"name", "flat", "cum"}, ...]}
Status write_top(const rec::Recording& rec, const TopOptions& options, std::ostream& out);

}  // namespace flare::viewer
