// Which functions contain an address, out-of-line and inlined, from DWARF.
//
// libdw's dwarf_getscopes answers this by walking the compilation unit's
// whole DIE tree on every call: milliseconds per lookup in a C++ unit full
// of templates. This index walks each unit once, the first time an address
// in it is looked up (units never sampled are never walked), and answers
// from sorted ranges after that.
#pragma once

#include <elfutils/libdw.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace flare::agent {

class DwarfScopeIndex {
 public:
  // Fills `out` with the scopes containing `address` (in the unit's DWARF
  // addresses, i.e. without the module bias): the inlined subroutines,
  // innermost first, then the subprogram they are inlined into. Empty when
  // no subprogram covers the address.
  void find(Dwarf_Die* cudie, Dwarf_Addr address, std::vector<Dwarf_Die>& out);

  size_t units_indexed() const { return units_.size(); }

 private:
  struct Inline {
    Dwarf_Addr low, high;
    Dwarf_Die die;
    uint32_t depth;  // nesting below its function, from 1
  };
  struct Function {
    Dwarf_Addr low, high;
    Dwarf_Die die;
    uint32_t first_inline, end_inline;  // its inlined subroutines, in DIE order
  };
  struct Unit {
    std::vector<Function> functions;  // one per address range, sorted by low
    std::vector<Inline> inlines;
  };

  static Unit build(Dwarf_Die* cudie);
  static void walk(Dwarf_Die* parent, Unit& unit, bool in_function, uint32_t depth);

  std::unordered_map<const void*, Unit> units_;  // by the unit DIE's address in the mapped data
};

}  // namespace flare::agent
