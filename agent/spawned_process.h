// A command started by `flare record -- CMD ARGS`: forked, held before exec
// until the sampler is attached (so its first instructions are recorded),
// then released; flare later exits with its status.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "agent/unique_fd.h"
#include "common/status.h"

namespace flare::agent {

// The file `command` (argv[0]) names, found as execvp finds it (through
// PATH when it has no '/'), as an absolute path; empty if there is none.
std::string resolve_command_path(const std::string& command);

class SpawnedProcess {
 public:
  // Forks a child that waits for release() before exec'ing argv.
  static Result<SpawnedProcess> fork_held(const std::vector<std::string>& argv);
  SpawnedProcess(SpawnedProcess&&) = default;
  SpawnedProcess& operator=(SpawnedProcess&&) = default;
  ~SpawnedProcess();

  pid_t pid() const { return pid_; }
  // Lets the child exec; fails if exec failed (e.g. command not found).
  Status release();
  // Waits for the child and returns its exit status as a shell reports it
  // (128 + signal number when killed by a signal).
  int wait_for_exit();
  // Non-blocking: true once the child has exited (its status is kept).
  bool has_exited();
  // Kills a child that was never released (capture setup failed).
  void abort();

 private:
  SpawnedProcess() = default;
  pid_t pid_ = -1;
  UniqueFd release_fd_;    // write end: one byte releases the child
  UniqueFd exec_error_fd_; // read end: errno from a failed exec, EOF on success
  bool reaped_ = false;
  int status_ = 0;
};

}  // namespace flare::agent
