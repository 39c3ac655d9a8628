// Heap allocations made by this process, counted by the replaced global
// operator new in bench_main.cc: benchmarks report allocations per event.
#pragma once

#include <cstdint>

namespace flare::bench {

uint64_t allocation_count();

// Counts allocations between construction and per_item().
class AllocationScope {
 public:
  AllocationScope() : start_(allocation_count()) {}
  double per_item(uint64_t items) const {
    return items ? static_cast<double>(allocation_count() - start_) / static_cast<double>(items) : 0.0;
  }

 private:
  uint64_t start_;
};

}  // namespace flare::bench
