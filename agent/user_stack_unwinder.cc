#include "agent/user_stack_unwinder.h"

#include "agent/dwarf_expression.h"

namespace flare::agent {
namespace {

constexpr int kSp = UserRegisters::kStackPointer;
constexpr int kBp = UserRegisters::kFramePointer;
constexpr int kIp = UserRegisters::kInstructionPointer;

// A read outside the copy is a cut stack only if the copy was cut: when it
// reaches the end of the stack mapping, the address is not stack memory and
// the rules (or the registers they read) were wrong.
UnwindStatus status_of(ExpressionError error, const StackWindow& stack) {
  return error == ExpressionError::kMemoryOutsideWindow && stack.cut() ? UnwindStatus::kTruncatedWindow
                                                                        : UnwindStatus::kBadFrame;
}

}  // namespace

std::string_view unwind_status_name(UnwindStatus status) {
  switch (status) {
    case UnwindStatus::kComplete: return "complete";
    case UnwindStatus::kTruncatedWindow: return "truncated_window";
    case UnwindStatus::kTruncatedDepth: return "truncated_depth";
    case UnwindStatus::kNoUnwindInfo: return "no_unwind_info";
    case UnwindStatus::kUnknownMapping: return "unknown_mapping";
    case UnwindStatus::kBadFrame: return "bad_frame";
    case UnwindStatus::kNoStack: return "no_stack";
  }
  return "?";
}

void UserStackUnwinder::unwind(const UserRegisters& initial, const StackWindow& stack, CodeLocator& code,
                               UnwindResult& out) const {
  out.pcs.clear();
  out.frame_pointer_steps = 0;
  out.status = UnwindStatus::kComplete;
  UserRegisters regs = initial;
  // The pc of the leaf (and of a frame a signal interrupted) is exact; every
  // other pc is a return address, just past the call, which may already be
  // the next function (a call to a noreturn function ends a function), so its
  // rules are looked up one byte earlier.
  bool exact_pc = true;
  while (true) {
    if (!regs.has(kIp) || !regs.has(kSp)) {
      out.status = UnwindStatus::kBadFrame;
      return;
    }
    const uint64_t pc = regs.get(kIp);
    if (out.pcs.size() == max_frames_) {
      out.status = UnwindStatus::kTruncatedDepth;
      return;
    }
    out.pcs.push_back(pc);
    const uint64_t lookup = exact_pc ? pc : pc - 1;
    CodeAt at = code.locate_code(lookup);
    const FrameRule* rule = at.rules != nullptr ? at.rules->find(at.elf_vaddr) : nullptr;
    const uint64_t sp = regs.get(kSp);
    Step step;
    if (rule != nullptr) {
      step = step_with_cfi(*rule, regs, stack, out.status);
      exact_pc = rule->signal_frame;
    } else if (mode_ == UnwindMode::kAuto) {
      step = step_with_frame_pointer(regs, stack, at.mapped, out.status);
      if (step == Step::kNext) ++out.frame_pointer_steps;
      exact_pc = false;
    } else {
      out.status = at.mapped ? UnwindStatus::kNoUnwindInfo : UnwindStatus::kUnknownMapping;
      return;
    }
    if (step == Step::kEnd) return;
    // Each caller's frame lies above its callee's; a rule that does not move
    // up the stack would loop or wander. (The context a signal interrupted
    // may sit anywhere: on another stack, with sigaltstack.)
    if (!exact_pc && regs.get(kSp) <= sp) {
      out.status = UnwindStatus::kBadFrame;
      return;
    }
    if (regs.get(kIp) == 0) return;  // a zero return address ends the chain
  }
}

UserStackUnwinder::Step UserStackUnwinder::step_with_cfi(const FrameRule& rule, UserRegisters& regs,
                                                         const StackWindow& stack, UnwindStatus& status) const {
  if (rule.cfa.empty()) {
    status = UnwindStatus::kNoUnwindInfo;
    return Step::kEnd;
  }
  ExpressionResult cfa = evaluate_dwarf_expression(rule.cfa, regs, std::nullopt, stack);
  if (!cfa.ok()) {
    status = status_of(cfa.error, stack);
    return Step::kEnd;
  }
  const RegisterRule& ra = rule.registers[static_cast<size_t>(rule.return_address_register)];
  if (ra.kind == RegisterRule::Kind::kUndefined) {
    status = UnwindStatus::kComplete;  // the outermost frame: _start, a thread's clone
    return Step::kEnd;
  }
  UserRegisters caller;
  for (int r = 0; r < UserRegisters::kCount; ++r) {
    const RegisterRule& reg = rule.registers[static_cast<size_t>(r)];
    switch (reg.kind) {
      case RegisterRule::Kind::kSameValue:
        if (regs.has(r)) caller.set(r, regs.get(r));
        break;
      case RegisterRule::Kind::kUndefined:
        break;
      case RegisterRule::Kind::kExpression: {
        ExpressionResult where = evaluate_dwarf_expression(reg.ops, regs, cfa.value, stack);
        uint64_t value = where.value;
        if (where.ok() && !where.is_value && !stack.read_u64(where.value, value)) {
          where.error = ExpressionError::kMemoryOutsideWindow;
        }
        if (where.ok()) {
          caller.set(r, value);
        } else if (r == rule.return_address_register) {
          status = status_of(where.error, stack);
          return Step::kEnd;
        }
        // Another register lost: it stays unknown; it matters only if a
        // later rule reads it.
        break;
      }
    }
  }
  // The caller's stack pointer is the CFA unless a rule says otherwise
  // (libdw's x86-64 default rule for rsp says exactly that).
  if (rule.registers[kSp].kind != RegisterRule::Kind::kExpression) caller.set(kSp, cfa.value);
  caller.set(kIp, caller.get(rule.return_address_register));
  regs = caller;
  return Step::kNext;
}

UserStackUnwinder::Step UserStackUnwinder::step_with_frame_pointer(UserRegisters& regs, const StackWindow& stack,
                                                                   bool mapped, UnwindStatus& status) const {
  // Code without CFI (JIT output, hand-written assembly): trust the frame
  // pointer, as a frame-pointer walk would. The saved frame pointer and return
  // address sit at [rbp] and [rbp + 8].
  uint64_t bp = 0, saved_bp = 0, return_address = 0;
  const UnwindStatus lost = mapped ? UnwindStatus::kNoUnwindInfo : UnwindStatus::kUnknownMapping;
  if (!regs.has(kBp) || (bp = regs.get(kBp)) == 0 || bp < regs.get(kSp) || (bp & 7) != 0) {
    status = lost;
    return Step::kEnd;
  }
  if (!stack.read_u64(bp, saved_bp) || !stack.read_u64(bp + 8, return_address)) {
    status = stack.cut() && bp + 16 > stack.end() ? UnwindStatus::kTruncatedWindow : lost;
    return Step::kEnd;
  }
  UserRegisters caller;
  caller.set(kSp, bp + 16);
  caller.set(kBp, saved_bp);
  caller.set(kIp, return_address);
  // Callee-saved registers other than rbp are unknown after this step.
  regs = caller;
  return Step::kNext;
}

}  // namespace flare::agent
