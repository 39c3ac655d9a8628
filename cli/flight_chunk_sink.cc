#include "cli/flight_chunk_sink.h"

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/clock.h"

namespace flare::cli {

namespace {

// Resident set now (ru_maxrss is the peak): what shows whether memory stays flat.
uint64_t current_rss_kib() {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) / 1024;
}

}  // namespace

FlightChunkSink::FlightChunkSink(std::string dir, rec::RetentionLimits limits, uint64_t started_monotonic_ns,
                                 std::function<void(std::string_view)> on_warning)
    : dir_(std::move(dir)),
      limits_(limits),
      started_monotonic_ns_(started_monotonic_ns),
      on_warning_(std::move(on_warning)) {}

std::string FlightChunkSink::first_chunk_path(uint64_t start_realtime_ns) {
  next_sequence_ = 0;
  return next_chunk_path(start_realtime_ns);
}

std::string FlightChunkSink::next_chunk_path(uint64_t start_realtime_ns) {
  return dir_ + "/" + rec::chunk_file_name(start_realtime_ns, next_sequence_++);
}

// Every chunk file carries the agent's cost up to its end, so `flight
// --status` and a dump show the overhead even of a flight that was killed.
void FlightChunkSink::closing_chunk(rec::RecordingWriter& writer) {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  writer.add_stat("agent_cpu_user_ns", timeval_ns(usage.ru_utime));
  writer.add_stat("agent_cpu_system_ns", timeval_ns(usage.ru_stime));
  writer.add_stat("agent_peak_rss_kib", static_cast<uint64_t>(usage.ru_maxrss));
  writer.add_stat("agent_rss_kib", current_rss_kib());
  writer.add_stat("flight_elapsed_ns", clock_ns(CLOCK_MONOTONIC) - started_monotonic_ns_);
  writer.add_stat("flight_chunks_deleted", chunks_deleted_);
}

void FlightChunkSink::chunk_finished(const std::string&) { apply_retention(); }

void FlightChunkSink::apply_retention() {
  auto chunks = rec::list_chunk_files(dir_);
  if (!chunks.is_ok()) {
    on_warning_(chunks.status().message());
    return;
  }
  for (size_t index : rec::chunks_to_delete(*chunks, limits_, clock_ns(CLOCK_REALTIME))) {
    const std::string& path = (*chunks)[index].path;
    if (::unlink(path.c_str()) == 0) {
      ++chunks_deleted_;
    } else if (errno != ENOENT) {
      on_warning_("cannot delete old chunk " + path + ": " + std::strerror(errno));
    }
  }
}

}  // namespace flare::cli
