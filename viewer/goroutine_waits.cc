#include "viewer/goroutine_waits.h"

#include <algorithm>
#include <numeric>
#include <set>
#include <string_view>
#include <unordered_map>

#include "viewer/signal.h"

namespace flare::viewer {

namespace {

struct GoroutineKey {
  uint32_t pid;
  uint64_t goid;
  bool operator==(const GoroutineKey&) const = default;
};

struct GoroutineKeyHash {
  size_t operator()(const GoroutineKey& k) const {
    return std::hash<uint64_t>()(k.goid * 0x9E3779B97F4A7C15ull ^ k.pid);
  }
};

uint32_t pid_of(const rec::Recording& rec, uint32_t tid) {
  auto it = rec.threads.find(tid);
  return it == rec.threads.end() ? 0 : it->second.pid;
}

}  // namespace

bool has_goroutines(const rec::Recording& rec) {
  return !rec.goroutine_events.empty() || header_lists_event(rec.header, "goroutine");
}

GoroutineWaits goroutine_waits(const rec::Recording& rec) {
  const std::vector<rec::GoroutineEvent>& events = rec.goroutine_events;
  std::vector<size_t> order(events.size());
  std::iota(order.begin(), order.end(), 0);
  // Records of different CPUs arrive slightly out of order; a goroutine's
  // park always precedes its ready.
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return events[a].time_ns < events[b].time_ns; });
  GoroutineWaits out;
  std::unordered_map<GoroutineKey, const rec::GoroutineEvent*, GoroutineKeyHash> parked;
  std::set<std::pair<uint32_t, uint64_t>> seen;
  for (size_t i : order) {
    const rec::GoroutineEvent& e = events[i];
    const GoroutineKey key{pid_of(rec, e.tid), e.goid};
    seen.emplace(key.pid, key.goid);
    if (e.kind == rec::GoroutineEventKind::kPark) {
      ++out.parks;
      ++out.by_reason[rec.str(e.reason)].parks;
      parked[key] = &e;
      continue;
    }
    if (e.kind != rec::GoroutineEventKind::kReady) continue;
    ++out.readies;
    const bool netpoll = (e.flags & rec::kGoroutineFromNetpoll) != 0;
    if (netpoll) ++out.netpoll_readies;
    auto it = parked.find(key);
    if (it == parked.end()) {
      ++out.unpaired_readies;
      continue;
    }
    const rec::GoroutineEvent& park = *it->second;
    GoroutineWait w;
    w.stack = park.stack;
    w.reason = park.reason;
    w.tid = park.tid;
    w.waker_stack = e.stack;
    w.goid = e.goid;
    w.waker_goid = e.waker_goid;
    w.park_ns = park.time_ns;
    w.wait_ns = e.wait_ns ? e.wait_ns : (e.time_ns > park.time_ns ? e.time_ns - park.time_ns : 0);
    w.netpoll = netpoll;
    ReasonTotals& totals = out.by_reason[rec.str(park.reason)];
    ++totals.waits;
    totals.wait_ns += w.wait_ns;
    out.waits.push_back(w);
    parked.erase(it);
  }
  out.open_parks = parked.size();
  out.goroutines = seen.size();
  return out;
}

}  // namespace flare::viewer
