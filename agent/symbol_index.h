// Address -> function name over one file's symbol table, by binary search.
// elfutils 0.188's dwfl_module_addrinfo scans the whole table per lookup
// (measured 0.5 ms per address on libc, and it grows with the table), so the
// symbols are read once through elfutils and indexed here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace flare::agent {

struct SymbolCandidate {
  uint64_t address = 0;
  uint64_t size = 0;  // 0 for labels from hand-written assembly
  const char* name = nullptr;
  uint8_t binding = 0;  // STB_LOCAL / STB_GLOBAL / STB_WEAK / STB_GNU_UNIQUE
  // End of the containing section: bounds a sizeless symbol's extent.
  uint64_t section_end = UINT64_MAX;
};

class SymbolIndex {
 public:
  SymbolIndex() = default;
  // Names are not copied; they must outlive the index (they point into the
  // string tables elfutils keeps mapped).
  static SymbolIndex build(std::vector<SymbolCandidate> candidates);

  // The name of the innermost symbol covering `address`, or nullptr. A sized
  // symbol covers [address, address + size); a sizeless one extends to the
  // next symbol or the end of its section.
  const char* find(uint64_t address) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uint64_t start;
    uint64_t end;
    uint64_t max_end;  // max of `end` over this and all earlier entries
    const char* name;
  };
  std::vector<Entry> entries_;  // sorted by start, one per address
};

}  // namespace flare::agent
