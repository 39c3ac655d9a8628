#include "agent/ring_size.h"

#include <gtest/gtest.h>

#include "bpf/cpu_sample.h"
#include "bpf/offcpu_event.h"

namespace flare::agent {
namespace {

bool is_power_of_two(uint32_t n) { return n && !(n & (n - 1)); }

TEST(RingSize, HoldsAQuarterSecondOfTheRate) {
  // 99 Hz on 2 CPUs, frame-pointer samples (1,576 B + 8 B header): 78 KiB
  // in a quarter second, so the next power of two.
  EXPECT_EQ(ring_bytes_for_rate(99.0 * 2, sizeof(flare_cpu_sample)), 128u << 10);
  // The same with 32 KiB stack copies: 1.66 MB.
  const uint32_t copy = offsetof(flare_cpu_sample_copy, stack) + 32768;
  EXPECT_EQ(ring_bytes_for_rate(99.0 * 2, copy), 2u << 20);
  // The flight recorder's off-CPU cap, 1,000 intervals a second: 792 KB.
  EXPECT_EQ(ring_bytes_for_rate(1000, sizeof(flare_offcpu_event)), 1u << 20);
}

TEST(RingSize, StaysWithinBoundsAndIsAPowerOfTwo) {
  EXPECT_EQ(ring_bytes_for_rate(1, 40), kMinRingBytes);
  EXPECT_EQ(ring_bytes_for_rate(10'000, sizeof(flare_offcpu_event)), kMaxRingBytes);  // the record default
  EXPECT_EQ(ring_bytes_for_rate(4999.0 * 64, sizeof(flare_cpu_sample)), kMaxRingBytes);
  EXPECT_EQ(ring_bytes_for_rate(0, 100), kMaxRingBytes);  // unknown rate: as before sizing
  for (double rate : {1.0, 10.0, 99.0, 500.0, 2000.0, 9999.0}) {
    for (uint32_t record : {40u, 1576u, 3152u, 33472u}) {
      const uint32_t bytes = ring_bytes_for_rate(rate, record);
      EXPECT_TRUE(is_power_of_two(bytes)) << bytes;
      EXPECT_GE(bytes, kMinRingBytes);
      EXPECT_LE(bytes, kMaxRingBytes);
      // Never smaller than what the rate needs, unless capped.
      if (bytes < kMaxRingBytes) {
        EXPECT_GE(bytes, rate * kRingAbsorbSeconds * (record + 8));
      }
    }
  }
}

}  // namespace
}  // namespace flare::agent
