// The flight recorder's CPU trigger: one dump per episode of high CPU use,
// fed with synthetic observations, and the /proc reader behind it.
#include "agent/cpu_use_trigger.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace flare::agent {
namespace {

constexpr uint64_t kSecond = 1'000'000'000ull;

TEST(CpuUseTriggerTest, FiresOnceAfterUseStaysAboveForTheDuration) {
  CpuUseTrigger trigger(50, 3 * kSecond);
  uint64_t cpu = 0;
  auto step = [&](uint64_t second, double share) {
    cpu += static_cast<uint64_t>(share * kSecond);
    return trigger.observe(second * kSecond, cpu);
  };
  EXPECT_FALSE(step(0, 0));
  EXPECT_FALSE(step(1, 0.9));
  EXPECT_FALSE(step(2, 0.9));
  EXPECT_FALSE(step(3, 0.2)) << "a dip restarts the episode";
  EXPECT_FALSE(step(4, 0.9));
  EXPECT_FALSE(step(5, 0.9));
  EXPECT_TRUE(step(6, 0.9)) << "above 50% from 3 s to 6 s";
  EXPECT_NEAR(trigger.last_percent(), 90, 0.01);
  EXPECT_FALSE(step(7, 0.9)) << "one dump per episode";
  EXPECT_FALSE(step(10, 0.9));
  EXPECT_FALSE(step(11, 0.1));
  EXPECT_FALSE(step(12, 1.5));
  EXPECT_FALSE(step(13, 1.5));
  EXPECT_TRUE(step(15, 1.5)) << "a new episode fires again; 150% of one CPU counts";
}

TEST(CpuUseTriggerTest, ReadsThisProcessCpuTime) {
  auto cpu = read_process_cpu_ns(static_cast<uint32_t>(getpid()));
  ASSERT_TRUE(cpu.is_ok()) << cpu.status().message();
  EXPECT_FALSE(read_process_cpu_ns(0x7ffffff0).is_ok());
}

}  // namespace
}  // namespace flare::agent
