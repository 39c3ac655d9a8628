#include "recorder/model.h"

namespace flare::rec {

const char* lost_cause_name(LostCause cause) {
  switch (cause) {
    case LostCause::kRingBufferFull:
      return "ring_buffer_full";
    case LostCause::kUserStackFailed:
      return "user_stack_failed";
    case LostCause::kKernelStackFailed:
      return "kernel_stack_failed";
    case LostCause::kSamplerTicksMissed:
      return "sampler_ticks_missed";
    case LostCause::kOffCpuRateLimited:
      return "offcpu_rate_limited";
    case LostCause::kOffCpuUntracked:
      return "offcpu_untracked";
    case LostCause::kAllocUntracked:
      return "alloc_untracked";
    case LostCause::kAllocUnseen:
      return "alloc_unseen";
    case LostCause::kGoroutineUnseen:
      return "goroutine_unseen";
    case LostCause::kGoroutineUnpaired:
      return "goroutine_unpaired";
  }
  return "unknown";
}

}  // namespace flare::rec
