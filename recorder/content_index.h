// Interning by content without a second copy of the content: the pool
// (a vector of strings, frames or stacks) holds the entries, this table only
// their ids, in one flat open-addressing array. Looking up an entry seen
// before allocates nothing, which is what the reader does for every pool
// record of every chunk after the first.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace flare::rec {

class ContentIndex {
 public:
  // Returns the id of the entry with this hash that same(id) accepts and
  // false, or records new_id under the hash and returns it and true.
  template <typename Same>
  std::pair<uint32_t, bool> find_or_insert(uint64_t hash, uint32_t new_id, Same same) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (!slot.used) {
        slot = Slot{hash, new_id, true};
        ++size_;
        return {new_id, true};
      }
      if (slot.hash == hash && same(slot.id)) return {slot.id, false};
    }
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t id = 0;
    bool used = false;
  };

  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : 2 * old.size(), Slot{});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (!s.used) continue;
      size_t i = s.hash & mask_;
      while (slots_[i].used) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
  size_t mask_ = 0;
};

// FNV-1a over whole values, then a final mix so that the low bits the
// table indexes by depend on every input bit.
class ContentHash {
 public:
  ContentHash& add(uint64_t v) {
    h_ = (h_ ^ v) * 0x100000001b3ull;
    return *this;
  }
  ContentHash& add(std::span<const uint32_t> values) {
    for (uint32_t v : values) add(v);
    return add(values.size());
  }
  ContentHash& add(std::string_view bytes) {
    for (unsigned char c : bytes) add(c);
    return add(bytes.size());
  }
  uint64_t value() const {
    uint64_t h = h_;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
  }

 private:
  uint64_t h_ = 0xcbf29ce484222325ull;
};

}  // namespace flare::rec
