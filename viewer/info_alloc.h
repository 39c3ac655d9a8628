// The allocation part of `flare info`: how allocations were sampled, what
// the samples add up to (allocated and still in use, as estimates of every
// allocation), the tracker's table use and the allocator calls it saw.
#pragma once

#include <ostream>

#include "recorder/model.h"
#include "viewer/json_writer.h"

namespace flare::viewer {

// Nothing for a recording without allocation data.
void write_alloc_info_text(const rec::Recording& rec, std::ostream& out);
// "alloc": {...}, or null without allocation data.
void write_alloc_info_json(const rec::Recording& rec, JsonWriter& json);

}  // namespace flare::viewer
