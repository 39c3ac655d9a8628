// The flight recorder's repository: a directory of chunk files, each a
// complete recording of one stretch of time, plus a lock file naming the
// flight process that writes them (docs/FLIGHT.md has the layout).
//
//   DIR/flight.lock                                   flock'd by the live flight process
//   DIR/chunk-YYYYmmddTHHMMSS.mmmZ-NNNNNN.flare        finished chunks (UTC start, sequence)
//   DIR/chunk-...flare.partial                         the chunk being written (or a killed one)
//   DIR/dump-YYYYmmddTHHMMSS.mmmZ.flare                dumps written by the flight process
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace flare::rec {

inline constexpr const char* kFlightLockName = "flight.lock";

struct ChunkFile {
  std::string path;                  // as on disk; ends in .partial while (or if never) finished
  uint64_t start_realtime_ns = 0;    // from the name
  uint32_t sequence = 0;             // from the name: order within one flight process
  bool complete = false;             // under its final name
  uint64_t bytes = 0;
  uint64_t modified_realtime_ns = 0; // last write: about the time of its newest data
};

// "20261126T161722.123Z": UTC, millisecond precision; sorts as it reads.
std::string utc_stamp(uint64_t realtime_ns);
std::string chunk_file_name(uint64_t start_realtime_ns, uint32_t sequence);
// Chunk files of DIR, oldest first (by start time, then sequence). Other
// files (dumps, the lock) are not chunks.
Result<std::vector<ChunkFile>> list_chunk_files(const std::string& dir);

struct RetentionLimits {
  uint64_t max_age_ns = 0;    // 0: no limit
  uint64_t max_bytes = 0;     // 0: no limit
};

// Indexes (into `chunks`, oldest first) of the whole chunks to delete so the
// rest respects the limits: those whose newest data is older than max_age
// before `now`, then the oldest ones while the total size exceeds max_bytes.
// The newest chunk (the one being written) is never deleted.
std::vector<size_t> chunks_to_delete(const std::vector<ChunkFile>& chunks, const RetentionLimits& limits,
                                     uint64_t now_realtime_ns);

// Holds DIR/flight.lock locked (flock) for as long as it lives: a second
// flight process on the same DIR is refused, and tools tell a live flight
// process from a dead one by whether the lock is held.
class FlightLock {
 public:
  static Result<FlightLock> acquire(const std::string& dir, uint32_t target_pid);
  FlightLock(FlightLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FlightLock& operator=(FlightLock&&) = delete;
  FlightLock(const FlightLock&) = delete;
  ~FlightLock();

 private:
  explicit FlightLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

struct FlightOwner {
  bool alive = false;          // the lock is held right now
  uint32_t pid = 0;            // the flight process (last one, if dead)
  uint32_t target_pid = 0;
  uint64_t started_realtime_ns = 0;
};

// Who writes (or last wrote) DIR; nullopt when DIR has no lock file.
Result<std::optional<FlightOwner>> read_flight_owner(const std::string& dir);

}  // namespace flare::rec
