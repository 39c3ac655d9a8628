// flare record's status line text: what it lists for each kind of capture.
#include <gtest/gtest.h>

#include "agent/capture_progress.h"

namespace flare::agent {
namespace {

TEST(CaptureProgress, ListsOnlyTheRecordedSignals) {
  CaptureProgress p;
  p.elapsed_ns = 12'049'000'000;
  p.duration_ns = 30'000'000'000;
  p.cpu = true;
  p.samples = 1188;
  p.thread_events = 3;
  p.bytes = 1'258'291;  // 1.2 MiB
  EXPECT_EQ(format_capture_progress(p), "12.0s/30.0s  cpu 1188  threads 3  drops 0  1.2 MiB");

  p.offcpu = true;
  p.offcpu_intervals = 412;
  p.alloc = true;
  p.alloc_samples = 50;
  p.alloc_frees = 20;
  p.ring_drops = 7;
  p.bytes = 900;
  EXPECT_EQ(format_capture_progress(p),
            "12.0s/30.0s  cpu 1188  offcpu 412  alloc 50  free 20  threads 3  drops 7  900 B");
}

TEST(CaptureProgress, WithoutDurationShowsElapsedOnly) {
  CaptureProgress p;
  p.elapsed_ns = 65'500'000'000;
  p.offcpu = true;
  p.offcpu_intervals = 2;
  p.bytes = 3ull << 30;
  EXPECT_EQ(format_capture_progress(p), "65.5s  offcpu 2  threads 0  drops 0  3.0 GiB");
}

}  // namespace
}  // namespace flare::agent
