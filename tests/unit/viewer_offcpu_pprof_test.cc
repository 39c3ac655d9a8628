// Off-CPU and wall-clock pprof profiles, checked against the hand-worked
// totals of OffCpuRecording: decoded with the generated classes, and read
// by the real consumer, go tool pprof.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "tests/unit/go_pprof_for_tests.h"
#include "tests/unit/pprof_for_tests.h"
#include "tests/unit/viewer_test_support.h"
#include "viewer/pprof.h"

namespace flare::viewer {
namespace {

namespace pb = perftools::profiles;
using testing::KnownRecording;
using testing::OffCpuRecording;

using ::flare::testing::convert;
using ::flare::testing::go_env;
using ::flare::testing::Index;
using ::flare::testing::parse_top;
using ::flare::testing::run;
using ::flare::testing::TempDir;
using ::flare::testing::TopRow;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kUs = 1'000;
using Names = std::vector<std::string>;

ViewOptions of(Signal signal, bool user_only = false) { return ViewOptions{.user_only = user_only, .signal = signal}; }

TEST(ViewerOffCpuPprof, HeaderIsGoBlockProfileLayout) {
  OffCpuRecording k;
  pb::Profile p = convert(k.rec(), of(Signal::kOffCpu));
  Index ix(p);
  ASSERT_EQ(p.sample_type_size(), 2);
  EXPECT_EQ(ix.str(p.sample_type(0).type()), "contentions");
  EXPECT_EQ(ix.str(p.sample_type(0).unit()), "count");
  EXPECT_EQ(ix.str(p.sample_type(1).type()), "delay");
  EXPECT_EQ(ix.str(p.sample_type(1).unit()), "nanoseconds");
  EXPECT_EQ(ix.str(p.period_type().type()), "contentions");
  EXPECT_EQ(ix.str(p.period_type().unit()), "count");
  EXPECT_EQ(p.period(), 1);
  EXPECT_EQ(ix.str(p.default_sample_type()), "delay");
  // From the clipped interval at +0 to the end of the one switched out at
  // +996 ms and still off CPU 4 ms later.
  EXPECT_EQ(p.duration_nanos(), 1000 * kMs);
}

// Every (stack, thread, state, waker) with its exact count and delay.
TEST(ViewerOffCpuPprof, DelayPerStackThreadStateAndWaker) {
  OffCpuRecording k;
  pb::Profile p = convert(k.rec(), of(Signal::kOffCpu));
  Index ix(p);
  using Key = std::tuple<Names, int64_t, std::string, std::string>;  // stack, tid, state, waker
  std::map<Key, std::pair<int64_t, int64_t>> got;
  int64_t contentions = 0, delay = 0;
  for (const pb::Sample& s : p.sample()) {
    ASSERT_EQ(s.value_size(), 2);
    Key key{ix.names(s), ix.label_num(s, "tid"), ix.label_str(s, "state"), ix.label_str(s, "waker")};
    EXPECT_EQ(got.count(key), 0u) << "emitted twice";
    got[key] = {s.value(0), s.value(1)};
    contentions += s.value(0);
    delay += s.value(1);
    EXPECT_EQ(ix.label_num(s, "pid"), 200);
    EXPECT_EQ(ix.label_str(s, "thread"), ix.label_num(s, "tid") == 200 ? "app" : "worker");
  }
  Names wait{"schedule", "wait_fn", "main"};
  Names cpu{"compute", "worker_loop"};
  Names untraced{"[short or rate-limited off-CPU]"};
  std::map<Key, std::pair<int64_t, int64_t>> want{
      {{wait, 200, "sleeping", "writer"}, {3, 60 * kMs}},
      {{wait, 200, "sleeping", "<missing>"}, {1, 6 * kMs}},  // clipped at the start
      {{wait, 200, "uninterruptible", "<missing>"}, {1, 4 * kMs}},  // clipped at the end
      {{cpu, 201, "preempted", "<missing>"}, {2, 6 * kMs}},
      {{untraced, 200, "sleeping", "<missing>"}, {15, 900 * kUs}},  // two totals records added up
      {{untraced, 201, "preempted", "<missing>"}, {4, 100 * kUs}},
  };
  EXPECT_EQ(got, want);
  EXPECT_EQ(contentions, 26);
  EXPECT_EQ(delay, 77 * kMs);

  for (const pb::Sample& s : p.sample()) {
    if (ix.label_str(s, "waker") == "writer") {
      EXPECT_EQ(ix.label_num(s, "waker_tid"), 300);
    }
  }
}

TEST(ViewerOffCpuPprof, WallAddsCpuSamplesAsRunning) {
  OffCpuRecording k;
  pb::Profile p = convert(k.rec(), of(Signal::kWall));
  Index ix(p);
  ASSERT_EQ(p.sample_type_size(), 1);
  EXPECT_EQ(ix.str(p.sample_type(0).type()), "wall");
  EXPECT_EQ(ix.str(p.sample_type(0).unit()), "nanoseconds");
  EXPECT_EQ(ix.str(p.period_type().type()), "wall");
  EXPECT_EQ(p.period(), 10 * kMs);
  EXPECT_EQ(ix.str(p.default_sample_type()), "wall");
  std::map<std::string, int64_t> by_state;
  std::map<int64_t, int64_t> by_tid;
  int64_t total = 0;
  for (const pb::Sample& s : p.sample()) {
    ASSERT_EQ(s.value_size(), 1);
    by_state[ix.label_str(s, "state")] += s.value(0);
    by_tid[ix.label_num(s, "tid")] += s.value(0);
    total += s.value(0);
  }
  EXPECT_EQ(total, 147 * kMs);
  EXPECT_EQ(by_state, (std::map<std::string, int64_t>{{"running", 70 * kMs},
                                                       {"sleeping", 66 * kMs + 900 * kUs},
                                                       {"uninterruptible", 4 * kMs},
                                                       {"preempted", 6 * kMs + 100 * kUs}}));
  EXPECT_EQ(by_tid, (std::map<int64_t, int64_t>{{200, 20 * kMs + 70 * kMs + 900 * kUs},
                                                 {201, 50 * kMs + 6 * kMs + 100 * kUs}}));
}

TEST(ViewerOffCpuPprof, CpuTypeIsUnchangedByOffCpuData) {
  OffCpuRecording k;
  pb::Profile p = convert(k.rec());
  Index ix(p);
  ASSERT_EQ(p.sample_type_size(), 2);
  EXPECT_EQ(ix.str(p.default_sample_type()), "cpu");
  int64_t samples = 0;
  for (const pb::Sample& s : p.sample()) {
    samples += s.value(0);
    EXPECT_EQ(ix.label_str(s, "state"), "<missing>");
  }
  EXPECT_EQ(samples, 7);
}

TEST(ViewerOffCpuPprof, RecordingWithoutOffCpuIsRefused) {
  KnownRecording k;
  for (Signal signal : {Signal::kOffCpu, Signal::kWall}) {
    std::ostringstream out;
    Status st = write_pprof(k.rec(), of(signal), out);
    EXPECT_FALSE(st.is_ok());
    EXPECT_EQ(st.code(), ErrorCode::kNotFound);
    EXPECT_NE(st.message().find(std::string("--type ") + signal_name(signal)), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("--events cpu,offcpu"), std::string::npos) << st.message();
    EXPECT_TRUE(out.str().empty()) << "nothing written";
  }
  // The header alone is enough: an off-CPU capture with nothing off CPU
  // is an empty profile, not an error.
  KnownRecording listed;
  listed.b.rec.header.events = "cpu,offcpu";
  pb::Profile p = convert(listed.rec(), of(Signal::kOffCpu));
  EXPECT_EQ(p.sample_size(), 0);
}

// --- the real consumer -------------------------------------------------------

class GoPprof : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access("/usr/bin/go", X_OK), 0) << "go is required (apt-get install golang-go); this test never skips";
    ASSERT_FALSE(dir.path.empty());
  }
  std::string write(const std::string& name, const ViewOptions& options) {
    std::string file = dir.path + "/" + name;
    std::ofstream out(file, std::ios::binary);
    EXPECT_TRUE(write_pprof(k.rec(), options, out).is_ok());
    return file;
  }
  std::string top(const std::string& args, const std::string& file) {
    int status = 0;
    std::string text =
        run(go_env(dir.path) + "/usr/bin/go tool pprof -top -nodecount=100 " + args + " " + file + " 2>&1", status);
    EXPECT_EQ(status, 0) << text;
    return text;
  }
  TempDir dir;
  OffCpuRecording k;
};

TEST_F(GoPprof, ReadsOffCpuProfile) {
  std::string file = write("offcpu.pb.gz", of(Signal::kOffCpu));
  std::string delay = top("", file);  // delay is the default
  SCOPED_TRACE(delay);
  EXPECT_NE(delay.find("Type: delay"), std::string::npos);
  EXPECT_NE(delay.find("Showing nodes accounting for 77ms, 100% of 77ms total"), std::string::npos);
  std::map<std::string, TopRow> rows = parse_top(delay);
  EXPECT_EQ(rows["schedule"].flat, "70ms");
  EXPECT_EQ(rows["schedule"].flat_pct, "90.91%");
  EXPECT_EQ(rows["wait_fn"].cum, "70ms");
  EXPECT_EQ(rows["main"].cum_pct, "90.91%");
  EXPECT_EQ(rows["compute"].flat, "6ms");
  EXPECT_EQ(rows["compute"].flat_pct, "7.79%");
  EXPECT_EQ(rows["[short or rate-limited off-CPU]"].flat, "1ms");
  EXPECT_EQ(rows["[short or rate-limited off-CPU]"].flat_pct, "1.30%");

  std::string counts = top("-sample_index=contentions", file);
  std::map<std::string, TopRow> count_rows = parse_top(counts);
  EXPECT_NE(counts.find("of 26 total"), std::string::npos) << counts;
  EXPECT_EQ(count_rows["schedule"].flat, "5") << counts;
  EXPECT_EQ(count_rows["[short or rate-limited off-CPU]"].flat, "19") << counts;

  // Labels focus as a person would use them.
  std::string woken = top("-tagfocus=waker=writer", file);
  EXPECT_NE(woken.find("Showing nodes accounting for 60ms,"), std::string::npos) << woken;
  std::string uninterruptible = top("-tagfocus=state=uninterruptible", file);
  EXPECT_NE(uninterruptible.find("Showing nodes accounting for 4ms,"), std::string::npos) << uninterruptible;
}

TEST_F(GoPprof, ReadsWallProfile) {
  std::string file = write("wall.pb.gz", of(Signal::kWall));
  std::string wall = top("", file);
  SCOPED_TRACE(wall);
  EXPECT_NE(wall.find("Type: wall"), std::string::npos);
  EXPECT_NE(wall.find("of 147ms total"), std::string::npos);
  std::map<std::string, TopRow> rows = parse_top(wall);
  EXPECT_EQ(rows["schedule"].flat, "70ms");
  EXPECT_EQ(rows["compute"].flat, "56ms");
  EXPECT_EQ(rows["main"].flat, "20ms");
  EXPECT_EQ(rows["main"].cum, "90ms");
  EXPECT_EQ(rows["main"].cum_pct, "61.22%");
  std::string running = top("-tagfocus=state=running", file);
  EXPECT_NE(running.find("Showing nodes accounting for 70ms,"), std::string::npos) << running;

  // User frames only: the blocked stacks end in the user function.
  std::string user = top("", write("wall-user.pb.gz", of(Signal::kWall, true)));
  std::map<std::string, TopRow> user_rows = parse_top(user);
  EXPECT_EQ(user_rows["wait_fn"].flat, "70ms") << user;
  EXPECT_EQ(user_rows.count("schedule"), 0u) << user;
}

}  // namespace
}  // namespace flare::viewer
