// Names you can trust: every frame named from the right file, with file and
// line, whatever happened to that file. Each test runs a workload whose
// functions and source lines are known (tests/workloads/symbol_target.c,
// fp_chains, a node script) and reads the capture back through the real
// consumer, go tool pprof, or flare's folded output:
// - an inlined function shows as an inline frame with its own line;
// - split debug info is found by .gnu_debuglink and, under --debug-dir, by
//   build-id alone; without it the frames keep module+offset and build-id;
// - a target in its own mount namespace is symbolized from its own binary,
//   not from a decoy at the same path on the host;
// - a binary and a library deleted mid-capture are still fully symbolized;
// - JIT code is named from perf maps: node's, in a container too, and the
//   JVM's (jcmd Compiler.perfmap).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/integration/support/flare_test.h"

namespace flare::testing {
namespace {

using namespace std::chrono_literals;

// Tolerances, and why:
// - at least 80 % of the samples in the inlined loop: symbol_target spends
//   all but its clock reads there (perf on it: 99 %); the margin covers
//   samples in process start-up and exit.
constexpr double kMinInlinedFraction = 0.80;
// - the sampled line within +-2 of the loop's line: the loop is one source
//   line, but the compiler may attribute its first or last instruction to a
//   neighbour.
constexpr int kLineTolerance = 2;

struct Lines {
  int inlined = 0;
  int call = 0;
};

// "lines inlined=N call=M" from the workload's output.
std::optional<Lines> workload_lines(const std::string& out) {
  std::smatch m;
  static const std::regex re("lines inlined=(\\d+) call=(\\d+)");
  if (!std::regex_search(out, m, re)) return std::nullopt;
  return Lines{std::stoi(m[1]), std::stoi(m[2])};
}

// One stack of `go tool pprof -traces -lines`, leaf first.
struct TraceFrame {
  std::string function, file;
  int line = 0;
  bool inlined = false;
};
struct Trace {
  double value = 0;
  std::vector<TraceFrame> frames;
};

std::vector<Trace> parse_traces(const std::string& text) {
  std::vector<Trace> traces;
  // "     10ms   symbol_target_inlined /src/x.c:31 (inline)" starts a
  // trace; following frames are indented without a value.
  static const std::regex frame_re("^\\s*(\\S+)?\\s+(\\S+) (\\S+):(\\d+)( \\(inline\\))?\\s*$");
  bool in_trace = false;
  for (const std::string& line : lines_of(text)) {
    if (line.rfind("-----", 0) == 0) {
      in_trace = true;
      traces.emplace_back();
      continue;
    }
    if (!in_trace || line.empty()) continue;
    std::smatch m;
    if (!std::regex_match(line, m, frame_re)) continue;
    Trace& t = traces.back();
    if (t.frames.empty() && m[1].matched) t.value = std::strtod(m[1].str().c_str(), nullptr);
    t.frames.push_back(TraceFrame{m[2], m[3], std::stoi(m[4]), m[5].matched});
  }
  traces.erase(std::remove_if(traces.begin(), traces.end(), [](const Trace& t) { return t.frames.empty(); }),
               traces.end());
  return traces;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string build_id_of(const fs::path& elf) {
  RunResult r = run({"/usr/bin/readelf", "-n", elf.string()}, 10s);
  std::smatch m;
  static const std::regex re("Build ID: ([0-9a-f]+)");
  return std::regex_search(r.out, m, re) ? m[1].str() : "";
}

class SymbolsTest : public IntegrationTest {
 protected:
  // Spawns `command` under flare record (99 Hz) and returns the recording;
  // `target_out` gets the command's stdout (it shares flare's).
  fs::path record_command(const Argv& command, const Argv& extra_flags = {}, std::string* target_out = nullptr) {
    fs::path out = path("cap.flare");
    fs::remove(out);
    Argv args = {"record", "-F", "99", "-o", out.string()};
    args.insert(args.end(), extra_flags.begin(), extra_flags.end());
    args.push_back("--");
    args.insert(args.end(), command.begin(), command.end());
    RunResult r = flare(args, 60s);
    EXPECT_TRUE(r.status.ok()) << describe(args, r);
    EXPECT_TRUE(fs::exists(out)) << out;
    if (target_out) *target_out = r.out;
    return out;
  }

  fs::path to_pprof(const fs::path& recording) {
    fs::path pb = path("cap.pb.gz");
    Argv args = {"convert", recording.string(), "--to", "pprof", "-o", pb.string()};
    RunResult r = flare(args);
    EXPECT_TRUE(r.status.ok()) << describe(args, r);
    return pb;
  }

  // go tool pprof -traces -lines: every stack with file:line per frame.
  std::string go_traces(const fs::path& pb) {
    Argv argv = {kGo, "tool", "pprof", "-traces", "-lines", "-sample_index=samples", pb.string()};
    SpawnOptions opts;
    if (!std::getenv("HOME")) opts.extra_env["HOME"] = dir().string();
    RunResult r = run(argv, 60s, opts);
    EXPECT_TRUE(r.status.ok()) << describe(argv, r);
    return r.out;
  }

  // The symbol_target truth checked through go tool pprof: samples in the
  // inlined loop show it as an inline frame at its line, called from
  // symbol_target_outer at the call line, called from main.
  void expect_inlined_chain(const fs::path& recording, const Lines& lines) {
    std::string text = go_traces(to_pprof(recording));
    SCOPED_TRACE("go tool pprof -traces -lines:\n" + text.substr(0, 6000));
    std::vector<Trace> traces = parse_traces(text);
    double total = 0, with_chain = 0;
    for (const Trace& t : traces) {
      total += t.value;
      const auto& f = t.frames;
      if (f.size() >= 3 && f[0].function == "symbol_target_inlined" && f[0].inlined &&
          ends_with(f[0].file, "symbol_target.c") && std::abs(f[0].line - lines.inlined) <= kLineTolerance &&
          f[1].function == "symbol_target_outer" && !f[1].inlined &&
          std::abs(f[1].line - lines.call) <= kLineTolerance && f[2].function == "main") {
        with_chain += t.value;
      }
    }
    ASSERT_GT(total, 50) << "too few samples to judge";
    EXPECT_GE(with_chain, kMinInlinedFraction * total)
        << with_chain << " of " << total << " samples show main -> symbol_target_outer:" << lines.call
        << " -> symbol_target_inlined:" << lines.inlined << " (inline)";
  }

  // Copies symbol_target to `dir`/app and splits its debug info out.
  struct Split {
    fs::path binary, debug;
  };
  Split split_symbol_target(const fs::path& dir, bool debuglink) {
    fs::create_directories(dir);
    Split s{dir / "app", dir / "app.debug"};
    RunResult keep = run({kObjcopy, "--only-keep-debug", kSymbolTarget, s.debug.string()}, 30s);
    EXPECT_TRUE(keep.status.ok()) << keep.err;
    Argv strip = {kObjcopy, "--strip-all"};
    if (debuglink) strip.push_back("--add-gnu-debuglink=" + s.debug.string());
    strip.push_back(kSymbolTarget);
    strip.push_back(s.binary.string());
    RunResult stripped = run(strip, 30s);
    EXPECT_TRUE(stripped.status.ok()) << stripped.err;
    // Truly stripped: no symbol table, no DWARF left in the binary.
    RunResult sections = run({"/usr/bin/readelf", "-S", s.binary.string()}, 10s);
    EXPECT_EQ(sections.out.find(".symtab"), std::string::npos) << sections.out;
    EXPECT_EQ(sections.out.find(".debug_info"), std::string::npos) << sections.out;
    return s;
  }
};

TEST_F(SymbolsTest, InlinedFunctionIsAnInlineFrameWithItsLine) {
  std::string out;
  fs::path rec = record_command({kSymbolTarget, "3"}, {}, &out);
  std::optional<Lines> lines = workload_lines(out);
  ASSERT_TRUE(lines) << out;
  expect_inlined_chain(rec, *lines);

  // Folded shows the inlined function as a frame of its own.
  ThreadChainCounts c = count_chain(folded(rec), "symbol_target",
                                    {"main", "symbol_target_outer", "symbol_target_inlined"});
  EXPECT_GE(static_cast<double>(c.with_chain), kMinInlinedFraction * static_cast<double>(c.samples))
      << c.with_chain << " of " << c.samples;

  // top too: the inlined function is where the time is spent.
  Argv top_args = {"top", rec.string(), "-n", "1"};
  RunResult top = flare(top_args);
  ASSERT_TRUE(top.status.ok()) << describe(top_args, top);
  EXPECT_NE(top.out.find("symbol_target_inlined"), std::string::npos) << top.out;
}

TEST_F(SymbolsTest, StrippedBinaryWithDebuglinkGetsNamesAndLines) {
  Split split = split_symbol_target(path("split"), /*debuglink=*/true);
  std::string out;
  fs::path rec = record_command({split.binary.string(), "3"}, {}, &out);
  std::optional<Lines> lines = workload_lines(out);
  ASSERT_TRUE(lines) << out;
  expect_inlined_chain(rec, *lines);
}

TEST_F(SymbolsTest, DebugInfoFoundByBuildIdOnlyUnderDebugDir) {
  Split split = split_symbol_target(path("bare"), /*debuglink=*/false);
  std::string build_id = build_id_of(split.binary);
  ASSERT_EQ(build_id.size(), 40u);
  fs::path debug_dir = path("debug");
  fs::path by_id = debug_dir / ".build-id" / build_id.substr(0, 2) / (build_id.substr(2) + ".debug");
  fs::create_directories(by_id.parent_path());
  fs::rename(split.debug, by_id);

  std::string out;
  fs::path rec = record_command({split.binary.string(), "3"}, {"--debug-dir", debug_dir.string()}, &out);
  std::optional<Lines> lines = workload_lines(out);
  ASSERT_TRUE(lines) << out;
  expect_inlined_chain(rec, *lines);

  // Without --debug-dir there is nothing to name the binary's code with: its
  // frames stay module+offset, with the build-id kept for later
  // symbolization (PPROF_BINARY_PATH), and never vanish.
  fs::path bare = record_command({split.binary.string(), "2"});
  auto stacks = folded(bare);
  uint64_t total = 0, module_offset = 0, named = 0;
  for (const FoldedStack& s : stacks) {
    total += s.count;
    bool has_module = false, has_name = false;
    for (const std::string& f : s.frames) {
      has_module |= f.rfind("[app+0x", 0) == 0;
      has_name |= f.find("symbol_target_") != std::string::npos;
    }
    module_offset += has_module ? s.count : 0;
    named += has_name ? s.count : 0;
  }
  EXPECT_EQ(named, 0u);
  EXPECT_GE(static_cast<double>(module_offset), kMinInlinedFraction * static_cast<double>(total));
  // ... and info counts them: every such sample has an unresolved user frame.
  auto info = info_json(bare);
  ASSERT_TRUE(info);
  const google::protobuf::Value* with_unresolved = json_get(*info, "unresolved.samples_with_unresolved_user_frame");
  ASSERT_NE(with_unresolved, nullptr);
  EXPECT_GE(with_unresolved->number_value(), static_cast<double>(module_offset));
  RunResult raw = run({kGo, "tool", "pprof", "-raw", to_pprof(bare).string()}, 60s);
  ASSERT_TRUE(raw.status.ok()) << raw.err;
  EXPECT_NE(raw.out.find(build_id), std::string::npos) << "the mapping lost its build-id:\n" << raw.out;
}

TEST_F(SymbolsTest, MountNamespaceTargetIsSymbolizedFromItsOwnBinary) {
  // The target runs DIR/app/app in its own mount namespace, where DIR/app is
  // a bind mount of DIR/real (symbol_target). On the host, DIR/app/app is
  // fp_chains: a decoy at the very path the target's maps show.
  fs::path real = path("real"), app = path("app");
  fs::create_directories(real);
  fs::create_directories(app);
  fs::copy_file(kSymbolTarget, real / "app");
  fs::copy_file(kFpChains, app / "app");
  std::string script = "mount --bind '" + real.string() + "' '" + app.string() + "' && exec '" +
                       (app / "app").string() + "' 3";
  std::string out;
  fs::path rec = record_command({kUnshare, "--mount", "--propagation", "private", "/bin/sh", "-c", script}, {}, &out);
  std::optional<Lines> lines = workload_lines(out);
  ASSERT_TRUE(lines) << "the target did not run in its namespace: " << out;
  ASSERT_EQ(build_id_of(app / "app"), build_id_of(kFpChains)) << "the host still sees the decoy";

  expect_inlined_chain(rec, *lines);
  uint64_t decoy = 0;
  for (const FoldedStack& s : folded(rec)) {
    for (const std::string& f : s.frames) {
      if (f.find("a_level") != std::string::npos || f.find("spin_leaf") != std::string::npos ||
          f.find("thread_a_entry") != std::string::npos) {
        decoy += s.count;
        break;
      }
    }
  }
  EXPECT_EQ(decoy, 0u) << "samples named from the host's decoy binary";
}

TEST_F(SymbolsTest, BinaryAndLibraryDeletedMidCaptureAreFullySymbolized) {
  // Copies of fp_chains and its dlopen'ed library, deleted while both are
  // running and flare is recording.
  fs::path bin = path("fp_chains_copy"), lib = path("libflare_dl_copy.so");
  fs::copy_file(kFpChains, bin);
  fs::copy_file(kDlLib, lib);
  Child target = Child::spawn({bin.string(), "--high-priority", "--seconds", "7", "--dlopen-after", "2.5",
                               "--dlopen-lib", lib.string()});
  ASSERT_TRUE(target.wait_for_line("ready", 10s)) << target.err_so_far();
  fs::path rec = path("cap.flare");
  Child recorder = flare_in_background({"record", "-p", std::to_string(target.pid()), "-d", "20s", "-o", rec.string()});
  // Delete only once flare samples (it holds the links of its BPF program
  // to the perf events) and the library is loaded, so both deletions happen
  // mid-capture.
  bool attached = false;
  for (int i = 0; i < 500 && !attached && recorder.running(); ++i) {
    attached = !bpf_objects_held_by(recorder.pid()).links.empty();
    if (!attached) std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(attached) << "flare did not attach: " << recorder.err_so_far();
  ASSERT_TRUE(target.wait_for_line("dl_opened", 15s)) << target.out_so_far();
  ASSERT_TRUE(fs::remove(bin));
  ASSERT_TRUE(fs::remove(lib));
  ASSERT_TRUE(target.wait_for_line("done", 20s)) << target.out_so_far();
  RunResult r = recorder.wait(30s);
  ASSERT_TRUE(r.status.ok()) << describe(recorder.argv(), r);

  auto stacks = folded(rec);
  for (const auto& [thread, chain] : {std::pair{"worker_a", kChainA}, std::pair{"worker_dl", kChainDl}}) {
    ThreadChainCounts c = count_chain(stacks, thread, chain);
    EXPECT_GT(c.samples, 20u) << thread;
    EXPECT_GE(static_cast<double>(c.with_chain), 0.8 * static_cast<double>(c.samples))
        << thread << ": " << c.with_chain << " of " << c.samples << " samples end in the full chain";
  }
  uint64_t unresolved = 0;
  for (const FoldedStack& s : stacks) {
    for (const std::string& f : s.frames) {
      if (f.find("fp_chains_copy+") != std::string::npos || f.find("libflare_dl_copy.so+") != std::string::npos) {
        unresolved += s.count;
        break;
      }
    }
  }
  EXPECT_EQ(unresolved, 0u) << "samples with unsymbolized frames in the deleted files";
}

// A JS program whose main thread spends nearly all its time in flareHotLoop.
std::string hot_js(int seconds) {
  return "function flareHotLoop(n) {\n"
         "  let s = 0;\n"
         "  for (let i = 0; i < n; i++) s = (s * 31 + i) | 0;\n"
         "  return s;\n"
         "}\n"
         "const end = Date.now() + " +
         std::to_string(seconds * 1000) +
         ";\n"
         "let x = 0;\n"
         "while (Date.now() < end) x ^= flareHotLoop(1000000);\n"
         "console.log('result ' + x);\n";
}

// Samples of node's main thread, and those whose leaf is flareHotLoop: V8
// names its code "JS:*flareHotLoop <file>:1:..." (optimized) or "JS:~...".
std::pair<uint64_t, uint64_t> hot_loop_samples(const std::vector<FoldedStack>& stacks) {
  uint64_t main_samples = 0, in_hot = 0;
  for (const FoldedStack& s : stacks) {
    if (s.thread != "node") continue;
    main_samples += s.count;
    std::vector<std::string> user = user_frames(s);
    if (!user.empty() && user.back().find("flareHotLoop") != std::string::npos) in_hot += s.count;
  }
  return {main_samples, in_hot};
}

TEST_F(SymbolsTest, NodeJitFunctionIsNamedFromItsPerfMap) {
  fs::path script = path("hot.js");
  {
    std::ofstream js(script);
    js << hot_js(3);
  }
  std::string out;
  fs::path rec = record_command({kNode, "--perf-basic-prof", script.string()}, {}, &out);
  EXPECT_NE(out.find("result "), std::string::npos) << out;
  // node writes /tmp/perf-PID.map and never removes it.
  for (const auto& entry : fs::directory_iterator("/tmp")) {
    std::string name = entry.path().filename().string();
    if (name.rfind("perf-", 0) == 0 && ends_with(name, ".map") &&
        read_text(entry.path()).find(script.string()) != std::string::npos) {
      fs::remove(entry.path());
    }
  }

  auto [main_samples, in_hot] = hot_loop_samples(folded(rec));
  ASSERT_GT(main_samples, 100u);
  EXPECT_GE(static_cast<double>(in_hot), 0.5 * static_cast<double>(main_samples))
      << in_hot << " of " << main_samples << " main-thread samples have flareHotLoop as their leaf";
  // info says where those names came from.
  auto info = info_json(rec);
  ASSERT_TRUE(info);
  std::map<std::string, double> stats;
  if (const google::protobuf::Value* list = json_get(*info, "stats")) {
    for (const auto& item : list->list_value().values()) {
      const auto& fields = item.struct_value().fields();
      if (fields.count("name") && fields.count("value")) {
        stats[fields.at("name").string_value()] = fields.at("value").number_value();
      }
    }
  }
  EXPECT_EQ(stats["perf_maps_opened"], 1);
  EXPECT_GE(stats["jit_frames_resolved"], 1);
}

TEST_F(SymbolsTest, NodeInAContainerIsNamedFromThePerfMapUnderItsRoot) {
  // node runs as PID 1 of its own PID namespace, with a /tmp of its own: its
  // /tmp/perf-1.map exists only under /proc/PID/root, named with the PID it
  // has inside, not the one flare attaches to.
  std::string inner = "mount -t tmpfs tmpfs /tmp && exec '" + std::string(kNode) + "' --perf-basic-prof -e \"" +
                      hot_js(6) + "\"";
  Child container = Child::spawn({kUnshare, "--mount", "--propagation", "private", "--pid", "--kill-child",
                                  "--mount-proc", "/bin/sh", "-c", inner});
  // The namespace's PID 1 is unshare's child; wait until it is node.
  pid_t node = 0;
  for (int i = 0; i < 500 && node == 0; ++i) {
    std::string children = read_text("/proc/" + std::to_string(container.pid()) + "/task/" +
                                      std::to_string(container.pid()) + "/children");
    pid_t child = static_cast<pid_t>(std::atoi(children.c_str()));
    if (child > 0 && read_text("/proc/" + std::to_string(child) + "/comm") == "node\n") node = child;
    if (node == 0) std::this_thread::sleep_for(10ms);
  }
  ASSERT_NE(node, 0) << "node did not start in its namespace: " << container.err_so_far();
  std::string status = read_text("/proc/" + std::to_string(node) + "/status");
  ASSERT_NE(status.find("NSpid:\t" + std::to_string(node) + "\t1\n"), std::string::npos) << status;

  fs::path rec = path("cap.flare");
  Argv args = {"record", "-p", std::to_string(node), "-d", "3s", "-o", rec.string()};
  RunResult r = flare(args, 60s);
  ASSERT_TRUE(r.status.ok()) << describe(args, r);
  EXPECT_FALSE(fs::exists("/tmp/perf-1.map")) << "the map must only exist inside the container";

  auto [main_samples, in_hot] = hot_loop_samples(folded(rec));
  ASSERT_GT(main_samples, 100u);
  EXPECT_GE(static_cast<double>(in_hot), 0.5 * static_cast<double>(main_samples))
      << in_hot << " of " << main_samples << " main-thread samples have flareHotLoop as their leaf";
}

TEST_F(SymbolsTest, JvmMethodIsNamedFromItsPerfMap) {
  fs::path src = path("Hot.java");
  {
    std::ofstream java(src);
    java << "public class Hot {\n"
            "  static long flareHotMethod(long n) {\n"
            "    long s = 0;\n"
            "    for (long i = 0; i < n; i++) s = s * 31 + i;\n"
            "    return s;\n"
            "  }\n"
            "  public static void main(String[] args) {\n"
            "    long end = System.currentTimeMillis() + Long.parseLong(args[0]);\n"
            "    long x = 0;\n"
            "    while (System.currentTimeMillis() < end) x ^= flareHotMethod(10_000_000);\n"
            "    System.out.println(\"result \" + x);\n"
            "  }\n"
            "}\n";
  }
  RunResult compiled = run({kJavac, "-d", dir().string(), src.string()}, 120s);
  ASSERT_TRUE(compiled.status.ok()) << compiled.err;
  // Frame pointers through JIT code; the method kept out of main so it is
  // the sampled leaf; PrintCompilation says when C2 has compiled it.
  Child jvm = Child::spawn({kJava, "-XX:+PreserveFramePointer", "-XX:CompileCommand=quiet",
                            "-XX:CompileCommand=dontinline,Hot::flareHotMethod", "-XX:+PrintCompilation", "-cp",
                            dir().string(), "Hot", "8000"});
  static const std::regex c2("\\s4\\s+Hot::flareHotMethod \\(");
  bool compiled_c2 = false;
  for (int i = 0; i < 1000 && !compiled_c2 && jvm.running(); ++i) {
    jvm.poll_output();
    compiled_c2 = std::regex_search(jvm.out_so_far(), c2);
    if (!compiled_c2) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(compiled_c2) << jvm.out_so_far() << jvm.err_so_far();
  // The JVM writes /tmp/perf-PID.map when asked (JDK 17+).
  RunResult perfmap = run({kJcmd, std::to_string(jvm.pid()), "Compiler.perfmap"}, 60s);
  ASSERT_TRUE(perfmap.status.ok()) << perfmap.out << perfmap.err;
  fs::path map = "/tmp/perf-" + std::to_string(jvm.pid()) + ".map";
  ASSERT_NE(read_text(map).find("flareHotMethod"), std::string::npos);

  fs::path rec = path("cap.flare");
  Argv args = {"record", "-p", std::to_string(jvm.pid()), "-d", "2s", "-o", rec.string()};
  RunResult r = flare(args, 60s);
  fs::remove(map);
  ASSERT_TRUE(r.status.ok()) << describe(args, r);

  // The Java main thread (named "java") spends nearly all its time there.
  uint64_t main_samples = 0, in_hot = 0;
  for (const FoldedStack& s : folded(rec)) {
    if (s.thread != "java") continue;
    main_samples += s.count;
    std::vector<std::string> user = user_frames(s);
    if (!user.empty() && user.back().find("Hot.flareHotMethod") != std::string::npos) in_hot += s.count;
  }
  ASSERT_GT(main_samples, 100u);
  EXPECT_GE(static_cast<double>(in_hot), 0.5 * static_cast<double>(main_samples))
      << in_hot << " of " << main_samples << " java-thread samples have Hot.flareHotMethod as their leaf";
}

}  // namespace
}  // namespace flare::testing
