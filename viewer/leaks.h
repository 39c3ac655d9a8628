// `flare leaks`: the sampled allocations still in use when the recording
// ended that had lived at least a given time by then, grouped by the stack
// that allocated them, largest first. A block allocated long before the end
// and never freed is what a leak looks like from outside the program (it may
// also be a long-lived cache: the stack says which).
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>

#include "common/status.h"
#include "recorder/model.h"

namespace flare::viewer {

struct LeaksOptions {
  uint64_t min_age_ns = 0;  // at the end of the recording
  size_t limit = 10;        // stacks shown; 0 shows all
  bool json = false;
};

// Fails, writing nothing, for a recording without allocation data.
Status write_leaks(const rec::Recording& rec, const LeaksOptions& options, std::ostream& out);

}  // namespace flare::viewer
