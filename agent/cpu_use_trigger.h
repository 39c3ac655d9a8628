// The flight recorder's CPU trigger: fires once a process has used more than
// a share of one CPU for a given time without a break, and again only after
// its use fell back below the share (one dump per episode, not one every
// `for` while a spike lasts).
#pragma once

#include <cstdint>
#include <optional>

#include "common/status.h"

namespace flare::agent {

class CpuUseTrigger {
 public:
  // percent: of one CPU (a process using two CPUs fully is at 200).
  CpuUseTrigger(double percent, uint64_t for_ns) : percent_(percent), for_ns_(for_ns) {}

  // One observation of the process's total CPU time at a moment; true when
  // the trigger fires.
  bool observe(uint64_t now_ns, uint64_t process_cpu_ns);
  // The use over the last observation interval, in percent of one CPU.
  double last_percent() const { return last_percent_; }

 private:
  double percent_;
  uint64_t for_ns_;
  std::optional<uint64_t> prev_now_ns_, prev_cpu_ns_;
  std::optional<uint64_t> above_since_ns_;
  bool fired_ = false;  // in the current episode
  double last_percent_ = 0;
};

// utime + stime of the whole process, from /proc/PID/stat.
Result<uint64_t> read_process_cpu_ns(uint32_t pid);

}  // namespace flare::agent
