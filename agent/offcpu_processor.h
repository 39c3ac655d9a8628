// Turns off-CPU tracer output into recording entries: intervals with their
// blocked and waker stacks, the per-thread totals of intervals the BPF gates
// only counted, and the intervals still open when the capture ends.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "agent/offcpu_tracer.h"
#include "agent/sample_processor.h"
#include "bpf/offcpu_event.h"
#include "recorder/writer.h"

namespace flare::agent {

struct OffCpuStats {
  uint64_t intervals = 0;         // recorded one by one
  uint64_t clipped_start = 0;     // ... of which open when the capture started
  uint64_t clipped_end = 0;       // ... still open when it ended
  uint64_t whole_capture = 0;     // ... blocked from start to end, never seen by the tracer
  uint64_t totalled = 0;          // counted only, in offcpu_total records
  uint64_t interrupt_wakeups = 0; // woken from interrupt context: no user waker
  uint64_t threads_forgotten = 0; // ended threads whose per-thread state was freed
};

class OffCpuProcessor {
 public:
  OffCpuProcessor(rec::RecordingWriter& writer, SampleProcessor& stacks, uint64_t capture_start_ns);

  // An interval the tracer closed when the thread ran again.
  void process(const flare_offcpu_event& event);
  // An interval still open at end_ns: recorded clipped there.
  void process_open(const flare_offcpu_event& event, uint64_t end_ns);
  // The tracer's totals are cumulative; what grew since the last call is
  // written, stamped now_ns.
  void add_totals(const std::vector<OffCpuTotalEntry>& totals, uint64_t now_ns);
  // A target thread the tracer never saw that is off-CPU at the end: it was
  // blocked for the whole capture (a deadlocked thread never switches).
  void add_blocked_throughout(uint32_t pid, uint32_t tid, std::string_view comm, rec::OffCpuState state,
                              uint64_t end_ns);
  bool seen(uint32_t tid) const { return seen_.count(tid) != 0; }

  // At a chunk boundary, right after add_totals(): forgets the threads
  // missing from `alive` (the target's threads now) that were already
  // missing at the previous call, so their last totals have been read and
  // written since.
  // Returns their total keys, for the tracer to delete: what is kept per
  // thread then follows the threads alive, not every thread the target had.
  std::vector<flare_offcpu_total_key> forget_ended_threads(const std::unordered_set<uint32_t>& alive);
  size_t threads_tracked() const { return seen_.size(); }

  const OffCpuStats& stats() const { return stats_; }

 private:
  void record(const flare_offcpu_event& event, uint64_t close_ns, uint8_t extra_flags);

  rec::RecordingWriter& writer_;
  SampleProcessor& stacks_;
  uint64_t capture_start_ns_;
  std::map<std::pair<uint32_t, uint32_t>, flare_offcpu_total> totals_written_;  // (tid, state)
  std::unordered_set<uint32_t> seen_;
  std::unordered_set<uint32_t> gone_;  // not alive at the last forget_ended_threads()
  OffCpuStats stats_;
};

// Off-CPU state of a thread from the state letter of /proc/PID/task/TID/stat;
// nullopt when it is running or runnable ('R') or gone.
std::optional<rec::OffCpuState> offcpu_state_from_proc(char state);

}  // namespace flare::agent
