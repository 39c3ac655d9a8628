// Re-encodes the events of a loaded Recording through a RecordingWriter:
// the basis of `flare slice` (a time range of one recording) and `flare cat`
// (several recordings of one target into one file). Pool entries are
// re-interned in the writer's chunk-local pools as the events need them.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/status.h"
#include "recorder/model.h"
#include "recorder/writer.h"

namespace flare::rec {

struct TimeRange {
  uint64_t from_ns = 0;           // CLOCK_MONOTONIC, inclusive
  uint64_t to_ns = UINT64_MAX;    // exclusive
  bool contains(uint64_t t) const { return t >= from_ns && t < to_ns; }
};

// Writes every timed event of the inputs within `range`, merged in time
// order, flushing and rotating chunks by event time as the writer's options
// say. Threads are carried over; lost records (totals, not tied to a time)
// are copied whole from every input, statistics from the first input.
Status copy_events(std::span<const Recording* const> inputs, const TimeRange& range, RecordingWriter& writer);

// copy_events into a new file OUTPUT with this header, written as
// OUTPUT.partial and renamed when complete (removed on failure).
Status write_events_copy(const std::string& output, const FileHeader& header,
                         std::span<const Recording* const> inputs, const TimeRange& range);

}  // namespace flare::rec
