#include "agent/command_allocators.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "agent/elf_functions.h"
#include "agent/proc_maps.h"
#include "agent/spawned_process.h"
#include "agent/unique_fd.h"

namespace flare::agent {

namespace {

constexpr auto kTraceTimeout = std::chrono::seconds(5);

// Runs `exe` under the dynamic linker's trace mode and returns what it
// printed; empty on any failure (the prediction is best effort: the check
// after the exec still runs).
std::string trace_loaded_objects(const std::string& exe, const std::vector<std::string>& argv) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return {};
  UniqueFd read_end(out[0]), write_end(out[1]);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The environment is built before the fork: setenv allocates, which a
  // forked child of a threaded process must not.
  std::string trace_var = "LD_TRACE_LOADED_OBJECTS=1";
  std::vector<char*> env;
  for (char** e = environ; *e; ++e) {
    if (std::string_view(*e).starts_with("LD_TRACE_LOADED_OBJECTS=")) continue;
    env.push_back(*e);
  }
  env.push_back(trace_var.data());
  env.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return {};
  if (pid == 0) {
    // Child: only async-signal-safe calls from here on.
    int null = open("/dev/null", O_RDWR);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 2) < 0 || dup2(write_end.get(), 1) < 0) _exit(127);
    execve(exe.c_str(), args.data(), env.data());
    _exit(127);
  }
  write_end.reset();
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + kTraceTimeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{read_end.get(), POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      kill(pid, SIGKILL);
      text.clear();
      break;
    }
    char buf[4096];
    ssize_t n = read(read_end.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return {};
  return text;
}

bool same_file(const MappedLibrary& a, const MappedLibrary& b) {
  return a.inode == b.inode && a.dev_major == b.dev_major && a.dev_minor == b.dev_minor;
}

}  // namespace

std::vector<std::string> parse_loaded_objects(std::string_view trace) {
  std::vector<std::string> paths;
  while (!trace.empty()) {
    size_t eol = trace.find('\n');
    std::string_view line = trace.substr(0, eol);
    trace = eol == std::string_view::npos ? std::string_view() : trace.substr(eol + 1);
    size_t arrow = line.find(" => ");
    std::string_view rest = arrow == std::string_view::npos ? line : line.substr(arrow + 4);
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    if (rest.empty() || rest.front() != '/') continue;  // the vDSO, "not found", "statically linked"
    size_t address = rest.find(" (0x");
    if (address == std::string_view::npos) continue;
    paths.emplace_back(rest.substr(0, address));
  }
  return paths;
}

CommandAllocators predict_command_allocators(const std::vector<std::string>& argv) {
  if (argv.empty()) return {};
  const std::string exe = resolve_command_path(argv.front());
  if (exe.empty()) return {};
  auto functions = ElfFunctions::read(exe);
  if (!functions.is_ok()) return {};
  auto file = [](const std::string& path) -> std::optional<MappedLibrary> {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return std::nullopt;
    return MappedLibrary{path, 0, 0, st.st_ino, major(st.st_dev), minor(st.st_dev)};
  };
  CommandAllocators out;
  if (is_go_executable(*functions)) {
    out.go_executable = file(exe);
  } else if (functions->find("malloc") && functions->find("free")) {
    if (auto lib = file(exe)) out.replacements.push_back(*lib);
  }
  if (!functions->has_interpreter()) return out;  // a static executable would simply run: ldd refuses those too
  for (const std::string& path : parse_loaded_objects(trace_loaded_objects(exe, argv))) {
    if (!is_replacement_allocator_name(path)) continue;
    if (auto lib = file(path)) out.replacements.push_back(*lib);
  }
  return out;
}

CommandAllocatorCheck::Outcome CommandAllocatorCheck::check(int max_checks) {
  Outcome out;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/" + std::to_string(pid_) + "/exe", ec);
  if (ec) return out;
  auto maps = read_proc_maps(pid_);
  if (!maps.is_ok()) return out;
  if (!execed_) {
    if (exe == std::filesystem::read_symlink("/proc/self/exe", ec)) return out;  // still flare, held or execing
    execed_ = true;
    const ExecutableAllocator own = classify_executable(pid_, *maps);
    if (std::string w = executable_allocator_warning(own); !w.empty()) {
      // Its allocations bypass every library: said once is enough.
      out.warnings.push_back(std::move(w));
      done_ = true;
      return out;
    }
    if (own.kind == ExecutableAllocator::Kind::kOwnMalloc) {
      own_malloc_ = true;
      attach_if_not_probed(*own.mapping, out);
    }
    if (own.kind == ExecutableAllocator::Kind::kGo && own.mapping &&
        !(go_probed_ && same_file(*go_probed_, *own.mapping))) {
      out.warnings.push_back("the command " + own.path +
                             " is a Go program flare did not foresee: probed only now, its first allocations are "
                             "not seen");
      out.attach_go_late = own.mapping;
    }
  }
  const AllocatorLibraries child = find_allocator_libraries(*maps);
  if (!child.libc && own_malloc_) {
    done_ = true;  // a static executable with its own malloc, probed
    return out;
  }
  if (!child.libc) {
    // A dynamically linked program maps libc before main runs.
    if (++checks_ > max_checks) {
      out.warnings.push_back("the command maps no glibc libc (static binary?): its allocations through glibc are "
                             "not seen");
      done_ = true;
    }
    return out;
  }
  done_ = true;
  auto self = read_proc_maps(static_cast<uint32_t>(getpid()));
  if (self.is_ok()) {
    const AllocatorLibraries own = find_allocator_libraries(*self);
    if (own.libc && (child.libc->inode != own.libc->inode || child.libc->dev_major != own.libc->dev_major ||
                     child.libc->dev_minor != own.libc->dev_minor)) {
      out.warnings.push_back("the command maps " + child.libc->path + ", not the libc flare probed (" +
                             own.libc->path + "): its allocations are not seen; attach with -p instead");
    }
  }
  for (const MappedLibrary& lib : child.replacements) attach_if_not_probed(lib, out);
  return out;
}

void CommandAllocatorCheck::attach_if_not_probed(const MappedLibrary& lib, Outcome& out) {
  for (const MappedLibrary& p : probed_) {
    if (same_file(p, lib)) return;
  }
  out.warnings.push_back("the command maps " + lib.path +
                         ", whose malloc flare did not foresee: probed only now, its first allocations are not seen");
  out.attach_late.push_back(lib);
  probed_.push_back(lib);
}

}  // namespace flare::agent
