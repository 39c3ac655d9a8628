// The frames a view shows for one recorded stack, after ViewOptions.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "recorder/model.h"
#include "viewer/view_options.h"

namespace flare::viewer {

// Stand-ins for a stack that would otherwise show nothing. The samples still
// count towards totals, and a visible name keeps them from being lost
// silently: every view's rows add up to 100 %.
inline constexpr std::string_view kKernelOnlyPlaceholder = "[kernel]";  // user_only, no user frames
inline constexpr std::string_view kNoStackPlaceholder = "[no stack]";   // nothing was captured

// Fills `frames` with frame ids, leaf first. Returns the placeholder to show
// when no frame is left (then `frames` is empty), or an empty view otherwise.
// Frame ids outside the recording's frame table are skipped rather than
// trusted; the reader is expected to have rejected them already.
std::string_view view_stack(const rec::Recording& rec, uint32_t stack_id, const ViewOptions& options,
                            std::vector<uint32_t>& frames);

}  // namespace flare::viewer
