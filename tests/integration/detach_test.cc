// Clean detach: while flare records, its BPF programs (named flare_*) and
// their attachments are visible to bpftool; after flare exits -- at the end
// of -d, on SIGINT or SIGTERM, when the target exits, or when flare itself is
// SIGKILLed -- none of its programs, maps or links remain, and nothing named
// flare is pinned in any bpffs.
//
// `bpftool perf list` is only consulted after exit: it cannot show software
// perf events (cpu-clock) with BPF attached (BPF_TASK_FD_QUERY covers
// tracepoints, kprobes and uprobes), so during a capture flare's
// attachments show up as perf_event links in `bpftool link show` instead.
//
// Which objects are flare's: the prog/map/link ids its file descriptors
// refer to (/proc/PID/fdinfo), so another BPF user on the machine cannot
// confuse the test. The kernel frees objects asynchronously once the last
// fd closes, so absence is polled for up to 5 s.
#include <signal.h>

#include <chrono>
#include <thread>

#include "tests/integration/support/flare_test.h"

namespace flare::testing {
namespace {

using namespace std::chrono_literals;

enum class Ending { kDuration, kSigint, kSigterm, kTargetExit, kSigkill };

std::string ids(const std::set<uint32_t>& s) {
  std::string out;
  for (uint32_t id : s) out += (out.empty() ? "" : ",") + std::to_string(id);
  return out;
}

class DetachTest : public IntegrationTest {
 protected:
  // Waits until flare holds BPF programs that are attached, checks what
  // bpftool shows, and returns what flare holds.
  BpfObjects wait_until_attached(Child& recorder) {
    BpfObjects held;
    for (auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
      held = bpf_objects_held_by(recorder.pid());
      // 1 sampler + 4 off-CPU + 2 allocation programs; at least one link each
      // for the allocation and off-CPU programs, one per CPU for the sampler.
      if (held.progs.size() >= 7 && held.links.size() >= 7) break;
      if (!recorder.running()) break;
      std::this_thread::sleep_for(20ms);
    }
    EXPECT_FALSE(held.progs.empty()) << "flare holds no BPF program; stderr: " << recorder.err_so_far();
    EXPECT_FALSE(held.links.empty()) << "flare holds no BPF link; stderr: " << recorder.err_so_far();

    // bpftool lists them, under flare_ names.
    std::set<uint32_t> listed;
    for (const BpfProg& p : bpftool_progs()) {
      if (!held.progs.count(p.id)) continue;
      listed.insert(p.id);
      EXPECT_EQ(p.name.rfind("flare_", 0), 0u) << "BPF program " << p.id << " is named '" << p.name
                                                << "', not flare_*";
    }
    EXPECT_EQ(listed, held.progs) << "bpftool prog show misses some of flare's programs";
    std::map<uint32_t, uint32_t> links = bpftool_links();
    for (uint32_t link : held.links) {
      auto it = links.find(link);
      if (it == links.end()) {
        ADD_FAILURE() << "bpftool link show misses flare's link " << link;
        continue;
      }
      EXPECT_TRUE(held.progs.count(it->second)) << "link " << link << " runs prog " << it->second
                                                << ", which flare does not hold";
    }
    return held;
  }

  // Polls until none of `held` exists any more.
  void expect_all_released(const BpfObjects& held, pid_t flare_pid) {
    std::set<uint32_t> progs, maps, links;
    for (auto deadline = std::chrono::steady_clock::now() + 5s;;) {
      progs.clear();
      maps.clear();
      links.clear();
      for (const BpfProg& p : bpftool_progs()) {
        if (held.progs.count(p.id)) progs.insert(p.id);
      }
      for (uint32_t m : bpftool_map_ids()) {
        if (held.maps.count(m)) maps.insert(m);
      }
      for (const auto& [link, prog] : bpftool_links()) {
        if (held.links.count(link) || held.progs.count(prog)) links.insert(link);
      }
      if ((progs.empty() && maps.empty() && links.empty()) || std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(progs.empty()) << "flare's BPF programs still loaded: " << ids(progs);
    EXPECT_TRUE(maps.empty()) << "flare's BPF maps still exist: " << ids(maps);
    EXPECT_TRUE(links.empty()) << "flare's BPF links still exist: " << ids(links);
    for (const BpfPerfEntry& e : bpftool_perf()) {
      EXPECT_FALSE(held.progs.count(e.prog_id) || e.pid == static_cast<uint32_t>(flare_pid))
          << "perf event with BPF program " << e.prog_id << " still held by pid " << e.pid;
    }
    EXPECT_EQ(pinned_flare_objects(), std::vector<fs::path>{}) << "flare objects pinned in bpffs";
    // With no other flare running, no flare_ program may exist at all.
    if (other_flare_processes().empty()) {
      for (const BpfProg& p : bpftool_progs()) {
        EXPECT_NE(p.name.rfind("flare_", 0), 0u) << "BPF program " << p.id << " '" << p.name
                                                  << "' remains with no flare process running";
      }
    }
  }

  void run_scenario(Ending ending) {
    // fp_chains ends by itself after 4 s for kTargetExit, else outlives flare.
    Child target = start_fp_chains({"--seconds", ending == Ending::kTargetExit ? "4" : "30"});
    RunResult target_result;
    std::optional<Background> reaper;
    if (ending == Ending::kTargetExit) reaper.emplace([&] { target_result = target.wait(30s); });

    fs::path out = path("cap.flare");
    const char* duration = ending == Ending::kDuration ? "3s" : "60s";
    // Every program family: the CPU sampler (perf events), the off-CPU
    // tracer (tp_btf links) and the allocation tracer (uprobe_multi links).
    Child recorder = flare_in_background({"record", "--events", "cpu,offcpu,alloc", "-p",
                                          std::to_string(target.pid()), "-d", duration, "-o", out.string()});
    BpfObjects held = wait_until_attached(recorder);
    ASSERT_FALSE(held.progs.empty());
    std::set<std::string> names;
    for (const BpfProg& p : bpftool_progs()) {
      if (held.progs.count(p.id)) names.insert(p.name);
    }
    for (const char* expected :
         {"flare_sample", "flare_sched_swi", "flare_sched_wak", "flare_sched_pro", "flare_alloc", "flare_free"}) {
      bool found = false;
      for (const std::string& n : names) found |= n.rfind(expected, 0) == 0;
      EXPECT_TRUE(found) << "program " << expected << "* not attached";
    }
    std::this_thread::sleep_for(1s);  // let it record something

    switch (ending) {
      case Ending::kSigint: recorder.signal(SIGINT); break;
      case Ending::kSigterm: recorder.signal(SIGTERM); break;
      case Ending::kSigkill: recorder.signal(SIGKILL); break;
      case Ending::kDuration:
      case Ending::kTargetExit: break;
    }
    // Signals and target exit end the capture promptly; -d 3s by itself.
    RunResult r = recorder.wait(20s);
    ASSERT_FALSE(r.status.timed_out) << "flare did not end: " << describe(recorder.argv(), r);

    if (ending == Ending::kSigkill) {
      EXPECT_EQ(r.status.term_signal, SIGKILL);
      // A killed capture never becomes FILE (FILE.partial may stay).
      EXPECT_FALSE(fs::exists(out)) << "a killed capture left a file that looks finalized";
    } else {
      EXPECT_TRUE(r.status.ok()) << describe(recorder.argv(), r);
      EXPECT_TRUE(fs::exists(out));
      EXPECT_FALSE(fs::exists(out.string() + ".partial"));
      auto samples = info_samples(out);
      ASSERT_TRUE(samples);
      EXPECT_GT(*samples, 50u) << "at least ~1 s at 99 Hz and 1.0 CPU (99 samples) was recorded";
    }
    expect_all_released(held, recorder.pid());
  }
};

TEST_F(DetachTest, AfterTheDurationEnds) { run_scenario(Ending::kDuration); }
TEST_F(DetachTest, AfterSigint) { run_scenario(Ending::kSigint); }
TEST_F(DetachTest, AfterSigterm) { run_scenario(Ending::kSigterm); }
TEST_F(DetachTest, AfterTheTargetExits) { run_scenario(Ending::kTargetExit); }
TEST_F(DetachTest, AfterFlareIsKilled) { run_scenario(Ending::kSigkill); }

}  // namespace
}  // namespace flare::testing
