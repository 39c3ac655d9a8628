// CPU samples as a pprof profile, for go tool pprof and everything that
// reads its format (Pyroscope, Parca, speedscope, IDEs).
#pragma once

#include <ostream>

#include "common/status.h"
#include "recorder/model.h"
#include "viewer/view_options.h"

namespace flare::viewer {

// Writes a gzip-compressed perftools.profiles.Profile (viewer/profile.proto).
// Sample types are samples/count and cpu/nanoseconds (the default); samples
// with the same stack on the same thread become one pprof Sample carrying
// labels tid and pid (numeric; pid only when the thread is known) and thread
// (name). Every shown frame is one Location; unresolved frames get a Function
// named as in frame_names.h. Kernel frames lie in one synthetic mapping,
// "[kernel.kallsyms]". With options.user_only a kernel-only stack becomes a
// single "[kernel]" location with no mapping (see view_stack.h).
Status write_pprof(const rec::Recording& rec, const ViewOptions& options, std::ostream& out);

}  // namespace flare::viewer
