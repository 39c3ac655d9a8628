#include "agent/goroutine_processor.h"

#include <cstring>
#include <string_view>

namespace flare::agent {

GoroutineProcessor::GoroutineProcessor(rec::RecordingWriter& writer, SampleProcessor& stacks)
    : writer_(writer), stacks_(stacks) {}

void GoroutineProcessor::add_target(uint32_t pid, std::shared_ptr<const GoBinary> binary) {
  binaries_[pid] = std::move(binary);
}

uint32_t GoroutineProcessor::reason_string(uint32_t pid, uint32_t reason) {
  auto it = binaries_.find(pid);
  // The writer interns: the same text is one string per chunk.
  if (it == binaries_.end()) return writer_.intern_string("wait reason " + std::to_string(reason));
  return writer_.intern_string(it->second->wait_reason(reason));
}

void GoroutineProcessor::process(const flare_goroutine_event& e) {
  writer_.set_thread(e.pid, e.tid, std::string_view(e.comm, strnlen(e.comm, FLARE_COMM_LEN)));
  rec::GoroutineEvent out;
  out.time_ns = e.time_ns;
  out.tid = e.tid;
  out.goid = e.goid;
  const bool stackless = e.user_stack_bytes <= 0;
  out.stack = stacks_.intern_stack(e.pid, nullptr, 0, e.user_ips, e.user_stack_bytes,
                                   stackless ? std::string_view("[user stack not captured]") : std::string_view());
  if (stackless) ++stats_.stackless;
  if (e.kind == FLARE_GO_PARK) {
    out.kind = rec::GoroutineEventKind::kPark;
    out.reason = reason_string(e.pid, e.reason);
    pairing_.park(e.pid, e.goid, e.time_ns);
    ++stats_.parks;
  } else {
    out.kind = rec::GoroutineEventKind::kReady;
    out.waker_goid = e.waker_goid;
    out.wait_ns = pairing_.ready(e.pid, e.goid, e.time_ns).value_or(0);
    if (e.flags & FLARE_GO_FROM_NETPOLL) {
      out.flags |= rec::kGoroutineFromNetpoll;
      ++stats_.netpoll_readies;
    }
    ++stats_.readies;
  }
  writer_.add_goroutine_event(out);
}

}  // namespace flare::agent
