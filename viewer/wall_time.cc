#include "viewer/wall_time.h"

#include <cstdio>
#include <ctime>

namespace flare::viewer {

int64_t since_capture_start_ns(const rec::FileHeader& header, uint64_t monotonic_ns) {
  return static_cast<int64_t>(monotonic_ns - header.clock_monotonic_ns);
}

std::optional<int64_t> wall_time_ns(const rec::FileHeader& header, uint64_t monotonic_ns) {
  if (header.clock_realtime_ns == 0 || header.clock_monotonic_ns == 0) return std::nullopt;
  return static_cast<int64_t>(header.clock_realtime_ns) + since_capture_start_ns(header, monotonic_ns);
}

std::string format_wall_time(int64_t unix_ns) {
  int64_t secs = unix_ns / 1'000'000'000;
  int64_t frac = unix_ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  if (!gmtime_r(&t, &tm)) return "?";
  char date[40];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s.%06dZ", date, static_cast<int>(frac / 1000));
  return buf;
}

}  // namespace flare::viewer
