// CPU samples as collapsed stacks, the input of flamegraph.pl, speedscope,
// inferno and most flame graph tools.
#pragma once

#include <ostream>

#include "common/status.h"
#include "recorder/model.h"
#include "viewer/view_options.h"

namespace flare::viewer {

// One line per distinct "thread;root;...;leaf count", lines sorted. The
// first element is the thread name (tid-N when unnamed), so threads sharing
// a name, like a worker pool, merge into one tower. Resolved kernel functions
// end in "_[k]" as in perf and bcc output: flamegraph.pl colours them apart
// and a kernel symbol never merges with a user function of the same name.
Status write_folded(const rec::Recording& rec, const ViewOptions& options, std::ostream& out);

}  // namespace flare::viewer
