#include "agent/call_frame_rules.h"

#include <algorithm>
#include <cstdlib>

namespace flare::agent {
namespace {

// Bounds the caches: rows are small and few are hot, so when a cache fills it
// is dropped and rebuilt rather than tracked with LRU bookkeeping.
constexpr size_t kMaxCachedRows = 16384;
constexpr size_t kMaxUncovered = 4096;

}  // namespace

const FrameRule* CallFrameRules::find(uint64_t elf_vaddr) {
  auto it = rows_.upper_bound(elf_vaddr);
  if (it != rows_.begin()) {
    const FrameRule& row = std::prev(it)->second;
    if (elf_vaddr < row.end) return &row;
  }
  if (uncovered_.count(elf_vaddr) != 0) return nullptr;
  FrameRule rule;
  if (!load(elf_vaddr, rule)) {
    if (uncovered_.size() >= kMaxUncovered) {
      uncovered_.clear();
      ++cache_resets_;
    }
    uncovered_.insert(elf_vaddr);
    return nullptr;
  }
  if (rows_.size() >= kMaxCachedRows) {
    rows_.clear();
    ++cache_resets_;
  }
  uint64_t start = rule.start;
  return &rows_.insert_or_assign(start, std::move(rule)).first->second;
}

bool CallFrameRules::load(uint64_t elf_vaddr, FrameRule& rule) const {
  Dwarf_Frame* frame = nullptr;
  if (dwarf_cfi_addrframe(cfi_, elf_vaddr + cfi_bias_, &frame) != 0) return false;
  Dwarf_Addr start = 0, end = 0;
  bool signal = false;
  int ra = dwarf_frame_info(frame, &start, &end, &signal);
  Dwarf_Op* ops = nullptr;
  size_t nops = 0;
  bool ok = ra >= 0 && ra < UserRegisters::kCount && dwarf_frame_cfa(frame, &ops, &nops) == 0;
  if (ok) {
    // The row's end is where the CFA program next advances, but its start
    // is not always right: after DW_CFA_restore_state libdw reports the
    // start of the row that was remembered, which can lie before an
    // epilogue with other rules (seen in libpython: a row claimed to begin
    // at a function's first pop). So the row is only trusted from the
    // queried address on.
    (void)start;
    rule.start = elf_vaddr;
    rule.end = std::max<uint64_t>(end - cfi_bias_, elf_vaddr + 1);
    rule.return_address_register = ra;
    rule.signal_frame = signal;
    rule.cfa.assign(ops, ops + nops);
    for (int r = 0; r < UserRegisters::kCount; ++r) {
      Dwarf_Op ops_mem[3];
      RegisterRule& reg = rule.registers[static_cast<size_t>(r)];
      if (dwarf_frame_register(frame, r, ops_mem, &ops, &nops) != 0) {
        reg.kind = RegisterRule::Kind::kUndefined;
      } else if (nops == 0) {
        // libdw: no ops and a null pointer is "same value"; no ops into
        // ops_mem is "undefined".
        reg.kind = ops == nullptr ? RegisterRule::Kind::kSameValue : RegisterRule::Kind::kUndefined;
      } else {
        reg.kind = RegisterRule::Kind::kExpression;
        reg.ops.assign(ops, ops + nops);
      }
    }
  }
  std::free(frame);
  return ok;
}

}  // namespace flare::agent
