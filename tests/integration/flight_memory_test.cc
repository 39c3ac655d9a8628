// A flight's memory stays bounded however long it runs, also for a target
// that keeps loading new code and starting new threads: dl_churn loads a
// fresh copy of a library about 20 times a second, runs 4 short-lived
// threads in each (short sleeps that are only totalled, one long wait that
// is recorded with its stack) and unloads it again. Checked: the flight
// process's RSS stays flat while the churn is many times what one chunk
// holds, the unloaded libraries' functions are still named in the dump, and
// the off-CPU totals of the dump are the sum of its chunks' and match the
// workload's sleeps.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "recorder/reader.h"
#include "tests/integration/support/flare_test.h"

namespace flare::testing {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kMs = 1'000'000ull;

std::vector<fs::path> chunk_files(const fs::path& repo, bool finished_only) {
  std::vector<fs::path> chunks;
  if (!fs::exists(repo)) return chunks;
  for (const auto& entry : fs::directory_iterator(repo)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("chunk-", 0) != 0) continue;
    if (finished_only && !name.ends_with(".flare")) continue;
    chunks.push_back(entry.path());
  }
  std::sort(chunks.begin(), chunks.end());
  return chunks;
}

// What dl_churn says it did: "cycles N threads N short_sleeps N ...".
std::map<std::string, uint64_t> parse_truth(const std::string& out) {
  std::map<std::string, uint64_t> truth;
  std::istringstream in(out);
  std::string key;
  uint64_t value = 0;
  while (in >> key >> value) truth[key] = value;
  return truth;
}

struct TotalsSum {
  uint64_t count = 0, blocked_ns = 0, runq_ns = 0;
  bool operator==(const TotalsSum&) const = default;
};

TotalsSum sum_totals(const rec::Recording& r) {
  TotalsSum sum;
  for (const rec::OffCpuTotal& t : r.offcpu_totals) {
    sum.count += t.count;
    sum.blocked_ns += t.blocked_ns;
    sum.runq_ns += t.runq_ns;
  }
  return sum;
}

// The long wait's chain, leaf side first, as dl_churn_lib.c and dl_churn.c
// have it: the library's frames in a copy of it (the template is never
// loaded), called from dl_churn's thread_main. (churn_sleep_us, between
// clock_nanosleep and churn_long_wait, is skipped by frame-pointer
// unwinding: libc's clock_nanosleep keeps no frame.)
bool has_long_wait_chain(const rec::Recording& r, uint32_t stack) {
  struct Link {
    std::string function;
    std::string mapping_part;
  };
  static const std::vector<Link> kChain = {
      {"churn_long_wait", "/libchurn-"}, {"churn_thread_body", "/libchurn-"}, {"thread_main", "/dl_churn"}};
  std::span<const uint32_t> frames = r.stack(stack);
  for (size_t i = 0; i + kChain.size() <= frames.size(); ++i) {
    bool match = true;
    for (size_t j = 0; j < kChain.size() && match; ++j) {
      const rec::FrameInfo& f = r.frames[frames[i + j]];
      const std::string mapping = f.mapping < r.mappings.size() ? r.str(r.mappings[f.mapping].path) : "";
      match = r.str(f.function) == kChain[j].function && mapping.find(kChain[j].mapping_part) != std::string::npos;
    }
    if (match) return true;
  }
  return false;
}

class FlightMemoryTest : public IntegrationTest {};

TEST_F(FlightMemoryTest, ChurningTargetKeepsMemoryFlatNamesUnloadedCodeAndSumsTotals) {
  const fs::path libs = path("libs");
  fs::create_directories(libs);
  const fs::path start = path("start");
  constexpr int kChurnSeconds = 21;
  Child workload =
      Child::spawn({DL_CHURN_BIN, DL_CHURN_LIB, libs.string(), start.string(), std::to_string(kChurnSeconds)});
  const fs::path repo = path("repo");
  Child flight = flare_in_background({"flight", "-p", std::to_string(workload.pid()), "--dir", repo.string(),
                                      "--chunk", "1s", "--flush", "250ms", "--events", "cpu,offcpu",
                                      "--offcpu-min", "5ms", "-F", "49"});
  // A finished chunk: the tracers have been attached for a second.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (chunk_files(repo, true).empty() && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(flight.running()) << flight.err_so_far();
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_FALSE(chunk_files(repo, true).empty()) << flight.err_so_far();
  std::ofstream(start.string()) << "go\n";

  // Early: after seven chunks of churn, when what is kept for unloaded code
  // and ended threads (up to two chunks' worth) has long reached its level
  // (about 3 s in).
  std::this_thread::sleep_for(7s);
  ASSERT_TRUE(flight.running()) << flight.err_so_far();
  const uint64_t rss_early = vm_rss_kib(flight.pid());
  std::this_thread::sleep_for(13s);
  ASSERT_TRUE(flight.running()) << flight.err_so_far();
  const uint64_t rss_late = vm_rss_kib(flight.pid());

  RunResult churned = workload.wait(20s);
  ASSERT_TRUE(churned.status.ok()) << describe(workload.argv(), churned);
  std::map<std::string, uint64_t> truth = parse_truth(churned.out);
  ASSERT_GT(truth["threads"], 0u) << churned.out;
  // The target exited: the flight finalizes its last chunk and exits.
  RunResult ended = flight.wait(20s);
  ASSERT_TRUE(ended.status.ok()) << describe(flight.argv(), ended);

  // Between the two reads ~200 libraries were loaded and unloaded and ~800
  // threads came and went, six times what two chunks hold. Kept until the end (as before this bound), each
  // library costs tens of KiB (its ELF index, file and mapping records):
  // many MiB over this run. Bounded, what remains is allocator noise.
  EXPECT_LE(rss_late, rss_early + 2048) << "RSS grew from " << rss_early << " KiB to " << rss_late << " KiB over "
                                        << truth["cycles"] << " loaded libraries and " << truth["threads"]
                                        << " threads";

  const fs::path dump = path("all.flare");
  RunResult dumped = flare({"dump", "--dir", repo.string(), "-o", dump.string()});
  ASSERT_EQ(dumped.status.exit_code, 0) << describe({"dump"}, dumped);
  auto read = rec::read_recording(dump.string());
  ASSERT_TRUE(read.is_ok()) << read.status().message();
  const rec::Recording& r = read.value();

  // What was freed is counted, in the last chunk's statistics.
  EXPECT_GT(r.stat("mappings_forgotten"), truth["cycles"] / 2);
  EXPECT_GT(r.stat("symbol_files_forgotten"), truth["cycles"] / 2);
  EXPECT_GT(r.stat("offcpu_threads_forgotten"), truth["threads"] / 2);

  // The dump's totals are its chunks' (default max-age: none deleted), and
  // each chunk carries its own.
  TotalsSum chunks_sum;
  size_t chunks_with_totals = 0;
  for (const fs::path& chunk : chunk_files(repo, false)) {
    auto c = rec::read_recording(chunk.string());
    ASSERT_TRUE(c.is_ok()) << chunk << ": " << c.status().message();
    const TotalsSum s = sum_totals(c.value());
    chunks_sum.count += s.count;
    chunks_sum.blocked_ns += s.blocked_ns;
    chunks_sum.runq_ns += s.runq_ns;
    if (s.count != 0) ++chunks_with_totals;
  }
  EXPECT_EQ(sum_totals(r), chunks_sum);
  EXPECT_GE(chunks_with_totals, static_cast<size_t>(kChurnSeconds) / 2);

  // Truth: every churn thread sleeps short_sleeps/threads times short_us
  // (under --offcpu-min: totalled, or recorded when woken late on a busy
  // machine) and waits once long_ms (recorded, with its stack).
  const uint32_t main_tid = static_cast<uint32_t>(workload.pid());
  uint64_t short_count = 0, short_blocked_ns = 0, long_count = 0, long_named = 0;
  for (const rec::OffCpuTotal& t : r.offcpu_totals) {
    if (t.tid == main_tid || t.state != rec::OffCpuState::kSleeping) continue;
    short_count += t.count;
    short_blocked_ns += t.blocked_ns;
  }
  const uint64_t long_ns = truth["long_ms"] * kMs;
  for (const rec::OffCpuInterval& i : r.offcpu) {
    if (i.tid == main_tid || i.state != rec::OffCpuState::kSleeping) continue;
    if (i.blocked_ns < long_ns * 2 / 3) {
      ++short_count;
      short_blocked_ns += i.blocked_ns;
      continue;
    }
    ++long_count;
    if (has_long_wait_chain(r, i.stack)) ++long_named;
  }
  const double expected_short = static_cast<double>(truth["short_sleeps"]);
  EXPECT_GE(static_cast<double>(short_count), 0.95 * expected_short) << "of " << truth["short_sleeps"];
  EXPECT_LE(static_cast<double>(short_count), 1.10 * expected_short) << "of " << truth["short_sleeps"];
  // nanosleep(1 ms) blocks a little longer: timer slack and wakeup latency.
  const double mean_short_ns = static_cast<double>(short_blocked_ns) / static_cast<double>(std::max<uint64_t>(short_count, 1));
  EXPECT_GE(mean_short_ns, 1.0 * truth["short_us"] * 1000);
  EXPECT_LE(mean_short_ns, 2.5 * truth["short_us"] * 1000);
  EXPECT_GE(static_cast<double>(long_count), 0.95 * static_cast<double>(truth["long_waits"]));
  EXPECT_LE(long_count, truth["long_waits"]);
  // Named in the copy it ran in, though that was unloaded and deleted.
  EXPECT_GE(static_cast<double>(long_named), 0.95 * static_cast<double>(long_count))
      << long_named << " of " << long_count << " long waits have the churn_thread_body chain";
}

}  // namespace
}  // namespace flare::testing
