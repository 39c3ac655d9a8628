// Shared pieces of the BPF integration tests: where the binaries are, a
// fixture that insists on root and owns a scratch directory, running flare
// and the bundled workloads, and reading flare's outputs (folded stacks,
// go tool pprof -top, info --json, bpftool) back into numbers to compare with
// the workloads' known truth.
#pragma once

#include <gtest/gtest.h>

#include <google/protobuf/struct.pb.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/support/subprocess.h"

namespace flare::testing {

namespace fs = std::filesystem;

// Built by CMake; see tests/integration/CMakeLists.txt.
inline const char* const kFlare = FLARE_BIN;
inline const char* const kFpChains = FP_CHAINS_BIN;
inline const char* const kDlLib = FLARE_DL_LIB;
inline const char* const kExitSoon = EXIT_SOON_BIN;
inline const char* const kOffCpuChains = OFFCPU_CHAINS_BIN;
inline const char* const kUnwindNoFp = UNWIND_NOFP_BIN;
inline const char* const kUnwindFp = UNWIND_FP_BIN;
inline const char* const kGo = GO_BIN;
inline const char* const kBpftool = BPFTOOL_BIN;
inline const char* const kSetpriv = SETPRIV_BIN;
inline const char* const kSymbolTarget = SYMBOL_TARGET_BIN;
inline const char* const kNode = NODE_BIN;
inline const char* const kObjcopy = OBJCOPY_BIN;
inline const char* const kUnshare = UNSHARE_BIN;
inline const char* const kJava = JAVA_BIN;
inline const char* const kJavac = JAVAC_BIN;
inline const char* const kJcmd = JCMD_BIN;

// The known chains of tests/workloads, root (thread entry) first.
inline const std::vector<std::string> kChainA = {"thread_a_entry", "a_level1", "a_level2", "a_level3",
                                                 "a_spin_leaf"};
inline const std::vector<std::string> kChainB = {"thread_b_entry", "b_level1", "b_level2", "b_level3",
                                                 "b_spin_leaf"};
inline const std::vector<std::string> kChainLate = {"late_entry", "late_level1", "late_spin_leaf"};
inline const std::vector<std::string> kChainDl = {"dl_thread_entry", "flare_dl_spin", "dl_inner_leaf"};
inline const std::vector<std::string> kChainExitSoon = {"main", "exit_soon_work", "exit_soon_leaf"};

// CPU the fp_chains workload keeps busy (see tests/workloads/fp_chains.c):
// worker_a 0.75 + worker_b 0.25.
inline constexpr double kFpChainsBusyCpus = 1.0;
inline constexpr double kWorkerAShare = 0.75;  // of worker_a + worker_b CPU time

// ---- recording outputs ------------------------------------------------------

// One line of `flare convert --to folded`: "thread;root;...;leaf count".
struct FoldedStack {
  std::string thread;
  std::vector<std::string> frames;  // root first, as printed
  uint64_t count = 0;
};

// Parses folded text; a malformed line is reported as a test failure.
std::vector<FoldedStack> parse_folded(const std::string& text);

// The stack without the kernel frames that follow the user leaf (names
// ending in "_[k]" or starting with "[kernel]").
std::vector<std::string> user_frames(const FoldedStack& s);

// True when `chain` (root first) is an unbroken run of the user frames that
// ends at the user leaf: the sample was taken in chain.back(), and every
// caller up to chain.front() was recovered.
bool ends_with_chain(const FoldedStack& s, const std::vector<std::string>& chain);

struct ThreadChainCounts {
  uint64_t samples = 0;     // all samples of threads with this name
  uint64_t with_chain = 0;  // of those, ends_with_chain()
};
ThreadChainCounts count_chain(const std::vector<FoldedStack>& stacks, const std::string& thread,
                              const std::vector<std::string>& chain);

// Samples of threads other than `thread` that contain any of `names`.
uint64_t foreign_samples(const std::vector<FoldedStack>& stacks, const std::string& thread,
                         const std::vector<std::string>& names);

// `go tool pprof -top` of a profile: flat value per function, and the total.
struct PprofTop {
  std::map<std::string, double> flat;
  double total = 0;
  std::string raw;
};
// Runs the real go tool pprof (the external validator) with
// -sample_index=`sample_index` (and -unit=`unit` for a time-valued index,
// e.g. "ms"); a failure to run or parse is a test failure.
std::optional<PprofTop> go_pprof_top(const fs::path& profile, const std::string& sample_index,
                                     const std::string& unit = "");

// JSON via protobuf's Struct (a JSON object maps onto it exactly).
std::optional<google::protobuf::Struct> parse_json_object(const std::string& text);
// Follows `path` ("a.b.c") through nested objects; nullptr when absent.
const google::protobuf::Value* json_get(const google::protobuf::Struct& root, const std::string& path);

// Timer ticks flare itself reports as missed (lost cause
// sampler_ticks_missed in info --json): ticks due while a CPU was busy that
// never ran the sampler. Tests print it beside their sample counts, so a
// shortfall shows whether flare knew about it.
double sampler_ticks_missed(const google::protobuf::Struct& info);
// info --json's count of a lost cause ("ring_buffer_full", ...); 0 when absent.
double lost_by_cause(const google::protobuf::Struct& info, const std::string& cause);
// info --json's statistic `name` ("stats": [{name, value}]); nullopt when absent.
std::optional<double> info_stat(const google::protobuf::Struct& info, const std::string& name);

// ---- CPU time actually used (the truth sample counts are compared with) ----

// On-CPU time of every thread of `pid` (/proc/PID/task/TID/schedstat, ns).
struct ThreadCpu {
  std::string name;
  uint64_t cpu_ns = 0;
};
std::map<pid_t, ThreadCpu> thread_cpu(pid_t pid);

// VmRSS of a process in KiB (0 when unreadable).
uint64_t vm_rss_kib(pid_t pid);

// CPU seconds per thread name used between two snapshots of one process.
std::map<std::string, double> cpu_seconds_by_name(const std::map<pid_t, ThreadCpu>& before,
                                                  const std::map<pid_t, ThreadCpu>& after);

// ---- bpftool ------------------------------------------------------------------

struct BpfObjects {
  std::set<uint32_t> progs, maps, links;
};
// The BPF objects process `pid` holds file descriptors to, from
// /proc/PID/fdinfo (prog_id:, map_id:, link_id: lines).
BpfObjects bpf_objects_held_by(pid_t pid);

struct BpfProg {
  uint32_t id = 0;
  std::string type;
  std::string name;
  std::vector<uint32_t> map_ids;
};
std::vector<BpfProg> bpftool_progs();
std::set<uint32_t> bpftool_map_ids();
// link id -> prog id
std::map<uint32_t, uint32_t> bpftool_links();
struct BpfPerfEntry {
  uint32_t pid = 0, fd = 0, prog_id = 0;
  std::string type;
};
std::vector<BpfPerfEntry> bpftool_perf();

// Paths under every mounted bpffs whose name contains "flare".
std::vector<fs::path> pinned_flare_objects();

// PIDs of running processes whose executable is flare.
std::vector<pid_t> other_flare_processes();

// Other processes holding perf events or BPF programs ("perf(123): 4 perf
// events, 1 BPF program; ..."), or "none". Other profilers running at the
// same time have been seen to disturb CPU sampling; failure messages of the
// count/share checks include this so such a run can be told apart.
std::string other_profilers();

// ---- fixture --------------------------------------------------------------------

// Base of every integration test: fails (never skips) unless run as root,
// and owns a scratch directory, kept when the test fails.
class IntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  fs::path path(const std::string& name) const { return dir_ / name; }
  const fs::path& dir() const { return dir_; }

  // flare with `args`, to completion.
  RunResult flare(const Argv& args, milliseconds timeout = milliseconds(60000));
  Child flare_in_background(const Argv& args);

  // Starts fp_chains with `args` and waits for its "ready" line. With
  // high_priority it runs with --high-priority (own autogroup, nice -10) so
  // that other load on this 2-core machine (builds, other sessions) cannot
  // stop it from keeping its designed CPU shares; flare itself runs at normal
  // priority. Never start two high-priority instances at once: together
  // they would fill both cores.
  Child start_fp_chains(const Argv& args, bool high_priority = true);

  // flare convert FILE --to folded, parsed.
  std::vector<FoldedStack> folded(const fs::path& recording);

  // flare info FILE --json, parsed.
  std::optional<google::protobuf::Struct> info_json(const fs::path& recording);

  // Total CPU samples of a recording, from info --json ("total_samples").
  std::optional<uint64_t> info_samples(const fs::path& recording);

  // Samples per thread id, from info --json ("threads": [{tid, samples}]).
  std::map<pid_t, uint64_t> info_thread_samples(const fs::path& recording);

 private:
  fs::path dir_;
};

// Runs `fn` on another thread and lets the caller join it later; used to reap
// a target process while the test thread waits on flare (a target that has
// exited but is not reaped stays a zombie, which still "exists").
class Background {
 public:
  explicit Background(std::function<void()> fn) : thread_(std::move(fn)) {}
  ~Background() { join(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::thread thread_;
};

// Asserts the error contract of a failed flare run: exit `code`, stderr is
// exactly one line and it starts with "flare: error:".
::testing::AssertionResult is_flare_error(const RunResult& r, int code);

// Neither `file` nor `file`.partial exists.
::testing::AssertionResult no_output_left(const fs::path& file);

// Splits into lines without their '\n'; a trailing partial line counts.
std::vector<std::string> lines_of(const std::string& text);

}  // namespace flare::testing
