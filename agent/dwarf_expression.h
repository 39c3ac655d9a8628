// Evaluates the DWARF expressions call frame information uses: CFA rules
// (DW_OP_bregN offset), saved-register locations (DW_OP_call_frame_cfa,
// DW_OP_plus_uconst N), and the occasional real expression, such as the CFA
// of a PLT entry, which depends on where in the 16-byte entry the pc is.
#pragma once

#include <elfutils/libdw.h>

#include <cstdint>
#include <optional>
#include <span>

#include "agent/stack_window.h"
#include "agent/user_registers.h"

namespace flare::agent {

enum class ExpressionError : uint8_t {
  kNone,
  kMemoryOutsideWindow,  // a dereference left the copied stack
  kUnknownRegister,      // the expression reads a register the unwind lost
  kUnsupported,          // an operation CFI does not need, or a malformed expression
};

struct ExpressionResult {
  uint64_t value = 0;
  // The expression ended in DW_OP_stack_value: `value` is the register's
  // value itself, not the address where it was saved.
  bool is_value = false;
  ExpressionError error = ExpressionError::kNone;
  bool ok() const { return error == ExpressionError::kNone; }
};

// `cfa` is what DW_OP_call_frame_cfa pushes (nullopt while computing the
// CFA itself).
ExpressionResult evaluate_dwarf_expression(std::span<const Dwarf_Op> ops, const UserRegisters& regs,
                                           std::optional<uint64_t> cfa, const StackWindow& memory);

}  // namespace flare::agent
