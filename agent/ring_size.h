// How big each BPF ring buffer is when the user does not say
// (--ring-buffer-kib): big enough to hold a quarter second of the family's
// worst-case event rate, no bigger than the old fixed 4 MiB.
//
// Why a quarter second: the agent drains every ring at least every 100 ms
// (its poll timeout), and the ring it waits on also wakes it when a quarter
// full; the rest covers the agent being descheduled or busy symbolizing a
// new binary. Why it matters: every byte of a ring is resident in the agent
// from the moment it is mapped, so a 4 MiB ring for a 99 Hz sampler that
// fills 80 KiB a second was most of the agent's peak RSS.
#pragma once

#include <cstdint>

namespace flare::agent {

inline constexpr uint32_t kMinRingBytes = 64u << 10;  // also --ring-buffer-kib's lower bound
inline constexpr uint32_t kMaxRingBytes = 4u << 20;   // the fixed size before sizing
inline constexpr double kRingAbsorbSeconds = 0.25;

// The smallest power of two (a multiple of the page size, as the kernel
// requires) in [kMinRingBytes, kMaxRingBytes] holding kRingAbsorbSeconds of
// events_per_second records of record_bytes each (plus the kernel's 8-byte
// header, rounded to 8). events_per_second 0 means unknown: kMaxRingBytes.
uint32_t ring_bytes_for_rate(double events_per_second, uint32_t record_bytes);

}  // namespace flare::agent
