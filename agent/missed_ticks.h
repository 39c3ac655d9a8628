// Whether the sampler's timer reached the BPF program as often as it should
// have. Only ticks due while a CPU was busy count: a VM's idle vCPU may skip
// its timer entirely, and a tick on an idle CPU can never sample a target.
#pragma once

#include <cstdint>

namespace flare::agent {

struct TickAccount {
  uint64_t due = 0;     // ticks due while the CPU was busy
  uint64_t missed = 0;  // of those, ticks for which the program did not run
};

// enabled_ns: how long the CPU's perf event was enabled; idle_ns: how much of
// that the CPU was idle (/proc/stat, 10 ms resolution); busy_runs: program
// runs that interrupted a task other than the idle task. A shortfall within
// the accounting's resolution (three ticks and 2 %) is not reported.
TickAccount account_busy_ticks(uint64_t enabled_ns, uint64_t idle_ns, uint64_t busy_runs, uint64_t period_ns);

}  // namespace flare::agent
