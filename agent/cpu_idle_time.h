// How long each CPU was idle, from /proc/stat: the sampler's timer does not
// fire on every idle CPU (a VM's idle vCPU may skip it), so only the ticks due
// while a CPU was busy say whether samples were missed.
#pragma once

#include <cstdint>
#include <map>
#include <string_view>

#include "common/status.h"

namespace flare::agent {

// CPU number -> idle + iowait time in nanoseconds, from the text of
// /proc/stat with its times in units of 1/ticks_per_second.
Result<std::map<int, uint64_t>> parse_cpu_idle_ns(std::string_view proc_stat, long ticks_per_second);
Result<std::map<int, uint64_t>> read_cpu_idle_ns();

}  // namespace flare::agent
