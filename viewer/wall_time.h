// Turning recorded CLOCK_MONOTONIC times into wall-clock times.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "recorder/model.h"

namespace flare::viewer {

// Signed offset of a monotonic time from the capture start.
int64_t since_capture_start_ns(const rec::FileHeader& header, uint64_t monotonic_ns);

// wall = realtime + (t - monotonic) with the header's clock pair; nullopt
// when the header has no pair to anchor to.
std::optional<int64_t> wall_time_ns(const rec::FileHeader& header, uint64_t monotonic_ns);

// "2024-05-01T12:00:00.123456Z": UTC, so the same file prints the same on
// every host.
std::string format_wall_time(int64_t unix_ns);

}  // namespace flare::viewer
