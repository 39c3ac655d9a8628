// The time one CPU sample stands for.
#pragma once

#include <cstdint>

#include "recorder/model.h"

namespace flare::viewer {

// Recordings carry the period explicitly; the frequency is only a fallback
// for a header that lost it, so CPU time never silently reads as zero.
inline uint64_t sample_period_ns(const rec::FileHeader& header) {
  if (header.sample_period_ns != 0) return header.sample_period_ns;
  if (header.sample_frequency_hz != 0) return 1'000'000'000ull / header.sample_frequency_hz;
  return 0;
}

}  // namespace flare::viewer
