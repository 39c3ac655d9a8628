#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "agent/kernel_symbolizer.h"

namespace flare::agent {
namespace {

constexpr const char* kCrafted =
    "ffffffff81000000 T _stext\n"
    "ffffffff81000000 T _text\n"
    "ffffffff81001000 t do_one_initcall\n"
    "ffffffff81002000 D some_data\n"        // data: ignored
    "ffffffff81003000 b some_bss\n"         // bss: ignored
    "ffffffff81004000 W weak_function\n"
    "ffffffff81000800 T unsorted_function\n"  // kallsyms is not strictly sorted
    "ffffffffc0001000 t ext4_read\t[ext4]\n"
    "ffffffffc0002000 T bpf_prog_abc_handler\t[bpf]\n"
    "not a line\n";

TEST(KernelSymbolizer, ResolvesNearestPrecedingTextSymbol) {
  KernelSymbolizer kernel = KernelSymbolizer::parse(kCrafted);
  EXPECT_TRUE(kernel.addresses_visible());
  EXPECT_EQ(kernel.size(), 7u);

  EXPECT_EQ(kernel.resolve(0xffffffff81000000).function, "_stext") << "first listed alias";
  EXPECT_EQ(kernel.resolve(0xffffffff81000010).function, "_stext");
  EXPECT_EQ(kernel.resolve(0xffffffff81000900).function, "unsorted_function");
  EXPECT_EQ(kernel.resolve(0xffffffff81001234).function, "do_one_initcall");
  EXPECT_EQ(kernel.resolve(0xffffffff81002100).function, "do_one_initcall") << "data symbols are skipped";
  EXPECT_EQ(kernel.resolve(0xffffffff81004010).function, "weak_function");
  SourceSymbol module = kernel.resolve(0xffffffffc0001010);
  EXPECT_TRUE(module.resolved);
  EXPECT_EQ(module.function, "ext4_read [ext4]");
  EXPECT_EQ(kernel.resolve(0xffffffffc0002001).function, "bpf_prog_abc_handler [bpf]");

  SourceSymbol below = kernel.resolve(0xffffffff80000000);
  EXPECT_FALSE(below.resolved);
  EXPECT_TRUE(below.function.empty());
}

TEST(KernelSymbolizer, HiddenAddressesResolveToNothing) {
  // What an unprivileged reader sees with kptr_restrict set.
  KernelSymbolizer kernel = KernelSymbolizer::parse(
      "0000000000000000 T _stext\n"
      "0000000000000000 t do_one_initcall\n"
      "0000000000000000 t ext4_read\t[ext4]\n");
  EXPECT_FALSE(kernel.addresses_visible());
  EXPECT_FALSE(kernel.resolve(0xffffffff81001234).resolved);
  EXPECT_FALSE(kernel.resolve(0).resolved);
}

TEST(KernelSymbolizer, LoadsFromAFile) {
  char path[] = "/tmp/flare-kallsyms-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string text = kCrafted;
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  auto kernel = KernelSymbolizer::load(path);
  ::unlink(path);
  ASSERT_TRUE(kernel.is_ok()) << kernel.status().message();
  EXPECT_EQ(kernel->resolve(0xffffffff81001234).function, "do_one_initcall");

  auto missing = KernelSymbolizer::load("/nonexistent/kallsyms");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
}

TEST(KernelSymbolizer, RealKallsyms) {
  auto kernel = KernelSymbolizer::load();
  if (!kernel.is_ok()) GTEST_SKIP() << kernel.status().message();
  EXPECT_GT(kernel->size(), 1000u);

  // Find a well-known function's address independently, by a plain scan.
  std::ifstream in("/proc/kallsyms");
  std::string line;
  uint64_t schedule = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string address, type, name;
    fields >> address >> type >> name;
    if (name == "schedule" && (type == "T" || type == "t")) {
      schedule = std::stoull(address, nullptr, 16);
      break;
    }
  }
  if (!kernel->addresses_visible()) {
    EXPECT_EQ(schedule, 0u);
    EXPECT_FALSE(kernel->resolve(0xffffffff81000000).resolved);
    GTEST_SKIP() << "kallsyms addresses hidden (kptr_restrict or no CAP_SYSLOG)";
  }
  ASSERT_NE(schedule, 0u);
  SourceSymbol symbol = kernel->resolve(schedule + 1);
  EXPECT_TRUE(symbol.resolved);
  EXPECT_EQ(symbol.function, "schedule");
}

}  // namespace
}  // namespace flare::agent
