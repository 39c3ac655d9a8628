// `flare print`: every event of a recording, one by one in time order, like
// `jfr print`: its time, thread, type, fields and stack. As text for a
// person, or as JSON (schema in README, section "flare print").
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "recorder/model.h"
#include "viewer/view_options.h"

namespace flare::viewer {

// The event type names of --events: the timed records, then the untimed
// ones (printed after them).
//   cpu, offcpu, offcpu_total, wakeup, alloc, free, goroutine, thread, lost, stat
const std::vector<std::string_view>& listing_event_types();

struct ListingOptions {
  ViewOptions view;                 // user_only applies to stacks
  std::set<std::string> types;      // empty: every type
  std::optional<uint32_t> tid;      // only events of this thread (as actor, wakee or waker); drops lost/stat
  std::optional<int64_t> from_ns;   // only events at or after this offset from the capture start
  std::optional<int64_t> to_ns;     // and before this one; lost/stat are kept (they have no time)
  bool json = false;
};

// Checks `names` against listing_event_types(): an error names the unknown
// one and lists the valid ones.
Result<std::set<std::string>> parse_listing_types(std::string_view names);

Status write_event_listing(const rec::Recording& rec, const ListingOptions& options, std::ostream& out);

}  // namespace flare::viewer
