#include "agent/probe_site.h"

#include <iterator>
#include <optional>

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

// Integer argument registers in call order, by x86 register number.
constexpr int kArgumentRegisters[] = {7 /* rdi */, 6 /* rsi */, 2 /* rdx */, 1 /* rcx */, 8, 9};
constexpr int kStackPointer = 4;

// Whether an instruction may write register `reg` without changing what
// the probe reads.
bool may_write(int reg, unsigned arguments_read) {
  if (reg == kStackPointer) return false;
  for (unsigned i = 0; i < arguments_read && i < std::size(kArgumentRegisters); ++i) {
    if (kArgumentRegisters[i] == reg) return false;
  }
  return true;
}

// Length of a mov or lea whose only effect is to write one register the
// probe does not read, or 0: mov %reg,%reg, and mov or lea of rip-relative
// memory to a register (allocators load their thread-cache offsets so).
size_t register_move_length(std::span<const uint8_t> c, unsigned arguments_read) {
  const bool has_rex = !c.empty() && (c[0] & 0xf0) == 0x40;
  const uint8_t rex = has_rex ? c[0] : 0;
  std::span<const uint8_t> op = c.subspan(has_rex ? 1 : 0);
  if (op.size() < 2) return 0;
  const uint8_t modrm = op[1];
  const int reg = ((modrm >> 3) & 7) | ((rex & 0x4) << 1);  // REX.R
  const int rm = (modrm & 7) | ((rex & 0x1) << 3);          // REX.B
  const size_t prefix = has_rex ? 1 : 0;
  if ((modrm & 0xc0) == 0xc0) {
    if (op[0] == 0x89) return may_write(rm, arguments_read) ? prefix + 2 : 0;   // mov %reg, %rm
    if (op[0] == 0x8b) return may_write(reg, arguments_read) ? prefix + 2 : 0;  // mov %rm, %reg
    return 0;
  }
  if ((modrm & 0xc7) == 0x05 && (op[0] == 0x8b || op[0] == 0x8d) && op.size() >= 6) {
    return may_write(reg, arguments_read) ? prefix + 6 : 0;  // mov/lea disp32(%rip), %reg
  }
  return 0;
}

// Length of an instruction that only sets flags (or a register the probe
// does not read) and may be stepped over, or 0.
size_t skippable_length(std::span<const uint8_t> c, unsigned arguments_read) {
  if (c.size() >= 4 && c[0] == 0xf3 && c[1] == 0x0f && c[2] == 0x1e && c[3] == 0xfa) return 4;  // endbr64
  if (size_t n = register_move_length(c, arguments_read)) return n;
  size_t rex = (c.size() >= 1 && (c[0] & 0xf0) == 0x40) ? 1 : 0;
  std::span<const uint8_t> op = c.subspan(rex);
  if (op.size() >= 2 && (op[0] == 0x85 || op[0] == 0x84 || op[0] == 0x39 || op[0] == 0x3b || op[0] == 0x38 ||
                         op[0] == 0x3a) &&
      (op[1] & 0xc0) == 0xc0) {
    return rex + 2;  // test/cmp register, register
  }
  // cmp of a register with memory at disp8/disp32(register), no SIB: reads
  // only (a bound check against a structure field).
  if (op.size() >= 2 && (op[0] == 0x3b || op[0] == 0x39 || op[0] == 0x3a || op[0] == 0x38) && (op[1] & 7) != 4) {
    if ((op[1] & 0xc0) == 0x40 && op.size() >= 3) return rex + 3;
    if ((op[1] & 0xc0) == 0x80 && op.size() >= 6) return rex + 6;
  }
  // cmp $imm8, disp32(%rip): opcode 80 or 83 /7 with modrm 00 111 101
  if (op.size() >= 7 && (op[0] == 0x80 || op[0] == 0x83) && op[1] == 0x3d) return rex + 7;
  // cmp $imm, %reg: 83 /7 ib or 81 /7 id with modrm 11 111 rrr (jemalloc's
  // malloc starts with cmp $0x1000,%rdi)
  if (op.size() >= 3 && op[0] == 0x83 && (op[1] & 0xf8) == 0xf8) return rex + 3;
  if (op.size() >= 6 && op[0] == 0x81 && (op[1] & 0xf8) == 0xf8) return rex + 6;
  if (rex == 0 && op.size() >= 5 && op[0] == 0xb8) return 5;  // mov $imm32, %eax
  return 0;
}

}  // namespace

ProbeSite choose_probe_site(std::span<const uint8_t> code, unsigned arguments_read) {
  size_t offset = 0;
  for (int i = 0; i < 6 && offset < code.size(); ++i) {
    std::span<const uint8_t> rest = code.subspan(offset);
    if (emulated_length(rest)) return {offset, true};
    size_t n = skippable_length(rest, arguments_read);
    if (n == 0) break;
    offset += n;
  }
  return {0, emulated_length(code) != 0};
}

std::optional<GoStackCheck> parse_go_stack_check(std::span<const uint8_t> code) {
  size_t at = 0;
  auto next_is = [&](std::initializer_list<uint8_t> bytes) {
    if (code.size() < at + bytes.size()) return false;
    size_t i = at;
    for (uint8_t b : bytes) {
      if (code[i++] != b) return false;
    }
    return true;
  };
  GoStackCheck check;
  // A frame larger than the guard first computes its lowest address:
  // lea -N(%rsp),%r12 (disp8 or disp32).
  if (next_is({0x4c, 0x8d, 0x64, 0x24})) {
    at += 5;
  } else if (next_is({0x4c, 0x8d, 0xa4, 0x24})) {
    at += 8;
  }
  // cmp D(%r14),%rsp or %r12: the g's stack guard (g lives in r14).
  if (next_is({0x49, 0x3b, 0x66})) {
    check.compares_r12 = false;
  } else if (next_is({0x4d, 0x3b, 0x66})) {
    check.compares_r12 = true;
  } else {
    return std::nullopt;
  }
  if (code.size() < at + 4) return std::nullopt;
  check.guard_offset = code[at + 3];
  at += 4;
  check.branch = at;
  if (next_is({0x76})) {  // jbe rel8 to morestack
    check.body = at + 2;
  } else if (next_is({0x0f, 0x86})) {  // jbe rel32
    check.body = at + 6;
  } else {
    return std::nullopt;
  }
  return check;
}

}  // namespace flare::agent
