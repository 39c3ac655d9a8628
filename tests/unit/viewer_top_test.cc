#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "tests/unit/viewer_test_support.h"
#include "viewer/top.h"

namespace flare::viewer {
namespace {

using testing::Json;
using testing::KnownRecording;
using testing::RecordingBuilder;

std::string top(const rec::Recording& rec, TopOptions options) {
  std::ostringstream out;
  Status st = write_top(rec, options, out);
  EXPECT_TRUE(st.is_ok()) << st.message();
  return out.str();
}

Json top_json(const rec::Recording& rec, TopOptions options) {
  options.json = true;
  std::string text = top(rec, options);
  Json j;
  EXPECT_TRUE(Json::parse(text, j)) << text;
  return j;
}

struct Row {
  std::string name;
  double flat, cum;
  bool operator==(const Row&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Row& r) {
  return os << "{" << r.name << ", " << r.flat << ", " << r.cum << "}";
}

std::vector<Row> rows(const Json& j) {
  std::vector<Row> out;
  for (const Json& f : j["functions"].arr()) out.push_back(Row{f["name"].str(), f["flat"].num(), f["cum"].num()});
  return out;
}

TEST(ViewerTop, FlatAndCumulativeWithRecursion) {
  KnownRecording k;
  Json j = top_json(k.rec(), TopOptions{.view = {}, .limit = 0});
  EXPECT_EQ(j["total_samples"].num(), 18);
  EXPECT_EQ(j["period_ns"].num(), 10'000'000);
  EXPECT_EQ(j["total_ns"].num(), 180'000'000);
  EXPECT_EQ(j["lost_events"].num(), 0);
  EXPECT_TRUE(j["finalized"].boolean());
  EXPECT_EQ(rows(j), (std::vector<Row>{
                         {"leaf", 8, 8},
                         {"[kernel] 0xffffffff81000200", 4, 4},
                         {"fib", 3, 3},  // three frames deep, three samples: cum counts each sample once
                         {"compute", 2, 14},
                         {"do_syscall_64", 1, 5},
                         {"main", 0, 17},
                         {"[libfoo.so+0x1abc]", 0, 4},
                     }));
}

TEST(ViewerTop, UserOnly) {
  KnownRecording k;
  Json j = top_json(k.rec(), TopOptions{.view = {.user_only = true}, .limit = 0});
  EXPECT_EQ(j["total_samples"].num(), 18);
  EXPECT_EQ(rows(j), (std::vector<Row>{
                         {"leaf", 8, 8},
                         {"[libfoo.so+0x1abc]", 4, 4},
                         {"fib", 3, 3},
                         {"compute", 2, 14},
                         {"[kernel]", 1, 1},
                         {"main", 0, 17},
                     }));
}

TEST(ViewerTop, LimitAndText) {
  KnownRecording k;
  k.b.rec.lost.push_back(rec::LostRecord{rec::LostCause::kRingBufferFull, 0, 7});
  std::string text = top(k.rec(), TopOptions{.view = {}, .limit = 2});
  EXPECT_EQ(text,
            "Total: 18 samples, 0.180s of CPU (10ms per sample, 100 Hz)\n"
            "Lost: 7 events were dropped during capture and are not counted (see flare info)\n"
            "Showing top 2 of 7 functions\n"
            "  flat   flat%    sum%    cum    cum%  function\n"
            "     8  44.44%  44.44%      8  44.44%  leaf\n"
            "     4  22.22%  66.67%      4  22.22%  [kernel] 0xffffffff81000200\n");
  Json j = top_json(k.rec(), TopOptions{.view = {}, .limit = 2});
  EXPECT_EQ(j["functions"].arr().size(), 2u);
  EXPECT_EQ(j["lost_events"].num(), 7);
}

TEST(ViewerTop, UnfinalizedIsFlagged) {
  KnownRecording k;
  k.b.rec.finalized = false;
  EXPECT_NE(top(k.rec(), {}).find("not finalized"), std::string::npos);
  EXPECT_FALSE(top_json(k.rec(), {})["finalized"].boolean());
}

TEST(ViewerTop, EmptyRecording) {
  RecordingBuilder b;
  Json j = top_json(b.rec, {});
  EXPECT_EQ(j["total_samples"].num(), 0);
  EXPECT_TRUE(j["functions"].arr().empty());
  EXPECT_NE(top(b.rec, {}).find("Total: 0 samples"), std::string::npos);
}

}  // namespace
}  // namespace flare::viewer
