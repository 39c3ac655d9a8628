#include "recorder/flight_dump.h"

#include <algorithm>
#include <set>

#include "recorder/event_copier.h"
#include "recorder/reader.h"

namespace flare::rec {

namespace {

std::set<uint32_t> target_pids(const FileHeader& h) {
  std::set<uint32_t> pids;
  for (const TargetInfo& t : h.targets) pids.insert(t.pid);
  return pids;
}

uint64_t newest_event_ns(const Recording& rec) {
  uint64_t last = 0;
  for (const ChunkSummary& c : rec.chunks) last = std::max(last, c.last_ns);
  return last;
}

uint64_t oldest_event_ns(const Recording& rec) {
  uint64_t first = UINT64_MAX;
  for (const ChunkSummary& c : rec.chunks) {
    if (c.first_ns) first = std::min(first, c.first_ns);
  }
  return first;
}

uint64_t to_realtime(const FileHeader& h, uint64_t monotonic_ns) {
  return h.clock_realtime_ns + (monotonic_ns - h.clock_monotonic_ns);
}

}  // namespace

Result<Recording> read_chunk_file(const ChunkFile& chunk) {
  auto rec = read_recording(chunk.path, {.salvage = true});
  constexpr std::string_view kPartial = ".partial";
  if (!rec.is_ok() && !chunk.complete && rec.status().code() == ErrorCode::kNotFound) {
    return read_recording(chunk.path.substr(0, chunk.path.size() - kPartial.size()), {.salvage = true});
  }
  return rec;
}

Result<FlightDumpSummary> dump_flight(const std::string& dir, const std::string& output,
                                      const FlightDumpOptions& options) {
  FLARE_ASSIGN_OR_RETURN(std::vector<ChunkFile> files, list_chunk_files(dir));
  FlightDumpSummary summary;
  std::vector<Recording> chunks;  // oldest first
  for (const ChunkFile& file : files) {
    auto rec = read_chunk_file(file);
    if (!rec.is_ok()) {
      // Deleted by retention since the listing: it was about to leave the window.
      if (rec.status().code() == ErrorCode::kNotFound) continue;
      summary.skipped.push_back(file.path + ": " + rec.status().message());
      continue;
    }
    chunks.push_back(std::move(rec).value());
  }
  if (chunks.empty()) return Status(ErrorCode::kNotFound, "no readable chunk files in " + dir);

  // A target restarted under a new PID is a new flight: the newest chunk's.
  const std::set<uint32_t> targets = target_pids(chunks.back().header);
  uint64_t newest = 0;
  for (const Recording& rec : chunks) {
    if (target_pids(rec.header) == targets) newest = std::max(newest, newest_event_ns(rec));
  }
  TimeRange range;
  if (options.last_ns && newest > options.last_ns) range.from_ns = newest - options.last_ns;

  std::vector<const Recording*> inputs;  // newest first
  for (auto it = chunks.rbegin(); it != chunks.rend(); ++it) {
    if (target_pids(it->header) != targets) {
      summary.skipped.push_back("a chunk of an earlier flight (target " +
                                std::to_string(it->header.targets.empty() ? 0 : it->header.targets[0].pid) + ")");
      continue;
    }
    if (newest_event_ns(*it) < range.from_ns) continue;
    inputs.push_back(&*it);
  }
  if (inputs.empty()) return Status(ErrorCode::kNotFound, "no events in the requested window in " + dir);
  // The chunk being written has no statistics yet: the newest that has them
  // goes first (copy_events keeps the first input's).
  auto with_stats = std::find_if(inputs.begin(), inputs.end(), [](const Recording* r) { return !r->stats.empty(); });
  if (with_stats != inputs.end()) std::rotate(inputs.begin(), with_stats, with_stats + 1);
  // The oldest chunk's clock pair anchors the times.
  const Recording* oldest = *std::min_element(inputs.begin(), inputs.end(), [](const Recording* a, const Recording* b) {
    return a->header.clock_monotonic_ns < b->header.clock_monotonic_ns;
  });
  FileHeader header = oldest->header;
  const bool every_chunk_counts_losses =
      std::all_of(inputs.begin(), inputs.end(), [](const Recording* r) { return r->header.losses_at_flush; });
  header.losses_at_flush = every_chunk_counts_losses;
  FLARE_RETURN_IF_ERROR(write_events_copy(output, header, inputs, range));

  summary.chunks = inputs.size();
  summary.drops_known = every_chunk_counts_losses || std::any_of(inputs.begin(), inputs.end(), [](const Recording* r) {
                          return r->stat("capture_duration_ns") != 0;  // an older flare's end-of-flight counts
                        });
  if (newest) {  // else the window has no events (the target never ran): all stays 0
    summary.first_ns = std::max(range.from_ns, oldest_event_ns(*oldest));
    summary.last_ns = newest;
    summary.first_realtime_ns = to_realtime(header, summary.first_ns);
    summary.last_realtime_ns = to_realtime(header, summary.last_ns);
  }
  return summary;
}

}  // namespace flare::rec
