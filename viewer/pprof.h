// A recording as a pprof profile, for go tool pprof and everything that
// reads its format (Pyroscope, Parca, speedscope, IDEs).
#pragma once

#include <ostream>

#include "common/status.h"
#include "recorder/model.h"
#include "viewer/view_options.h"

namespace flare::viewer {

// Writes a gzip-compressed perftools.profiles.Profile (viewer/profile.proto)
// of options.signal. Samples with the same stack on the same thread (and,
// off-CPU, the same state and waker) become one pprof Sample carrying labels
// tid and pid (numeric; pid only when the thread is known) and thread (name).
// Every shown frame is one Location; unresolved frames get a Function named
// as in frame_names.h. Kernel frames lie in one synthetic mapping,
// "[kernel.kallsyms]". With options.user_only a kernel-only stack becomes a
// single "[kernel]" location with no mapping (see view_stack.h).
//
// Layouts per signal:
//   cpu:    samples/count, cpu/nanoseconds (default); period cpu/nanoseconds
//           = the sampling period.
//   offcpu: Go's block-profile layout, which pprof and Pyroscope know:
//           contentions/count (intervals), delay/nanoseconds (default;
//           blocked + run-queue time); period contentions/count = 1. Labels
//           state (sleeping, uninterruptible, preempted) and, when a thread
//           woke it, waker_tid and waker (name). Time only totalled by the
//           recorder is under one frame, "[short or rate-limited off-CPU]",
//           per thread and state.
//   wall:   wall/nanoseconds only (a count would add CPU samples to off-CPU
//           intervals, which measure different things); period
//           wall/nanoseconds = the sampling period. CPU samples carry state
//           "running", off-CPU time is labelled as for offcpu.
// Fails, writing nothing, when the recording lacks the signal's data.
Status write_pprof(const rec::Recording& rec, const ViewOptions& options, std::ostream& out);

}  // namespace flare::viewer
