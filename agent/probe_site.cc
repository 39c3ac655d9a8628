#include "agent/probe_site.h"

namespace flare::agent {

namespace {

// Length of an instruction arch/x86/kernel/uprobes.c emulates (push of a
// register, jmp/call rel, jcc rel, nop), or 0.
size_t emulated_length(std::span<const uint8_t> c) {
  if (c.empty()) return 0;
  const uint8_t b = c[0];
  if (b >= 0x50 && b <= 0x57) return 1;                                   // push %r
  if (b == 0x41 && c.size() >= 2 && c[1] >= 0x50 && c[1] <= 0x57) return 2;  // push %r8..%r15
  if (b >= 0x70 && b <= 0x7f) return 2;                                   // jcc rel8
  if (b == 0xeb) return 2;                                                // jmp rel8
  if (b == 0xe9 || b == 0xe8) return 5;                                   // jmp/call rel32
  if (b == 0x0f && c.size() >= 2 && c[1] >= 0x80 && c[1] <= 0x8f) return 6;  // jcc rel32
  if (b == 0x90) return 1;                                                // nop
  return 0;
}

// Length of an instruction that only sets flags (or rax) and may be stepped
// over, or 0.
size_t skippable_length(std::span<const uint8_t> c) {
  if (c.size() >= 4 && c[0] == 0xf3 && c[1] == 0x0f && c[2] == 0x1e && c[3] == 0xfa) return 4;  // endbr64
  size_t rex = (c.size() >= 1 && (c[0] & 0xf0) == 0x40) ? 1 : 0;
  std::span<const uint8_t> op = c.subspan(rex);
  if (op.size() >= 2 && (op[0] == 0x85 || op[0] == 0x84 || op[0] == 0x39 || op[0] == 0x3b || op[0] == 0x38 ||
                         op[0] == 0x3a) &&
      (op[1] & 0xc0) == 0xc0) {
    return rex + 2;  // test/cmp register, register
  }
  // cmp of a register with memory at disp8/disp32(register), no SIB: Go's
  // stack-bound check `cmp 0x10(%r14),%rsp` opens nearly every function.
  if (op.size() >= 2 && (op[0] == 0x3b || op[0] == 0x39 || op[0] == 0x3a || op[0] == 0x38) && (op[1] & 7) != 4) {
    if ((op[1] & 0xc0) == 0x40 && op.size() >= 3) return rex + 3;
    if ((op[1] & 0xc0) == 0x80 && op.size() >= 6) return rex + 6;
  }
  // cmp $imm, register: opcode 83 (imm8) or 81 (imm32) /7 with mod 11
  if (op.size() >= 3 && op[0] == 0x83 && (op[1] & 0xf8) == 0xf8) return rex + 3;
  if (op.size() >= 6 && op[0] == 0x81 && (op[1] & 0xf8) == 0xf8) return rex + 6;
  // cmp $imm8, disp32(%rip): opcode 80 or 83 /7 with modrm 00 111 101
  if (op.size() >= 7 && (op[0] == 0x80 || op[0] == 0x83) && op[1] == 0x3d) return rex + 7;
  if (rex == 0 && op.size() >= 5 && op[0] == 0xb8) return 5;  // mov $imm32, %eax
  return 0;
}

}  // namespace

ProbeSite choose_probe_site(std::span<const uint8_t> code) {
  size_t offset = 0;
  for (int i = 0; i < 4 && offset < code.size(); ++i) {
    std::span<const uint8_t> rest = code.subspan(offset);
    if (emulated_length(rest)) return {offset, true};
    size_t n = skippable_length(rest);
    if (n == 0) break;
    offset += n;
  }
  return {0, emulated_length(code) != 0};
}

}  // namespace flare::agent
