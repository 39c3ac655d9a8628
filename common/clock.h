// Clock reads as nanoseconds: CLOCK_MONOTONIC is the clock of every event
// time (bpf_ktime_get_ns), CLOCK_REALTIME names files and anchors wall time.
#pragma once

#include <sys/time.h>
#include <time.h>

#include <cstdint>

namespace flare {

inline uint64_t clock_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t timeval_ns(const timeval& tv) {
  return static_cast<uint64_t>(tv.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(tv.tv_usec) * 1000ull;
}

}  // namespace flare
