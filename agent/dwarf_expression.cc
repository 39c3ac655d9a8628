#include "agent/dwarf_expression.h"

#include <dwarf.h>

namespace flare::agent {
namespace {

// CFI expressions are a handful of operations; a deeper stack is malformed.
constexpr size_t kMaxDepth = 16;

class EvalStack {
 public:
  bool push(uint64_t v) {
    if (size_ == kMaxDepth) return false;
    items_[size_++] = v;
    return true;
  }
  bool pop(uint64_t& v) {
    if (size_ == 0) return false;
    v = items_[--size_];
    return true;
  }
  bool top(uint64_t& v) const {
    if (size_ == 0) return false;
    v = items_[size_ - 1];
    return true;
  }
  size_t size() const { return size_; }
  uint64_t at_depth(size_t d) const { return items_[size_ - 1 - d]; }

 private:
  uint64_t items_[kMaxDepth];
  size_t size_ = 0;
};

bool binary(uint8_t atom, uint64_t a, uint64_t b, uint64_t& out) {
  // a is the second entry, b the top, as the DWARF spec orders them.
  const int64_t sa = static_cast<int64_t>(a), sb = static_cast<int64_t>(b);
  switch (atom) {
    case DW_OP_plus: out = a + b; return true;
    case DW_OP_minus: out = a - b; return true;
    case DW_OP_mul: out = a * b; return true;
    case DW_OP_and: out = a & b; return true;
    case DW_OP_or: out = a | b; return true;
    case DW_OP_xor: out = a ^ b; return true;
    case DW_OP_shl: out = b >= 64 ? 0 : a << b; return true;
    case DW_OP_shr: out = b >= 64 ? 0 : a >> b; return true;
    case DW_OP_shra: out = static_cast<uint64_t>(sa >> (b >= 63 ? 63 : b)); return true;
    case DW_OP_eq: out = sa == sb; return true;
    case DW_OP_ne: out = sa != sb; return true;
    case DW_OP_lt: out = sa < sb; return true;
    case DW_OP_le: out = sa <= sb; return true;
    case DW_OP_gt: out = sa > sb; return true;
    case DW_OP_ge: out = sa >= sb; return true;
    default: return false;
  }
}

}  // namespace

ExpressionResult evaluate_dwarf_expression(std::span<const Dwarf_Op> ops, const UserRegisters& regs,
                                           std::optional<uint64_t> cfa, const StackWindow& memory) {
  ExpressionResult result;
  auto fail = [&](ExpressionError e) {
    result.error = e;
    return result;
  };
  EvalStack stack;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Dwarf_Op& op = ops[i];
    const uint8_t atom = op.atom;
    uint64_t a = 0, b = 0;
    if (atom >= DW_OP_lit0 && atom <= DW_OP_lit31) {
      if (!stack.push(atom - DW_OP_lit0)) return fail(ExpressionError::kUnsupported);
      continue;
    }
    if ((atom >= DW_OP_breg0 && atom <= DW_OP_breg31) || atom == DW_OP_bregx) {
      int reg = atom == DW_OP_bregx ? static_cast<int>(op.number) : atom - DW_OP_breg0;
      uint64_t offset = atom == DW_OP_bregx ? op.number2 : op.number;
      if (!regs.has(reg)) return fail(ExpressionError::kUnknownRegister);
      if (!stack.push(regs.get(reg) + offset)) return fail(ExpressionError::kUnsupported);
      continue;
    }
    if ((atom >= DW_OP_reg0 && atom <= DW_OP_reg31) || atom == DW_OP_regx) {
      // A register location: only meaningful as the whole expression, and CFI
      // describes that case with its own rules. Treat as the register's value.
      int reg = atom == DW_OP_regx ? static_cast<int>(op.number) : atom - DW_OP_reg0;
      if (!regs.has(reg)) return fail(ExpressionError::kUnknownRegister);
      if (!stack.push(regs.get(reg))) return fail(ExpressionError::kUnsupported);
      result.is_value = true;
      continue;
    }
    switch (atom) {
      case DW_OP_const1u: case DW_OP_const2u: case DW_OP_const4u: case DW_OP_const8u: case DW_OP_constu:
      case DW_OP_const1s: case DW_OP_const2s: case DW_OP_const4s: case DW_OP_const8s: case DW_OP_consts:
      case DW_OP_addr:
        // libdw has already sign-extended the signed forms into `number`.
        if (!stack.push(op.number)) return fail(ExpressionError::kUnsupported);
        break;
      case DW_OP_call_frame_cfa:
        if (!cfa || !stack.push(*cfa)) return fail(ExpressionError::kUnsupported);
        break;
      case DW_OP_plus_uconst:
        if (!stack.pop(a) || !stack.push(a + op.number)) return fail(ExpressionError::kUnsupported);
        break;
      case DW_OP_deref:
        if (!stack.pop(a)) return fail(ExpressionError::kUnsupported);
        if (!memory.read_u64(a, b)) return fail(ExpressionError::kMemoryOutsideWindow);
        stack.push(b);
        break;
      case DW_OP_dup:
        if (!stack.top(a) || !stack.push(a)) return fail(ExpressionError::kUnsupported);
        break;
      case DW_OP_drop:
        if (!stack.pop(a)) return fail(ExpressionError::kUnsupported);
        break;
      case DW_OP_over:
        if (stack.size() < 2 || !stack.push(stack.at_depth(1))) return fail(ExpressionError::kUnsupported);
        break;
      case DW_OP_swap:
        if (!stack.pop(b) || !stack.pop(a)) return fail(ExpressionError::kUnsupported);
        stack.push(b);
        stack.push(a);
        break;
      case DW_OP_neg:
        if (!stack.pop(a)) return fail(ExpressionError::kUnsupported);
        stack.push(static_cast<uint64_t>(-static_cast<int64_t>(a)));
        break;
      case DW_OP_not:
        if (!stack.pop(a)) return fail(ExpressionError::kUnsupported);
        stack.push(~a);
        break;
      case DW_OP_abs:
        if (!stack.pop(a)) return fail(ExpressionError::kUnsupported);
        stack.push(static_cast<int64_t>(a) < 0 ? static_cast<uint64_t>(-static_cast<int64_t>(a)) : a);
        break;
      case DW_OP_nop:
        break;
      case DW_OP_stack_value:
        // Only valid as the last operation.
        if (i + 1 != ops.size()) return fail(ExpressionError::kUnsupported);
        result.is_value = true;
        break;
      default: {
        uint64_t out = 0;
        if (!stack.pop(b) || !stack.pop(a) || !binary(atom, a, b, out)) return fail(ExpressionError::kUnsupported);
        stack.push(out);
      }
    }
  }
  if (!stack.top(result.value)) return fail(ExpressionError::kUnsupported);
  return result;
}

}  // namespace flare::agent
