#include "common/duration.h"

#include <gtest/gtest.h>

namespace flare {
namespace {

TEST(Duration, ParsesUnits) {
  EXPECT_EQ(*parse_duration_ns("500ms"), 500'000'000ull);
  EXPECT_EQ(*parse_duration_ns("30s"), 30'000'000'000ull);
  EXPECT_EQ(*parse_duration_ns("2m"), 120'000'000'000ull);
  EXPECT_EQ(*parse_duration_ns("1h"), 3600'000'000'000ull);
  EXPECT_EQ(*parse_duration_ns("250us"), 250'000ull);
  EXPECT_EQ(*parse_duration_ns("10ns"), 10ull);
  EXPECT_EQ(*parse_duration_ns("1.5s"), 1'500'000'000ull);
}

TEST(Duration, RejectsBadInput) {
  for (const char* bad : {"", "5", "s", "5x", "-1s", "5 s", "1..2s", "0s", "ms5", "1e3s"}) {
    auto d = parse_duration_ns(bad);
    EXPECT_FALSE(d.is_ok()) << bad;
    if (!d.is_ok()) {
      EXPECT_EQ(d.status().code(), ErrorCode::kInvalidArgument) << bad;
    }
  }
}

TEST(Duration, FormatsReadably) {
  EXPECT_EQ(format_duration_ns(30'000'000'000ull), "30s");
  EXPECT_EQ(format_duration_ns(500'000'000ull), "500ms");
  EXPECT_EQ(format_duration_ns(1'500'000'000ull), "1.500s");
}

}  // namespace
}  // namespace flare
