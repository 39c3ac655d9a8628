#include "agent/dwarf_scope_index.h"

#include <dwarf.h>

#include <algorithm>

namespace flare::agent {
namespace {

// Calls fn(low, high) for each address range of `die`.
template <typename Fn>
void for_each_range(Dwarf_Die* die, Fn fn) {
  Dwarf_Addr base = 0, low = 0, high = 0;
  for (ptrdiff_t offset = 0; (offset = dwarf_ranges(die, offset, &base, &low, &high)) > 0;) {
    if (high > low) fn(low, high);
  }
}

}  // namespace

// Depth-first over the unit. A subprogram with code opens a function of its
// own (a nested one too: the inlines inside it are its own); inlined
// subroutines are recorded under the innermost function around them, with
// their nesting depth.
void DwarfScopeIndex::walk(Dwarf_Die* parent, Unit& unit, bool in_function, uint32_t depth) {
  Dwarf_Die child;
  if (dwarf_child(parent, &child) != 0) return;
  do {
    int tag = dwarf_tag(&child);
    uint32_t child_depth = depth;
    if (tag == DW_TAG_subprogram) {
      std::vector<Function> ranges;
      for_each_range(&child, [&](Dwarf_Addr low, Dwarf_Addr high) {
        ranges.push_back(Function{low, high, child, 0, 0});
      });
      if (!ranges.empty()) {
        // Its inlines are the ones the walk below appends.
        uint32_t first = static_cast<uint32_t>(unit.inlines.size());
        if (dwarf_haschildren(&child)) walk(&child, unit, true, 1);
        for (Function& f : ranges) {
          f.first_inline = first;
          f.end_inline = static_cast<uint32_t>(unit.inlines.size());
          unit.functions.push_back(f);
        }
        continue;  // to the next sibling
      }
    } else if (tag == DW_TAG_inlined_subroutine && in_function) {
      for_each_range(&child, [&](Dwarf_Addr low, Dwarf_Addr high) {
        unit.inlines.push_back(Inline{low, high, child, depth});
      });
      child_depth = depth + 1;
    }
    if (dwarf_haschildren(&child)) walk(&child, unit, in_function, child_depth);
  } while (dwarf_siblingof(&child, &child) == 0);
}

DwarfScopeIndex::Unit DwarfScopeIndex::build(Dwarf_Die* cudie) {
  Unit unit;
  walk(cudie, unit, false, 1);
  std::sort(unit.functions.begin(), unit.functions.end(),
            [](const Function& a, const Function& b) { return a.low < b.low; });
  return unit;
}

void DwarfScopeIndex::find(Dwarf_Die* cudie, Dwarf_Addr address, std::vector<Dwarf_Die>& out) {
  out.clear();
  auto [it, inserted] = units_.try_emplace(cudie->addr);
  if (inserted) it->second = build(cudie);
  const Unit& unit = it->second;

  // The function whose range holds the address: ranges of distinct
  // functions do not overlap, so it is the last one starting at or before.
  auto next = std::upper_bound(unit.functions.begin(), unit.functions.end(), address,
                               [](Dwarf_Addr a, const Function& f) { return a < f.low; });
  if (next == unit.functions.begin()) return;
  const Function& function = *(next - 1);
  if (address >= function.high) return;

  // Each nesting depth has at most one inline holding the address.
  std::vector<std::pair<uint32_t, Dwarf_Die>> chain;
  for (uint32_t i = function.first_inline; i < function.end_inline; ++i) {
    const Inline& in = unit.inlines[i];
    if (address >= in.low && address < in.high) chain.emplace_back(in.depth, in.die);
  }
  std::sort(chain.begin(), chain.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (auto& [depth, die] : chain) out.push_back(die);
  out.push_back(function.die);
}

}  // namespace flare::agent
