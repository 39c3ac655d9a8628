#include "tests/integration/support/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <utility>

extern char** environ;

namespace flare::testing {

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "integration test support: %s: %s\n", what, std::strerror(errno));
  std::abort();
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Appends what is readable now; closes the fd at EOF.
void drain(int& fd, std::string& into) {
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      into.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) close_fd(fd);
    return;  // EOF or EAGAIN
  }
}

ExitStatus from_wait_status(int ws) {
  ExitStatus s;
  if (WIFEXITED(ws)) {
    s.exited = true;
    s.exit_code = WEXITSTATUS(ws);
  } else if (WIFSIGNALED(ws)) {
    s.term_signal = WTERMSIG(ws);
  }
  return s;
}

}  // namespace

std::string describe(const ExitStatus& s) {
  std::ostringstream o;
  if (s.exited) o << "exit " << s.exit_code;
  else if (s.term_signal) o << "killed by signal " << s.term_signal << " (" << strsignal(s.term_signal) << ")";
  else o << "still running";
  if (s.timed_out) o << " after timing out";
  return o.str();
}

std::string describe(const Argv& argv, const RunResult& r) {
  std::ostringstream o;
  o << "command:";
  for (const auto& a : argv) o << " '" << a << "'";
  o << "\nstatus: " << describe(r.status) << "\n--- stdout ---\n"
    << (r.out.size() > 4000 ? r.out.substr(0, 4000) + "\n[...]" : r.out)
    << "\n--- stderr ---\n"
    << (r.err.size() > 4000 ? r.err.substr(0, 4000) + "\n[...]" : r.err) << "\n--------------";
  return o.str();
}

Child Child::spawn(const Argv& argv, const SpawnOptions& options) {
  if (argv.empty()) {
    std::fprintf(stderr, "integration test support: empty argv\n");
    std::abort();
  }
  int out_pipe[2] = {-1, -1}, err_pipe[2];
  if (options.capture_stdout && ::pipe2(out_pipe, O_CLOEXEC) != 0) die("pipe2");
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) die("pipe2");

  // Built before fork: the child may only call async-signal-safe functions.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    std::string key(kv.substr(0, kv.find('=')));
    if (!options.extra_env.count(key)) env_strings.emplace_back(kv);
  }
  for (const auto& [k, v] : options.extra_env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    if (options.capture_stdout) ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    // Our own signal dispositions must not leak into the child (gtest does
    // not change them, but be explicit: flare relies on default SIGINT).
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execvpe(args[0], args.data(), envp.data());
    const char* msg = "integration test support: exec failed: ";
    (void)!::write(STDERR_FILENO, msg, std::strlen(msg));
    (void)!::write(STDERR_FILENO, args[0], std::strlen(args[0]));
    (void)!::write(STDERR_FILENO, "\n", 1);
    ::_exit(127);
  }

  Child c;
  c.argv_ = argv;
  c.pid_ = pid;
  if (options.capture_stdout) {
    ::close(out_pipe[1]);
    c.out_fd_ = out_pipe[0];
    ::fcntl(c.out_fd_, F_SETFL, O_NONBLOCK);
  }
  ::close(err_pipe[1]);
  c.err_fd_ = err_pipe[0];
  ::fcntl(c.err_fd_, F_SETFL, O_NONBLOCK);
  return c;
}

Child::Child(Child&& o) noexcept
    : argv_(std::move(o.argv_)),
      pid_(std::exchange(o.pid_, -1)),
      out_fd_(std::exchange(o.out_fd_, -1)),
      err_fd_(std::exchange(o.err_fd_, -1)),
      out_(std::move(o.out_)),
      err_(std::move(o.err_)),
      status_(std::move(o.status_)) {}

Child::~Child() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    reap(/*block=*/true);
  }
  close_fd(out_fd_);
  close_fd(err_fd_);
}

void Child::pump(milliseconds slice) {
  pollfd fds[2];
  int n = 0;
  if (out_fd_ >= 0) fds[n++] = {out_fd_, POLLIN, 0};
  if (err_fd_ >= 0) fds[n++] = {err_fd_, POLLIN, 0};
  if (n == 0) {
    ::usleep(static_cast<useconds_t>(slice.count() * 1000));
    return;
  }
  int r = ::poll(fds, n, static_cast<int>(slice.count()));
  if (r <= 0) return;
  if (out_fd_ >= 0) drain(out_fd_, out_);
  if (err_fd_ >= 0) drain(err_fd_, err_);
}

bool Child::reap(bool block) {
  if (status_) return true;
  int ws = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &ws, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    status_ = from_wait_status(ws);
    return true;
  }
  return false;
}

bool Child::running() {
  return !reap(/*block=*/false);
}

bool Child::wait_for_line(std::string_view line, milliseconds timeout, bool prefix) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    size_t start = 0;
    for (size_t nl; (nl = out_.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view l(out_.data() + start, nl - start);
      if (l == line || (prefix && l.substr(0, line.size()) == line)) return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (status_ && out_fd_ < 0) return false;  // exited and stdout fully read
    pump(milliseconds(20));
    reap(/*block=*/false);
  }
}

void Child::signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

RunResult Child::wait(milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  while (!reap(/*block=*/false)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      reap(/*block=*/true);
      timed_out = true;
      break;
    }
    pump(milliseconds(20));
  }
  // The child is gone; read what it left in the pipes (grandchildren that
  // inherited them could keep them open, so bound this too).
  auto drain_deadline = std::chrono::steady_clock::now() + milliseconds(2000);
  while ((out_fd_ >= 0 || err_fd_ >= 0) && std::chrono::steady_clock::now() < drain_deadline) {
    pump(milliseconds(20));
  }
  close_fd(out_fd_);
  close_fd(err_fd_);
  RunResult r;
  r.status = *status_;
  r.status.timed_out = timed_out;
  r.out = out_;
  r.err = err_;
  return r;
}

RunResult run(const Argv& argv, milliseconds timeout, const SpawnOptions& options) {
  Child c = Child::spawn(argv, options);
  return c.wait(timeout);
}

}  // namespace flare::testing
