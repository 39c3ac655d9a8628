#include "agent/symbol_index.h"

#include <elf.h>

#include <algorithm>
#include <tuple>

namespace flare::agent {
namespace {

// Among aliases at one address, the name a person expects: exported over
// local, "malloc" over "__libc_malloc", strong over weak.
auto alias_rank(const SymbolCandidate& c) {
  int visibility = c.binding == STB_LOCAL ? 0 : 1;
  int underscores = 0;
  while (c.name[underscores] == '_') ++underscores;
  int strength = c.binding == STB_WEAK ? 0 : 1;
  return std::make_tuple(visibility, -underscores, strength);
}

}  // namespace

SymbolIndex SymbolIndex::build(std::vector<SymbolCandidate> candidates) {
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const SymbolCandidate& a, const SymbolCandidate& b) { return a.address < b.address; });
  SymbolIndex index;
  index.entries_.reserve(candidates.size());
  uint64_t sized_max_end = 0;  // furthest end of any sized symbol so far
  for (size_t i = 0; i < candidates.size();) {
    // One entry per address: the best-ranked alias, spanning the largest size.
    size_t best = i;
    uint64_t size = 0;
    uint64_t section_end = candidates[i].section_end;
    size_t j = i;
    for (; j < candidates.size() && candidates[j].address == candidates[i].address; ++j) {
      if (alias_rank(candidates[j]) > alias_rank(candidates[best])) best = j;
      size = std::max(size, candidates[j].size);
      section_end = std::min(section_end, candidates[j].section_end);
    }
    uint64_t start = candidates[i].address;
    uint64_t end;
    if (size != 0) {
      end = start + size;
      sized_max_end = std::max(sized_max_end, end);
    } else if (start < sized_max_end) {
      // A label inside a sized function (as elfutils also decides) is part
      // of that function, not a function of its own.
      i = j;
      continue;
    } else {
      uint64_t next = j < candidates.size() ? candidates[j].address : UINT64_MAX;
      end = std::min(next, section_end);
    }
    uint64_t max_end = index.entries_.empty() ? end : std::max(end, index.entries_.back().max_end);
    index.entries_.push_back(Entry{start, end, max_end, candidates[best].name});
    i = j;
  }
  return index;
}

const char* SymbolIndex::find(uint64_t address) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), address,
                             [](uint64_t a, const Entry& e) { return a < e.start; });
  // Walk back from the nearest start: usually it covers the address; a miss
  // means a nested symbol ended early and an enclosing one may still cover it.
  // max_end stops the walk as soon as nothing earlier reaches the address.
  while (it != entries_.begin()) {
    --it;
    if (address < it->end) return it->name;
    if (it->max_end <= address) break;
  }
  return nullptr;
}

}  // namespace flare::agent
