#include "viewer/flight_status.h"

#include <algorithm>
#include <map>
#include <optional>

#include "recorder/flight_dump.h"
#include "recorder/flight_repository.h"
#include "viewer/text_format.h"

namespace flare::viewer {

namespace {

struct WindowTotals {
  uint64_t first_realtime_ns = UINT64_MAX, last_realtime_ns = 0;
  std::map<std::string, uint64_t> events;  // by type, in the vocabulary of `flare info`
  std::map<std::string, uint64_t> lost;    // by cause
  // Every chunk counts its own losses (2.5), or one holds the counts
  // of a flight that ended (before 2.5, they were written at its end).
  bool all_count_losses = true, one_holds_end_counts = false;
  bool drops_known() const { return all_count_losses || one_holds_end_counts; }
  size_t unreadable = 0;
};

uint64_t to_realtime(const rec::FileHeader& h, uint64_t monotonic_ns) {
  return h.clock_realtime_ns + (monotonic_ns - h.clock_monotonic_ns);
}

void add_recording(const rec::Recording& r, WindowTotals& totals) {
  for (const rec::ChunkSummary& c : r.chunks) {
    if (c.first_ns) totals.first_realtime_ns = std::min(totals.first_realtime_ns, to_realtime(r.header, c.first_ns));
    if (c.last_ns) totals.last_realtime_ns = std::max(totals.last_realtime_ns, to_realtime(r.header, c.last_ns));
  }
  totals.events["cpu samples"] += r.samples.size();
  totals.events["offcpu intervals"] += r.offcpu.size();
  totals.events["offcpu totals"] += r.offcpu_totals.size();
  totals.events["allocations"] += r.allocations.size();
  totals.events["frees"] += r.frees.size();
  totals.events["goroutine events"] += r.goroutine_events.size();
  totals.events["thread events"] += r.thread_events.size();
  for (const rec::LostRecord& l : r.lost) totals.lost[rec::lost_cause_name(l.cause)] += l.count;
  if (!r.header.losses_at_flush) totals.all_count_losses = false;
  if (r.stat("capture_duration_ns")) totals.one_holds_end_counts = true;
}

std::string wall_clock(uint64_t realtime_ns) {
  std::string stamp = rec::utc_stamp(realtime_ns);  // 20261126T161722.123Z
  return stamp.substr(0, 4) + "-" + stamp.substr(4, 2) + "-" + stamp.substr(6, 2) + " " + stamp.substr(9, 2) + ":" +
         stamp.substr(11, 2) + ":" + stamp.substr(13, 6) + " UTC";
}

}  // namespace

Status write_flight_status(const std::string& dir, std::ostream& out) {
  FLARE_ASSIGN_OR_RETURN(auto owner, rec::read_flight_owner(dir));
  FLARE_ASSIGN_OR_RETURN(std::vector<rec::ChunkFile> files, rec::list_chunk_files(dir));
  if (!owner && files.empty()) return Status(ErrorCode::kNotFound, dir + " is not a flight repository (no flight.lock, no chunks)");

  out << "Flight repository: " << dir << "\n";
  if (owner) {
    out << "Flight process: " << owner->pid << (owner->alive ? " (alive)" : " (not running)") << ", target PID "
        << owner->target_pid << ", started " << wall_clock(owner->started_realtime_ns) << "\n";
  } else {
    out << "Flight process: unknown (no flight.lock)\n";
  }
  uint64_t bytes = 0;
  size_t unfinished = 0;
  for (const rec::ChunkFile& f : files) {
    bytes += f.bytes;
    if (!f.complete) ++unfinished;
  }
  out << "Chunks: " << files.size() << " (" << unfinished << " unfinished), " << format_bytes(bytes) << " on disk\n";

  // Loaded one at a time: the window may be large.
  WindowTotals totals;
  std::optional<rec::Recording> newest_with_cost;
  for (const rec::ChunkFile& f : files) {
    auto r = rec::read_chunk_file(f);
    if (!r.is_ok()) {
      if (r.status().code() != ErrorCode::kNotFound) ++totals.unreadable;
      continue;
    }
    add_recording(*r, totals);
    // Finished chunks carry the agent's cost up to their end.
    if (r->stat("flight_elapsed_ns")) newest_with_cost = std::move(r).value();
  }
  if (totals.last_realtime_ns) {
    out << "Retained window: " << wall_clock(totals.first_realtime_ns) << " to " << wall_clock(totals.last_realtime_ns)
        << " (" << format_time_ns(totals.last_realtime_ns - totals.first_realtime_ns) << ")\n";
  } else {
    out << "Retained window: empty\n";
  }
  if (totals.unreadable) out << "Unreadable chunks: " << totals.unreadable << "\n";
  out << "Events:";
  for (const auto& [type, count] : totals.events) {
    if (count) out << " " << type << " " << count << ";";
  }
  out << "\nLost:";
  if (!totals.drops_known()) {
    out << " not known yet (chunks of an older flare, which wrote drop counts when the flight ended)";
  } else if (totals.lost.empty()) {
    out << " none";
  }
  for (const auto& [cause, count] : totals.lost) out << " " << cause << " " << count << ";";
  out << "\n";
  if (newest_with_cost) {
    const rec::Recording& r = *newest_with_cost;
    const uint64_t cpu = r.stat("agent_cpu_user_ns") + r.stat("agent_cpu_system_ns");
    const uint64_t elapsed = r.stat("flight_elapsed_ns");
    out << "Overhead (up to the newest finished chunk): agent CPU " << format_time_ns(cpu) << " in "
        << format_time_ns(elapsed) << " (" << format_percent(cpu, elapsed) << " of one CPU), RSS "
        << format_bytes(r.stat("agent_rss_kib") * 1024) << " (peak " << format_bytes(r.stat("agent_peak_rss_kib") * 1024)
        << "), " << r.stat("flight_chunks_deleted") << " chunks deleted by retention\n";
  } else {
    out << "Overhead: not known yet (written when the first chunk is finished)\n";
  }
  return Status::ok();
}

}  // namespace flare::viewer
