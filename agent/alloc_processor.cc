#include "agent/alloc_processor.h"

#include <cmath>
#include <cstring>
#include <string_view>

namespace flare::agent {

uint64_t alloc_weight(uint64_t size, uint64_t rate) {
  if (rate <= 1 || size == 0) return size;
  const double s = static_cast<double>(size);
  // -expm1(-x) = 1 - exp(-x) without cancellation for small x.
  const double p = -std::expm1(-s / static_cast<double>(rate));
  return static_cast<uint64_t>(std::llround(s / p));
}

AllocProcessor::AllocProcessor(rec::RecordingWriter& writer, SampleProcessor& stacks, uint64_t sample_rate)
    : writer_(writer), stacks_(stacks), sample_rate_(sample_rate) {}

void AllocProcessor::process(const flare_alloc_event& e) {
  writer_.set_thread(e.h.pid, e.h.tid, std::string_view(e.comm, strnlen(e.comm, FLARE_COMM_LEN)));
  rec::Allocation a;
  a.time_ns = e.h.time_ns;
  a.tid = e.h.tid;
  a.address = e.h.address;
  a.size = e.size;
  // Go's runtime samples by its own rate (MemProfileRate), read at the sample.
  a.weight = alloc_weight(e.size, e.func == FLARE_ALLOC_FUNC_GO_SAMPLE ? e.sample_rate : sample_rate_);
  a.flags = (e.flags & FLARE_ALLOC_UNTRACKED) ? rec::kAllocUntracked : 0;
  const bool stackless = e.user_stack_bytes <= 0;
  a.stack = stacks_.intern_stack(e.h.pid, nullptr, 0, e.user_ips, e.user_stack_bytes,
                                 stackless ? std::string_view("[user stack not captured]") : std::string_view());
  writer_.add_allocation(a);
  ++stats_.samples;
  stats_.sampled_bytes += e.size;
  if (a.flags) ++stats_.untracked;
  if (stackless) ++stats_.stackless;
}

void AllocProcessor::process(const flare_free_event& e) {
  // Readers find the freeing thread's process through the thread table.
  writer_.set_thread(e.h.pid, e.h.tid, std::string_view(e.comm, strnlen(e.comm, FLARE_COMM_LEN)));
  writer_.add_free({e.h.time_ns, e.h.tid, e.h.address});
  ++stats_.frees;
}

}  // namespace flare::agent
