// One recording of a flight repository's retained window: its chunk files
// (the one still being written up to its last flush, and one a killed flight
// process left unfinished) joined by the event copier of `flare cat`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "recorder/flight_repository.h"
#include "recorder/model.h"

namespace flare::rec {

struct FlightDumpOptions {
  uint64_t last_ns = 0;  // only the events this long before the newest one; 0: the whole window
};

struct FlightDumpSummary {
  size_t chunks = 0;                  // chunk files joined
  uint64_t first_ns = 0, last_ns = 0; // CLOCK_MONOTONIC range of the events written; 0 when none
  uint64_t first_realtime_ns = 0, last_realtime_ns = 0;
  // Chunk files left out, each with why: unreadable, or of an earlier
  // flight (another target process).
  std::vector<std::string> skipped;
  // Whether the dump's lost records count every loss in its window: its
  // chunks counted their own losses at every flush (2.5), or, for chunks of
  // an older flare, which wrote them when the flight ended, the flight
  // ended. False for an older flare's running or killed flight.
  bool drops_known = false;
};

// A chunk file read up to its last complete block: the one being written up
// to its last flush. It may have been finished (renamed) since the listing;
// kNotFound when it has been deleted.
Result<Recording> read_chunk_file(const ChunkFile& chunk);

// Writes OUTPUT as OUTPUT.partial and renames it when complete: a failure
// never leaves a file under the requested name.
Result<FlightDumpSummary> dump_flight(const std::string& dir, const std::string& output,
                                      const FlightDumpOptions& options = {});

}  // namespace flare::rec
