// What a recording holds and how trustworthy it is: capture context, time
// range, per-thread sample counts, per-thread on-CPU, blocked and run-queue
// time when off-CPU was recorded, everything that was lost or could not be
// resolved, and the agent's own statistics.
#pragma once

#include <ostream>

#include "common/status.h"
#include "recorder/model.h"

namespace flare::viewer {

// Human text, or with `json` one JSON object with the same facts (see
// info.cc for the key names).
Status write_info(const rec::Recording& rec, bool json, std::ostream& out);

}  // namespace flare::viewer
