#include "agent/offcpu_processor.h"

#include <algorithm>
#include <cstring>

namespace flare::agent {

namespace {

constexpr std::string_view kBeforeCapture = "[off-CPU since before the capture]";
constexpr std::string_view kWholeCapture = "[off-CPU for the whole capture]";

std::string_view comm_of(const char* comm) { return std::string_view(comm, strnlen(comm, FLARE_COMM_LEN)); }

}  // namespace

OffCpuProcessor::OffCpuProcessor(rec::RecordingWriter& writer, SampleProcessor& stacks, uint64_t capture_start_ns)
    : writer_(writer), stacks_(stacks), capture_start_ns_(capture_start_ns) {}

void OffCpuProcessor::record(const flare_offcpu_event& e, uint64_t close_ns, uint8_t extra_flags) {
  seen_.insert(e.tid);
  const uint64_t out_ns = std::max<uint64_t>(e.switch_out_ns, capture_start_ns_);
  if (close_ns < out_ns) close_ns = out_ns;
  rec::OffCpuInterval interval;
  interval.time_ns = out_ns;
  interval.tid = e.tid;
  interval.state = static_cast<rec::OffCpuState>(e.state);
  if (e.wakeup_ns >= out_ns && e.wakeup_ns != 0 && e.wakeup_ns <= close_ns) {
    interval.blocked_ns = e.wakeup_ns - out_ns;
    interval.runq_ns = close_ns - e.wakeup_ns;
  } else if (interval.state == rec::OffCpuState::kPreempted) {
    interval.runq_ns = close_ns - out_ns;
  } else {
    interval.blocked_ns = close_ns - out_ns;
  }
  const bool clipped_start = e.flags & FLARE_OFFCPU_CLIPPED_START;
  interval.flags = extra_flags | (clipped_start ? rec::kOffCpuClippedStart : 0);

  writer_.set_thread(e.pid, e.tid, comm_of(e.comm));
  // Where the thread left the CPU is unknown for an interval that began
  // before the capture: its kernel stack was read later, its user stack not
  // at all, which the placeholder frame says.
  const bool user_missing = clipped_start && e.blocked.user_bytes <= 0;
  // Stacks read by the tracepoint programs start in the tracing machinery.
  const size_t blocked_skip = stacks_.tracing_frames_on_top(e.blocked.kernel_ips, e.blocked.kernel_bytes);
  interval.stack = stacks_.intern_stack(e.pid, e.blocked.kernel_ips, e.blocked.kernel_bytes, e.blocked.user_ips,
                                        e.blocked.user_bytes, user_missing ? kBeforeCapture : std::string_view(),
                                        blocked_skip);
  // The waker is named only when its stack was captured (blocked >= the
  // minimum) and shows task context: a wakeup from an interrupt runs on top
  // of an unrelated task, so such a wakeup has no user waker; its kernel
  // stack (e.g. the timer interrupt) is kept as the waker stack.
  if (e.waker_tid != 0 && e.waker.kernel_bytes > 0) {
    std::optional<bool> interrupt = stacks_.kernel_stack_in_interrupt(e.waker.kernel_ips, e.waker.kernel_bytes);
    const size_t waker_skip = stacks_.tracing_frames_on_top(e.waker.kernel_ips, e.waker.kernel_bytes);
    if (interrupt.value_or(false)) {
      interval.waker_stack =
          stacks_.intern_stack(e.waker_pid, e.waker.kernel_ips, e.waker.kernel_bytes, nullptr, 0, {}, waker_skip);
      ++stats_.interrupt_wakeups;
    } else {
      interval.waker_tid = e.waker_tid;
      writer_.set_thread(e.waker_pid, e.waker_tid, comm_of(e.waker_comm));
      interval.waker_stack = stacks_.intern_stack(e.waker_pid, e.waker.kernel_ips, e.waker.kernel_bytes,
                                                  e.waker.user_ips, e.waker.user_bytes, {}, waker_skip);
    }
  }
  writer_.add_offcpu(interval);
  ++stats_.intervals;
  if (clipped_start) ++stats_.clipped_start;
  if (extra_flags & rec::kOffCpuClippedEnd) ++stats_.clipped_end;
}

void OffCpuProcessor::process(const flare_offcpu_event& event) { record(event, event.switch_in_ns, 0); }

void OffCpuProcessor::process_open(const flare_offcpu_event& event, uint64_t end_ns) {
  record(event, end_ns, rec::kOffCpuClippedEnd);
}

void OffCpuProcessor::add_totals(const std::vector<OffCpuTotalEntry>& totals, uint64_t now_ns) {
  for (const OffCpuTotalEntry& entry : totals) {
    seen_.insert(entry.key.tid);
    flare_offcpu_total& written = totals_written_[{entry.key.tid, entry.key.state}];
    if (entry.total.count <= written.count) continue;
    rec::OffCpuTotal total;
    total.time_ns = now_ns;
    total.tid = entry.key.tid;
    total.state = static_cast<rec::OffCpuState>(entry.key.state);
    total.count = entry.total.count - written.count;
    total.blocked_ns = entry.total.blocked_ns - written.blocked_ns;
    total.runq_ns = entry.total.runq_ns - written.runq_ns;
    writer_.add_offcpu_total(total);
    stats_.totalled += total.count;
    written = entry.total;
  }
}

std::vector<flare_offcpu_total_key> OffCpuProcessor::forget_ended_threads(const std::unordered_set<uint32_t>& alive) {
  std::vector<flare_offcpu_total_key> forgotten;
  // Missing at two listings in a row: a listing that failed once (the
  // process being busy exec'ing, say) does not make a live thread ended.
  std::erase_if(gone_, [&](uint32_t tid) { return alive.count(tid) != 0; });
  for (auto it = totals_written_.begin(); it != totals_written_.end();) {
    if (gone_.count(it->first.first) == 0) {
      ++it;
      continue;
    }
    flare_offcpu_total_key key{};
    key.tid = it->first.first;
    key.state = it->first.second;
    forgotten.push_back(key);
    it = totals_written_.erase(it);
  }
  for (uint32_t tid : gone_) stats_.threads_forgotten += seen_.erase(tid);
  gone_.clear();
  for (uint32_t tid : seen_) {
    if (alive.count(tid) == 0) gone_.insert(tid);
  }
  return forgotten;
}

void OffCpuProcessor::add_blocked_throughout(uint32_t pid, uint32_t tid, std::string_view comm,
                                             rec::OffCpuState state, uint64_t end_ns) {
  seen_.insert(tid);
  writer_.set_thread(pid, tid, comm);
  rec::OffCpuInterval interval;
  interval.time_ns = capture_start_ns_;
  interval.tid = tid;
  interval.state = state;
  interval.flags = rec::kOffCpuClippedStart | rec::kOffCpuClippedEnd;
  if (state == rec::OffCpuState::kPreempted) {
    interval.runq_ns = end_ns > capture_start_ns_ ? end_ns - capture_start_ns_ : 0;
  } else {
    interval.blocked_ns = end_ns > capture_start_ns_ ? end_ns - capture_start_ns_ : 0;
  }
  interval.stack = stacks_.intern_stack(pid, nullptr, 0, nullptr, 0, kWholeCapture);
  writer_.add_offcpu(interval);
  ++stats_.intervals;
  ++stats_.whole_capture;
}

std::optional<rec::OffCpuState> offcpu_state_from_proc(char state) {
  switch (state) {
    case 'S':
    case 'I':  // idle kernel thread: sleeps like S
    case 't':  // stopped by a tracer
    case 'T':  // stopped by a signal
      return rec::OffCpuState::kSleeping;
    case 'D':
      return rec::OffCpuState::kUninterruptible;
    default:
      return std::nullopt;
  }
}

}  // namespace flare::agent
