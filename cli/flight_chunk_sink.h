// Names the flight recorder's chunk files, stamps each with the agent's cost
// so far, and deletes the oldest whole chunks once one is finished so the
// repository stays within its age and size limits.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "recorder/flight_repository.h"
#include "recorder/writer.h"

namespace flare::cli {

class FlightChunkSink : public rec::ChunkFileSink {
 public:
  FlightChunkSink(std::string dir, rec::RetentionLimits limits, uint64_t started_monotonic_ns,
                  std::function<void(std::string_view)> on_warning);

  // The path of the first chunk (sequence 0), starting now.
  std::string first_chunk_path(uint64_t start_realtime_ns);
  std::string next_chunk_path(uint64_t start_realtime_ns) override;
  void closing_chunk(rec::RecordingWriter& writer) override;
  void chunk_finished(const std::string& path) override;
  // Deletes what the limits say must go (also at start: leftovers).
  void apply_retention();

 private:
  std::string dir_;
  rec::RetentionLimits limits_;
  uint64_t started_monotonic_ns_;
  std::function<void(std::string_view)> on_warning_;
  uint32_t next_sequence_ = 0;
  uint64_t chunks_deleted_ = 0;
};

}  // namespace flare::cli
