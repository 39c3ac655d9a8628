#include "viewer/leaks.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "common/duration.h"
#include "viewer/alloc_profile.h"
#include "viewer/frame_names.h"
#include "viewer/json_writer.h"
#include "viewer/signal.h"
#include "viewer/text_format.h"
#include "viewer/view_stack.h"

namespace flare::viewer {

namespace {

struct LeakGroup {
  uint32_t stack = 0;
  uint64_t samples = 0;
  uint64_t bytes = 0;  // estimated: sum of weights
  double objects = 0;
  uint64_t oldest_ns = 0, newest_ns = UINT64_MAX;  // ages at the end
};

// When the recording ended: the capture's length after its start, or the
// last event if that is later (a recording without the statistic).
uint64_t end_time_ns(const rec::Recording& rec) {
  uint64_t end = 0;
  if (uint64_t d = rec.stat("capture_duration_ns")) end = rec.header.clock_monotonic_ns + d;
  for (const rec::Allocation& a : rec.allocations) end = std::max(end, a.time_ns);
  for (const rec::Free& f : rec.frees) end = std::max(end, f.time_ns);
  for (const rec::CpuSample& s : rec.samples) end = std::max(end, s.time_ns);
  return end;
}

std::vector<std::string> frame_names(const rec::Recording& rec, uint32_t stack) {
  std::vector<uint32_t> frames;
  std::string_view placeholder = view_stack(rec, stack, ViewOptions{}, frames);
  if (!placeholder.empty()) return {std::string(placeholder)};
  std::vector<std::string> names;
  for (uint32_t id : frames) names.push_back(frame_display_name(rec, rec.frames[id]));
  return names;
}

}  // namespace

Status write_leaks(const rec::Recording& rec, const LeaksOptions& options, std::ostream& out) {
  FLARE_RETURN_IF_ERROR(check_signal_recorded(rec, Signal::kInUse));
  const uint64_t end = end_time_ns(rec);
  std::map<uint32_t, LeakGroup> by_stack;
  uint64_t total_bytes = 0, total_samples = 0;
  double total_objects = 0;
  for (size_t i : live_allocations(rec)) {
    const rec::Allocation& a = rec.allocations[i];
    const uint64_t age = end > a.time_ns ? end - a.time_ns : 0;
    if (age < options.min_age_ns) continue;
    LeakGroup& g = by_stack[a.stack];
    g.stack = a.stack;
    ++g.samples;
    g.bytes += a.weight;
    g.objects += alloc_objects(a);
    g.oldest_ns = std::max(g.oldest_ns, age);
    g.newest_ns = std::min(g.newest_ns, age);
    total_bytes += a.weight;
    total_objects += alloc_objects(a);
    ++total_samples;
  }
  std::vector<LeakGroup> groups;
  for (const auto& [stack, g] : by_stack) groups.push_back(g);
  std::sort(groups.begin(), groups.end(), [](const LeakGroup& a, const LeakGroup& b) {
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    return a.stack < b.stack;
  });
  const size_t shown = options.limit == 0 ? groups.size() : std::min(options.limit, groups.size());

  if (options.json) {
    JsonWriter json(out);
    json.begin_object();
    json.field("min_age_ns", options.min_age_ns);
    json.field("bytes", total_bytes);
    json.field("objects", static_cast<uint64_t>(std::llround(total_objects)));
    json.field("samples", total_samples);
    json.field("stacks", static_cast<uint64_t>(groups.size()));
    json.key("leaks");
    json.begin_array();
    for (size_t i = 0; i < shown; ++i) {
      const LeakGroup& g = groups[i];
      json.begin_object();
      json.field("bytes", g.bytes);
      json.field("objects", static_cast<uint64_t>(std::llround(g.objects)));
      json.field("samples", g.samples);
      json.field("oldest_age_ns", g.oldest_ns);
      json.field("newest_age_ns", g.newest_ns);
      json.key("stack");
      json.begin_array();
      for (const std::string& name : frame_names(rec, g.stack)) json.value(name);
      json.end_array();
      json.end_object();
    }
    json.end_array();
    json.end_object();
  } else {
    out << "In use at the end";
    if (options.min_age_ns) out << " and allocated at least " << format_duration_ns(options.min_age_ns) << " before it";
    out << ": " << format_bytes(total_bytes) << " in " << std::llround(total_objects) << " objects (" << total_samples
        << " samples) from " << groups.size() << " stacks";
    if (rec.header.alloc_sample_rate > 1) out << ", estimated from one sample per " << format_bytes(rec.header.alloc_sample_rate);
    out << '\n';
    if (!rec.finalized) out << "Warning: the recording was not finalized; it may end early\n";
    for (size_t i = 0; i < shown; ++i) {
      const LeakGroup& g = groups[i];
      out << '\n'
          << format_bytes(g.bytes) << " in " << std::llround(g.objects) << " objects (" << g.samples
          << " samples), allocated " << format_seconds(static_cast<int64_t>(g.oldest_ns)) << " to "
          << format_seconds(static_cast<int64_t>(g.newest_ns)) << " before the end\n";
      for (const std::string& name : frame_names(rec, g.stack)) out << "    " << name << '\n';
    }
    if (shown < groups.size()) out << "\n(" << groups.size() - shown << " more stacks; -n 0 shows all)\n";
  }
  out.flush();
  if (!out) return Status(ErrorCode::kIo, "writing leaks failed");
  return Status::ok();
}

}  // namespace flare::viewer
