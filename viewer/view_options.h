// Choices that shape every view of CPU samples (pprof, folded, top), so the
// same flag means the same thing whichever output a person asks for.
#pragma once

namespace flare::viewer {

struct ViewOptions {
  // Drop kernel frames (FrameKind::kKernel). A sample whose stack held only
  // kernel frames is kept under the placeholder "[kernel]" (see view_stack.h)
  // so totals and percentages stay the same as in the unfiltered view.
  bool user_only = false;
};

}  // namespace flare::viewer
