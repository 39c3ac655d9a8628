// The user-mode registers of a thread at one moment, in the DWARF numbering
// the CFI uses (x86-64: rax rdx rcx rbx rsi rdi rbp rsp r8..r15, rip = 16),
// each known or not: unwinding loses the caller-saved ones frame by frame.
#pragma once

#include <array>
#include <cstdint>

#include "bpf/cpu_sample.h"

namespace flare::agent {

struct UserRegisters {
  static constexpr int kCount = FLARE_USER_REGS;
  static constexpr int kFramePointer = FLARE_USER_REG_BP;
  static constexpr int kStackPointer = FLARE_USER_REG_SP;
  static constexpr int kInstructionPointer = FLARE_USER_REG_IP;

  std::array<uint64_t, kCount> value{};
  uint32_t known = 0;  // bit r set: value[r] is the register's value

  bool has(int r) const { return r >= 0 && r < kCount && (known >> r) & 1u; }
  uint64_t get(int r) const { return value[static_cast<size_t>(r)]; }
  void set(int r, uint64_t v) {
    value[static_cast<size_t>(r)] = v;
    known |= 1u << r;
  }
  void forget(int r) { known &= ~(1u << r); }

  static UserRegisters all_known(const __u64 (&regs)[kCount]) {
    UserRegisters out;
    for (int r = 0; r < kCount; ++r) out.set(r, regs[r]);
    return out;
  }
};

}  // namespace flare::agent
