// Allocation views (alloc_profile.h, pprof in Go's heap layout, top, folded,
// info) on a hand-built recording whose every total is worked out here:
//
//   rate 1024 B, seed 9; threads 10 "app" and 11 "worker" of pid 10
//   t=1  tid 10 S_a 0x1000 size 100  weight 1000  (10 objects)  freed t=5
//   t=2  tid 10 S_a 0x2000 size 100  weight 1000  (10 objects)  freed t=3 by tid 11
//   t=4  tid 11 S_b 0x3000 size 2048 weight 2500  (1.22 objects) live
//   t=6  tid 11 S_b 0x1000 size 4096 weight 4096  (1 object)     live (address reused)
//   t=7  tid 10 S_b 0x9000 size 64   weight 1024  (16 objects)   untracked: not in use
//
// alloc: 9620 B; S_a/10 2000 B in 20, S_b/11 6596 B in 2.22, S_b/10 1024 B in 16.
// inuse: 6596 B, all S_b/11 (2.22 objects).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/unit/go_pprof_for_tests.h"
#include "tests/unit/pprof_for_tests.h"
#include "tests/unit/viewer_test_support.h"
#include "viewer/alloc_profile.h"
#include "viewer/folded.h"
#include "viewer/info.h"
#include "viewer/leaks.h"
#include "viewer/pprof.h"
#include "viewer/signal.h"
#include "viewer/top.h"

namespace flare::viewer {
namespace {

namespace pb = perftools::profiles;
using testing::RecordingBuilder;
using ::flare::testing::convert;
using ::flare::testing::go_env;
using ::flare::testing::Index;
using ::flare::testing::parse_top;
using ::flare::testing::run;
using ::flare::testing::TempDir;
using ::flare::testing::TopRow;

struct AllocRecording {
  AllocRecording() {
    b.rec.header.events = "alloc";
    b.rec.header.alloc_sample_rate = 1024;
    b.rec.header.alloc_seed = 9;
    const uint32_t app = b.mapping(10, 0x400000, 0x500000, 0, "/opt/app/bin/app");
    main = b.user_function("main", app, 0x401000);
    alloc_a = b.user_function("alloc_a", app, 0x402000);
    alloc_b = b.user_function("alloc_b", app, 0x403000);
    s_a = b.stack({alloc_a, main});
    s_b = b.stack({alloc_b, main});
    b.thread(10, 10, "app");
    b.thread(10, 11, "worker");
    alloc(1, 10, s_a, 0x1000, 100, 1000);
    alloc(2, 10, s_a, 0x2000, 100, 1000);
    free(3, 11, 0x2000);
    alloc(4, 11, s_b, 0x3000, 2048, 2500);
    free(5, 10, 0x1000);
    alloc(6, 11, s_b, 0x1000, 4096, 4096);
    alloc(7, 10, s_b, 0x9000, 64, 1024, rec::kAllocUntracked);
  }
  void alloc(uint64_t t, uint32_t tid, uint32_t stack, uint64_t address, uint64_t size, uint64_t weight,
             uint8_t flags = 0) {
    b.rec.allocations.push_back(
        rec::Allocation{RecordingBuilder::kMonotonicStart + t, tid, stack, address, size, weight, flags});
  }
  void free(uint64_t t, uint32_t tid, uint64_t address) {
    b.rec.frees.push_back(rec::Free{RecordingBuilder::kMonotonicStart + t, tid, address});
  }
  const rec::Recording& rec() const { return b.rec; }

  RecordingBuilder b;
  uint32_t main, alloc_a, alloc_b, s_a, s_b;
};

ViewOptions of(Signal signal) { return ViewOptions{.user_only = false, .signal = signal}; }

TEST(ViewerAlloc, TotalsPerStackAndThread) {
  AllocRecording k;
  std::vector<AllocTotals> totals = alloc_totals(k.rec());
  ASSERT_EQ(totals.size(), 3u);
  EXPECT_EQ(totals[0].stack, k.s_a);
  EXPECT_EQ(totals[0].tid, 10u);
  EXPECT_DOUBLE_EQ(totals[0].alloc_objects, 20);
  EXPECT_EQ(totals[0].alloc_bytes, 2000u);
  EXPECT_EQ(totals[0].inuse_bytes, 0u);
  EXPECT_EQ(totals[1].stack, k.s_b);
  EXPECT_EQ(totals[1].tid, 11u);
  EXPECT_NEAR(totals[1].alloc_objects, 2500.0 / 2048 + 1, 1e-9);
  EXPECT_EQ(totals[1].alloc_bytes, 6596u);
  EXPECT_EQ(totals[1].inuse_bytes, 6596u);
  EXPECT_EQ(totals[2].tid, 10u);
  EXPECT_EQ(totals[2].alloc_bytes, 1024u);
  EXPECT_EQ(totals[2].inuse_bytes, 0u) << "an untracked block is not known to be in use";
  EXPECT_EQ(live_allocations(k.rec()), (std::vector<size_t>{2, 3}));
}

TEST(ViewerAlloc, AFreeBeforeTheReuseOfItsAddressFreesTheOldBlock) {
  AllocRecording k;
  // A free and an allocation of the same address at the same time: the
  // free was seen first (it frees the old block, the new one is live).
  k.free(6, 10, 0x1000);
  EXPECT_EQ(live_allocations(k.rec()), (std::vector<size_t>{2, 3}));
  // A second process with the same address keeps its own block.
  k.b.thread(20, 20, "other");
  k.alloc(8, 20, k.s_a, 0x3000, 10, 10);
  EXPECT_EQ(live_allocations(k.rec()), (std::vector<size_t>{2, 3, 5}));
}

TEST(ViewerAlloc, PprofHasGoHeapLayout) {
  AllocRecording k;
  for (Signal signal : {Signal::kAlloc, Signal::kInUse}) {
    pb::Profile p = convert(k.rec(), of(signal));
    Index ix(p);
    ASSERT_EQ(p.sample_type_size(), 4);
    const char* expected[][2] = {
        {"alloc_objects", "count"}, {"alloc_space", "bytes"}, {"inuse_objects", "count"}, {"inuse_space", "bytes"}};
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(ix.str(p.sample_type(i).type()), expected[i][0]);
      EXPECT_EQ(ix.str(p.sample_type(i).unit()), expected[i][1]);
    }
    EXPECT_EQ(ix.str(p.period_type().type()), "space");
    EXPECT_EQ(ix.str(p.period_type().unit()), "bytes");
    EXPECT_EQ(p.period(), 1024);
    EXPECT_EQ(ix.str(p.default_sample_type()), signal == Signal::kAlloc ? "alloc_space" : "inuse_space");
    ASSERT_EQ(p.sample_size(), 3);
    EXPECT_EQ(p.sample(1).value(0), 2);  // 2.22 objects, rounded
    EXPECT_EQ(p.sample(1).value(1), 6596);
    EXPECT_EQ(p.sample(1).value(2), 2);
    EXPECT_EQ(p.sample(1).value(3), 6596);
    EXPECT_EQ(p.sample(0).value(0), 20);
    EXPECT_EQ(p.sample(0).value(3), 0);
  }
}

TEST(ViewerAlloc, CpuOnlyRecordingIsRefused) {
  testing::KnownRecording cpu;
  Status st = check_signal_recorded(cpu.rec(), Signal::kAlloc);
  EXPECT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("record with --alloc"), std::string::npos) << st.message();
  std::ostringstream out;
  EXPECT_FALSE(write_pprof(cpu.rec(), of(Signal::kInUse), out).is_ok());
  EXPECT_TRUE(out.str().empty());
  // A recording made with --alloc that sampled nothing is a true, empty view.
  cpu.b.rec.header.alloc_sample_rate = 512 * 1024;
  EXPECT_TRUE(check_signal_recorded(cpu.rec(), Signal::kAlloc).is_ok());
}

TEST(ViewerAlloc, TopInBytes) {
  AllocRecording k;
  TopOptions options;
  options.view = of(Signal::kInUse);
  std::ostringstream out;
  ASSERT_TRUE(write_top(k.rec(), options, out).is_ok());
  std::string text = out.str();
  EXPECT_NE(text.find("Total: 6.44KiB in use at the end (5 allocation samples, one per 1KiB on average)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("6.44KiB 100.00% 100.00% 6.44KiB 100.00%  alloc_b"), std::string::npos) << text;
  options.view = of(Signal::kAlloc);
  options.json = true;
  std::ostringstream json;
  ASSERT_TRUE(write_top(k.rec(), options, json).is_ok());
  EXPECT_NE(json.str().find("\"unit\": \"bytes\""), std::string::npos) << json.str();
  EXPECT_NE(json.str().find("\"total_bytes\": 9620"), std::string::npos) << json.str();
}

TEST(ViewerAlloc, FoldedInBytes) {
  AllocRecording k;
  std::ostringstream out;
  ASSERT_TRUE(write_folded(k.rec(), of(Signal::kAlloc), out).is_ok());
  EXPECT_EQ(out.str(), "app;main;alloc_a 2000\napp;main;alloc_b 1024\nworker;main;alloc_b 6596\n");
}

TEST(ViewerAlloc, InfoShowsSamplingTotalsAndTable) {
  AllocRecording k;
  k.b.rec.stats = {{"alloc_live_table_capacity", 262144}, {"alloc_live_table_used", 2}, {"alloc_calls_malloc", 99}};
  std::ostringstream out;
  ASSERT_TRUE(write_info(k.rec(), false, out).is_ok());
  std::string text = out.str();
  EXPECT_NE(text.find("Allocations: one sample per 1KiB allocated on average (seed 9)"), std::string::npos) << text;
  EXPECT_NE(text.find("5 samples: 9.39KiB allocated in 38 objects, 6.44KiB in 2 objects still in use"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("2 of 262144 entries in use at the end"), std::string::npos) << text;
  EXPECT_NE(text.find("malloc 99"), std::string::npos) << text;
  std::ostringstream json;
  ASSERT_TRUE(write_info(k.rec(), true, json).is_ok());
  EXPECT_NE(json.str().find("\"inuse_bytes\": 6596"), std::string::npos) << json.str();
}

TEST(ViewerAlloc, LeaksByAgeAndStack) {
  AllocRecording k;  // ends at t=7: the live blocks are 3 ns and 1 ns old
  std::ostringstream all;
  ASSERT_TRUE(write_leaks(k.rec(), LeaksOptions{}, all).is_ok());
  EXPECT_NE(all.str().find("In use at the end: 6.44KiB in 2 objects (2 samples) from 1 stacks, estimated from one "
                           "sample per 1KiB\n\n6.44KiB in 2 objects (2 samples), allocated 0.000s to 0.000s "
                           "before the end\n    alloc_b\n    main\n"),
            std::string::npos)
      << all.str();
  LeaksOptions old;
  old.min_age_ns = 2;
  old.json = true;
  std::ostringstream json;
  ASSERT_TRUE(write_leaks(k.rec(), old, json).is_ok());
  EXPECT_NE(json.str().find("\"bytes\": 2500"), std::string::npos) << json.str();
  EXPECT_NE(json.str().find("\"oldest_age_ns\": 3"), std::string::npos) << json.str();
  EXPECT_EQ(json.str().find("\"bytes\": 4096"), std::string::npos) << json.str();
  testing::KnownRecording cpu;
  std::ostringstream none;
  EXPECT_FALSE(write_leaks(cpu.rec(), LeaksOptions{}, none).is_ok());
  EXPECT_TRUE(none.str().empty());
}

TEST(ViewerAlloc, GoPprofReadsBothIndexes) {
  ASSERT_EQ(access("/usr/bin/go", X_OK), 0) << "go is required (apt-get install golang-go); this test never skips";
  TempDir dir;
  AllocRecording k;
  const std::string file = dir.path + "/heap.pb.gz";
  {
    std::ofstream out(file, std::ios::binary);
    ASSERT_TRUE(write_pprof(k.rec(), of(Signal::kAlloc), out).is_ok());
  }
  int status = 0;
  std::string alloc = run(go_env(dir.path) + "/usr/bin/go tool pprof -top -unit=B -sample_index=alloc_space " + file +
                              " 2>&1",
                          status);
  ASSERT_EQ(status, 0) << alloc;
  std::map<std::string, TopRow> rows = parse_top(alloc);
  EXPECT_EQ(rows["alloc_b"].flat, "7620B") << alloc;
  EXPECT_EQ(rows["alloc_a"].flat, "2000B") << alloc;
  std::string inuse = run(go_env(dir.path) + "/usr/bin/go tool pprof -top -unit=B -sample_index=inuse_space " + file +
                              " 2>&1",
                          status);
  ASSERT_EQ(status, 0) << inuse;
  rows = parse_top(inuse);
  EXPECT_EQ(rows["alloc_b"].flat, "6596B") << inuse;
  EXPECT_EQ(rows.count("alloc_a"), 0u) << inuse;
}

}  // namespace
}  // namespace flare::viewer
