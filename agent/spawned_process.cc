#include "agent/spawned_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace flare::agent {

namespace {

int shell_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

std::string resolve_command_path(const std::string& command) {
  if (command.empty()) return {};
  if (command.find('/') != std::string::npos) {
    std::error_code ec;
    std::filesystem::path absolute = std::filesystem::absolute(command, ec);
    return ec ? std::string() : absolute.string();
  }
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + command;
    if (access(candidate.c_str(), X_OK) == 0) return resolve_command_path(candidate);
  }
  return {};
}

Result<SpawnedProcess> SpawnedProcess::fork_held(const std::vector<std::string>& argv) {
  if (argv.empty()) return Status(ErrorCode::kInvalidArgument, "no command given after --");
  int release_pipe[2], error_pipe[2];
  if (pipe2(release_pipe, O_CLOEXEC) != 0) return Status::from_errno(errno, "creating a pipe");
  if (pipe2(error_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    close(release_pipe[0]);
    close(release_pipe[1]);
    return Status::from_errno(err, "creating a pipe");
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) return Status::from_errno(errno, "fork");
  if (pid == 0) {
    // Child: only async-signal-safe calls from here on.
    close(release_pipe[1]);
    close(error_pipe[0]);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    char go = 0;
    ssize_t n;
    do {
      n = read(release_pipe[0], &go, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) _exit(127);  // flare gave up before releasing us
    execvp(args[0], args.data());
    int err = errno;
    ssize_t ignored = write(error_pipe[1], &err, sizeof err);
    (void)ignored;
    _exit(127);
  }
  close(release_pipe[0]);
  close(error_pipe[1]);
  SpawnedProcess p;
  p.pid_ = pid;
  p.release_fd_.reset(release_pipe[1]);
  p.exec_error_fd_.reset(error_pipe[0]);
  return p;
}

SpawnedProcess::~SpawnedProcess() {
  if (pid_ > 0 && release_fd_.valid()) abort();
}

Status SpawnedProcess::release() {
  char go = 1;
  if (write(release_fd_.get(), &go, 1) != 1) return Status::from_errno(errno, "starting the command");
  release_fd_.reset();
  int err = 0;
  ssize_t n;
  do {
    n = read(exec_error_fd_.get(), &err, sizeof err);
  } while (n < 0 && errno == EINTR);
  exec_error_fd_.reset();
  if (n == static_cast<ssize_t>(sizeof err)) {
    wait_for_exit();
    return Status::from_errno(err, "cannot run the command");
  }
  return Status::ok();
}

int SpawnedProcess::wait_for_exit() {
  while (!reaped_) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, 0);
    if (r == pid_) {
      reaped_ = true;
      status_ = shell_status(status);
    } else if (r < 0 && errno != EINTR) {
      reaped_ = true;
      status_ = 1;
    }
  }
  return status_;
}

bool SpawnedProcess::has_exited() {
  if (reaped_) return true;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    reaped_ = true;
    status_ = shell_status(status);
  }
  return reaped_;
}

void SpawnedProcess::abort() {
  release_fd_.reset();  // the child reads EOF and exits 127
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    wait_for_exit();
  }
}

}  // namespace flare::agent
