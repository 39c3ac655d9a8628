#include "viewer/sample_counts.h"

#include <utility>

namespace flare::viewer {

namespace {

// Sample counts per 64-bit key, with open addressing and linear probing.
// std::unordered_map allocates a node per key and chases pointers on every
// probe; here a sample costs one probe into one flat array, with the count
// stored in the slot itself. That is the whole per-sample cost of a
// conversion, so it is worth the few lines.
class KeyCounter {
 public:
  KeyCounter() { rehash(1024); }

  void add(uint64_t key) {
    size_t i = slot_of(key);
    while (slots_[i].count != 0) {
      if (slots_[i].key == key) {
        ++slots_[i].count;
        return;
      }
      i = (i + 1) & mask_;
    }
    slots_[i] = Slot{key, 1};
    keys_in_order_.push_back(key);
    if (keys_in_order_.size() * 2 > slots_.size()) rehash(slots_.size() * 2);
  }

  uint64_t count(uint64_t key) const {
    for (size_t i = slot_of(key); slots_[i].count != 0; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return slots_[i].count;
    }
    return 0;
  }

  const std::vector<uint64_t>& keys_in_order() const { return keys_in_order_; }

 private:
  struct Slot {
    uint64_t key = 0;
    uint64_t count = 0;  // 0 marks an empty slot: a present key has counted at least once
  };

  size_t slot_of(uint64_t key) const {
    // Fibonacci hashing: stack ids and tids are small dense integers, so the
    // multiply spreads them over the high bits that pick the slot.
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_);
  }

  void rehash(size_t capacity) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    shift_ = 64;
    for (size_t c = capacity; c > 1; c >>= 1) --shift_;
    for (const Slot& s : old) {
      if (s.count == 0) continue;
      size_t i = slot_of(s.key);
      while (slots_[i].count != 0) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  std::vector<uint64_t> keys_in_order_;
  size_t mask_ = 0;
  int shift_ = 64;
};

}  // namespace

std::vector<StackThreadCount> count_by_stack_and_thread(std::span<const rec::CpuSample> samples) {
  KeyCounter counter;
  for (const rec::CpuSample& s : samples) counter.add((static_cast<uint64_t>(s.stack) << 32) | s.tid);
  std::vector<StackThreadCount> out;
  out.reserve(counter.keys_in_order().size());
  for (uint64_t key : counter.keys_in_order()) {
    out.push_back(StackThreadCount{static_cast<uint32_t>(key >> 32), static_cast<uint32_t>(key), counter.count(key)});
  }
  return out;
}

std::vector<uint64_t> count_by_stack(const rec::Recording& rec) {
  std::vector<uint64_t> counts(rec.stacks.empty() ? 1 : rec.stacks.size(), 0);
  for (const rec::CpuSample& s : rec.samples) {
    ++counts[s.stack < counts.size() ? s.stack : 0];
  }
  return counts;
}

}  // namespace flare::viewer
