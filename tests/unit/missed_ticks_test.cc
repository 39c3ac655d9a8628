#include "agent/missed_ticks.h"

#include <gtest/gtest.h>

#include "agent/cpu_idle_time.h"

namespace flare::agent {
namespace {

constexpr uint64_t kPeriod = 10'000'000;  // 100 Hz
constexpr uint64_t kSecond = 1'000'000'000;

TEST(MissedTicks, IdleTimeIsNotDue) {
  // 5 s enabled, 4 s idle: 100 ticks due while busy, all ran.
  TickAccount a = account_busy_ticks(5 * kSecond, 4 * kSecond, 100, kPeriod);
  EXPECT_EQ(a.due, 100u);
  EXPECT_EQ(a.missed, 0u);
}

TEST(MissedTicks, ShortfallBeyondResolutionIsReported) {
  TickAccount a = account_busy_ticks(5 * kSecond, 0, 400, kPeriod);
  EXPECT_EQ(a.due, 500u);
  EXPECT_EQ(a.missed, 100u);
}

TEST(MissedTicks, ShortfallWithinResolutionIsNot) {
  // 500 due: tolerance 3 + 10 ticks.
  EXPECT_EQ(account_busy_ticks(5 * kSecond, 0, 487, kPeriod).missed, 0u);
  EXPECT_EQ(account_busy_ticks(5 * kSecond, 0, 486, kPeriod).missed, 14u);
}

TEST(MissedTicks, IdleLongerThanEnabledMeansNothingDue) {
  // /proc/stat's 10 ms resolution can put idle a little over the event's clock.
  TickAccount a = account_busy_ticks(kSecond, kSecond + 5'000'000, 0, kPeriod);
  EXPECT_EQ(a.due, 0u);
  EXPECT_EQ(a.missed, 0u);
}

TEST(CpuIdleTime, ParsesPerCpuIdleAndIowait) {
  const char* stat =
      "cpu  10 0 10 900 20 0 0 0 0 0\n"
      "cpu0 5 0 5 400 10 0 0 0 0 0\n"
      "cpu1 5 0 5 500 10 0 0 0 0 0\n"
      "intr 12345 0 0\n"
      "ctxt 999\n";
  auto idle = parse_cpu_idle_ns(stat, 100);
  ASSERT_TRUE(idle.is_ok()) << idle.status().message();
  ASSERT_EQ(idle->size(), 2u);
  EXPECT_EQ(idle->at(0), 4'100'000'000u);
  EXPECT_EQ(idle->at(1), 5'100'000'000u);
}

TEST(CpuIdleTime, RejectsGarbage) {
  EXPECT_FALSE(parse_cpu_idle_ns("cpu0 1 2\n", 100).is_ok());
  EXPECT_FALSE(parse_cpu_idle_ns("cpu0 a b c d e\n", 100).is_ok());
  EXPECT_FALSE(parse_cpu_idle_ns("intr 1\n", 100).is_ok());
  EXPECT_FALSE(parse_cpu_idle_ns("cpu0 1 1 1 1 1\n", 0).is_ok());
}

TEST(CpuIdleTime, ThisMachineHasIdleTimes) {
  auto idle = read_cpu_idle_ns();
  ASSERT_TRUE(idle.is_ok()) << idle.status().message();
  EXPECT_FALSE(idle->empty());
}

}  // namespace
}  // namespace flare::agent
