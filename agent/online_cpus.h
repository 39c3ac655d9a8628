// The CPUs a per-CPU perf event must be opened on.
#pragma once

#include <string_view>
#include <vector>

#include "common/status.h"

namespace flare::agent {

// Parses the kernel's CPU list syntax ("0-3,5,7-8").
Result<std::vector<int>> parse_cpu_list(std::string_view text);
Result<std::vector<int>> online_cpus();

}  // namespace flare::agent
