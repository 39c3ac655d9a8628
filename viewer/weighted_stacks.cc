#include "viewer/weighted_stacks.h"

#include <cmath>
#include <unordered_map>

#include "viewer/alloc_profile.h"
#include "viewer/goroutine_waits.h"
#include "viewer/sample_counts.h"
#include "viewer/sample_weight.h"

namespace flare::viewer {

namespace {

struct OffCpuKey {
  uint32_t stack, tid, waker_tid, waker_stack;
  uint8_t state;
  bool totals_only;
  bool operator==(const OffCpuKey&) const = default;
};

struct OffCpuKeyHash {
  size_t operator()(const OffCpuKey& k) const {
    uint64_t h = (static_cast<uint64_t>(k.stack) << 32) ^ k.tid;
    h = h * 0x9E3779B97F4A7C15ull ^ ((static_cast<uint64_t>(k.waker_tid) << 32) | k.waker_stack);
    h = h * 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(k.state) << 1 | k.totals_only);
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

// Off-CPU records are few next to CPU samples (the recorder's gates bound
// them), so a plain hash map over the full key is fast enough here.
class OffCpuAggregator {
 public:
  explicit OffCpuAggregator(std::vector<WeightedStack>& out) : out_(out) {}

  void add(const OffCpuKey& key, uint64_t count, uint64_t ns) {
    auto [it, inserted] = index_.try_emplace(key, out_.size());
    if (inserted) {
      out_.push_back(WeightedStack{key.stack, key.tid, key.state, key.totals_only, key.waker_tid, key.waker_stack, 0,
                                   0});
    }
    out_[it->second].count += count;
    out_[it->second].ns += ns;
  }

 private:
  std::vector<WeightedStack>& out_;
  std::unordered_map<OffCpuKey, size_t, OffCpuKeyHash> index_;
};

void add_cpu(const rec::Recording& rec, std::vector<WeightedStack>& out) {
  const uint64_t period = sample_period_ns(rec.header);
  for (const StackThreadCount& c : count_by_stack_and_thread(rec.samples)) {
    out.push_back(WeightedStack{c.stack, c.tid, kStateRunning, false, 0, 0, c.count, c.count * period});
  }
}

void add_offcpu(const rec::Recording& rec, std::vector<WeightedStack>& out) {
  OffCpuAggregator agg(out);
  for (const rec::OffCpuInterval& i : rec.offcpu) {
    agg.add(OffCpuKey{i.stack, i.tid, i.waker_tid, i.waker_stack, static_cast<uint8_t>(i.state), false}, 1,
            i.blocked_ns + i.runq_ns);
  }
  for (const rec::OffCpuTotal& t : rec.offcpu_totals) {
    agg.add(OffCpuKey{0, t.tid, 0, 0, static_cast<uint8_t>(t.state), true}, t.count, t.blocked_ns + t.runq_ns);
  }
}

struct WaitKey {
  uint32_t stack, tid, reason;
  bool operator==(const WaitKey&) const = default;
};

struct WaitKeyHash {
  size_t operator()(const WaitKey& k) const {
    uint64_t h = ((static_cast<uint64_t>(k.stack) << 32) ^ k.tid) * 0x9E3779B97F4A7C15ull ^ k.reason;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

void add_goroutine_waits(const rec::Recording& rec, std::vector<WeightedStack>& out) {
  std::unordered_map<WaitKey, size_t, WaitKeyHash> index;
  for (const GoroutineWait& w : goroutine_waits(rec).waits) {
    auto [it, inserted] = index.try_emplace(WaitKey{w.stack, w.tid, w.reason}, out.size());
    if (inserted) {
      WeightedStack entry;
      entry.stack = w.stack;
      entry.tid = w.tid;
      entry.reason = w.reason;
      out.push_back(entry);
    }
    out[it->second].count += 1;
    out[it->second].ns += w.wait_ns;
  }
}

}  // namespace

const char* thread_state_name(uint8_t state) {
  switch (state) {
    case kStateRunning:
      return "running";
    case static_cast<uint8_t>(rec::OffCpuState::kSleeping):
      return "sleeping";
    case static_cast<uint8_t>(rec::OffCpuState::kUninterruptible):
      return "uninterruptible";
    case static_cast<uint8_t>(rec::OffCpuState::kPreempted):
      return "preempted";
  }
  return "unknown";
}

std::vector<WeightedStack> weighted_stacks(const rec::Recording& rec, Signal signal) {
  std::vector<WeightedStack> out;
  if (is_alloc_signal(signal)) {
    for (const AllocTotals& t : alloc_totals(rec)) {
      const bool alloc = signal == Signal::kAlloc;
      const uint64_t bytes = alloc ? t.alloc_bytes : t.inuse_bytes;
      const double objects = alloc ? t.alloc_objects : t.inuse_objects;
      if (!alloc && bytes == 0 && objects == 0) continue;
      out.push_back(WeightedStack{t.stack, t.tid, kStateRunning, false, 0, 0,
                                  static_cast<uint64_t>(std::llround(objects)), 0, bytes});
    }
    return out;
  }
  if (signal == Signal::kGoroutine) {
    add_goroutine_waits(rec, out);
    return out;
  }
  if (signal != Signal::kOffCpu) add_cpu(rec, out);
  if (signal != Signal::kCpu) add_offcpu(rec, out);
  return out;
}

}  // namespace flare::viewer
