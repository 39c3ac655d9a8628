// The Go side of the agent without root: reading a Go executable (version,
// runtime structure layout, wait reason names), refusing what is not Go or
// has no DWARF, probe sites on Go prologues, and pairing parks with readies.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "agent/go_binary.h"
#include "agent/goroutine_pairing.h"
#include "agent/probe_site.h"
#include "tests/unit/go_pprof_for_tests.h"

namespace flare::agent {
namespace {

TEST(GoVersion, ParsesReleaseCandidateAndExperimentSuffixes) {
  auto v = parse_go_version("go1.19.8");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->major, 1);
  EXPECT_EQ(v->minor, 19);
  EXPECT_EQ(v->patch, 8);
  v = parse_go_version("go1.21rc2");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->minor, 21);
  EXPECT_EQ(v->patch, 0);
  v = parse_go_version("go1.22.0 X:boringcrypto");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->text, "go1.22.0");
  EXPECT_EQ(v->minor, 22);
  EXPECT_FALSE(parse_go_version("devel +abc"));
  EXPECT_FALSE(parse_go_version("go"));
}

TEST(GoVersion, ReadsInlineBuildInfo) {
  std::string section("\xff Go buildinf:", 14);
  section += '\x08';  // pointer size
  section += '\x02';  // flags: inline strings
  section.resize(32, '\0');
  section += '\x08';
  section += "go1.19.8";
  section += '\x00';
  EXPECT_EQ(go_buildinfo_version(section), "go1.19.8");
  std::string old_style = section;
  old_style[15] = '\0';  // Go 1.13-1.17: pointers, not inline strings
  EXPECT_FALSE(go_buildinfo_version(old_style));
  EXPECT_FALSE(go_buildinfo_version("not a build info section, long enough though"));
  section.resize(33);  // length says 8, nothing follows
  EXPECT_FALSE(go_buildinfo_version(section));
}

TEST(GoBinary, ReadsVersionLayoutAndWaitReasonsOfARealGoProgram) {
  auto go = GoBinary::read(GO_WAITS_BIN);
  ASSERT_TRUE(go.is_ok()) << go.status().message();
  EXPECT_EQ(go->version().major, 1);
  EXPECT_GE(go->version().minor, 17);
  EXPECT_EQ(go->version().text.rfind("go1.", 0), 0u) << go->version().text;
  // runtime.g starts with the stack bounds, the stack guards, _panic,
  // _defer and m: goid lies well inside it; pollDesc's rg and wg differ.
  const GoRuntimeLayout& l = go->layout();
  EXPECT_GT(l.g_goid, l.g_m);
  EXPECT_LT(l.g_goid, 1024u);
  EXPECT_GT(l.g_m, 0u);
  EXPECT_LT(l.m_curg, 1024u);
  EXPECT_NE(l.poll_desc_rg, l.poll_desc_wg);
  // The runtime's own names, read from the binary's data.
  bool chan_receive = false, sleep = false, io_wait = false;
  for (const std::string& r : go->wait_reasons()) {
    chan_receive |= r == "chan receive";
    sleep |= r == "sleep";
    io_wait |= r == "IO wait";
  }
  EXPECT_TRUE(chan_receive && sleep && io_wait);
  EXPECT_EQ(go->wait_reason(100000), "wait reason 100000");
  for (const char* f : {"runtime.gopark", "runtime.ready", "runtime.netpollready"}) {
    EXPECT_NE(go->functions().find(f), nullptr) << f;
  }
}

TEST(GoBinary, RefusesAProgramThatIsNotGo) {
  auto go = GoBinary::read("/proc/self/exe");
  ASSERT_FALSE(go.is_ok());
  EXPECT_EQ(go.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(go.status().message().find("is not a Go program"), std::string::npos) << go.status().message();
}

TEST(GoBinary, RefusesAGoProgramWithoutDwarfRatherThanGuessingTheLayout) {
  flare::testing::TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  const std::string stripped = dir.path + "/go_waits_nodwarf";
  const std::string command = "objcopy --strip-debug '" + std::string(GO_WAITS_BIN) + "' '" + stripped + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  auto go = GoBinary::read(stripped);
  ASSERT_FALSE(go.is_ok());
  EXPECT_EQ(go.status().code(), ErrorCode::kUnsupported);
  EXPECT_NE(go.status().message().find("has no DWARF"), std::string::npos) << go.status().message();
}

TEST(GoroutinePairing, PairsEachReadyWithItsGoroutinesPark) {
  GoroutinePairing p;
  p.park(100, 7, 1'000);
  p.park(100, 8, 1'500);
  p.park(200, 7, 1'200);  // same goid, other process
  EXPECT_EQ(p.ready(100, 7, 4'000), 3'000u);
  EXPECT_EQ(p.ready(200, 7, 1'700), 500u);
  EXPECT_EQ(p.ready(100, 7, 5'000), std::nullopt);  // already readied
  EXPECT_EQ(p.open_parks(), 1u);
  EXPECT_EQ(p.stats().parks, 3u);
  EXPECT_EQ(p.stats().readies, 3u);
  EXPECT_EQ(p.stats().paired, 2u);
  EXPECT_EQ(p.stats().unpaired_ready, 1u);
}

TEST(GoroutinePairing, CountsAParkThatNoReadyEndedAndKeepsTheLatest) {
  GoroutinePairing p;
  p.park(1, 5, 100);
  p.park(1, 5, 900);  // gopark returned without parking, or an unprobed ready path
  EXPECT_EQ(p.stats().superseded_parks, 1u);
  EXPECT_EQ(p.ready(1, 5, 1'000), 100u);
  // A ready stamped a hair before its park (another CPU) waited next to
  // nothing, but is still a paired wait (0 means "no park seen").
  p.park(1, 6, 2'000);
  EXPECT_EQ(p.ready(1, 6, 1'999), 1u);
  EXPECT_EQ(p.open_parks(), 0u);
}

}  // namespace
}  // namespace flare::agent
