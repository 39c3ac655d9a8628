// Allocation profiling against workloads whose allocations are known
// (tests/workloads/alloc_chains.c, alloc_kinds.cc): with --alloc-rate 1
// every allocation is recorded and the per-function bytes, counts and
// in-use bytes must be exact; with the default sampler (fixed seed) they
// must be within the sampler's statistical error. Numbers are read back
// through go tool pprof (the external validator), where the leaf of every
// allocation stack is the function that called the allocator.
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "tests/integration/support/flare_test.h"

namespace flare::testing {
namespace {

using namespace std::chrono_literals;

// "truth func=alloc_a count=N bytes=N [inuse=N]"
struct Truth {
  double count = 0, bytes = 0, inuse = 0;
};

std::map<std::string, Truth> parse_truth(const std::string& out) {
  std::map<std::string, Truth> truth;
  for (const std::string& line : lines_of(out)) {
    char func[128];
    unsigned long long count = 0, bytes = 0, inuse = 0;
    int n = std::sscanf(line.c_str(), "truth func=%127s count=%llu bytes=%llu inuse=%llu", func, &count, &bytes,
                        &inuse);
    if (n >= 3) truth[func] = Truth{double(count), double(bytes), double(inuse)};
  }
  return truth;
}

class AllocTest : public IntegrationTest {
 protected:
  // Runs `workload` alone, then under flare record `record_args` -- workload;
  // checks that flare changed neither its output nor its exit status, and
  // converts the recording to pprof (alloc layout). Returns the truth.
  std::map<std::string, Truth> record(const std::string& workload, const Argv& record_args,
                                      const Argv& workload_args = {}) {
    Argv command = {workload};
    command.insert(command.end(), workload_args.begin(), workload_args.end());
    RunResult alone = run(command, 120s);
    EXPECT_TRUE(alone.status.ok()) << describe(command, alone);
    Argv argv = {"record", "-o", path("alloc.flare").string()};
    argv.insert(argv.end(), record_args.begin(), record_args.end());
    argv.push_back("--");
    argv.insert(argv.end(), command.begin(), command.end());
    RunResult traced = flare(argv, 180s);
    EXPECT_TRUE(traced.status.ok()) << describe(argv, traced);
    EXPECT_EQ(traced.out, alone.out) << "the workload's output changed under flare";
    stderr_ = traced.err;
    RunResult conv = flare({"convert", path("alloc.flare").string(), "--to", "pprof", "--type", "alloc", "-o",
                            path("alloc.pb.gz").string()});
    EXPECT_TRUE(conv.status.ok()) << conv.err;
    auto truth = parse_truth(alone.out);
    EXPECT_FALSE(truth.empty()) << "no truth lines from " << workload << ":\n" << alone.out;
    return truth;
  }

  // Per-function flat values of one pprof sample index (bytes with unit B).
  std::map<std::string, double> flat(const std::string& index) {
    const bool bytes = index.find("space") != std::string::npos;
    auto top = go_pprof_top(path("alloc.pb.gz"), index, bytes ? "B" : "");
    if (!top) return {};
    return top->flat;
  }

  // Lost causes of the recording (info --json), printed with failures.
  std::string lost_summary() {
    auto info = info_json(path("alloc.flare"));
    if (!info) return "(no info)";
    const google::protobuf::Value* lost = json_get(*info, "lost");
    std::string text = lost ? lost->DebugString() : "(none)";
    return text + "\nflare stderr:\n" + stderr_;
  }

  std::string stderr_;
};

TEST_F(AllocTest, EveryAllocationIsExact) {
  auto truth = record(ALLOC_CHAINS_BIN, {"--events", "alloc", "--alloc-rate", "1", "--ring-buffer-kib", "16384"});
  ASSERT_EQ(truth.size(), 3u);
  auto bytes = flat("alloc_space"), objects = flat("alloc_objects"), inuse = flat("inuse_space");
  for (const auto& [func, t] : truth) {
    SCOPED_TRACE(func);
    EXPECT_EQ(bytes[func], t.bytes) << lost_summary();
    EXPECT_EQ(objects[func], t.count) << lost_summary();
    EXPECT_EQ(inuse[func], t.inuse) << lost_summary();
  }
}

TEST_F(AllocTest, DefaultSamplerIsWithinTolerance) {
  auto truth = record(ALLOC_CHAINS_BIN, {"--events", "alloc", "--alloc-seed", "42"});
  ASSERT_EQ(truth.size(), 3u);
  auto bytes = flat("alloc_space"), inuse = flat("inuse_space");
  double inuse_total = 0;
  for (const auto& [func, t] : truth) inuse_total += t.inuse;
  for (const auto& [func, t] : truth) {
    SCOPED_TRACE(func);
    EXPECT_NEAR(bytes[func], t.bytes, 0.10 * t.bytes) << lost_summary();
    // alloc_a frees everything: its estimate is exactly 0 when every free
    // of a sampled block was seen; 1 % of the in-use total allows nothing
    // else.
    EXPECT_NEAR(inuse[func], t.inuse, std::max(0.15 * t.inuse, 0.01 * inuse_total)) << lost_summary();
  }
  // The header records the sampling, and info shows it.
  auto info = info_json(path("alloc.flare"));
  ASSERT_TRUE(info);
  const google::protobuf::Value* rate = json_get(*info, "alloc.sample_rate");
  ASSERT_NE(rate, nullptr);
  EXPECT_EQ(rate->number_value(), 512 * 1024);
  const google::protobuf::Value* seed = json_get(*info, "alloc.seed");
  ASSERT_NE(seed, nullptr);
  EXPECT_EQ(seed->number_value(), 42);
}

// alloc_kinds under each allocator flare hooks: glibc's (with libstdc++'s
// operator new), jemalloc, tcmalloc and mimalloc linked in (they bind malloc
// and operator new/delete ahead of glibc's), and glibc's malloc linked into a
// static executable. Every call counts once, in the function that made it,
// and every block's free (or delete, sized or not) is seen.
class AllocatorKindsTest : public AllocTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(AllocatorKindsTest, EveryEntryPointCountsOnceInItsCaller) {
  auto truth = record(GetParam(), {"--events", "alloc", "--alloc-rate", "1"});
  ASSERT_EQ(truth.size(), 9u);
  auto bytes = flat("alloc_space"), objects = flat("alloc_objects"), inuse = flat("inuse_space");
  for (const auto& [func, t] : truth) {
    SCOPED_TRACE(func);
    EXPECT_EQ(objects[func], t.count) << lost_summary();
    EXPECT_EQ(bytes[func], t.bytes) << lost_summary();
    EXPECT_EQ(inuse[func], 0) << "a free or delete was missed\n" << lost_summary();
  }
  // No warning that an allocator goes unseen.
  EXPECT_EQ(stderr_.find("not seen"), std::string::npos) << stderr_;
}

INSTANTIATE_TEST_SUITE_P(Allocators, AllocatorKindsTest,
                         ::testing::Values(ALLOC_KINDS_BIN, ALLOC_KINDS_JEMALLOC_BIN, ALLOC_KINDS_TCMALLOC_BIN,
                                           ALLOC_KINDS_MIMALLOC_BIN, ALLOC_KINDS_STATIC_BIN),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           const std::string path = info.param;
                           const std::string name = path.substr(path.rfind('/') + 1);
                           return name == "alloc_kinds" ? std::string("glibc") : name.substr(name.rfind('_') + 1);
                         });

// Go: flare hooks the runtime's own sampling (runtime.mProf_Malloc, and
// runtime.freeSpecial when the sweeper frees a sampled object). With
// MemProfileRate 1 the runtime samples every allocation: each block counts
// once, in the function that made it (the runtime's frames hidden from the
// leaf as Go's own heap profile hides them), and every freed one is seen.
// The runtime may allocate a few small objects of its own on the same
// goroutine (a sudog when a collection starts), which Go's heap profile
// charges to the function too: up to 4 more objects and less than half a
// block of bytes are allowed, so a block missed or counted twice fails.
TEST_F(AllocTest, GoRuntimeSamplesEveryAllocationAtRateOne) {
  auto truth = record(GO_ALLOC_BIN, {"--events", "alloc"});
  ASSERT_EQ(truth.size(), 2u);
  auto bytes = flat("alloc_space"), objects = flat("alloc_objects"), inuse = flat("inuse_space");
  for (const auto& [func, t] : truth) {
    SCOPED_TRACE(func);
    EXPECT_GE(bytes[func], t.bytes) << lost_summary();
    EXPECT_LT(bytes[func], t.bytes + 512) << lost_summary();
    EXPECT_GE(objects[func], t.count) << lost_summary();
    EXPECT_LE(objects[func], t.count + 4) << lost_summary();
    EXPECT_NEAR(inuse[func], t.inuse, 512) << lost_summary();
  }
  EXPECT_EQ(stderr_.find("not seen"), std::string::npos) << stderr_;
}

// At the runtime's own rate (4 KiB here) each sample is weighed by that
// rate, read from the target, not by flare's --alloc-rate.
TEST_F(AllocTest, GoSamplesAreWeighedByTheRuntimesRate) {
  auto truth = record(GO_ALLOC_BIN, {"--events", "alloc", "--alloc-rate", "1MiB"}, {"-rate", "4096"});
  ASSERT_EQ(truth.size(), 2u);
  auto bytes = flat("alloc_space"), inuse = flat("inuse_space");
  for (const auto& [func, t] : truth) {
    SCOPED_TRACE(func);
    EXPECT_NEAR(bytes[func], t.bytes, 0.10 * t.bytes) << lost_summary();
    EXPECT_NEAR(inuse[func], t.inuse, std::max(0.15 * t.inuse, 0.01 * t.bytes)) << lost_summary();
  }
}

// A Go program that never reads its memory profile is linked without
// memory profiling: its runtime samples nothing, and flare says so instead
// of showing an empty profile as if it were the truth.
TEST_F(AllocTest, GoBinaryWithoutMemoryProfilingIsNamed) {
  Argv argv = {"record", "-o", path("plain.flare").string(), "--events", "alloc", "--", GO_PLAIN_BIN};
  RunResult r = flare(argv, 60s);
  EXPECT_TRUE(r.status.ok()) << describe(argv, r);
  EXPECT_NE(r.err.find("built without memory-profiling support"), std::string::npos) << r.err;
}

TEST_F(AllocTest, InuseProfileAndTopRead) {
  record(ALLOC_CHAINS_BIN, {"--alloc", "--events", "cpu", "--alloc-seed", "7"});
  // --alloc with cpu: both recorded; the inuse view is the default index.
  RunResult conv = flare({"convert", path("alloc.flare").string(), "--to", "pprof", "--type", "inuse", "-o",
                          path("inuse.pb.gz").string()});
  ASSERT_TRUE(conv.status.ok()) << conv.err;
  auto top = go_pprof_top(path("inuse.pb.gz"), "inuse_space", "B");
  ASSERT_TRUE(top);
  EXPECT_GT(top->flat["alloc_b"], 0.85 * 300 * 1024 * 1024) << top->raw;
  RunResult text = flare({"top", path("alloc.flare").string(), "--type", "inuse"});
  ASSERT_TRUE(text.status.ok()) << text.err;
  EXPECT_NE(text.out.find("alloc_b"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("in use at the end"), std::string::npos) << text.out;
  // leaks: what is left at the end is alloc_b's 300 MiB and alloc_c's 4 MiB.
  RunResult leaks = flare({"leaks", path("alloc.flare").string(), "--json", "-n", "0"});
  ASSERT_TRUE(leaks.status.ok()) << leaks.err;
  auto leaks_json = parse_json_object(leaks.out);
  ASSERT_TRUE(leaks_json) << leaks.out;
  const google::protobuf::Value* leaked = json_get(*leaks_json, "bytes");
  ASSERT_NE(leaked, nullptr) << leaks.out;
  EXPECT_NEAR(leaked->number_value(), 304.0 * 1024 * 1024, 0.15 * 304 * 1024 * 1024) << leaks.out;
  EXPECT_NE(leaks.out.find("alloc_b"), std::string::npos) << leaks.out;
  auto info = info_json(path("alloc.flare"));
  ASSERT_TRUE(info);
  const google::protobuf::Value* samples = json_get(*info, "total_samples");
  ASSERT_NE(samples, nullptr);
  EXPECT_GT(samples->number_value(), 0) << "CPU samples recorded beside allocations";
}

TEST_F(AllocTest, BadRateIsAUsageError) {
  for (const char* rate : {"0", "12XB", "-5", "8GiB"}) {
    RunResult r = flare({"record", "--alloc", "--alloc-rate", rate, "-o", path("bad.flare").string(), "--",
                         ALLOC_KINDS_BIN});
    EXPECT_TRUE(is_flare_error(r, 2)) << rate << ": " << describe({"record"}, r);
    EXPECT_TRUE(no_output_left(path("bad.flare")));
  }
}

}  // namespace
}  // namespace flare::testing
