// Pairs each goroutine's park with the ready that ends it, per process and
// goroutine id, to give the park->ready latency. Pure bookkeeping, no I/O:
// unit-testable without root.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>

namespace flare::agent {

struct GoroutinePairingStats {
  uint64_t parks = 0;
  uint64_t readies = 0;
  uint64_t paired = 0;         // readies that ended a park seen
  uint64_t unpaired_ready = 0; // readies of a goroutine whose park was not seen (before the capture)
  // Parks followed by another park of the same goroutine with no ready in
  // between: gopark returned without parking (its unlock function said no)
  // or a path flare does not probe made the goroutine runnable.
  uint64_t superseded_parks = 0;
};

class GoroutinePairing {
 public:
  void park(uint32_t pid, uint64_t goid, uint64_t time_ns);
  // The wait since the goroutine's park, if one was seen; the park is
  // closed either way.
  std::optional<uint64_t> ready(uint32_t pid, uint64_t goid, uint64_t time_ns);
  // Parks still open (goroutines parked at the end of the capture).
  uint64_t open_parks() const { return open_.size(); }
  const GoroutinePairingStats& stats() const { return stats_; }

 private:
  struct Key {
    uint32_t pid;
    uint64_t goid;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<uint64_t>()(k.goid * 0x9e3779b97f4a7c15ull ^ k.pid); }
  };
  std::unordered_map<Key, uint64_t, KeyHash> open_;  // -> park time
  GoroutinePairingStats stats_;
};

}  // namespace flare::agent
