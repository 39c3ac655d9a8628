// The flight recorder for real: `flare flight` on fp_chains (worker_a and
// worker_b spin in known call chains for a known CPU share), checked against
// the clock and the workload's truth. Limits are small (max-age 3 s, 1 s
// chunks) so several times max-age pass in seconds.
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

#include "recorder/reader.h"
#include "tests/integration/support/flare_test.h"

namespace flare::testing {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kSecond = 1'000'000'000ull;

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * kSecond + static_cast<uint64_t>(ts.tv_nsec);
}

struct ChunkListing {
  size_t files = 0;
  uint64_t bytes = 0;
};

ChunkListing chunk_files(const fs::path& dir) {
  ChunkListing listing;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("chunk-", 0) != 0) continue;
    ++listing.files;
    listing.bytes += entry.file_size();
  }
  return listing;
}

std::vector<fs::path> dumps_in(const fs::path& dir) {
  std::vector<fs::path> dumps;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("dump-", 0) == 0 && name.ends_with(".flare")) dumps.push_back(entry.path());
  }
  return dumps;
}

bool wait_for_dumps(const fs::path& dir, size_t n, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (dumps_in(dir).size() < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(100ms);
  }
  return true;
}

rec::Recording read_ok(const fs::path& file) {
  auto r = rec::read_recording(file.string());
  EXPECT_TRUE(r.is_ok()) << file << ": " << r.status().message();
  return r.is_ok() ? std::move(r).value() : rec::Recording{};
}

// Time between the first and the last CPU sample.
uint64_t sample_span_ns(const rec::Recording& r) {
  if (r.samples.empty()) return 0;
  auto [lo, hi] = std::minmax_element(r.samples.begin(), r.samples.end(),
                                      [](const auto& a, const auto& b) { return a.time_ns < b.time_ns; });
  return hi->time_ns - lo->time_ns;
}

uint64_t newest_sample_ns(const rec::Recording& r) {
  uint64_t newest = 0;
  for (const auto& s : r.samples) newest = std::max(newest, s.time_ns);
  return newest;
}

class FlightTest : public IntegrationTest {
 protected:
  // go tool pprof reads the dump's profile and finds worker_a's leaf.
  void expect_pprof_reads(const fs::path& dump) {
    const fs::path pb = path(dump.stem().string() + ".pb.gz");
    RunResult converted = flare({"convert", dump.string(), "--to", "pprof", "-o", pb.string()});
    ASSERT_EQ(converted.status.exit_code, 0) << converted.err;
    auto top = go_pprof_top(pb, "samples");
    ASSERT_TRUE(top);
    EXPECT_GT(top->flat["a_spin_leaf"], 0) << top->raw;
  }
};

// 30 s, ten times max-age: the repository holds about max-age of data (one
// chunk more at most), a dump while recording holds that window and converts
// to pprof, SIGUSR1 dumps, and the flight process's memory stays flat.
TEST_F(FlightTest, RepositoryStaysBoundedDumpsWhileRecordingAndMemoryStaysFlat) {
  constexpr uint64_t kMaxAgeNs = 3 * kSecond, kChunkNs = kSecond, kFlushNs = kSecond / 4;
  Child workload = start_fp_chains({"--seconds", "60"});
  const fs::path repo = path("repo");
  Child flight = flare_in_background({"flight", "-p", std::to_string(workload.pid()), "--dir", repo.string(),
                                      "--max-age", "3s", "--chunk", "1s", "--flush", "250ms", "--max-size",
                                      "4MiB", "-F", "99", "--events", "cpu,offcpu"});
  std::this_thread::sleep_for(8s);
  ASSERT_TRUE(flight.running()) << flight.err_so_far();
  const uint64_t rss_early = vm_rss_kib(flight.pid());
  std::this_thread::sleep_for(20s);
  ASSERT_TRUE(flight.running()) << flight.err_so_far();
  const uint64_t rss_late = vm_rss_kib(flight.pid());
  // Flat: a few hundred KiB of allocator noise; growth with the run's length
  // (pools or thread tables kept across chunks) would show as MiBs here.
  EXPECT_LE(rss_late, rss_early + 2048) << "RSS grew from " << rss_early << " KiB to " << rss_late << " KiB";

  // About max-age / chunk + 1 chunks, within one chunk (and one being written).
  const ChunkListing listing = chunk_files(repo);
  EXPECT_GE(listing.files, 3u);
  EXPECT_LE(listing.files, 6u);
  EXPECT_LE(listing.bytes, 4u << 20);

  const fs::path dump = path("window.flare");
  const uint64_t dump_at = monotonic_ns();
  RunResult dumped = flare({"dump", "--dir", repo.string(), "-o", dump.string()});
  ASSERT_EQ(dumped.status.exit_code, 0) << describe({"dump"}, dumped);
  // Every chunk counts its own losses at every flush: known while running.
  EXPECT_EQ(dumped.err.find("drop counts are not known"), std::string::npos) << dumped.err;
  rec::Recording window = read_ok(dump);
  const uint64_t span = sample_span_ns(window);
  EXPECT_GE(span, kMaxAgeNs - kChunkNs) << "the window must hold about max-age of samples";
  EXPECT_LE(span, kMaxAgeNs + 2 * kChunkNs + kFlushNs) << "older chunks must be gone";
  // Up to the last flush of the chunk being written. The dump reads that
  // chunk a little after dump_at, so its newest sample may also be newer
  // than dump_at (a negative lag): signed, not unsigned, arithmetic.
  const int64_t lag = static_cast<int64_t>(dump_at) - static_cast<int64_t>(newest_sample_ns(window));
  EXPECT_LE(lag, static_cast<int64_t>(kFlushNs + 600'000'000));
  // fp_chains keeps 1.0 CPU busy: ~99 samples per second of window.
  EXPECT_GE(static_cast<double>(window.samples.size()), 0.3 * 99 * static_cast<double>(span) / kSecond);
  expect_pprof_reads(dump);

  RunResult last = flare({"dump", "--dir", repo.string(), "--last", "1s", "-o", path("last.flare").string()});
  ASSERT_EQ(last.status.exit_code, 0) << last.err;
  EXPECT_LE(sample_span_ns(read_ok(path("last.flare"))), kSecond);

  flight.signal(SIGUSR1);
  ASSERT_TRUE(wait_for_dumps(repo, 1, 10s)) << flight.err_so_far();
  std::this_thread::sleep_for(300ms);  // its rename is atomic; the message may trail it
  flight.poll_output();
  EXPECT_NE(flight.err_so_far().find("dump (SIGUSR1) -> "), std::string::npos) << flight.err_so_far();
  rec::Recording usr1 = read_ok(dumps_in(repo).front());
  EXPECT_GE(sample_span_ns(usr1), kMaxAgeNs - kChunkNs);

  RunResult status = flare({"flight", "--status", repo.string()});
  ASSERT_EQ(status.status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("(alive)"), std::string::npos) << status.out;
  EXPECT_EQ(status.out.find("not known"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("cpu samples"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("Overhead (up to the newest finished chunk): agent CPU"), std::string::npos)
      << status.out;

  flight.signal(SIGTERM);
  RunResult ended = flight.wait(20s);
  EXPECT_TRUE(ended.status.ok()) << describe(flight.argv(), ended);
  status = flare({"flight", "--status", repo.string()});
  EXPECT_NE(status.out.find("(not running)"), std::string::npos) << status.out;
  EXPECT_EQ(status.out.find("not known"), std::string::npos) << status.out;
  for (const auto& entry : fs::directory_iterator(repo)) {
    EXPECT_FALSE(entry.path().string().ends_with(".partial")) << "a clean stop finishes every chunk";
  }
}

// SIGKILL leaves the newest chunk unfinished; a dump reads it up to its last
// flush.
TEST_F(FlightTest, DumpAfterSigkillHoldsDataUpToTheLastFlush) {
  Child workload = start_fp_chains({"--seconds", "30"});
  const fs::path repo = path("repo");
  Child flight = flare_in_background({"flight", "-p", std::to_string(workload.pid()), "--dir", repo.string(),
                                      "--chunk", "2s", "--flush", "250ms", "--events", "cpu", "-F", "99"});
  // Loading BPF takes a while on a busy machine: the clock starts with the
  // first chunk file.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while ((!fs::exists(repo) || chunk_files(repo).files == 0) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  std::this_thread::sleep_for(4s);
  ASSERT_TRUE(flight.running()) << flight.err_so_far();
  const uint64_t killed_at = monotonic_ns();
  flight.signal(SIGKILL);
  flight.wait(10s);

  RunResult status = flare({"flight", "--status", repo.string()});
  EXPECT_NE(status.out.find("(not running)"), std::string::npos) << status.out;
  const fs::path dump = path("after-kill.flare");
  RunResult dumped = flare({"dump", "--dir", repo.string(), "-o", dump.string()});
  ASSERT_EQ(dumped.status.exit_code, 0) << describe({"dump"}, dumped);
  rec::Recording r = read_ok(dump);
  EXPECT_TRUE(r.finalized);
  // One flush interval, the agent's 100 ms poll and scheduling slack, as in
  // crash_test.
  EXPECT_LE(killed_at - newest_sample_ns(r), 250'000'000u + 350'000'000u);
  EXPECT_GE(sample_span_ns(r), 3 * kSecond);
  expect_pprof_reads(dump);
}

struct OffCpuLosses {
  uint64_t rate_limited = 0;  // lost records of cause offcpu_rate_limited
  uint64_t totalled = 0;      // intervals in offcpu_total records
  uint64_t one_by_one = 0;
};

OffCpuLosses offcpu_losses(const rec::Recording& r) {
  OffCpuLosses l;
  for (const rec::LostRecord& lost : r.lost) {
    if (lost.cause == rec::LostCause::kOffCpuRateLimited) l.rate_limited += lost.count;
  }
  for (const rec::OffCpuTotal& t : r.offcpu_totals) l.totalled += t.count;
  l.one_by_one = r.offcpu.size();
  return l;
}

// Time between the oldest and the newest event of any kind (the chunks' own
// account).
uint64_t event_span_ns(const rec::Recording& r) {
  uint64_t first = UINT64_MAX, last = 0;
  for (const rec::ChunkSummary& c : r.chunks) {
    if (c.first_ns) first = std::min(first, c.first_ns);
    last = std::max(last, c.last_ns);
  }
  return last > first ? last - first : 0;
}

// Losses reach every chunk at every flush: dumps of a running flight and of
// one killed with SIGKILL count them, and `info` and `--status` show them.
// offcpu_chains' threads go off-CPU over a hundred times a second; with a
// cap of 10 off-CPU intervals a second the rest are lost as
// offcpu_rate_limited, and each of them is also in the per-thread totals (no
// interval is shorter than --offcpu-min 1us, so nothing else is totalled):
// the two counts must agree up to one flush interval's worth.
TEST_F(FlightTest, DumpsOfARunningOrKilledFlightCountTheirLosses) {
  Child workload = Child::spawn({kOffCpuChains, "--seconds", "40"});
  ASSERT_TRUE(workload.wait_for_line("ready", 10s)) << workload.err_so_far();
  const fs::path repo = path("repo");
  Child flight = flare_in_background({"flight", "-p", std::to_string(workload.pid()), "--dir", repo.string(),
                                      "--chunk", "1s", "--flush", "250ms", "--events", "offcpu", "--offcpu-min",
                                      "1us", "--offcpu-max-rate", "10"});
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while ((!fs::exists(repo) || chunk_files(repo).files == 0) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  std::this_thread::sleep_for(3500ms);
  ASSERT_TRUE(flight.running()) << flight.err_so_far();

  auto expect_counted = [&](const fs::path& dump, const RunResult& dumped) {
    EXPECT_EQ(dumped.err.find("not known"), std::string::npos) << dumped.err;
    rec::Recording r = read_ok(dump);
    EXPECT_TRUE(r.header.losses_at_flush);
    const OffCpuLosses l = offcpu_losses(r);
    const double seconds = static_cast<double>(event_span_ns(r)) / kSecond;
    EXPECT_GE(seconds, 2.5);
    // At least half of the ~105 a second over the cap.
    EXPECT_GE(static_cast<double>(l.rate_limited), 50 * seconds) << "one by one " << l.one_by_one;
    EXPECT_LE(static_cast<double>(l.one_by_one), 10 * seconds + 20);
    const double tolerance = 0.15 * static_cast<double>(l.totalled) + 40;
    EXPECT_NEAR(static_cast<double>(l.rate_limited), static_cast<double>(l.totalled), tolerance);
    RunResult info = flare({"info", dump.string()});
    EXPECT_EQ(info.status.exit_code, 0) << info.err;
    EXPECT_NE(info.out.find("offcpu_rate_limited"), std::string::npos) << info.out;
    EXPECT_EQ(info.out.find("not known"), std::string::npos) << info.out;
    return l.rate_limited;
  };

  const fs::path running = path("running.flare");
  RunResult dumped = flare({"dump", "--dir", repo.string(), "-o", running.string()});
  ASSERT_EQ(dumped.status.exit_code, 0) << describe({"dump"}, dumped);
  const uint64_t while_running = expect_counted(running, dumped);
  RunResult status = flare({"flight", "--status", repo.string()});
  EXPECT_NE(status.out.find("offcpu_rate_limited"), std::string::npos) << status.out;
  EXPECT_EQ(status.out.find("not known"), std::string::npos) << status.out;

  std::this_thread::sleep_for(1500ms);
  flight.signal(SIGKILL);
  flight.wait(10s);
  const fs::path killed = path("killed.flare");
  dumped = flare({"dump", "--dir", repo.string(), "-o", killed.string()});
  ASSERT_EQ(dumped.status.exit_code, 0) << describe({"dump"}, dumped);
  EXPECT_GT(expect_counted(killed, dumped), while_running) << "the losses of the later flushes";
}

// The black-box case: the target exits; the flight process finalizes, dumps
// the target's last seconds and exits 0. The CPU trigger fires while
// fp_chains keeps 1.0 CPU busy.
TEST_F(FlightTest, DumpsWhenTheTargetExitsAndWhenItsCpuUseStaysHigh) {
  Child workload = start_fp_chains({"--seconds", "8"});
  RunResult target_result;
  Background reaper([&] { target_result = workload.wait(30s); });
  const fs::path repo = path("repo");
  Child flight = flare_in_background({"flight", "-p", std::to_string(workload.pid()), "--dir", repo.string(),
                                      "--chunk", "1s", "--flush", "250ms", "--events", "cpu", "-F", "99",
                                      "--dump-on-exit", "--dump-when-cpu", "50", "--for", "2s"});
  RunResult ended = flight.wait(30s);
  reaper.join();
  const uint64_t exited_by = monotonic_ns();
  ASSERT_TRUE(ended.status.ok()) << describe(flight.argv(), ended);
  EXPECT_NE(ended.err.find("dump (target CPU above 50% for 2s) -> "), std::string::npos) << ended.err;
  EXPECT_NE(ended.err.find("dump (target exited) -> "), std::string::npos) << ended.err;
  std::vector<fs::path> dumps = dumps_in(repo);
  ASSERT_EQ(dumps.size(), 2u) << ended.err;
  std::sort(dumps.begin(), dumps.end());  // named by time
  rec::Recording on_exit = read_ok(dumps.back());
  // The target's last seconds: samples up to its end, covering most of its life.
  EXPECT_LE(exited_by - newest_sample_ns(on_exit), 3 * kSecond);
  EXPECT_GE(sample_span_ns(on_exit), 3 * kSecond);
  rec::Recording on_cpu = read_ok(dumps.front());
  EXPECT_GE(sample_span_ns(on_cpu), kSecond);
  EXPECT_LT(newest_sample_ns(on_cpu), newest_sample_ns(on_exit));
  expect_pprof_reads(dumps.back());
}

}  // namespace
}  // namespace flare::testing
