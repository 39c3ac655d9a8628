#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "tests/unit/viewer_test_support.h"
#include "viewer/info.h"

namespace flare::viewer {
namespace {

using testing::Json;
using testing::KnownRecording;
using testing::RecordingBuilder;

std::string info(const rec::Recording& rec, bool json) {
  std::ostringstream out;
  Status st = write_info(rec, json, out);
  EXPECT_TRUE(st.is_ok()) << st.message();
  return out.str();
}

// The known recording plus what info is about beyond samples.
KnownRecording annotated() {
  KnownRecording k;
  rec::Recording& r = k.b.rec;
  r.header.targets.push_back(rec::TargetInfo{100, "./app --port 80"});
  r.lost.push_back(rec::LostRecord{rec::LostCause::kRingBufferFull, 0, 5});
  r.lost.push_back(rec::LostRecord{rec::LostCause::kRingBufferFull, 1, 2});
  r.lost.push_back(rec::LostRecord{rec::LostCause::kUserStackFailed, 1, 3});
  r.stats = {{"ring_bytes_read", 123456}, {"unwind_failures", 9}};
  r.blocks_read = 4;
  return k;
}

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

TEST(ViewerInfo, TextShowsThreadsLostAndUnresolved) {
  KnownRecording k = annotated();
  std::string text = info(k.rec(), false);
  SCOPED_TRACE(text);
  EXPECT_TRUE(contains(text, "Finalized:   yes"));
  EXPECT_FALSE(contains(text, "WARNING"));
  EXPECT_TRUE(contains(text, "Host:        testhost"));
  EXPECT_TRUE(contains(text, "Kernel:      6.18.0-test"));
  EXPECT_TRUE(contains(text, "pid 100  ./app --port 80"));
  EXPECT_TRUE(contains(text, "Events:      cpu"));
  EXPECT_TRUE(contains(text, "Frequency:   100 Hz (10ms per sample)"));
  EXPECT_TRUE(contains(text, "Started:     2023-11-14T22:13:20.000000Z"));
  EXPECT_TRUE(contains(text, "First:       +0.000s (2023-11-14T22:13:20.000000Z)"));
  EXPECT_TRUE(contains(text, "Last:        +2.020s (2023-11-14T22:13:22.020000Z)"));
  EXPECT_TRUE(contains(text, "Duration:    2.020s"));
  EXPECT_TRUE(contains(text, "Samples:     18\n"));
  EXPECT_TRUE(contains(text, "3 with samples, 3 known"));
  // tid, pid, samples, share, name; most samples first.
  EXPECT_TRUE(contains(text, "         100        100           10   55.56%  main\n"));
  EXPECT_TRUE(contains(text, "         101        100            7   38.89%  worker\n"));
  EXPECT_TRUE(contains(text, "         102        100            1    5.56%  tid-102\n"));
  EXPECT_LT(text.find("  main\n"), text.find("  worker\n"));
  EXPECT_TRUE(contains(text, "Lost:        10 events\n"));
  std::string ring = rec::lost_cause_name(rec::LostCause::kRingBufferFull);
  std::string ustack = rec::lost_cause_name(rec::LostCause::kUserStackFailed);
  EXPECT_TRUE(contains(text, "by cause:  " + ring + " 7, " + ustack + " 3"));
  EXPECT_TRUE(contains(text, "by cpu:    cpu0 5, cpu1 5"));
  EXPECT_TRUE(contains(text, "Unresolved:  2 of 7 distinct frames (user 1, kernel 1)"));
  EXPECT_TRUE(contains(text, "4 samples (22.22%) contain an unresolved user frame"));
  EXPECT_TRUE(contains(text, "ring_bytes_read  123456\n"));
  EXPECT_TRUE(contains(text, "unwind_failures  9\n"));
}

TEST(ViewerInfo, UnfinalizedWarns) {
  KnownRecording k = annotated();
  k.b.rec.finalized = false;
  std::string text = info(k.rec(), false);
  EXPECT_EQ(text.rfind("WARNING: this recording was not finalized", 0), 0u) << text;
  EXPECT_TRUE(contains(text, "Finalized:   NO"));
}

TEST(ViewerInfo, JsonCarriesTheSameFacts) {
  KnownRecording k = annotated();
  std::string text = info(k.rec(), true);
  Json j;
  ASSERT_TRUE(Json::parse(text, j)) << text;
  EXPECT_TRUE(j["finalized"].boolean());
  EXPECT_EQ(j["format"].str(), std::to_string(rec::kFormatMajor) + "." + std::to_string(rec::kFormatMinor));
  EXPECT_EQ(j["host"].str(), "testhost");
  EXPECT_EQ(j["targets"][0]["pid"].num(), 100);
  EXPECT_EQ(j["targets"][0]["command_line"].str(), "./app --port 80");
  EXPECT_EQ(j["events"][0].str(), "cpu");
  EXPECT_EQ(j["sample_frequency_hz"].num(), 100);
  EXPECT_EQ(j["sample_period_ns"].num(), 10'000'000);
  EXPECT_EQ(j["capture_start"]["wall"].str(), "2023-11-14T22:13:20.000000Z");
  EXPECT_EQ(j["first_sample"]["offset_ns"].num(), 0);
  EXPECT_EQ(j["last_sample"]["offset_ns"].num(), 2'020'000'000);
  EXPECT_EQ(j["last_sample"]["wall"].str(), "2023-11-14T22:13:22.020000Z");
  EXPECT_EQ(j["duration_ns"].num(), 2'020'000'000);
  EXPECT_EQ(j["total_samples"].num(), 18);

  const Json& threads = j["threads"];
  ASSERT_EQ(threads.arr().size(), 3u);
  EXPECT_EQ(threads[0]["tid"].num(), 100);
  EXPECT_EQ(threads[0]["name"].str(), "main");
  EXPECT_EQ(threads[0]["samples"].num(), 10);
  EXPECT_DOUBLE_EQ(threads[0]["percent"].num(), 55.56);
  EXPECT_EQ(threads[1]["samples"].num(), 7);
  EXPECT_EQ(threads[2]["name"].str(), "tid-102");
  EXPECT_EQ(threads[2]["samples"].num(), 1);

  EXPECT_EQ(j["lost"]["total"].num(), 10);
  ASSERT_EQ(j["lost"]["by_cause"].arr().size(), 2u);
  EXPECT_EQ(j["lost"]["by_cause"][0]["cause"].str(), rec::lost_cause_name(rec::LostCause::kRingBufferFull));
  EXPECT_EQ(j["lost"]["by_cause"][0]["count"].num(), 7);
  EXPECT_EQ(j["lost"]["by_cause"][1]["count"].num(), 3);
  ASSERT_EQ(j["lost"]["by_cpu"].arr().size(), 2u);
  EXPECT_EQ(j["lost"]["by_cpu"][0]["cpu"].num(), 0);
  EXPECT_EQ(j["lost"]["by_cpu"][0]["count"].num(), 5);
  EXPECT_EQ(j["lost"]["by_cpu"][1]["count"].num(), 5);

  EXPECT_EQ(j["unresolved"]["frames_in_samples"].num(), 7);
  EXPECT_EQ(j["unresolved"]["distinct_frames"].num(), 2);
  EXPECT_EQ(j["unresolved"]["user_frames"].num(), 1);
  EXPECT_EQ(j["unresolved"]["kernel_frames"].num(), 1);
  EXPECT_EQ(j["unresolved"]["samples_with_unresolved_user_frame"].num(), 4);

  ASSERT_EQ(j["stats"].arr().size(), 2u);
  EXPECT_EQ(j["stats"][0]["name"].str(), "ring_bytes_read");
  EXPECT_EQ(j["stats"][0]["value"].num(), 123456);
  EXPECT_EQ(j["blocks_read"].num(), 4);
}

TEST(ViewerInfo, EmptyRecordingAndNoClock) {
  RecordingBuilder b;
  b.rec.header.clock_realtime_ns = 0;
  std::string text = info(b.rec, false);
  EXPECT_TRUE(contains(text, "Samples:     0\n")) << text;
  EXPECT_FALSE(contains(text, "First:")) << text;
  Json j;
  ASSERT_TRUE(Json::parse(info(b.rec, true), j));
  EXPECT_TRUE(j["first_sample"].is_null());
  EXPECT_TRUE(j["capture_start"]["wall"].is_null());
  EXPECT_EQ(j["total_samples"].num(), 0);
}

TEST(ViewerInfo, HostileStringsStayValidJson) {
  RecordingBuilder b;
  b.rec.header.hostname = "quote\" back\\slash \x01 tab\t";
  b.rec.header.targets.push_back(rec::TargetInfo{1, std::string("bad \xff\xfe utf8 \xc3\xa9")});
  b.thread(1, 1, "new\nline");
  b.samples(1, 0, 1);
  Json j;
  std::string text = info(b.rec, true);
  ASSERT_TRUE(Json::parse(text, j)) << text;
  EXPECT_EQ(j["host"].str(), "quote\" back\\slash \x01 tab\t");
  EXPECT_EQ(j["targets"][0]["command_line"].str(), "bad \xef\xbf\xbd\xef\xbf\xbd utf8 \xc3\xa9");
  EXPECT_EQ(j["threads"][0]["name"].str(), "new\nline");
}

}  // namespace
}  // namespace flare::viewer
