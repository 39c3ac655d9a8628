// Choices that shape every view of a recording (pprof, folded, top), so the
// same flag means the same thing whichever output a person asks for.
#pragma once

#include "viewer/signal.h"

namespace flare::viewer {

struct ViewOptions {
  // Drop kernel frames (FrameKind::kKernel). A sample whose stack held only
  // kernel frames is kept under the placeholder "[kernel]" (see view_stack.h)
  // so totals and percentages stay the same as in the unfiltered view.
  bool user_only = false;
  // What the stacks are weighted by (--type): CPU samples, off-CPU time, or
  // both as wall-clock time. See weighted_stacks.h.
  Signal signal = Signal::kCpu;
};

}  // namespace flare::viewer
