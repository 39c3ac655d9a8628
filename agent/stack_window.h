// A copy of part of a thread's user stack, taken by BPF at a sample: the only
// memory the unwinder may read. It is the target's memory, used to unwind one
// sample and then dropped; none of it goes into a recording.
#pragma once

#include <cstdint>
#include <cstring>

namespace flare::agent {

class StackWindow {
 public:
  StackWindow() = default;
  // `cut` is true when the copy stopped at its size limit, so the stack goes
  // on above end(); false when it stopped at the end of the stack mapping.
  StackWindow(uint64_t start, const uint8_t* bytes, size_t size, bool cut = true)
      : start_(start), bytes_(bytes), size_(size), cut_(cut) {}

  uint64_t start() const { return start_; }
  uint64_t end() const { return start_ + size_; }
  bool cut() const { return cut_; }

  // False when any byte of [address, address + 8) lies outside the copy.
  bool read_u64(uint64_t address, uint64_t& out) const {
    if (address < start_ || address - start_ > size_ || size_ - (address - start_) < sizeof(uint64_t)) return false;
    std::memcpy(&out, bytes_ + (address - start_), sizeof(out));
    return true;
  }

 private:
  uint64_t start_ = 0;
  const uint8_t* bytes_ = nullptr;
  size_t size_ = 0;
  bool cut_ = true;
};

}  // namespace flare::agent
