#include "agent/libbpf_log.h"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace flare::agent {

namespace {

bool g_verbose = false;
std::mutex g_mutex;
std::string g_last_warning;

int log_callback(enum libbpf_print_level level, const char* format, va_list args) {
  if (g_verbose) {
    // Whole, not through `line`: a verifier log runs to many KiB and its
    // end says why a program was refused.
    va_list copy;
    va_copy(copy, args);
    std::vfprintf(stderr, format, copy);
    va_end(copy);
  }
  char line[1024];
  vsnprintf(line, sizeof line, format, args);
  if (level == LIBBPF_WARN) {
    std::lock_guard lock(g_mutex);
    g_last_warning = line;
    while (!g_last_warning.empty() && g_last_warning.back() == '\n') g_last_warning.pop_back();
  }
  return 0;
}

}  // namespace

void install_libbpf_logger(bool verbose) {
  g_verbose = verbose;
  libbpf_set_print(log_callback);
}

std::string last_libbpf_warning() {
  std::lock_guard lock(g_mutex);
  return g_last_warning;
}

}  // namespace flare::agent
