// Kernel instruction addresses to function names, from /proc/kallsyms.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/source_symbol.h"
#include "common/status.h"

namespace flare::agent {

class KernelSymbolizer {
 public:
  // Reads and indexes text symbols (types t/T/w/W). Module symbols are named
  // "func [module]".
  static Result<KernelSymbolizer> load(const std::string& path = "/proc/kallsyms");
  // Same, from text already read (unit tests).
  static KernelSymbolizer parse(std::string_view text);

  // False when kallsyms shows every address as zero: kernel.kptr_restrict or
  // a reader without CAP_SYSLOG. resolve() then reports unresolved rather
  // than attributing everything to one symbol.
  bool addresses_visible() const { return addresses_visible_; }
  size_t size() const { return symbols_.size(); }

  // The nearest symbol at or below `address`; unresolved below the first.
  SourceSymbol resolve(uint64_t address) const;

 private:
  // ~100k symbols on a distribution kernel: names live in one arena and each
  // entry is 16 bytes, instead of a std::string per symbol.
  struct Symbol {
    uint64_t address;
    uint32_t name_offset;
    uint32_t name_length;
  };

  std::vector<Symbol> symbols_;  // sorted by address
  std::string names_;
  bool addresses_visible_ = false;
};

}  // namespace flare::agent
