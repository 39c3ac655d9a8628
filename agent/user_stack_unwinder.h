// Unwinds a user stack from a sample's registers and stack copy, frame by
// frame: with the code's call frame information where it has some, and (in
// auto mode) by the frame-pointer chain for code that has none, such as JIT
// output. Every result says how it ended, so a short stack is never taken
// for a whole one.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "agent/call_frame_rules.h"
#include "agent/stack_window.h"
#include "agent/unwind_mode.h"
#include "agent/user_registers.h"

namespace flare::agent {

enum class UnwindStatus : uint8_t {
  kComplete,         // reached the outermost frame (CFI marks its return address undefined)
  kTruncatedWindow,  // the next frame lies beyond the copied stack
  kTruncatedDepth,   // more frames than the unwinder takes
  kNoUnwindInfo,     // a frame's code has no CFI and (auto) no usable frame pointer
  kUnknownMapping,   // a pc lies in no mapping of the process
  kBadFrame,         // the rules gave an impossible caller (stack not growing, unknown register)
  kNoStack,          // the sample carries no stack copy (the stack pointer was unreadable)
};
inline constexpr size_t kUnwindStatusCount = 7;

// "complete", "truncated_window", ...: stat names and `flare info` rows.
std::string_view unwind_status_name(UnwindStatus status);

// Where the code at an address comes from.
struct CodeAt {
  bool mapped = false;              // some mapping of the process covers it
  CallFrameRules* rules = nullptr;  // the file's CFI, if it has any
  uint64_t elf_vaddr = 0;           // the address in the file's own address space
};

class CodeLocator {
 public:
  virtual ~CodeLocator() = default;
  virtual CodeAt locate_code(uint64_t address) = 0;
};

struct UnwindResult {
  // Leaf first: pcs[0] is the interrupted pc, the rest are return addresses.
  std::vector<uint64_t> pcs;
  UnwindStatus status = UnwindStatus::kComplete;
  uint32_t frame_pointer_steps = 0;  // frames unwound by the frame-pointer fallback
};

class UserStackUnwinder {
 public:
  UserStackUnwinder(UnwindMode mode, size_t max_frames) : mode_(mode), max_frames_(max_frames) {}

  void unwind(const UserRegisters& regs, const StackWindow& stack, CodeLocator& code, UnwindResult& out) const;

 private:
  enum class Step : uint8_t { kNext, kEnd };
  Step step_with_cfi(const FrameRule& rule, UserRegisters& regs, const StackWindow& stack,
                     UnwindStatus& status) const;
  Step step_with_frame_pointer(UserRegisters& regs, const StackWindow& stack, bool mapped,
                               UnwindStatus& status) const;

  UnwindMode mode_;
  size_t max_frames_;
};

}  // namespace flare::agent
