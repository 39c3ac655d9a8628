#include "viewer/view_stack.h"

namespace flare::viewer {

std::string_view view_stack(const rec::Recording& rec, uint32_t stack_id, const ViewOptions& options,
                            std::vector<uint32_t>& frames) {
  frames.clear();
  std::span<const uint32_t> stack = rec.stack(stack_id);
  bool saw_kernel = false;
  for (uint32_t id : stack) {
    if (id == 0 || id >= rec.frames.size()) continue;
    if (options.user_only && rec.frames[id].kind == rec::FrameKind::kKernel) {
      saw_kernel = true;
      continue;
    }
    frames.push_back(id);
  }
  if (!frames.empty()) return {};
  return saw_kernel ? kKernelOnlyPlaceholder : kNoStackPlaceholder;
}

}  // namespace flare::viewer
