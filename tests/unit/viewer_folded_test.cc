#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "tests/unit/viewer_test_support.h"
#include "viewer/folded.h"

namespace flare::viewer {
namespace {

using testing::KnownRecording;
using testing::RecordingBuilder;

std::string folded(const rec::Recording& rec, ViewOptions options = {}) {
  std::ostringstream out;
  Status st = write_folded(rec, options, out);
  EXPECT_TRUE(st.is_ok()) << st.message();
  return out.str();
}

TEST(ViewerFolded, KnownRecordingExactText) {
  KnownRecording k;
  EXPECT_EQ(folded(k.rec()),
            "main;main;compute 2\n"
            "main;main;compute;leaf 5\n"
            "main;main;fib;fib;fib 3\n"
            "tid-102;do_syscall_64_[k] 1\n"
            "worker;main;compute;[libfoo.so+0x1abc];do_syscall_64_[k];[kernel] 0xffffffff81000200 4\n"
            "worker;main;compute;leaf 3\n");
}

TEST(ViewerFolded, UserOnly) {
  KnownRecording k;
  EXPECT_EQ(folded(k.rec(), ViewOptions{.user_only = true}),
            "main;main;compute 2\n"
            "main;main;compute;leaf 5\n"
            "main;main;fib;fib;fib 3\n"
            "tid-102;[kernel] 1\n"
            "worker;main;compute;[libfoo.so+0x1abc] 4\n"
            "worker;main;compute;leaf 3\n");
}

TEST(ViewerFolded, LinesThatPrintAlikeMerge) {
  RecordingBuilder b;
  uint32_t m = b.mapping(1, 0x1000, 0x9000, 0, "/bin/x");
  uint32_t work_a = b.user_function("work", m, 0x1100);
  uint32_t work_b = b.user_function("work", m, 0x1200);
  b.thread(1, 10, "pool");
  b.thread(1, 11, "pool");
  b.samples(10, b.stack({work_a}), 2);
  b.samples(11, b.stack({work_b}), 3);
  EXPECT_EQ(folded(b.rec), "pool;work 5\n");
}

TEST(ViewerFolded, SeparatorsInNamesAreReplaced) {
  RecordingBuilder b;
  uint32_t f = b.user_function("weird;name\nhere", 0, 0x10);
  b.thread(1, 1, "t;1");
  b.samples(1, b.stack({f}), 1);
  b.samples(1, 0, 2);
  EXPECT_EQ(folded(b.rec), "t:1;[no stack] 2\nt:1;weird:name here 1\n");
}

TEST(ViewerFolded, EmptyRecordingIsEmpty) {
  RecordingBuilder b;
  EXPECT_EQ(folded(b.rec), "");
}

}  // namespace
}  // namespace flare::viewer
