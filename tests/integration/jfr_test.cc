// JFR export of a real capture, read by the JDK's own `jfr` tool: fp_chains
// recorded with CPU samples and off-CPU intervals must come out with the
// same event counts, the workload's known call chains in full, and the
// recorded off-CPU durations. Also flare record's live status line: drawn on
// a terminal, absent when stderr is not one.
#include <cstdio>
#include <map>
#include <regex>
#include <set>
#include <string>

#include "recorder/reader.h"
#include "tests/integration/support/flare_test.h"
#include "tests/unit/jfr_for_tests.h"

namespace flare::testing {
namespace {

using namespace std::chrono_literals;

// Of worker_a's samples, at least this share must show the whole chain; the
// rest were taken while it read a clock or slept (as in cpu_profile_test).
constexpr double kMinChainFraction = 0.90;

class JfrTest : public IntegrationTest {
 protected:
  RunResult run_tool(const Argv& args, milliseconds timeout = 120s) {
    Child c = Child::spawn(args);
    return c.wait(timeout);
  }

  // Records fp_chains for 3 s with CPU samples and off-CPU intervals; at
  // high priority, so that other load on the machine cannot starve it (see
  // start_fp_chains).
  fs::path record(RunResult* result = nullptr) {
    fs::path out = path("chains.flare");
    Argv args = {"record", "-e", "cpu,offcpu", "-o", out.string(), "--", kFpChains, "--seconds", "3", "--high-priority"};
    RunResult r = flare(args, 60s);
    EXPECT_TRUE(r.status.ok()) << describe(args, r);
    if (result) *result = r;
    return out;
  }
};

TEST_F(JfrTest, JdkToolsReadTheCaptureWithItsCountsStacksAndDurations) {
  RunResult recorded;
  fs::path flare_file = record(&recorded);
  // Not a terminal: only whole lines, no status line redrawn in place.
  EXPECT_EQ(recorded.err.find('\r'), std::string::npos) << recorded.err;
  EXPECT_EQ(recorded.err.find("\x1b["), std::string::npos) << recorded.err;
  EXPECT_NE(recorded.err.find("flare: recorded "), std::string::npos) << recorded.err;

  auto read = rec::read_recording(flare_file.string());
  ASSERT_TRUE(read.is_ok()) << read.status().message();
  const rec::Recording& rec = read.value();
  // Enough to judge by (about 300 samples are due: 3 s x 99 Hz x 1 CPU;
  // worker_a and worker_b each sleep once in every 200 ms period).
  ASSERT_GT(rec.samples.size(), 60u);
  ASSERT_GT(rec.offcpu.size(), 10u);

  fs::path jfr_file = path("chains.jfr");
  Argv convert = {"convert", flare_file.string(), "--to", "jfr", "-o", jfr_file.string()};
  RunResult c = flare(convert);
  ASSERT_TRUE(c.status.ok()) << describe(convert, c);

  RunResult summary = run_tool({JFR_BIN, "summary", jfr_file.string()});
  ASSERT_TRUE(summary.status.ok()) << summary.err << summary.out;
  auto counts = jfr_summary_counts(summary.out);
  EXPECT_EQ(counts["jdk.ExecutionSample"], rec.samples.size()) << summary.out;
  EXPECT_EQ(counts["jdk.ThreadPark"], rec.offcpu.size()) << summary.out;
  uint64_t starts = 0, ends = 0;
  for (const rec::ThreadEvent& e : rec.thread_events) (e.kind == rec::ThreadEventKind::kStart ? starts : ends)++;
  EXPECT_EQ(counts["jdk.ThreadStart"], starts);
  EXPECT_EQ(counts["jdk.ThreadEnd"], ends);

  // worker_a's samples show thread_a_entry -> ... -> a_spin_leaf in full.
  RunResult print = run_tool({JFR_BIN, "print", "--stack-depth", "64", "--events", "jdk.ExecutionSample",
                              jfr_file.string()});
  ASSERT_TRUE(print.status.ok()) << print.err;
  std::regex event_re(R"(jdk\.ExecutionSample \{[^}]*?\n\})");
  std::regex chain_re(
      R"(fp_chains\.a_spin_leaf\(\)[^\n]*\n\s*fp_chains\.a_level3\(\)[^\n]*\n\s*fp_chains\.a_level2\(\)[^\n]*\n)"
      R"(\s*fp_chains\.a_level1\(\)[^\n]*\n\s*fp_chains\.thread_a_entry\(\))");
  uint64_t events = 0, worker_a = 0, with_chain = 0;
  for (auto it = std::sregex_iterator(print.out.begin(), print.out.end(), event_re); it != std::sregex_iterator();
       ++it) {
    const std::string e = it->str();
    ++events;
    if (e.find("sampledThread = \"worker_a\"") == std::string::npos) continue;
    ++worker_a;
    if (std::regex_search(e, chain_re)) ++with_chain;
  }
  EXPECT_EQ(events, rec.samples.size());
  ASSERT_GT(worker_a, 30u) << print.out.substr(0, 3000);
  EXPECT_GE(static_cast<double>(with_chain) / static_cast<double>(worker_a), kMinChainFraction)
      << with_chain << " of " << worker_a << "\n" << print.out.substr(0, 3000);

  // ThreadPark durations are exactly the recorded intervals' blocked +
  // run-queue time, and the JSON parses.
  RunResult json = run_tool({JFR_BIN, "print", "--json", "--events", "jdk.ThreadPark", jfr_file.string()});
  ASSERT_TRUE(json.status.ok()) << json.err;
  auto doc = parse_json_object(json.out);
  ASSERT_TRUE(doc) << json.out.substr(0, 2000);
  const google::protobuf::Value* list = json_get(*doc, "recording.events");
  ASSERT_NE(list, nullptr);
  std::multiset<uint64_t> printed, expected;
  for (const auto& e : list->list_value().values()) {
    const auto& values = e.struct_value().fields().at("values").struct_value().fields();
    auto ns = iso_duration_ns(values.at("duration").string_value());
    ASSERT_TRUE(ns) << values.at("duration").string_value();
    printed.insert(*ns);
  }
  for (const rec::OffCpuInterval& iv : rec.offcpu) expected.insert(iv.blocked_ns + iv.runq_ns);
  EXPECT_EQ(printed, expected);
}

// Sampled allocations of alloc_chains, whose bytes per function are known
// (tests/workloads/alloc_chains.c), as jdk.ObjectAllocationSample: one per
// sample, and their weights per allocating function add up to the truth
// within the sampler's tolerance (as in alloc_test).
TEST_F(JfrTest, AllocationSamplesWeighWhatTheWorkloadAllocated) {
  fs::path flare_file = path("alloc.flare");
  Argv args = {"record", "--events", "alloc", "--alloc-seed", "42", "-o", flare_file.string(), "--", ALLOC_CHAINS_BIN};
  RunResult r = flare(args, 180s);
  ASSERT_TRUE(r.status.ok()) << describe(args, r);
  std::map<std::string, double> truth;  // "truth func=alloc_a count=N bytes=N ..."
  for (const std::string& line : lines_of(r.out)) {
    char func[128];
    unsigned long long count = 0, bytes = 0;
    if (std::sscanf(line.c_str(), "truth func=%127s count=%llu bytes=%llu", func, &count, &bytes) == 3) {
      truth[func] = static_cast<double>(bytes);
    }
  }
  ASSERT_EQ(truth.size(), 3u) << r.out;
  auto read = rec::read_recording(flare_file.string());
  ASSERT_TRUE(read.is_ok()) << read.status().message();

  fs::path jfr_file = path("alloc.jfr");
  Argv convert = {"convert", flare_file.string(), "--to", "jfr", "-o", jfr_file.string()};
  RunResult c = flare(convert);
  ASSERT_TRUE(c.status.ok()) << describe(convert, c);
  RunResult summary = run_tool({JFR_BIN, "summary", jfr_file.string()});
  EXPECT_EQ(jfr_summary_counts(summary.out)["jdk.ObjectAllocationSample"], read->allocations.size()) << summary.out;

  RunResult json = run_tool({JFR_BIN, "print", "--json", "--stack-depth", "1", "--events",
                             "jdk.ObjectAllocationSample", jfr_file.string()});
  ASSERT_TRUE(json.status.ok()) << json.err;
  auto doc = parse_json_object(json.out);
  ASSERT_TRUE(doc) << json.out.substr(0, 2000);
  const google::protobuf::Value* list = json_get(*doc, "recording.events");
  ASSERT_NE(list, nullptr);
  std::map<std::string, double> weight;  // by the allocating function (the stack's leaf)
  for (const auto& e : list->list_value().values()) {
    const auto& values = e.struct_value().fields().at("values").struct_value().fields();
    const auto& frames = values.at("stackTrace").struct_value().fields().at("frames").list_value().values();
    ASSERT_GT(frames.size(), 0);
    const auto& method = frames[0].struct_value().fields().at("method").struct_value().fields();
    weight[method.at("name").string_value()] += values.at("weight").number_value();
  }
  for (const auto& [func, bytes] : truth) {
    EXPECT_NEAR(weight[func], bytes, 0.10 * bytes) << func;
  }
}

TEST_F(JfrTest, ConvertToJfrWithoutOutputIsAUsageError) {
  Argv args = {"convert", path("any.flare").string(), "--to", "jfr"};  // refused before it is read
  RunResult r = flare(args);
  EXPECT_TRUE(is_flare_error(r, 2)) << describe(args, r);
  EXPECT_NE(r.err.find("--to jfr needs -o FILE"), std::string::npos) << r.err;
}

TEST_F(JfrTest, StatusLineIsRedrawnOnATerminal) {
  // script(1) gives flare a pseudo-terminal as stdin, stdout and stderr.
  fs::path out = path("tty.flare");
  std::string command = std::string(FLARE_BIN) + " record -d 2500ms -o " + out.string() + " -- " + kFpChains +
                        " --seconds 4";
  RunResult r = run_tool({SCRIPT_BIN, "-qfec", command, "/dev/null"}, 60s);
  ASSERT_TRUE(r.status.ok()) << describe({SCRIPT_BIN, "-qfec", command}, r);
  std::regex status(R"(\r\x1b\[Kflare: \d+\.\ds/2\.5s  cpu \d+  threads \d+  drops \d+  [0-9.]+ (B|KiB|MiB))");
  size_t updates = std::distance(std::sregex_iterator(r.out.begin(), r.out.end(), status), std::sregex_iterator());
  EXPECT_GE(updates, 2u) << r.out;
  // The last update is erased before the summary line.
  EXPECT_NE(r.out.find("\r\x1b[Kflare: recorded "), std::string::npos) << r.out;
}

}  // namespace
}  // namespace flare::testing
