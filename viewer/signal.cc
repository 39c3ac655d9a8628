#include "viewer/signal.h"

#include <string>

#include "viewer/alloc_profile.h"
#include "viewer/goroutine_waits.h"

namespace flare::viewer {

const char* signal_name(Signal signal) {
  switch (signal) {
    case Signal::kCpu:
      return "cpu";
    case Signal::kOffCpu:
      return "offcpu";
    case Signal::kWall:
      return "wall";
    case Signal::kAlloc:
      return "alloc";
    case Signal::kInUse:
      return "inuse";
    case Signal::kGoroutine:
      return "goroutine";
  }
  return "cpu";
}

std::optional<Signal> parse_signal(std::string_view name) {
  for (Signal s : {Signal::kCpu, Signal::kOffCpu, Signal::kWall, Signal::kAlloc, Signal::kInUse, Signal::kGoroutine}) {
    if (name == signal_name(s)) return s;
  }
  return std::nullopt;
}

bool header_lists_event(const rec::FileHeader& header, std::string_view event) {
  std::string_view events = header.events;
  while (!events.empty()) {
    size_t comma = events.find(',');
    if (events.substr(0, comma) == event) return true;
    if (comma == std::string_view::npos) break;
    events.remove_prefix(comma + 1);
  }
  return false;
}

bool has_offcpu(const rec::Recording& rec) {
  return !rec.offcpu.empty() || !rec.offcpu_totals.empty() || header_lists_event(rec.header, "offcpu");
}

Status check_signal_recorded(const rec::Recording& rec, Signal signal) {
  if (is_alloc_signal(signal)) {
    if (has_alloc(rec)) return Status::ok();
    std::string events = rec.header.events.empty() ? "none listed" : rec.header.events;
    return Status(ErrorCode::kNotFound, std::string("--type ") + signal_name(signal) +
                                            " needs allocation data, but the recording has none (events: " + events +
                                            "); record with --alloc");
  }
  if (signal == Signal::kGoroutine) {
    if (has_goroutines(rec)) return Status::ok();
    std::string events = rec.header.events.empty() ? "none listed" : rec.header.events;
    return Status(ErrorCode::kNotFound, "--type goroutine needs goroutine data, but the recording has none (events: " +
                                            events + "); record a Go program with --events goroutine");
  }
  if (signal == Signal::kCpu || has_offcpu(rec)) return Status::ok();
  // Wall time without the off-CPU part would just be CPU time under another
  // name, so it is refused as well rather than shown as something it is not.
  std::string events = rec.header.events.empty() ? "none listed" : rec.header.events;
  return Status(ErrorCode::kNotFound, std::string("--type ") + signal_name(signal) +
                                          " needs off-CPU data, but the recording has none (events: " + events +
                                          "); record with --events cpu,offcpu");
}

}  // namespace flare::viewer
