#include "viewer/alloc_profile.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "viewer/signal.h"

namespace flare::viewer {

double alloc_objects(const rec::Allocation& a) {
  if (a.size == 0) return 1;
  return static_cast<double>(a.weight) / static_cast<double>(a.size);
}

std::vector<size_t> live_allocations(const rec::Recording& rec) {
  // Frees carry a thread, not a process: the thread table gives the
  // process, so equal addresses of two targets stay apart.
  auto pid_of = [&](uint32_t tid) -> uint32_t {
    auto it = rec.threads.find(tid);
    return it == rec.threads.end() ? 0 : it->second.pid;
  };
  struct Event {
    uint64_t time_ns;
    bool is_alloc;  // at equal times a free goes first: it was seen first
    size_t index;
  };
  std::vector<Event> events;
  events.reserve(rec.allocations.size() + rec.frees.size());
  for (size_t i = 0; i < rec.allocations.size(); ++i) events.push_back({rec.allocations[i].time_ns, true, i});
  for (size_t i = 0; i < rec.frees.size(); ++i) events.push_back({rec.frees[i].time_ns, false, i});
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    if (a.time_ns != b.time_ns) return a.time_ns < b.time_ns;
    return !a.is_alloc && b.is_alloc;
  });
  std::map<std::pair<uint32_t, uint64_t>, size_t> live;  // (pid, address) -> allocation index
  for (const Event& e : events) {
    if (e.is_alloc) {
      const rec::Allocation& a = rec.allocations[e.index];
      if (a.flags & rec::kAllocUntracked) continue;
      live[{pid_of(a.tid), a.address}] = e.index;
    } else {
      const rec::Free& f = rec.frees[e.index];
      live.erase({pid_of(f.tid), f.address});
    }
  }
  std::vector<size_t> out;
  out.reserve(live.size());
  for (const auto& [key, index] : live) out.push_back(index);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<AllocTotals> alloc_totals(const rec::Recording& rec) {
  std::vector<AllocTotals> out;
  std::unordered_map<uint64_t, size_t> index;  // stack << 32 | tid
  auto entry = [&](const rec::Allocation& a) -> AllocTotals& {
    auto [it, inserted] = index.try_emplace(static_cast<uint64_t>(a.stack) << 32 | a.tid, out.size());
    if (inserted) out.push_back(AllocTotals{a.stack, a.tid, 0, 0, 0, 0, 0});
    return out[it->second];
  };
  for (const rec::Allocation& a : rec.allocations) {
    AllocTotals& t = entry(a);
    t.alloc_objects += alloc_objects(a);
    t.alloc_bytes += a.weight;
    ++t.samples;
  }
  for (size_t i : live_allocations(rec)) {
    const rec::Allocation& a = rec.allocations[i];
    AllocTotals& t = entry(a);
    t.inuse_objects += alloc_objects(a);
    t.inuse_bytes += a.weight;
  }
  return out;
}

bool has_alloc(const rec::Recording& rec) {
  return !rec.allocations.empty() || rec.header.alloc_sample_rate != 0 || header_lists_event(rec.header, "alloc");
}

}  // namespace flare::viewer
