#include "viewer/html_page.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "viewer/frame_names.h"
#include "viewer/sample_weight.h"
#include "viewer/wall_time.h"
#include "viewer/weighted_stacks.h"

namespace flare::viewer {

namespace {

constexpr Signal kAllSignals[] = {Signal::kCpu,   Signal::kOffCpu, Signal::kWall,
                                   Signal::kAlloc, Signal::kInUse,  Signal::kGoroutine};

// Stacks that print alike (same names, other addresses) meet at one node,
// so entries are merged again per (node, tid).
FlameView flame_view(const rec::Recording& rec, StackNodes& nodes, Signal signal, bool merge_threads) {
  FlameView view;
  view.signal = signal;
  std::unordered_map<uint64_t, size_t> index;
  for (const WeightedStack& w : weighted_stacks(rec, signal)) {
    uint64_t weight = view_weight(w, signal);
    if (weight == 0) continue;
    uint32_t node = w.totals_only ? nodes.node_of_placeholder(kUntracedOffCpuFrame) : nodes.node_of_stack(w.stack);
    uint32_t tid = merge_threads ? 0 : w.tid;
    auto [it, inserted] = index.try_emplace(static_cast<uint64_t>(node) << 32 | tid, view.node.size());
    if (inserted) {
      view.node.push_back(node);
      view.tid.push_back(tid);
      view.weight.push_back(0);
    }
    view.weight[it->second] += weight;
  }
  return view;
}

// The views worth a tab: every signal recorded, cpu also when nothing else is
// (an empty recording still gets a true, empty page).
std::vector<Signal> signals_present(const rec::Recording& rec) {
  std::vector<Signal> out;
  for (Signal s : kAllSignals) {
    if (s == Signal::kCpu && rec.samples.empty()) continue;
    if (check_signal_recorded(rec, s).is_ok()) out.push_back(s);
  }
  if (out.empty()) out.push_back(Signal::kCpu);
  return out;
}

uint64_t duration_ns(const rec::Recording& rec) {
  int64_t last = 0;
  auto see = [&](uint64_t t) { last = std::max(last, since_capture_start_ns(rec.header, t)); };
  for (const rec::CpuSample& s : rec.samples) see(s.time_ns);
  for (const rec::OffCpuInterval& o : rec.offcpu) see(o.time_ns + o.blocked_ns + o.runq_ns);
  for (const rec::Allocation& a : rec.allocations) see(a.time_ns);
  for (const rec::ThreadEvent& e : rec.thread_events) see(e.time_ns);
  for (const rec::ChunkSummary& c : rec.chunks) see(c.last_ns);
  return static_cast<uint64_t>(last);
}

std::string subtitle(const rec::Recording& rec) {
  std::string out = rec.header.hostname.empty() ? "unknown host" : rec.header.hostname;
  for (const rec::TargetInfo& t : rec.header.targets) {
    out += " · pid " + std::to_string(t.pid);
    if (!t.command_line.empty()) out += " (" + t.command_line + ")";
  }
  if (auto wall = wall_time_ns(rec.header, rec.header.clock_monotonic_ns)) out += " · " + format_wall_time(*wall);
  if (!rec.header.events.empty()) out += " · events " + rec.header.events;
  return out;
}

std::vector<PageThread> page_threads(const rec::Recording& rec, const std::vector<FlameView>& views) {
  std::set<uint32_t> tids;
  for (const auto& [tid, info] : rec.threads) tids.insert(tid);
  for (const FlameView& v : views) tids.insert(v.tid.begin(), v.tid.end());
  std::vector<PageThread> out;
  for (uint32_t tid : tids) {
    auto it = rec.threads.find(tid);
    out.push_back(PageThread{tid, it == rec.threads.end() ? 0 : it->second.pid, thread_display_name(rec, tid)});
  }
  return out;
}

}  // namespace

HtmlPage build_html_page(const rec::Recording& rec, const std::string& title, const TimelineLimits& limits) {
  HtmlPage page;
  page.title = title;
  page.subtitle = subtitle(rec);
  page.sample_period_ns = sample_period_ns(rec.header);
  page.duration_ns = duration_ns(rec);
  StackNodes nodes(rec, page.tree);
  for (Signal s : signals_present(rec)) page.views.push_back(flame_view(rec, nodes, s, false));
  page.threads = page_threads(rec, page.views);
  page.timeline = build_timeline(rec, nodes, limits);
  return page;
}

Result<HtmlPage> build_diff_page(const rec::Recording& base, const rec::Recording& next, Signal signal,
                                 const std::string& title) {
  FLARE_RETURN_IF_ERROR(check_signal_recorded(base, signal).with_context("base recording"));
  FLARE_RETURN_IF_ERROR(check_signal_recorded(next, signal).with_context("new recording"));
  HtmlPage page;
  page.diff = true;
  page.title = title;
  page.subtitle = "base: " + subtitle(base) + "  →  new: " + subtitle(next);
  page.sample_period_ns = sample_period_ns(next.header);
  page.duration_ns = duration_ns(next);
  StackNodes base_nodes(base, page.tree);
  page.base_views.push_back(flame_view(base, base_nodes, signal, true));
  StackNodes next_nodes(next, page.tree);
  page.views.push_back(flame_view(next, next_nodes, signal, true));
  return page;
}

}  // namespace flare::viewer
