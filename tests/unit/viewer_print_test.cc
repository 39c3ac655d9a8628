// flare print's listing: every event once, in time order, with the fields
// and stacks the recording holds, filtered by type, thread and time.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "tests/unit/viewer_test_support.h"
#include "viewer/event_listing.h"

namespace flare::viewer {
namespace {

using testing::Json;
using testing::KnownRecording;
using testing::OffCpuRecording;

std::string listing(const rec::Recording& rec, const ListingOptions& options) {
  std::ostringstream out;
  Status st = write_event_listing(rec, options, out);
  EXPECT_TRUE(st.is_ok()) << st.message();
  return out.str();
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

Json listing_json(const rec::Recording& rec, ListingOptions options) {
  options.json = true;
  std::string text = listing(rec, options);
  Json doc;
  EXPECT_TRUE(Json::parse(text, doc)) << text.substr(0, 2000);
  return doc;
}

TEST(ViewerPrint, TextListsEverySampleWithItsStack) {
  KnownRecording k;
  std::string text = listing(k.rec(), {});
  EXPECT_EQ(count_of(text, "cpu {\n"), k.rec().samples.size());
  // The first event is main's first sample of s1, at the capture start.
  EXPECT_EQ(text.rfind("cpu {\n  time = +0.000000000s (2023-11-14T22:13:20.000000Z)\n  thread = \"main\" (tid 100, pid 100)\n"
                       "  cpu = 0\n  stack = [\n    leaf  /src/leaf.cc:30\n    compute  /src/compute.cc:20\n"
                       "    main  /src/main.cc:10\n  ]\n}\n",
                       0),
            0u)
      << text.substr(0, 500);
  EXPECT_NE(text.find("    [kernel] 0xffffffff81000200\n    do_syscall_64\n    [libfoo.so+0x1abc]\n"), std::string::npos);
}

TEST(ViewerPrint, FiltersByTypeThreadAndTime) {
  KnownRecording k;
  ListingOptions by_tid;
  by_tid.tid = 101;
  std::string text = listing(k.rec(), by_tid);
  EXPECT_EQ(count_of(text, "cpu {\n"), 3u + 4u);
  EXPECT_EQ(count_of(text, "(tid 101,"), 7u);

  ListingOptions window;  // samples at +2.00, +2.01, +2.02 s are main's s5
  window.from_ns = 2'000'000'000;
  window.to_ns = 2'015'000'000;
  text = listing(k.rec(), window);
  EXPECT_EQ(count_of(text, "cpu {\n"), 2u);
  EXPECT_EQ(count_of(text, "    fib  /src/fib.cc:40\n"), 6u);

  ListingOptions stats_only;
  stats_only.types = {"stat"};
  KnownRecording with_stats;
  with_stats.b.rec.stats.emplace_back("samples_received", 18);
  EXPECT_EQ(listing(with_stats.rec(), stats_only), "stat {\n  name = \"samples_received\"\n  value = 18\n}\n");
}

TEST(ViewerPrint, UnknownTypeIsAnErrorListingTheValidOnes) {
  auto types = parse_listing_types("cpu,bogus");
  ASSERT_FALSE(types.is_ok());
  EXPECT_EQ(types.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(types.status().message().find("'bogus'"), std::string::npos);
  EXPECT_NE(types.status().message().find("offcpu_total"), std::string::npos);
  auto ok = parse_listing_types("cpu,offcpu");
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(ok->size(), 2u);
}

TEST(ViewerPrint, JsonHasEveryOffCpuIntervalWithItsDurations) {
  OffCpuRecording o;
  ListingOptions options;
  options.types = {"offcpu", "offcpu_total"};
  Json doc = listing_json(o.rec(), options);
  const Json::Array& events = doc["events"].arr();
  ASSERT_EQ(events.size(), o.rec().offcpu.size() + o.rec().offcpu_totals.size());
  uint64_t total_ns = 0, expected_ns = 0, last_time = 0;
  size_t intervals = 0;
  for (const Json& e : events) {
    uint64_t time = static_cast<uint64_t>(e["time_ns"].num());
    EXPECT_GE(time, last_time) << "not in time order";
    last_time = time;
    if (e["type"].str() != "offcpu") continue;
    ++intervals;
    uint64_t d = static_cast<uint64_t>(e["duration_ns"].num());
    EXPECT_EQ(d, static_cast<uint64_t>(e["blocked_ns"].num() + e["runq_ns"].num()));
    total_ns += d;
    EXPECT_EQ(e["thread"]["pid"].num(), 200);
    if (!e["waker"].is_null()) {
      EXPECT_EQ(e["waker"]["name"].str(), "writer");
      EXPECT_EQ(e["waker_stack"][0]["function"].str(), "writer_fn");
    }
  }
  for (const rec::OffCpuInterval& iv : o.rec().offcpu) expected_ns += iv.blocked_ns + iv.runq_ns;
  EXPECT_EQ(intervals, o.rec().offcpu.size());
  EXPECT_EQ(total_ns, expected_ns);
  EXPECT_EQ(events[0]["stack"][0]["function"].str(), "schedule");
  EXPECT_EQ(events[0]["stack"][0]["kind"].str(), "kernel");
}

}  // namespace
}  // namespace flare::viewer
