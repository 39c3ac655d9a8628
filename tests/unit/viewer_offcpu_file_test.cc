// Off-CPU views of a recording that went through the real file format:
// OffCpuRecording written by the recorder and read back converts exactly as
// the in-memory one, so records 9 and 15 mean to the viewer what the writer
// meant by them.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>

#include "recorder/event_copier.h"
#include "recorder/reader.h"
#include "recorder/writer.h"
#include "tests/unit/go_pprof_for_tests.h"
#include "tests/unit/viewer_test_support.h"
#include "viewer/folded.h"
#include "viewer/info.h"
#include "viewer/top.h"

namespace flare::viewer {
namespace {

using testing::OffCpuRecording;

rec::Recording through_file(const rec::Recording& in, const std::string& path) {
  auto writer = rec::RecordingWriter::create(path, in.header);
  EXPECT_TRUE(writer.is_ok()) << writer.status().message();
  const rec::Recording* inputs[] = {&in};
  Status copied = rec::copy_events(inputs, {}, **writer);
  EXPECT_TRUE(copied.is_ok()) << copied.message();
  Status finished = (*writer)->finish();
  EXPECT_TRUE(finished.is_ok()) << finished.message();
  auto out = rec::read_recording(path);
  EXPECT_TRUE(out.is_ok()) << out.status().message();
  return std::move(out).value();
}

std::string views(const rec::Recording& rec) {
  std::ostringstream out;
  for (Signal signal : {Signal::kCpu, Signal::kOffCpu, Signal::kWall}) {
    EXPECT_TRUE(write_folded(rec, ViewOptions{.signal = signal}, out).is_ok());
    EXPECT_TRUE(write_top(rec, TopOptions{.view = {.signal = signal}, .limit = 0, .json = true}, out).is_ok());
  }
  return out.str();
}

TEST(ViewerOffCpuFile, RoundTripConvertsTheSame) {
  ::flare::testing::TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  OffCpuRecording k;
  rec::Recording read = through_file(k.rec(), dir.path + "/offcpu.flare");
  EXPECT_EQ(read.offcpu.size(), 7u);
  EXPECT_EQ(read.offcpu_totals.size(), 3u);
  EXPECT_EQ(views(read), views(k.rec()));

  // info's off-CPU facts (JSON, minus what only the file has: sizes, chunks).
  std::ostringstream info;
  ASSERT_TRUE(write_info(read, true, info).is_ok());
  testing::Json j;
  ASSERT_TRUE(testing::Json::parse(info.str(), j)) << info.str();
  EXPECT_EQ(j["offcpu"]["intervals"].num(), 26);
  EXPECT_EQ(j["offcpu"]["blocked_ns"].num(), 63'750'000);
  EXPECT_EQ(j["offcpu"]["min_ns"].num(), 1'000'000);
}

}  // namespace
}  // namespace flare::viewer
