// Goroutine views (goroutine_waits.h, pprof in Go's block-profile layout with
// a reason label, top, info) on a hand-built recording whose totals are
// worked out here. Times are ns after capture start; pid 10, threads 10, 11.
//
//   t=1000 park  goid 7 "chan receive" S_recv (tid 10)
//   t=1500 park  goid 8 "sleep"        S_sleep (tid 11)
//   t=2000 park  goid 9 "IO wait"      S_net (tid 10)
//   t=4000 ready goid 7 by goid 3      S_send      wait 3000
//   t=5500 ready goid 8 by goid 0      S_timer     wait 4000
//   t=6000 ready goid 9 netpoll        S_netpoll   wait 4000
//   t=7000 park  goid 7 "chan receive" S_recv: still parked at the end
//   t=8000 ready goid 20: parked before the capture (no park)
//
// Waits: 3, 11000 ns (chan receive 3000, sleep 4000, IO wait 4000).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/unit/go_pprof_for_tests.h"
#include "tests/unit/viewer_test_support.h"
#include "viewer/folded.h"
#include "viewer/goroutine_waits.h"
#include "viewer/html_page.h"
#include "viewer/info.h"
#include "viewer/pprof.h"
#include "viewer/signal.h"
#include "viewer/top.h"

namespace flare::viewer {
namespace {

using testing::RecordingBuilder;
using ::flare::testing::go_env;
using ::flare::testing::parse_top;
using ::flare::testing::run;
using ::flare::testing::TempDir;
using ::flare::testing::TopRow;

struct GoroutineRecording {
  GoroutineRecording() {
    b.rec.header.events = "goroutine";
    const uint32_t app = b.mapping(10, 0x400000, 0x500000, 0, "/opt/app/bin/app");
    auto f = [&](const char* name, uint64_t address) { return b.user_function(name, app, address); };
    const uint32_t gopark = f("runtime.gopark", 0x401000), ready = f("runtime.ready", 0x402000);
    s_recv = b.stack({gopark, f("runtime.chanrecv", 0x403000), f("main.receiver", 0x404000)});
    s_sleep = b.stack({gopark, f("time.Sleep", 0x405000), f("main.sleeper", 0x406000)});
    s_net = b.stack({gopark, f("internal/poll.(*FD).Read", 0x407000), f("main.reader", 0x408000)});
    s_send = b.stack({ready, f("runtime.goready", 0x409000), f("main.sender", 0x40a000)});
    s_timer = b.stack({ready, f("runtime.goroutineReady", 0x40b000)});
    s_netpoll = b.stack({f("runtime.netpollready", 0x40c000), f("runtime.findrunnable", 0x40d000)});
    b.thread(10, 10, "app");
    b.thread(10, 11, "app");
    park(1000, 10, 7, "chan receive", s_recv);
    park(1500, 11, 8, "sleep", s_sleep);
    park(2000, 10, 9, "IO wait", s_net);
    readied(4000, 11, 7, 3, s_send, 3000);
    readied(5500, 10, 8, 0, s_timer, 4000);
    readied(6000, 10, 9, 0, s_netpoll, 4000, rec::kGoroutineFromNetpoll);
    park(7000, 10, 7, "chan receive", s_recv);
    readied(8000, 11, 20, 7, s_send, 0);
  }
  void park(uint64_t t, uint32_t tid, uint64_t goid, const std::string& reason, uint32_t stack) {
    b.rec.goroutine_events.push_back(rec::GoroutineEvent{RecordingBuilder::kMonotonicStart + t,
                                                         rec::GoroutineEventKind::kPark, tid, goid, 0, b.str(reason),
                                                         stack, 0, 0});
  }
  void readied(uint64_t t, uint32_t tid, uint64_t goid, uint64_t waker, uint32_t stack, uint64_t wait_ns,
               uint8_t flags = 0) {
    b.rec.goroutine_events.push_back(rec::GoroutineEvent{RecordingBuilder::kMonotonicStart + t,
                                                         rec::GoroutineEventKind::kReady, tid, goid, waker, 0, stack,
                                                         wait_ns, flags});
  }
  const rec::Recording& rec() const { return b.rec; }

  RecordingBuilder b;
  uint32_t s_recv, s_sleep, s_net, s_send, s_timer, s_netpoll;
};

ViewOptions of(Signal signal) { return ViewOptions{.user_only = false, .signal = signal}; }

TEST(ViewerGoroutine, PairsParksWithReadiesPerGoroutine) {
  GoroutineRecording k;
  const GoroutineWaits g = goroutine_waits(k.rec());
  ASSERT_EQ(g.waits.size(), 3u);
  EXPECT_EQ(g.waits[0].stack, k.s_recv);
  EXPECT_EQ(g.waits[0].waker_stack, k.s_send);
  EXPECT_EQ(g.waits[0].waker_goid, 3u);
  EXPECT_EQ(g.waits[0].wait_ns, 3000u);
  EXPECT_FALSE(g.waits[0].netpoll);
  EXPECT_TRUE(g.waits[2].netpoll);
  EXPECT_EQ(g.parks, 4u);
  EXPECT_EQ(g.readies, 4u);
  EXPECT_EQ(g.netpoll_readies, 1u);
  EXPECT_EQ(g.unpaired_readies, 1u);
  EXPECT_EQ(g.open_parks, 1u);
  EXPECT_EQ(g.goroutines, 4u);
  EXPECT_EQ(g.by_reason.at("chan receive").parks, 2u);
  EXPECT_EQ(g.by_reason.at("chan receive").waits, 1u);
  EXPECT_EQ(g.by_reason.at("chan receive").wait_ns, 3000u);
  EXPECT_EQ(g.by_reason.at("sleep").wait_ns, 4000u);
  EXPECT_EQ(g.by_reason.at("IO wait").wait_ns, 4000u);
}

TEST(ViewerGoroutine, RecordsOutOfTimeOrderStillPair) {
  GoroutineRecording k;
  std::swap(k.b.rec.goroutine_events[0], k.b.rec.goroutine_events[3]);  // ready of goid 7 first in the file
  EXPECT_EQ(goroutine_waits(k.rec()).waits.size(), 3u);
}

// flare view: a goroutine tab, weighed like the pprof (wait time per
// parking stack), and no cpu tab for a recording without CPU samples.
TEST(ViewerGoroutine, HtmlPageHasAGoroutineView) {
  GoroutineRecording g;
  const HtmlPage page = build_html_page(g.b.rec, "go");
  ASSERT_EQ(page.views.size(), 1u);
  EXPECT_EQ(page.views[0].signal, Signal::kGoroutine);
  uint64_t total = 0;
  for (uint64_t w : page.views[0].weight) total += w;
  EXPECT_EQ(total, 11000u);
}

TEST(ViewerGoroutine, TopWeighsParkingStacksByWaitTime) {
  GoroutineRecording k;
  std::ostringstream out;
  ASSERT_TRUE(write_top(k.rec(), TopOptions{.view = of(Signal::kGoroutine), .limit = 0}, out).is_ok());
  const std::string text = out.str();
  EXPECT_NE(text.find("Total: 0.000s goroutines waited parked in 3 waits (park to ready; 1 still parked at the end)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("11us 100.00% 100.00%   11us 100.00%  runtime.gopark"), std::string::npos) << text;
  EXPECT_NE(text.find("3us  27.27%  main.receiver"), std::string::npos) << text;
  std::ostringstream json;
  ASSERT_TRUE(write_top(k.rec(), TopOptions{.view = of(Signal::kGoroutine), .limit = 0, .json = true}, json).is_ok());
  EXPECT_NE(json.str().find("\"goroutine_waits\": 3,"), std::string::npos) << json.str();
}

TEST(ViewerGoroutine, FoldedInMicroseconds) {
  GoroutineRecording k;
  std::ostringstream out;
  ASSERT_TRUE(write_folded(k.rec(), of(Signal::kGoroutine), out).is_ok());
  EXPECT_EQ(out.str(),
            "app;main.reader;internal/poll.(*FD).Read;runtime.gopark 4\n"
            "app;main.receiver;runtime.chanrecv;runtime.gopark 3\n"
            "app;main.sleeper;time.Sleep;runtime.gopark 4\n");
}

TEST(ViewerGoroutine, ARecordingWithoutGoroutinesIsRefused) {
  RecordingBuilder b;
  std::ostringstream out;
  Status st = write_top(b.rec, TopOptions{.view = of(Signal::kGoroutine)}, out);
  EXPECT_EQ(st.code(), ErrorCode::kNotFound);
  EXPECT_NE(st.message().find("--events goroutine"), std::string::npos) << st.message();
  EXPECT_TRUE(out.str().empty());
  EXPECT_EQ(write_pprof(b.rec, of(Signal::kGoroutine), out).code(), ErrorCode::kNotFound);
}

TEST(ViewerGoroutine, InfoCountsGoroutinesAndWaitsByReason) {
  GoroutineRecording k;
  std::ostringstream out;
  ASSERT_TRUE(write_info(k.rec(), false, out).is_ok());
  const std::string text = out.str();
  EXPECT_NE(text.find("Goroutines:  4 goroutines, 4 parks, 4 readies (1 by the netpoller), 3 waits park to ready, "
                      "1 parked at the end, 1 readies of goroutines parked before the start"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  chan receive                    2 parks        1 waits          3us"), std::string::npos)
      << text;
  std::ostringstream json;
  ASSERT_TRUE(write_info(k.rec(), true, json).is_ok());
  const std::string j = json.str();
  const size_t io = j.find("\"IO wait\": {");
  ASSERT_NE(io, std::string::npos) << j;
  EXPECT_EQ(j.find("\"parks\": 1", io), j.find("\"parks\"", io)) << j;
  EXPECT_EQ(j.find("\"wait_ns\": 4000", io), j.find("\"wait_ns\"", io)) << j;
}

TEST(ViewerGoroutine, GoPprofReadsDelayWithReasonLabels) {
  ASSERT_EQ(access("/usr/bin/go", X_OK), 0) << "go is required (apt-get install golang-go); this test never skips";
  TempDir dir;
  GoroutineRecording k;
  const std::string file = dir.path + "/goroutine.pb.gz";
  {
    std::ofstream out(file, std::ios::binary);
    ASSERT_TRUE(write_pprof(k.rec(), of(Signal::kGoroutine), out).is_ok());
  }
  int status = 0;
  const std::string pprof = go_env(dir.path) + "/usr/bin/go tool pprof ";
  std::string delay = run(pprof + "-top -unit=ns -sample_index=delay " + file + " 2>&1", status);
  ASSERT_EQ(status, 0) << delay;
  std::map<std::string, TopRow> rows = parse_top(delay);
  EXPECT_EQ(rows["runtime.gopark"].flat, "11000ns") << delay;
  EXPECT_EQ(rows["main.sleeper"].cum, "4000ns") << delay;
  std::string sleep = run(pprof + "-top -unit=ns -sample_index=delay -tagfocus=reason=sleep " + file + " 2>&1", status);
  ASSERT_EQ(status, 0) << sleep;
  rows = parse_top(sleep);
  EXPECT_EQ(rows["runtime.gopark"].flat, "4000ns") << sleep;
  EXPECT_EQ(rows.count("main.receiver"), 0u) << sleep;
  std::string count = run(pprof + "-top -sample_index=contentions " + file + " 2>&1", status);
  ASSERT_EQ(status, 0) << count;
  EXPECT_EQ(parse_top(count)["runtime.gopark"].flat, "3") << count;
}

}  // namespace
}  // namespace flare::viewer
