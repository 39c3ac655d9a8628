#include "agent/missed_ticks.h"

namespace flare::agent {

TickAccount account_busy_ticks(uint64_t enabled_ns, uint64_t idle_ns, uint64_t busy_runs, uint64_t period_ns) {
  TickAccount account;
  if (period_ns == 0) return account;
  const uint64_t busy_ns = idle_ns < enabled_ns ? enabled_ns - idle_ns : 0;
  account.due = busy_ns / period_ns;
  const uint64_t tolerance = 3 + account.due / 50;
  if (account.due > busy_runs + tolerance) account.missed = account.due - busy_runs;
  return account;
}

}  // namespace flare::agent
