// Where to put a uprobe on a function. A probe costs a trap either way, but
// the kernel emulates a few instruction kinds (push, jumps, calls, nop) in
// the trap (~1 us here) and must single-step every other one (~32 us here).
// glibc's free starts with `test %rdi,%rdi`, memalign with a
// `cmpb $0, x(%rip)`: both only set flags, so probing the instruction after
// them sees the same arguments and the same stack pointer (the return
// address still at [sp]) and avoids the single-step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace flare::agent {

struct ProbeSite {
  size_t offset = 0;      // from the function's entry
  bool emulated = false;  // the probed instruction is one the kernel emulates
};

// Picks the first instruction, within the first few, that the kernel
// emulates, stepping only over instructions that write neither memory, the
// stack pointer nor one of the first `arguments_read` integer argument
// registers (rdi, rsi, rdx, rcx, r8, r9), those the probe reads: endbr64,
// test and cmp of registers, of a register with memory at register +
// displacement, of a register or rip-relative memory with an immediate, mov of an immediate to eax, and mov or lea to another
// register. x86-64 only; on anything it does not
// recognize it answers the entry (offset 0, not emulated unless it is
// itself emulated).
ProbeSite choose_probe_site(std::span<const uint8_t> code, unsigned arguments_read = 6);

// A Go function's stack-growth check: [lea -N(%rsp),%r12;] cmp D(%r14),
// %rsp or %r12; jbe to morestack. When the branch is taken, morestack
// grows the stack and restarts the function from its entry, so a probe at
// the entry (or on the branch) fires twice for one call; past the branch it
// fires once. The check writes only r12 and the flags: the arguments (rax,
// rbx, ... in Go's register ABI) are unchanged up to the body.
struct GoStackCheck {
  size_t branch = 0;          // offset of the jbe (an instruction the kernel emulates)
  size_t body = 0;            // offset of the instruction after it
  bool compares_r12 = false;  // the frame's lowest address (lea) rather than rsp
  uint8_t guard_offset = 0;   // D: where the g keeps its stack guard
};

// The check at the start of `code`, if it has one (NOSPLIT functions do not).
std::optional<GoStackCheck> parse_go_stack_check(std::span<const uint8_t> code);

}  // namespace flare::agent
