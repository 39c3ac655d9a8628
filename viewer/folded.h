// A recording as collapsed stacks, the input of flamegraph.pl, speedscope,
// inferno and most flame graph tools.
#pragma once

#include <ostream>

#include "common/status.h"
#include "recorder/model.h"
#include "viewer/view_options.h"

namespace flare::viewer {

// One line per distinct "thread;root;...;leaf value", lines sorted. The
// first element is the thread name (tid-N when unnamed), so threads sharing
// a name, like a worker pool, merge into one tower. Resolved kernel functions
// end in "_[k]" as in perf and bcc output: flamegraph.pl colours them apart
// and a kernel symbol never merges with a user function of the same name.
//
// Values by options.signal:
//   cpu:    samples.
//   offcpu: microseconds off CPU (blocked + run-queue), as bcc's
//           offcputime/offwaketime print. An interval a thread woke is
//           followed, as in offwaketime, by "--", the waker's stack leaf
//           first (the waker hangs upside down above the blocked stack),
//           then the waker's thread name:
//             app;main;wait_fn;--;writer_fn;main;writer 60000
//           Time only totalled by the recorder is "app;[short or
//           rate-limited off-CPU] N".
//   wall:   microseconds: CPU samples x period, plus off-CPU time shown at
//           its blocked stack (no waker part: the tower is where the
//           thread's own time went).
// Microseconds are rounded per line; a line under 0.5 us in total is left
// out, as it would print as 0.
Status write_folded(const rec::Recording& rec, const ViewOptions& options, std::ostream& out);

}  // namespace flare::viewer
