#include "viewer/thread_times.h"

namespace flare::viewer {

namespace {

size_t state_index(rec::OffCpuState state) {
  auto i = static_cast<size_t>(state);
  return i < ThreadTimes{}.intervals_by_state.size() ? i : 0;
}

}  // namespace

void ThreadTimes::add(const ThreadTimes& o) {
  cpu_samples += o.cpu_samples;
  offcpu_recorded += o.offcpu_recorded;
  offcpu_totalled += o.offcpu_totalled;
  blocked_ns += o.blocked_ns;
  runq_ns += o.runq_ns;
  for (size_t i = 0; i < intervals_by_state.size(); ++i) intervals_by_state[i] += o.intervals_by_state[i];
  clipped_start += o.clipped_start;
  clipped_end += o.clipped_end;
}

std::map<uint32_t, ThreadTimes> thread_times(const rec::Recording& rec) {
  std::map<uint32_t, ThreadTimes> out;
  for (const rec::CpuSample& s : rec.samples) ++out[s.tid].cpu_samples;
  for (const rec::OffCpuInterval& i : rec.offcpu) {
    ThreadTimes& t = out[i.tid];
    ++t.offcpu_recorded;
    t.blocked_ns += i.blocked_ns;
    t.runq_ns += i.runq_ns;
    ++t.intervals_by_state[state_index(i.state)];
    t.clipped_start += (i.flags & rec::kOffCpuClippedStart) != 0;
    t.clipped_end += (i.flags & rec::kOffCpuClippedEnd) != 0;
  }
  for (const rec::OffCpuTotal& total : rec.offcpu_totals) {
    ThreadTimes& t = out[total.tid];
    t.offcpu_totalled += total.count;
    t.blocked_ns += total.blocked_ns;
    t.runq_ns += total.runq_ns;
    t.intervals_by_state[state_index(total.state)] += total.count;
  }
  return out;
}

ThreadTimes sum_thread_times(const std::map<uint32_t, ThreadTimes>& times) {
  ThreadTimes sum;
  for (const auto& [tid, t] : times) sum.add(t);
  return sum;
}

}  // namespace flare::viewer
