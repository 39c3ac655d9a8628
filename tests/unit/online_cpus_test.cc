#include "agent/online_cpus.h"

#include <gtest/gtest.h>

namespace flare::agent {
namespace {

TEST(OnlineCpus, ParsesKernelCpuLists) {
  EXPECT_EQ(*parse_cpu_list("0-3\n"), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(*parse_cpu_list("0,2,4-5"), (std::vector<int>{0, 2, 4, 5}));
  EXPECT_EQ(*parse_cpu_list("7"), (std::vector<int>{7}));
  EXPECT_FALSE(parse_cpu_list("").is_ok());
  EXPECT_FALSE(parse_cpu_list("3-1").is_ok());
  EXPECT_FALSE(parse_cpu_list("a").is_ok());
}

TEST(OnlineCpus, ThisMachineHasSome) {
  auto cpus = online_cpus();
  ASSERT_TRUE(cpus.is_ok()) << cpus.status().message();
  EXPECT_FALSE(cpus->empty());
}

}  // namespace
}  // namespace flare::agent
