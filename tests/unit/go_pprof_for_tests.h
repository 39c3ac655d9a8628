// Running the real consumer, go tool pprof, from the viewer tests.
#pragma once

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>

namespace flare::testing {

struct TempDir {
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "flare_viewer_XXXXXX").string();
    path = mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
  std::string path;
};

// Runs a shell command; returns stdout, and its exit status via `status`.
inline std::string run(const std::string& command, int& status) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) {
    status = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int rc = pclose(pipe);
  status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

struct TopRow {
  std::string flat, flat_pct, cum, cum_pct;
};

// Rows of `pprof -top`: five value columns, then the name (which may contain
// spaces, e.g. "[kernel] 0xffffffff81000200").
inline std::map<std::string, TopRow> parse_top(const std::string& text) {
  std::map<std::string, TopRow> rows;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    TopRow r;
    std::string sum;
    if (!(fields >> r.flat >> r.flat_pct >> sum >> r.cum >> r.cum_pct)) continue;
    if (!std::isdigit(static_cast<unsigned char>(r.flat[0])) || r.flat_pct.back() != '%' || r.cum_pct.back() != '%') {
      continue;  // the column header, or a message
    }
    std::string name;
    std::getline(fields, name);
    name.erase(0, name.find_first_not_of(' '));
    rows[name] = r;
  }
  return rows;
}

// Environment for `go tool pprof` that keeps its caches inside `dir`.
inline std::string go_env(const std::string& dir) {
  return "HOME=" + dir + " GOCACHE=" + dir + "/gocache GOPATH=" + dir + "/gopath PPROF_TMPDIR=" + dir + " ";
}

}  // namespace flare::testing
