// Goroutine tracing against the truth of tests/workloads/go_waits/main.go:
// goroutines that wait in known functions for known reasons and measure each
// wait themselves. Real BPF, as root; never skipped.
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "recorder/reader.h"
#include "tests/integration/support/flare_test.h"

namespace flare::testing {
namespace {

using namespace std::chrono_literals;

inline const char* const kGoWaits = GO_WAITS_BIN;

// "name total_ns count" lines of `go_waits waits`.
struct Measured {
  double ns = 0;
  uint64_t count = 0;
};
std::map<std::string, Measured> parse_measured(const std::string& out) {
  std::map<std::string, Measured> m;
  std::istringstream lines(out);
  std::string name;
  Measured v;
  while (lines >> name >> v.ns >> v.count) m[name] = v;
  return m;
}

// One park paired with the ready that ended it, read straight from the
// recording's records (an independent pairing of the viewer's).
struct Wait {
  std::string reason;
  std::vector<std::string> park_functions;   // leaf first
  std::vector<std::string> waker_functions;  // leaf first
  uint64_t wait_ns = 0;
  uint64_t waker_goid = 0;
  bool netpoll = false;
};

std::vector<std::string> functions(const rec::Recording& rec, uint32_t stack) {
  std::vector<std::string> out;
  if (stack >= rec.stacks.size()) return out;
  for (uint32_t f : rec.stacks[stack]) out.push_back(rec.str(rec.frames[f].function));
  return out;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::vector<Wait> waits_of(const rec::Recording& rec) {
  std::vector<const rec::GoroutineEvent*> events;
  for (const auto& e : rec.goroutine_events) events.push_back(&e);
  std::stable_sort(events.begin(), events.end(), [](auto* a, auto* b) { return a->time_ns < b->time_ns; });
  std::unordered_map<uint64_t, const rec::GoroutineEvent*> parked;  // one process: goid is enough
  std::vector<Wait> out;
  for (const rec::GoroutineEvent* e : events) {
    if (e->kind == rec::GoroutineEventKind::kPark) {
      parked[e->goid] = e;
      continue;
    }
    auto it = parked.find(e->goid);
    if (it == parked.end()) continue;
    Wait w;
    w.reason = rec.str(it->second->reason);
    w.park_functions = functions(rec, it->second->stack);
    w.waker_functions = functions(rec, e->stack);
    w.wait_ns = e->wait_ns;
    w.waker_goid = e->waker_goid;
    w.netpoll = e->flags & rec::kGoroutineFromNetpoll;
    // The recorder paired them too; both must agree on the time.
    EXPECT_EQ(w.wait_ns, e->time_ns - it->second->time_ns) << "goid " << e->goid;
    out.push_back(w);
    parked.erase(it);
  }
  return out;
}

struct Sum {
  double ns = 0;
  uint64_t count = 0;
};
Sum sum_waits(const std::vector<Wait>& waits, const std::string& reason, const std::string& function) {
  Sum s;
  for (const Wait& w : waits) {
    if (w.reason != reason || !contains(w.park_functions, function)) continue;
    s.ns += static_cast<double>(w.wait_ns);
    ++s.count;
  }
  return s;
}

class GoroutineTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    ASSERT_TRUE(fs::exists(kGoWaits)) << kGoWaits << " was not built (is golang-go installed?)";
  }
};

TEST_F(GoroutineTest, ParksHaveTheirReasonFunctionWakerAndMeasuredWait) {
  const fs::path out = path("waits.flare");
  Argv args = {"record", "--events", "goroutine", "-o", out.string(), "--", kGoWaits, "waits"};
  RunResult r = flare(args, 60s);
  // The workload exits 3 on purpose: flare passes its status through.
  ASSERT_TRUE(r.status.exited && r.status.exit_code == 3) << describe(args, r);
  const auto measured = parse_measured(r.out);
  ASSERT_EQ(measured.size(), 4u) << r.out;
  auto read = rec::read_recording(out.string());
  ASSERT_TRUE(read.is_ok()) << read.status().message();
  const rec::Recording& rec = *read;
  const std::vector<Wait> waits = waits_of(rec);

  struct Expectation {
    const char* kind;      // the workload's name for it
    const char* reason;    // the runtime's text in Go 1.19
    const char* function;  // on the parking stack
  };
  for (const Expectation& x : {Expectation{"chan", "chan receive", "main.chanReceiver"},
                               Expectation{"sleep", "sleep", "main.sleeper"},
                               Expectation{"mutex", "semacquire", "main.mutexWaiter"},
                               // netReader's net.Dial may wait for the connect too
                               // (IO wait, not measured): the read is under net.(*conn).Read.
                               Expectation{"net", "IO wait", "net.(*conn).Read"}}) {
    const Measured& m = measured.at(x.kind);
    const Sum s = sum_waits(waits, x.reason, x.function);
    // A sync.Mutex waiter may park more than once (woken, then beaten to
    // the lock); every other wait is one park.
    if (std::string(x.kind) == "mutex") {
      EXPECT_GE(s.count, m.count) << x.kind;
    } else {
      EXPECT_EQ(s.count, m.count) << x.kind;
    }
    // Park->ready is inside the measured interval and misses only the
    // run-queue wait after the ready (µs next to waits of 200-300 ms).
    EXPECT_NEAR(s.ns, m.ns, 0.10 * m.ns) << x.kind << ": recorded " << s.ns << " ns in " << s.count
                                         << " waits, measured " << m.ns << " ns";
  }

  // Who readied the channel receivers: the sending goroutine, with its stack.
  uint64_t chan_waits = 0;
  for (const Wait& w : waits) {
    if (w.reason != "chan receive" || !contains(w.park_functions, "main.chanReceiver")) continue;
    ++chan_waits;
    EXPECT_TRUE(contains(w.waker_functions, "main.chanSender"));
    EXPECT_TRUE(contains(w.waker_functions, "runtime.ready"));
    EXPECT_NE(w.waker_goid, 0u);
    EXPECT_EQ(w.park_functions.front(), "runtime.gopark");
  }
  EXPECT_EQ(chan_waits, 4u);
  // The TCP read was made runnable by the netpoller, not by a goroutine.
  uint64_t net_by_netpoll = 0;
  for (const Wait& w : waits) {
    if (w.reason == "IO wait" && contains(w.park_functions, "net.(*conn).Read") && w.netpoll) {
      ++net_by_netpoll;
      EXPECT_TRUE(contains(w.waker_functions, "runtime.netpollready"));
    }
  }
  EXPECT_EQ(net_by_netpoll, 1u);

  // info: counts and totals by reason, nothing lost.
  auto info = info_json(out);
  ASSERT_TRUE(info);
  const auto* chan_ns = json_get(*info, "goroutine.by_reason.chan receive.wait_ns");
  ASSERT_NE(chan_ns, nullptr);
  EXPECT_GE(chan_ns->number_value(), 0.9 * measured.at("chan").ns);
  const auto* netpoll = json_get(*info, "goroutine.netpoll_readies");
  ASSERT_NE(netpoll, nullptr);
  EXPECT_GE(netpoll->number_value(), 1);
  // Nothing dropped. A park no ready ended (gopark returning without
  // parking when the descriptor became ready first) is counted as
  // goroutine_unpaired, which is a true outcome, not a loss of data.
  const auto* lost = json_get(*info, "lost.by_cause");
  ASSERT_NE(lost, nullptr);
  for (const auto& cause : lost->list_value().values()) {
    const auto& fields = cause.struct_value().fields();
    if (fields.at("cause").string_value() == "goroutine_unpaired") continue;
    ADD_FAILURE() << "lost " << fields.at("count").number_value() << " " << fields.at("cause").string_value();
  }

  // The external validator reads the goroutine profile: the receivers' delay
  // under the "chan receive" reason label.
  const fs::path pb = path("goroutine.pb.gz");
  RunResult c = flare({"convert", out.string(), "--to", "pprof", "--type", "goroutine", "-o", pb.string()});
  ASSERT_TRUE(c.status.ok()) << c.err;
  RunResult top = run({kGo, "tool", "pprof", "-top", "-cum", "-unit=ms", "-sample_index=delay",
                       "-tagfocus=reason=chan receive", pb.string()},
                      60s, SpawnOptions{{{"HOME", dir().string()}, {"GOCACHE", path("gocache").string()}}});
  ASSERT_TRUE(top.status.ok()) << top.err;
  EXPECT_NE(top.out.find("main.chanReceiver"), std::string::npos) << top.out;
  EXPECT_EQ(top.out.find("main.sleeper"), std::string::npos) << top.out;
  RunResult text = flare({"top", out.string(), "--type", "goroutine", "-n", "50"});
  ASSERT_TRUE(text.status.ok()) << text.err;
  EXPECT_NE(text.out.find("main.chanReceiver"), std::string::npos) << text.out;
}

TEST_F(GoroutineTest, OutputAndExitStatusUnchangedUnderGoroutineChurn) {
  const Argv workload = {kGoWaits, "churn", "200000"};
  RunResult alone = run(workload, 60s);
  ASSERT_TRUE(alone.status.ok()) << describe(workload, alone);
  const fs::path out = path("churn.flare");
  Argv args = {"record", "--events", "goroutine", "-o", out.string(), "--"};
  args.insert(args.end(), workload.begin(), workload.end());
  RunResult traced = flare(args, 90s);
  ASSERT_TRUE(traced.status.ok()) << describe(args, traced);
  EXPECT_EQ(traced.out, alone.out);
  auto read = rec::read_recording(out.string());
  ASSERT_TRUE(read.is_ok()) << read.status().message();
  // Each batch starts its 1000 workers before main sends them anything, one
  // value at a time, so most workers park on their receive first (about 3
  // in 4 here; Go's scheduler decides exactly how many). Records the ring
  // had no room for are counted as lost, never silently missing.
  uint64_t worker_parks = 0;
  for (const rec::GoroutineEvent& e : read->goroutine_events) {
    if (e.kind == rec::GoroutineEventKind::kPark && read->str(e.reason) == "chan receive" &&
        contains(functions(*read, e.stack), "main.churnWorker")) {
      ++worker_parks;
    }
  }
  uint64_t lost = 0;
  for (const rec::LostRecord& l : read->lost) lost += l.count;
  EXPECT_GE(worker_parks + lost, 100000u) << "worker parks " << worker_parks << ", lost " << lost;
}

TEST_F(GoroutineTest, AttachesToARunningProgramAndDetachesCleanly) {
  Child target = Child::spawn({kGoWaits, "loop", "5"});
  ASSERT_TRUE(target.wait_for_line("ready", 10s)) << target.err_so_far();
  const fs::path out = path("attach.flare");
  Child recorder =
      flare_in_background({"record", "--events", "goroutine", "-p", std::to_string(target.pid()), "-o", out.string()});
  BpfObjects held;
  bool attached = false;
  for (auto deadline = std::chrono::steady_clock::now() + 10s; !attached && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(50ms);
    held = bpf_objects_held_by(recorder.pid());
    for (const BpfProg& p : bpftool_progs()) attached |= held.progs.count(p.id) && p.name == "flare_goroutine";
    attached &= !held.links.empty();
  }
  ASSERT_TRUE(attached) << "flare_goroutine never attached; stderr: " << recorder.err_so_far();
  std::this_thread::sleep_for(1s);
  recorder.signal(SIGINT);
  RunResult r = recorder.wait(20s);
  ASSERT_TRUE(r.status.ok()) << describe(recorder.argv(), r);

  // Everything flare held is gone, and the target runs on unharmed.
  std::set<uint32_t> left;
  for (auto deadline = std::chrono::steady_clock::now() + 5s;; std::this_thread::sleep_for(100ms)) {
    left.clear();
    for (const auto& [link, prog] : bpftool_links()) {
      if (held.links.count(link) || held.progs.count(prog)) left.insert(link);
    }
    for (const BpfProg& p : bpftool_progs()) {
      if (held.progs.count(p.id)) left.insert(p.id);
    }
    if (left.empty() || std::chrono::steady_clock::now() > deadline) break;
  }
  EXPECT_TRUE(left.empty()) << left.size() << " of flare's BPF links/programs still exist";
  RunResult t = target.wait(30s);
  EXPECT_TRUE(t.status.ok()) << describe(target.argv(), t);
  EXPECT_NE(t.out.find("loop 500\n"), std::string::npos) << t.out;

  // What it recorded while attached: main waiting on the channel, readied
  // by the worker's send; the worker sleeping.
  auto read = rec::read_recording(out.string());
  ASSERT_TRUE(read.is_ok()) << read.status().message();
  uint64_t main_waits = 0, worker_sleeps = 0;
  for (const Wait& w : waits_of(*read)) {
    if (w.reason == "chan receive" && contains(w.park_functions, "main.loopMain")) {
      ++main_waits;
      EXPECT_TRUE(contains(w.waker_functions, "main.loopWorker"));
    }
    if (w.reason == "sleep" && contains(w.park_functions, "main.loopWorker")) ++worker_sleeps;
  }
  // About 100 rounds per second recorded; at least a few dozen on a busy machine.
  EXPECT_GE(main_waits, 30u);
  EXPECT_GE(worker_sleeps, 30u);
}

TEST_F(GoroutineTest, ANonGoTargetIsRefusedWithOneClearError) {
  const fs::path out = path("notgo.flare");
  RunResult r = flare({"record", "--events", "goroutine", "-o", out.string(), "--", kExitSoon});
  EXPECT_TRUE(is_flare_error(r, 1)) << r.err;
  EXPECT_NE(r.err.find("is not a Go program"), std::string::npos) << r.err;
  EXPECT_TRUE(no_output_left(out));
}

}  // namespace
}  // namespace flare::testing
