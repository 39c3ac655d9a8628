// The kernel's vDSO as an ELF file the symbolizer can open. Every 64-bit
// process on one kernel maps the same vDSO image, so flare's own copy stands
// for the target's: its symbols name [vdso] frames (clock_gettime and
// friends, sampled often) and its .eh_frame unwinds through them.
#pragma once

#include "agent/unique_fd.h"
#include "common/status.h"

namespace flare::agent {

// A sealed memfd holding this process's vDSO image.
Result<UniqueFd> open_vdso_image();

}  // namespace flare::agent
