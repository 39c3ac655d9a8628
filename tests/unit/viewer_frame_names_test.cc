#include <gtest/gtest.h>

#include "tests/unit/viewer_test_support.h"
#include "viewer/frame_names.h"
#include "viewer/sample_counts.h"
#include "viewer/view_stack.h"

namespace flare::viewer {
namespace {

using testing::RecordingBuilder;

TEST(ViewerFrameNames, DisplayNames) {
  RecordingBuilder b;
  uint32_t lib = b.mapping(1, 0x7f0000000000, 0x7f0000100000, 0x2000, "/usr/lib/libc.so.6");
  uint32_t vdso = b.mapping(1, 0x7fff0000, 0x7fff2000, 0, "[vdso]");
  uint32_t anon = b.mapping(1, 0x9000000, 0x9100000, 0, "");
  const rec::Recording& r = b.rec;
  auto name = [&](uint32_t frame) { return frame_display_name(r, r.frames[frame]); };

  EXPECT_EQ(name(b.user_function("malloc", lib, 0x7f0000000010)), "malloc");
  EXPECT_EQ(name(b.user_address(lib, 0x7f0000000010)), "[libc.so.6+0x2010]");
  EXPECT_EQ(name(b.user_address(vdso, 0x7fff0100)), "[vdso+0x100]");
  EXPECT_EQ(name(b.user_address(anon, 0x9000040)), "[unknown] 0x9000040");
  EXPECT_EQ(name(b.user_address(0, 0x1234)), "[unknown] 0x1234");
  EXPECT_EQ(name(b.user_address(lib, 0x10)), "[unknown] 0x10");  // below its mapping: no fake offset
  EXPECT_EQ(name(b.kernel_function("schedule", 0xffffffff81000000)), "schedule");
  EXPECT_EQ(name(b.kernel_address(0xffffffff81000000)), "[kernel] 0xffffffff81000000");

  // Flagged resolved but nameless is not resolved.
  uint32_t nameless = b.user_address(lib, 0x7f0000000020);
  b.rec.frames[nameless].flags = rec::kFrameResolved;
  EXPECT_FALSE(frame_is_resolved(r, r.frames[nameless]));
  EXPECT_EQ(name(nameless), "[libc.so.6+0x2020]");
}

TEST(ViewerFrameNames, ThreadNames) {
  RecordingBuilder b;
  b.thread(1, 1, "server");
  b.thread(1, 2, "");
  EXPECT_EQ(thread_display_name(b.rec, 1), "server");
  EXPECT_EQ(thread_display_name(b.rec, 2), "tid-2");
  EXPECT_EQ(thread_display_name(b.rec, 3), "tid-3");
}

TEST(ViewerViewStack, FiltersAndPlaceholders) {
  RecordingBuilder b;
  uint32_t k = b.kernel_function("schedule", 0xffffffff81000000);
  uint32_t u = b.user_function("main", 0, 0x1000);
  uint32_t both = b.stack({k, u});
  uint32_t kernel_only = b.stack({k});
  uint32_t bad_ids = b.stack({999, u});
  std::vector<uint32_t> frames;
  EXPECT_EQ(view_stack(b.rec, both, {}, frames), "");
  EXPECT_EQ(frames, (std::vector<uint32_t>{k, u}));
  EXPECT_EQ(view_stack(b.rec, both, {.user_only = true}, frames), "");
  EXPECT_EQ(frames, std::vector<uint32_t>{u});
  EXPECT_EQ(view_stack(b.rec, kernel_only, {.user_only = true}, frames), kKernelOnlyPlaceholder);
  EXPECT_TRUE(frames.empty());
  EXPECT_EQ(view_stack(b.rec, 0, {}, frames), kNoStackPlaceholder);
  EXPECT_EQ(view_stack(b.rec, 12345, {}, frames), kNoStackPlaceholder);
  EXPECT_EQ(view_stack(b.rec, bad_ids, {}, frames), "");
  EXPECT_EQ(frames, std::vector<uint32_t>{u});
}

TEST(ViewerSampleCounts, AggregatesInFirstSeenOrder) {
  std::vector<rec::CpuSample> samples;
  // Enough distinct keys to force the table to grow several times.
  for (uint32_t round = 0; round < 3; ++round) {
    for (uint32_t stack = 1; stack <= 3000; ++stack) samples.push_back(rec::CpuSample{0, stack % 7, stack, 0});
  }
  samples.push_back(rec::CpuSample{0, 5, 1, 0});  // same stack, other thread
  std::vector<StackThreadCount> counts = count_by_stack_and_thread(samples);
  ASSERT_EQ(counts.size(), 3001u);
  for (uint32_t i = 0; i < 3000; ++i) {
    EXPECT_EQ(counts[i].stack, i + 1);
    EXPECT_EQ(counts[i].tid, (i + 1) % 7);
    EXPECT_EQ(counts[i].count, 3u);
  }
  EXPECT_EQ(counts[3000].stack, 1u);
  EXPECT_EQ(counts[3000].tid, 5u);
  EXPECT_EQ(counts[3000].count, 1u);
}

TEST(ViewerSampleCounts, ByStackFoldsUnknownIdsIntoEmptyStack) {
  RecordingBuilder b;
  uint32_t s = b.stack({b.user_function("f", 0, 1)});
  b.samples(1, s, 4);
  b.samples(1, 77, 2);
  std::vector<uint64_t> counts = count_by_stack(b.rec);
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0], 2u);
  EXPECT_EQ(counts[s], 4u);
}

}  // namespace
}  // namespace flare::viewer
