// Capabilities: the documented set (CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE,
// CAP_DAC_READ_SEARCH) is enough for a full capture, and without CAP_BPF /
// CAP_PERFMON flare says so instead of failing obscurely.
//
// How the least-privilege run is made honest: flare runs as uid 65534
// (nobody) with exactly those four capabilities as *ambient* capabilities
// (setpriv --reuid ... --ambient-caps). Running as uid 0 with a trimmed
// capability set would hide mistakes, because uid 0 still owns root's files
// and /proc entries; as nobody, every file flare reads or writes and every
// /proc/PID access to the (root-owned) target goes through the capability
// checks a real non-root deployment hits.
#include <sys/stat.h>
#include <unistd.h>

#include "tests/integration/support/flare_test.h"

namespace flare::testing {
namespace {

using namespace std::chrono_literals;

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;
constexpr const char* kDocumentedCaps = "+bpf,+perfmon,+sys_ptrace,+dac_read_search";

// setpriv prefix: nobody, exactly `caps` (setpriv syntax, e.g. "+bpf"),
// also as the bounding set so nothing can be regained.
Argv as_nobody_with(const std::string& caps) {
  std::string set = caps.empty() ? "-all" : "-all," + caps;
  return {kSetpriv,
          "--reuid=" + std::to_string(kNobody),
          "--regid=" + std::to_string(kNogroup),
          "--clear-groups",
          "--inh-caps=" + set,
          "--ambient-caps=" + set,
          "--bounding-set=" + set,
          "--"};
}

Argv with_flare(Argv prefix, const Argv& args) {
  prefix.push_back(kFlare);
  prefix.insert(prefix.end(), args.begin(), args.end());
  return prefix;
}

class PrivilegesTest : public IntegrationTest {
 protected:
  // A directory nobody may write to.
  fs::path nobody_dir() {
    fs::path d = path("nobody");
    fs::create_directory(d);
    EXPECT_EQ(::chown(d.c_str(), kNobody, kNogroup), 0);
    // The scratch dir itself is 0700 root (mkdtemp); let nobody through.
    fs::permissions(dir(), fs::perms::owner_all | fs::perms::others_exec);
    return d;
  }
};

TEST_F(PrivilegesTest, DocumentedCapabilitiesAreEnoughForAFullCapture) {
  Child target = start_fp_chains({"--seconds", "15"});  // runs as root
  fs::path out = nobody_dir() / "cap.flare";
  Argv argv = with_flare(as_nobody_with(kDocumentedCaps),
                         {"record", "-p", std::to_string(target.pid()), "-d", "3s", "-F", "99", "-o", out.string()});
  RunResult r = run(argv, 30s);
  ASSERT_TRUE(r.status.ok()) << describe(argv, r);
  ASSERT_TRUE(fs::exists(out));

  // Viewing needs no privileges at all: convert as nobody without any
  // capability.
  Argv convert = with_flare(as_nobody_with(""), {"convert", out.string(), "--to", "folded"});
  RunResult c = run(convert, 60s);
  ASSERT_TRUE(c.status.ok()) << describe(convert, c);
  auto stacks = parse_folded(c.out);

  // Same truth as with full root: 3 s * 99 Hz * 1.0 CPU = 297 samples
  // (+-20 %), full chains (>= 90 %), which needs the target's binary read
  // through /proc (CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH).
  uint64_t total = 0;
  for (const auto& s : stacks) total += s.count;
  EXPECT_NEAR(static_cast<double>(total), 3 * 99 * kFpChainsBusyCpus, 3 * 99 * kFpChainsBusyCpus * 0.2) << c.out;
  for (const auto& [thread, chain] : {std::pair{"worker_a", kChainA}, std::pair{"worker_b", kChainB}}) {
    ThreadChainCounts n = count_chain(stacks, thread, chain);
    EXPECT_GT(n.samples, 0u) << thread << "\n" << c.out;
    EXPECT_GE(static_cast<double>(n.with_chain), 0.9 * static_cast<double>(n.samples))
        << thread << ": " << n.with_chain << "/" << n.samples << "\n" << c.out;
  }
}

TEST_F(PrivilegesTest, WithoutBpfAndPerfmonCapabilitiesItIsAClearError) {
  Child target = start_fp_chains({"--seconds", "15"});
  fs::path out = path("cap.flare");
  // uid 0 keeps write access to the output directory, so the only thing
  // missing is BPF/perf access. CAP_SYS_ADMIN goes too: it implies both.
  Argv argv = {kSetpriv, "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-bpf,-perfmon,-sys_admin", "--",
               kFlare,   "record",          "-p",                  std::to_string(target.pid()),
               "-d",     "2s",              "-o",                  out.string()};
  RunResult r = run(argv, 30s);
  EXPECT_TRUE(is_flare_error(r, 1)) << describe(argv, r);
  // "Clear" means it names what is missing.
  EXPECT_TRUE(r.err.find("CAP_BPF") != std::string::npos || r.err.find("CAP_PERFMON") != std::string::npos)
      << "the error should name the missing capability: " << r.err;
  EXPECT_TRUE(no_output_left(out));
}

TEST_F(PrivilegesTest, OutputDirectoryTheUserCannotWriteIsAnErrorBeforeRecording) {
  Child target = start_fp_chains({"--seconds", "15"});
  nobody_dir();  // makes the scratch dir reachable for nobody
  fs::path root_only = path("root-only");
  fs::create_directory(root_only);
  fs::permissions(root_only, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                 fs::perms::others_read | fs::perms::others_exec);  // 0755 root
  fs::path out = root_only / "cap.flare";
  Argv argv = with_flare(as_nobody_with(kDocumentedCaps),
                         {"record", "-p", std::to_string(target.pid()), "-d", "10s", "-o", out.string()});
  auto start = std::chrono::steady_clock::now();
  RunResult r = run(argv, 30s);
  EXPECT_TRUE(is_flare_error(r, 1)) << describe(argv, r);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "noticed only after recording";
  EXPECT_TRUE(no_output_left(out));
}

}  // namespace
}  // namespace flare::testing
