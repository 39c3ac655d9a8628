// Where each thread's time went, from every record that says so: CPU
// samples, off-CPU intervals and the off-CPU totals the recorder kept for
// intervals it did not record one by one. info and top print these.
#pragma once

#include <array>
#include <cstdint>
#include <map>

#include "recorder/model.h"

namespace flare::viewer {

struct ThreadTimes {
  uint64_t cpu_samples = 0;
  uint64_t offcpu_recorded = 0;  // OffCpuInterval records
  uint64_t offcpu_totalled = 0;  // intervals only counted in OffCpuTotal records
  uint64_t blocked_ns = 0;       // both kinds
  uint64_t runq_ns = 0;          // both kinds
  // Off-CPU intervals of both kinds by rec::OffCpuState (1..3); [0] holds
  // states this reader does not know.
  std::array<uint64_t, 4> intervals_by_state{};
  uint64_t clipped_start = 0;  // recorded intervals cut at the capture start
  uint64_t clipped_end = 0;    // and at its end

  uint64_t offcpu_intervals() const { return offcpu_recorded + offcpu_totalled; }
  uint64_t offcpu_ns() const { return blocked_ns + runq_ns; }
  void add(const ThreadTimes& other);
};

// By tid, every thread with a CPU sample or an off-CPU record.
std::map<uint32_t, ThreadTimes> thread_times(const rec::Recording& rec);

ThreadTimes sum_thread_times(const std::map<uint32_t, ThreadTimes>& times);

}  // namespace flare::viewer
