// The unwind rules of one ELF file, from its call frame information
// (.eh_frame, else .debug_frame) as libdw parses it: for a code address, how
// to compute the caller's CFA and registers. libdw re-runs the FDE's CFA
// program on every query, so each row it returns is cached by its address
// range (from the first address queried in it to its end): a profile hits
// the same few hundred rows over and over.
#pragma once

#include <elfutils/libdw.h>

#include <array>
#include <cstdint>
#include <map>
#include <unordered_set>
#include <vector>

#include "agent/user_registers.h"

namespace flare::agent {

struct RegisterRule {
  enum class Kind : uint8_t {
    kSameValue,   // the caller's register is this frame's
    kUndefined,   // not recoverable (caller-saved), or the end of the stack for the return address
    kExpression,  // `ops` give where it was saved, or its value if they end in DW_OP_stack_value
  };
  Kind kind = Kind::kSameValue;
  std::vector<Dwarf_Op> ops;
};

struct FrameRule {
  uint64_t start = 0;  // [start, end): ELF virtual addresses the rule is known to hold for
  uint64_t end = 0;
  std::vector<Dwarf_Op> cfa;  // empty: the CFA cannot be computed here
  std::array<RegisterRule, UserRegisters::kCount> registers;
  int return_address_register = UserRegisters::kInstructionPointer;
  // The frame is a signal trampoline's: its "return address" is the exact
  // interrupted pc, not the address after a call.
  bool signal_frame = false;
};

// Not thread-safe. `cfi` stays owned by whoever opened it (it lives as long as
// the ELF file's libdwfl module); CFI addresses are ELF vaddrs + `cfi_bias`.
class CallFrameRules {
 public:
  CallFrameRules(Dwarf_CFI* cfi, int64_t cfi_bias) : cfi_(cfi), cfi_bias_(cfi_bias) {}

  // nullptr: no CFI row covers `elf_vaddr` (code without unwind info).
  const FrameRule* find(uint64_t elf_vaddr);

  size_t cached_rows() const { return rows_.size(); }
  // Times a cache was full and dropped (its rows are recomputed on demand).
  uint64_t cache_resets() const { return cache_resets_; }

 private:
  bool load(uint64_t elf_vaddr, FrameRule& rule) const;

  Dwarf_CFI* cfi_;
  int64_t cfi_bias_;
  std::map<uint64_t, FrameRule> rows_;        // by start
  std::unordered_set<uint64_t> uncovered_;    // addresses without a row
  uint64_t cache_resets_ = 0;
};

}  // namespace flare::agent
