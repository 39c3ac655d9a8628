// What a symbolizer says about one instruction address. Shared by the user
// (ELF) and kernel (kallsyms) symbolizers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace flare::agent {

struct InlinedFrame {
  std::string function;  // demangled
  std::string file;
  uint32_t line = 0;
};

struct SourceSymbol {
  std::string function;  // demangled; empty when unresolved
  // Source position inside `function`. When the address lies in inlined code
  // this is the call site of the outermost inlined function, so function and
  // line always agree.
  std::string file;
  uint32_t line = 0;
  bool resolved = false;
  // Functions inlined at this address, innermost (the code actually running)
  // first; each carries its own position. Empty when nothing is inlined or the
  // file has no DWARF.
  std::vector<InlinedFrame> inlined;
};

}  // namespace flare::agent
