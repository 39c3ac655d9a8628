// How flare takes user stacks (`flare record --unwind`).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace flare::agent {

enum class UnwindMode : uint8_t {
  kFramePointers,  // fp: return addresses by the frame-pointer chain, in the kernel
  kDwarf,          // dwarf: a stack copy unwound with CFI only; a frame without CFI ends the stack
  kAuto,           // auto: CFI, and the frame-pointer chain frame by frame where there is none
};

inline std::string_view unwind_mode_name(UnwindMode mode) {
  switch (mode) {
    case UnwindMode::kFramePointers: return "fp";
    case UnwindMode::kDwarf: return "dwarf";
    case UnwindMode::kAuto: return "auto";
  }
  return "?";
}

inline std::optional<UnwindMode> parse_unwind_mode(std::string_view name) {
  for (UnwindMode mode : {UnwindMode::kFramePointers, UnwindMode::kDwarf, UnwindMode::kAuto}) {
    if (unwind_mode_name(mode) == name) return mode;
  }
  return std::nullopt;
}

}  // namespace flare::agent
