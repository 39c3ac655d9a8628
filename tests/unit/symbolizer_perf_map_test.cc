// JIT perf maps: the line format, the namespace PID, reading a file that
// grows while it is read, and ProcessSymbolizer using it for code outside
// any ELF file.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "agent/perf_map.h"
#include "agent/process_symbolizer.h"

namespace flare::agent {
namespace {

class TempFile {
 public:
  TempFile() {
    char templ[] = "/tmp/flare-perf-map-test-XXXXXX";
    int fd = mkstemp(templ);
    path_ = templ;
    ::close(fd);
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }
  void append(const std::string& text) const {
    FILE* f = std::fopen(path_.c_str(), "a");
    ASSERT_NE(f, nullptr);
    std::fputs(text.c_str(), f);
    std::fclose(f);
  }
  std::unique_ptr<PerfMap> open() const {
    return std::make_unique<PerfMap>(UniqueFd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC)));
  }

 private:
  std::string path_;
};

TEST(PerfMapLine, NodeJvmAndPythonLines) {
  // node --perf-basic-prof: names carry spaces and the script position.
  auto node = parse_perf_map_line("3a8f2c0e4b40 1c8 JS:*hotFunction /tmp/app.js:3:21");
  ASSERT_TRUE(node.has_value());
  EXPECT_EQ(node->start, 0x3a8f2c0e4b40u);
  EXPECT_EQ(node->size, 0x1c8u);
  EXPECT_EQ(node->name, "JS:*hotFunction /tmp/app.js:3:21");
  // perf-map-agent and Python write 0x-less hex too; 0x is accepted.
  auto jvm = parse_perf_map_line("0x7f0010a0 0x40 Ljava/lang/String;::hashCode");
  ASSERT_TRUE(jvm.has_value());
  EXPECT_EQ(jvm->start, 0x7f0010a0u);
  EXPECT_EQ(jvm->size, 0x40u);
  EXPECT_EQ(jvm->name, "Ljava/lang/String;::hashCode");
  auto python = parse_perf_map_line("7f3e5c1a0000 b py::work:/srv/app.py\r");
  ASSERT_TRUE(python.has_value());
  EXPECT_EQ(python->name, "py::work:/srv/app.py");
}

TEST(PerfMapLine, MalformedLinesAreRejected) {
  for (const char* line : {"", "zz 10 name", "1000", "1000 10", "1000 0 empty", "1000 10", "1000  10 x",
                           "ffffffffffffffff 10 wraps"}) {
    EXPECT_FALSE(parse_perf_map_line(line).has_value()) << line;
  }
}

TEST(PerfMapNamespacePid, InnermostNamespaceWins) {
  EXPECT_EQ(parse_namespace_pid("Name:\tnode\nTgid:\t4242\nNSpid:\t4242\t17\t1\nNSsid:\t1\n"), 1u);
  EXPECT_EQ(parse_namespace_pid("Name:\tnode\nNSpid:\t4242\n"), 4242u);
  EXPECT_FALSE(parse_namespace_pid("Name:\tnode\nPid:\t4242\n").has_value());
  EXPECT_FALSE(parse_namespace_pid("XNSpid:\t3\n").has_value());
}

TEST(PerfMap, ReadsWhatTheJitAppendsIncludingAHalfWrittenLine) {
  TempFile file;
  file.append("1000 100 first\n2000 80 sec");
  auto map = file.open();
  ASSERT_TRUE(map->read_appended().is_ok());
  ASSERT_NE(map->find(0x1000), nullptr);
  EXPECT_EQ(*map->find(0x10ff), "first");
  EXPECT_EQ(map->find(0x1100), nullptr);
  EXPECT_EQ(map->find(0x2000), nullptr) << "the line is not finished yet";

  file.append("ond\n3000 10 third\n");
  ASSERT_TRUE(map->read_appended().is_ok());
  ASSERT_NE(map->find(0x2010), nullptr);
  EXPECT_EQ(*map->find(0x2010), "second");
  EXPECT_EQ(*map->find(0x3000), "third");
  EXPECT_EQ(map->size(), 3u);
  EXPECT_EQ(map->find(0xfff), nullptr);
}

TEST(PerfMap, NewerCodeReplacesWhatItOverlaps) {
  TempFile file;
  file.append("1000 100 old_a\n1100 100 old_b\n1080 100 new_ab\n1400 100 big\n1440 10 inside\n");
  auto map = file.open();
  ASSERT_TRUE(map->read_appended().is_ok());
  EXPECT_EQ(*map->find(0x1000), "old_a");
  EXPECT_EQ(*map->find(0x107f), "old_a");
  EXPECT_EQ(*map->find(0x1080), "new_ab");
  EXPECT_EQ(*map->find(0x117f), "new_ab");
  EXPECT_EQ(*map->find(0x1180), "old_b");
  EXPECT_EQ(*map->find(0x1400), "big");
  EXPECT_EQ(*map->find(0x1445), "inside");
  EXPECT_EQ(*map->find(0x1450), "big");
  EXPECT_EQ(map->find(0x1500), nullptr);
}

TEST(PerfMap, OwnProcessMapIsFoundUnderItsNamespacePid) {
  // This test process is in the agent's namespaces: /tmp/perf-<pid>.map.
  std::string path = "/tmp/perf-" + std::to_string(getpid()) + ".map";
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("5000 20 JS:~mine /tmp/x.js:1:1\n", f);
  std::fclose(f);
  auto opened = open_perf_map(static_cast<uint32_t>(getpid()));
  ::unlink(path.c_str());
  ASSERT_TRUE(opened.is_ok()) << opened.status().message();
  // Deleted by now, but the descriptor is held.
  ASSERT_TRUE((*opened)->read_appended().is_ok());
  ASSERT_NE((*opened)->find(0x5010), nullptr);
  EXPECT_EQ(*(*opened)->find(0x5010), "JS:~mine /tmp/x.js:1:1");

  auto none = open_perf_map(static_cast<uint32_t>(getpid()));
  EXPECT_FALSE(none.is_ok());
}

TEST(ProcessSymbolizerJit, AnonymousCodeIsNamedFromThePerfMapAsItGrows) {
  TempFile file;
  file.append("7000 100 JS:*early /app.js:1:1\n");
  MapEntry jit;
  jit.start = 0x7000;
  jit.end = 0x9000;
  jit.perms = "rwxp";
  int opens = 0;
  ProcessSymbolizerOptions options;
  options.read_maps = [&](uint32_t) -> Result<std::vector<MapEntry>> { return std::vector<MapEntry>{jit}; };
  options.open_perf_map = [&](uint32_t pid) -> Result<std::unique_ptr<PerfMap>> {
    EXPECT_EQ(pid, 42u);
    ++opens;
    return file.open();
  };
  uint64_t now = 0;
  options.now_ns = [&] { return now; };
  ProcessSymbolizer symbolizer(42, options);

  UserFrame early = symbolizer.resolve(0x7010);
  ASSERT_NE(early.mapping, nullptr);
  EXPECT_TRUE(early.symbol.resolved);
  EXPECT_EQ(early.symbol.function, "JS:*early /app.js:1:1");
  EXPECT_EQ(opens, 1) << "opened as soon as anonymous code was mapped";

  // Code the JIT emitted after the first read.
  EXPECT_FALSE(symbolizer.resolve(0x8010).symbol.resolved);
  file.append("8000 40 JS:*late /app.js:9:3\n");
  UserFrame late = symbolizer.resolve(0x8010);
  EXPECT_TRUE(late.symbol.resolved);
  EXPECT_EQ(late.symbol.function, "JS:*late /app.js:9:3");
  EXPECT_EQ(opens, 1);
  auto stats = symbolizer.stats();
  EXPECT_EQ(stats.perf_maps_opened, 1u);
  EXPECT_EQ(stats.jit_resolved, 2u);
  EXPECT_EQ(stats.unresolved, 1u);
}

// V8 reserves its code space without access rights and makes pages
// executable as it emits code: a first read of the maps made before that
// must not hide the code from the perf map for the rest of the capture.
TEST(ProcessSymbolizerJit, CodeInAMappingFirstSeenWithoutExecuteRightsIsNamedAfterARefresh) {
  TempFile file;
  file.append("7000 100 JS:*hot /app.js:1:1\n");
  MapEntry jit;
  jit.start = 0x7000;
  jit.end = 0x9000;
  jit.perms = "---p";
  int reads = 0;
  ProcessSymbolizerOptions options;
  options.read_maps = [&](uint32_t) -> Result<std::vector<MapEntry>> {
    ++reads;
    return std::vector<MapEntry>{jit};
  };
  options.open_perf_map = [&](uint32_t) -> Result<std::unique_ptr<PerfMap>> { return file.open(); };
  uint64_t now = 0;
  options.now_ns = [&] { return now; };
  ProcessSymbolizer symbolizer(42, options);

  EXPECT_FALSE(symbolizer.resolve(0x7010).symbol.resolved) << "reserved, not code yet";
  EXPECT_EQ(reads, 1);
  jit.perms = "r-xp";
  EXPECT_FALSE(symbolizer.resolve(0x7010).symbol.resolved);
  EXPECT_EQ(reads, 1) << "refreshes stay rate-limited";
  now += 2'000'000'000;
  UserFrame hot = symbolizer.resolve(0x7010);
  EXPECT_EQ(reads, 2);
  EXPECT_TRUE(hot.symbol.resolved);
  EXPECT_EQ(hot.symbol.function, "JS:*hot /app.js:1:1");
  EXPECT_EQ(symbolizer.stats().perf_maps_opened, 1u);
}

TEST(ProcessSymbolizerJit, NoPerfMapIsLookedForAgainOnlyAfterTheRetryInterval) {
  MapEntry jit;
  jit.start = 0x7000;
  jit.end = 0x9000;
  jit.perms = "r-xp";
  int opens = 0;
  ProcessSymbolizerOptions options;
  options.read_maps = [&](uint32_t) -> Result<std::vector<MapEntry>> { return std::vector<MapEntry>{jit}; };
  options.open_perf_map = [&](uint32_t) -> Result<std::unique_ptr<PerfMap>> {
    ++opens;
    return Status(ErrorCode::kNotFound, "none");
  };
  uint64_t now = 0;
  options.now_ns = [&] { return now; };
  ProcessSymbolizer symbolizer(42, options);
  for (uint64_t a = 0x7000; a < 0x7100; a += 0x10) EXPECT_FALSE(symbolizer.resolve(a).symbol.resolved);
  EXPECT_EQ(opens, 1);
  now += 2'000'000'000;
  EXPECT_FALSE(symbolizer.resolve(0x7200).symbol.resolved);
  EXPECT_EQ(opens, 2);
}

}  // namespace
}  // namespace flare::agent
