// Drop counters live in BPF per-CPU arrays (one slot per cause): each CPU
// counts in its own slot without atomics, and the agent reads them all.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace flare::agent {

// [cause][cpu] for causes 0..n_causes-1 of the per-CPU array map `fd`.
Result<std::vector<std::vector<uint64_t>>> read_per_cpu_counters(int fd, uint32_t n_causes, const std::string& what);

}  // namespace flare::agent
