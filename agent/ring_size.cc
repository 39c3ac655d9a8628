#include "agent/ring_size.h"

#include <bit>

namespace flare::agent {

uint32_t ring_bytes_for_rate(double events_per_second, uint32_t record_bytes) {
  if (!(events_per_second > 0)) return kMaxRingBytes;
  constexpr uint64_t kKernelHeaderBytes = 8;
  const uint64_t slot = (record_bytes + kKernelHeaderBytes + 7) & ~uint64_t{7};
  const double wanted = events_per_second * kRingAbsorbSeconds * static_cast<double>(slot);
  if (wanted >= kMaxRingBytes) return kMaxRingBytes;
  const uint64_t bytes = std::bit_ceil(static_cast<uint64_t>(wanted) + 1);
  return static_cast<uint32_t>(bytes < kMinRingBytes ? kMinRingBytes : bytes);
}

}  // namespace flare::agent
