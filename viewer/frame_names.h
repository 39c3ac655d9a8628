// How frames and threads are named for a person. Every view goes through
// these, so a function reads the same in pprof, folded stacks and top.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "recorder/model.h"

namespace flare::viewer {

// "/usr/lib/libc.so.6" -> "libc.so.6"; "[vdso]" -> "vdso" so the result does
// not nest brackets inside the brackets views add around it.
std::string_view mapping_short_name(std::string_view path);

// True when the frame carries a usable function name.
bool frame_is_resolved(const rec::Recording& rec, const rec::FrameInfo& frame);

// The function name when resolved; otherwise where the address lies:
//   user frame in a file mapping:  "[libc.so.6+0x2a1c0]"  (file offset, stable across runs)
//   user frame without a mapping:  "[unknown] 0x7f12a4b3c000"
//   kernel frame:                  "[kernel] 0xffffffff81a0b2c3"
std::string frame_display_name(const rec::Recording& rec, const rec::FrameInfo& frame);

// The thread's last known name, or "tid-N" when it had none.
std::string thread_display_name(const rec::Recording& rec, uint32_t tid);

}  // namespace flare::viewer
