#include "agent/goroutine_pairing.h"

namespace flare::agent {

void GoroutinePairing::park(uint32_t pid, uint64_t goid, uint64_t time_ns) {
  ++stats_.parks;
  auto [it, inserted] = open_.try_emplace(Key{pid, goid}, time_ns);
  if (!inserted) {
    ++stats_.superseded_parks;
    it->second = time_ns;
  }
}

std::optional<uint64_t> GoroutinePairing::ready(uint32_t pid, uint64_t goid, uint64_t time_ns) {
  ++stats_.readies;
  auto it = open_.find(Key{pid, goid});
  if (it == open_.end()) {
    ++stats_.unpaired_ready;
    return std::nullopt;
  }
  // Events of different CPUs arrive slightly out of order: a ready stamped
  // before its park waited (next to) no time.
  // 0 means "park not seen" in the recording, so a paired wait is at least 1 ns.
  const uint64_t wait = time_ns > it->second ? time_ns - it->second : 1;
  open_.erase(it);
  ++stats_.paired;
  return wait;
}

}  // namespace flare::agent
