// Running programs from the integration tests: argv vectors only (never a
// shell), stdout and stderr captured, every wait bounded by a timeout, and
// children that outlive a failed test killed rather than leaked.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flare::testing {

using Argv = std::vector<std::string>;
using std::chrono::milliseconds;

struct ExitStatus {
  bool exited = false;     // ended through exit(); exit_code is valid
  int exit_code = -1;
  int term_signal = 0;     // killed by this signal (when !exited)
  bool timed_out = false;  // we gave up waiting and killed it with SIGKILL

  bool ok() const { return exited && exit_code == 0; }
};

struct RunResult {
  ExitStatus status;
  std::string out;
  std::string err;
};

// Printable, e.g. for assertion messages: argv, how it ended, stdout/stderr.
std::string describe(const Argv& argv, const RunResult& r);
std::string describe(const ExitStatus& s);

struct SpawnOptions {
  std::map<std::string, std::string> extra_env;  // added to (or replacing in) our environment
  bool capture_stdout = true;                    // false: inherit ours
};

// A child started in the background. stdout/stderr go to pipes that are read
// whenever we wait on it, so a chatty child never blocks on a full pipe.
class Child {
 public:
  // Aborts the test binary (with a message) only if fork/pipe fail; a
  // program that cannot be executed exits 127 with the reason on stderr.
  static Child spawn(const Argv& argv, const SpawnOptions& options = {});

  Child(Child&& other) noexcept;
  Child& operator=(Child&&) = delete;
  Child(const Child&) = delete;
  ~Child();  // SIGKILLs and reaps the child if it is still running

  pid_t pid() const { return pid_; }
  const Argv& argv() const { return argv_; }
  bool running();  // false once it has exited (and then it is reaped)

  // Waits until stdout holds a line equal to `line` (or starting with it when
  // prefix is true). False on timeout or when the child exits first.
  bool wait_for_line(std::string_view line, milliseconds timeout, bool prefix = false);

  void signal(int sig);

  // Reads whatever the child has written so far, without waiting.
  void poll_output() { pump(milliseconds(0)); }

  // Waits for exit; after `timeout` sends SIGKILL and reports timed_out.
  RunResult wait(milliseconds timeout);

  const std::string& out_so_far() const { return out_; }
  const std::string& err_so_far() const { return err_; }

 private:
  Child() = default;
  // Reads what is available on the pipes, waiting at most `slice`.
  void pump(milliseconds slice);
  bool reap(bool block);

  Argv argv_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
  std::optional<ExitStatus> status_;
};

// Runs argv to completion (killing it after `timeout`).
RunResult run(const Argv& argv, milliseconds timeout, const SpawnOptions& options = {});

}  // namespace flare::testing
