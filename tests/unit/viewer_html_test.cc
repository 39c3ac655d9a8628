// flare view's page data: the merged call tree, the per-view weights, the
// bounded timeline and the page itself, checked against recordings whose
// totals are worked out by hand (viewer_test_support.h).
#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <sstream>

#include "tests/unit/viewer_test_support.h"
#include "viewer/html_page.h"
#include "viewer/weighted_stacks.h"

namespace flare::viewer {
namespace {

using testing::Json;
using testing::KnownRecording;
using testing::OffCpuRecording;

std::string path_of(const CallTree& tree, uint32_t node) {
  std::string path;
  for (uint32_t n = node; n != CallTree::kRoot; n = tree.parents()[n]) {
    path = tree.names()[tree.node_names()[n]] + (path.empty() ? "" : ";" + path);
  }
  return path;
}

// Weight per root-first name path, summed over threads (or of one thread).
std::map<std::string, uint64_t> weights_by_path(const HtmlPage& page, const FlameView& view, uint32_t tid = 0) {
  std::map<std::string, uint64_t> out;
  for (size_t i = 0; i < view.node.size(); ++i) {
    if (tid == 0 || view.tid[i] == tid) out[path_of(page.tree, view.node[i])] += view.weight[i];
  }
  return out;
}

const FlameView* find_view(const HtmlPage& page, Signal signal) {
  for (const FlameView& v : page.views) {
    if (v.signal == signal) return &v;
  }
  return nullptr;
}

TEST(HtmlPage, CpuViewMergesStacksIntoOneTreeWithWeightsPerThread) {
  KnownRecording k;
  HtmlPage page = build_html_page(k.rec(), "known");
  ASSERT_EQ(page.views.size(), 1u);
  const FlameView& cpu = page.views[0];
  EXPECT_EQ(cpu.signal, Signal::kCpu);
  std::map<std::string, uint64_t> expected = {
      {"main;compute;leaf", 8},
      {"main;compute", 2},
      {"main;compute;[libfoo.so+0x1abc];do_syscall_64;[kernel] 0xffffffff81000200", 4},
      {"do_syscall_64", 1},
      {"main;fib;fib;fib", 3}};
  EXPECT_EQ(weights_by_path(page, cpu), expected);
  EXPECT_EQ(weights_by_path(page, cpu, 101),
            (std::map<std::string, uint64_t>{
                {"main;compute;leaf", 3},
                {"main;compute;[libfoo.so+0x1abc];do_syscall_64;[kernel] 0xffffffff81000200", 4}}));
  // One node per distinct path: "main" is shared by every user stack.
  size_t mains = 0;
  for (size_t n = 1; n < page.tree.size(); ++n) mains += path_of(page.tree, static_cast<uint32_t>(n)) == "main";
  EXPECT_EQ(mains, 1u);
  ASSERT_EQ(page.threads.size(), 3u);
  EXPECT_EQ(page.threads[0].name, "main");
  EXPECT_EQ(page.threads[2].name, "tid-102");
  EXPECT_EQ(page.sample_period_ns, testing::RecordingBuilder::kPeriodNs);
  EXPECT_EQ(page.duration_ns, 2'020'000'000u);  // the last sample
}

TEST(HtmlPage, TimelineKeepsEverySampleTimeWhenItFits) {
  KnownRecording k;
  HtmlPage page = build_html_page(k.rec(), "known");
  const CpuCells& cells = page.timeline.cpu;
  EXPECT_EQ(cells.bucket_ns, testing::RecordingBuilder::kPeriodNs);
  EXPECT_EQ(std::accumulate(cells.count.begin(), cells.count.end(), uint64_t{0}), 18u);
  // fib's three samples start 2 s in, one period apart: buckets 200..202.
  std::vector<uint32_t> fib_buckets;
  for (size_t i = 0; i < cells.node.size(); ++i) {
    if (path_of(page.tree, cells.node[i]) == "main;fib;fib;fib") fib_buckets.push_back(cells.bucket[i]);
  }
  EXPECT_EQ(fib_buckets, (std::vector<uint32_t>{200, 201, 202}));
}

TEST(HtmlPage, TimelineBucketsGrowUntilTheCellsFitTheLimit) {
  KnownRecording k;
  TimelineLimits limits;
  limits.max_cpu_cells = 6;
  HtmlPage page = build_html_page(k.rec(), "known", limits);
  const CpuCells& cells = page.timeline.cpu;
  EXPECT_LE(cells.tid.size(), 6u);
  EXPECT_GT(cells.bucket_ns, testing::RecordingBuilder::kPeriodNs);
  // Coarser, never lossy: every sample is still counted once.
  EXPECT_EQ(std::accumulate(cells.count.begin(), cells.count.end(), uint64_t{0}), 18u);
  // 5 distinct (thread, stack) pairs at least; with the whole capture in one
  // bucket there are 6 (S1 runs on two threads).
  EXPECT_GE(cells.tid.size(), 5u);
  // What the timeline draws keeps its detail: per thread, one period.
  const ThreadActivity& activity = page.timeline.activity;
  EXPECT_EQ(activity.bucket_ns, testing::RecordingBuilder::kPeriodNs);
  EXPECT_EQ(std::accumulate(activity.count.begin(), activity.count.end(), uint64_t{0}), 18u);
  std::map<uint32_t, uint64_t> per_thread;
  for (size_t i = 0; i < activity.tid.size(); ++i) per_thread[activity.tid[i]] += activity.count[i];
  EXPECT_EQ(per_thread, (std::map<uint32_t, uint64_t>{{100, 10}, {101, 7}, {102, 1}}));
}

TEST(HtmlPage, OffCpuViewsAndTimelineSpansWithWakers) {
  OffCpuRecording o;
  HtmlPage page = build_html_page(o.rec(), "offcpu");
  ASSERT_NE(find_view(page, Signal::kCpu), nullptr);
  const FlameView* off = find_view(page, Signal::kOffCpu);
  const FlameView* wall = find_view(page, Signal::kWall);
  ASSERT_NE(off, nullptr);
  ASSERT_NE(wall, nullptr);
  EXPECT_EQ(find_view(page, Signal::kAlloc), nullptr);
  constexpr uint64_t kMs = OffCpuRecording::kMs;
  auto total = [](const FlameView& v) { return std::accumulate(v.weight.begin(), v.weight.end(), uint64_t{0}); };
  EXPECT_EQ(total(*off), 77 * kMs);
  EXPECT_EQ(total(*wall), 147 * kMs);
  auto by_path = weights_by_path(page, *off);
  EXPECT_EQ(by_path["main;wait_fn;schedule"], 60 * kMs + 6 * kMs + 4 * kMs);
  EXPECT_EQ(by_path[std::string(kUntracedOffCpuFrame)], 900 * OffCpuRecording::kUs + 100 * OffCpuRecording::kUs);

  const OffCpuSpans& spans = page.timeline.offcpu;
  ASSERT_EQ(spans.tid.size(), 7u);
  EXPECT_EQ(spans.spans_omitted, 0u);
  EXPECT_TRUE(std::is_sorted(spans.start_ns.begin(), spans.start_ns.end()));
  size_t woken = 0;
  for (size_t i = 0; i < spans.tid.size(); ++i) {
    if (spans.waker_tid[i] == 0) continue;
    ++woken;
    EXPECT_EQ(spans.waker_tid[i], 300u);
    EXPECT_EQ(path_of(page.tree, spans.waker_node[i]), "writer_main;writer_fn");
    EXPECT_EQ(path_of(page.tree, spans.node[i]), "main;wait_fn;schedule");
    EXPECT_EQ(spans.blocked_ns[i], 18 * kMs);
    EXPECT_EQ(spans.runq_ns[i], 2 * kMs);
  }
  EXPECT_EQ(woken, 3u);
}

TEST(HtmlPage, TimelineKeepsTheLongestSpansAndCountsTheRest) {
  OffCpuRecording o;
  TimelineLimits limits;
  limits.max_offcpu_spans = 3;
  HtmlPage page = build_html_page(o.rec(), "offcpu", limits);
  const OffCpuSpans& spans = page.timeline.offcpu;
  ASSERT_EQ(spans.tid.size(), 3u);
  EXPECT_EQ(spans.spans_omitted, 4u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(spans.blocked_ns[i] + spans.runq_ns[i], 20 * OffCpuRecording::kMs);
}

TEST(HtmlPage, DiffSharesOneTreeByNameAndDropsThreads) {
  testing::RecordingBuilder base_b, next_b;
  for (testing::RecordingBuilder* b : {&base_b, &next_b}) {
    uint32_t m = b->mapping(1, 0x400000, 0x500000, 0, "/bin/app");
    uint32_t main = b->user_function("main", m, 0x401000);
    // Different addresses in the two recordings: frames merge by name.
    uint32_t hot = b->user_function("hot", m, b == &base_b ? 0x402000 : 0x402100);
    uint32_t cold = b->user_function("cold", m, 0x403000);
    uint32_t s_hot = b->stack({hot, main});
    uint32_t s_cold = b->stack({cold, main});
    b->samples(7, s_hot, b == &base_b ? 2 : 6);
    b->samples(8, s_cold, 2);
  }
  auto page = build_diff_page(base_b.rec, next_b.rec, Signal::kCpu, "diff");
  ASSERT_TRUE(page.is_ok()) << page.status().message();
  ASSERT_TRUE(page->diff);
  ASSERT_EQ(page->views.size(), 1u);
  ASSERT_EQ(page->base_views.size(), 1u);
  EXPECT_EQ(weights_by_path(*page, page->base_views[0]),
            (std::map<std::string, uint64_t>{{"main;hot", 2}, {"main;cold", 2}}));
  EXPECT_EQ(weights_by_path(*page, page->views[0]),
            (std::map<std::string, uint64_t>{{"main;hot", 6}, {"main;cold", 2}}));
  for (uint32_t tid : page->views[0].tid) EXPECT_EQ(tid, 0u);

  auto refused = build_diff_page(base_b.rec, next_b.rec, Signal::kOffCpu, "diff");
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("base recording"), std::string::npos);
}

// The data element of a written page, as the page's script reads it.
Json page_data(const std::string& html) {
  const std::string open = "<script id=\"flare-data\" type=\"application/json\">";
  size_t begin = html.find(open);
  EXPECT_NE(begin, std::string::npos);
  begin += open.size();
  size_t end = html.find("</script>", begin);
  Json json;
  EXPECT_TRUE(Json::parse(std::string_view(html).substr(begin, end - begin), json));
  return json;
}

TEST(HtmlPage, WritesOneSelfContainedPageWithParsableData) {
  KnownRecording k;
  // A hostile frame name must neither end the data element early nor break the JSON.
  uint32_t evil = k.b.user_function("</script><script>alert(1)</script>", k.app, 0x409000);
  k.b.samples(100, k.b.stack({evil, k.main}), 1, 3'000'000'000);
  std::ostringstream out;
  ASSERT_TRUE(write_html_page(build_html_page(k.rec(), "a <b> & c"), out).is_ok());
  const std::string html = out.str();
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<title>a &lt;b&gt; &amp; c · flare</title>"), std::string::npos);
  EXPECT_EQ(html.find("@FLARE_"), std::string::npos);
  // Offline: nothing loaded from anywhere.
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);
  size_t script_ends = 0;
  for (size_t at = html.find("</script>"); at != std::string::npos; at = html.find("</script>", at + 1)) ++script_ends;
  EXPECT_EQ(script_ends, 2u);

  Json data = page_data(html);
  EXPECT_EQ(data["title"].str(), "a <b> & c");
  EXPECT_FALSE(data["diff"].boolean());
  const Json::Array& names = data["names"].arr();
  bool found = false;
  for (const Json& n : names) found |= n.str() == "</script><script>alert(1)</script>";
  EXPECT_TRUE(found);
  EXPECT_EQ(data["parent"].arr().size(), data["nameOf"].arr().size());
  ASSERT_EQ(data["views"].arr().size(), 1u);
  const Json& cpu = data["views"][0];
  EXPECT_EQ(cpu["signal"].str(), "cpu");
  EXPECT_EQ(cpu["unit"].str(), "samples");
  double sum = 0;
  for (const Json& w : cpu["weight"].arr()) sum += w.num();
  EXPECT_EQ(sum, 19);
  EXPECT_EQ(data["timeline"]["bucketNs"].num(), 10'000'000);
}

TEST(HtmlPage, EmptyRecordingGivesAnEmptyCpuView) {
  testing::RecordingBuilder b;
  HtmlPage page = build_html_page(b.rec, "empty");
  ASSERT_EQ(page.views.size(), 1u);
  EXPECT_TRUE(page.views[0].node.empty());
  std::ostringstream out;
  EXPECT_TRUE(write_html_page(page, out).is_ok());
  page_data(out.str());
}

}  // namespace
}  // namespace flare::viewer
