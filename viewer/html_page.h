// What `flare view` puts into its HTML page, aggregated before it is written
// so the page stays small and quick for recordings of millions of events:
// one call tree of frame names (call_tree.h), per view the weight of each
// (tree node, thread), and a timeline bounded in size (html_timeline.h).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "common/status.h"
#include "recorder/model.h"
#include "viewer/call_tree.h"
#include "viewer/html_timeline.h"
#include "viewer/signal.h"

namespace flare::viewer {

// One flame graph: the view's weight per (node, thread), in the unit of
// view_weight() (samples for cpu, nanoseconds for offcpu and wall, bytes
// for alloc and inuse). Entries are unique per (node, tid).
struct FlameView {
  Signal signal = Signal::kCpu;
  std::vector<uint32_t> node;
  std::vector<uint32_t> tid;
  std::vector<uint64_t> weight;
};

struct PageThread {
  uint32_t tid = 0;
  uint32_t pid = 0;
  std::string name;
};

struct HtmlPage {
  std::string title;
  std::string subtitle;  // host, targets, start time
  uint64_t sample_period_ns = 0;
  uint64_t duration_ns = 0;  // capture start to the last event
  CallTree tree;
  std::vector<FlameView> views;  // every signal the recording has, in Signal order
  std::vector<PageThread> threads;
  Timeline timeline;
  // A differential page (--diff): `views` are the new recording's and
  // `base_views` the base's, with tid 0, over the same tree.
  bool diff = false;
  std::vector<FlameView> base_views;
};

HtmlPage build_html_page(const rec::Recording& rec, const std::string& title,
                         const TimelineLimits& limits = TimelineLimits{});

// Compares `signal` of two recordings; an error when either lacks it.
Result<HtmlPage> build_diff_page(const rec::Recording& base, const rec::Recording& next, Signal signal,
                                 const std::string& title);

// The self-contained page: CSS, script and data inline, nothing fetched.
Status write_html_page(const HtmlPage& page, std::ostream& out);

}  // namespace flare::viewer
