#include "agent/cpu_idle_time.h"

#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <vector>

namespace flare::agent {

namespace {

Result<uint64_t> parse_field(std::string_view text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Status(ErrorCode::kInternal, "unexpected /proc/stat field '" + std::string(text) + "'");
  }
  return value;
}

}  // namespace

Result<std::map<int, uint64_t>> parse_cpu_idle_ns(std::string_view proc_stat, long ticks_per_second) {
  if (ticks_per_second <= 0) return Status(ErrorCode::kInternal, "bad clock tick rate");
  std::map<int, uint64_t> idle;
  size_t pos = 0;
  while (pos < proc_stat.size()) {
    size_t eol = proc_stat.find('\n', pos);
    std::string_view line = proc_stat.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? proc_stat.size() : eol + 1;
    // "cpuN user nice system idle iowait ...": the aggregate "cpu " line and
    // every other line are skipped.
    if (line.size() < 4 || line.substr(0, 3) != "cpu" || line[3] < '0' || line[3] > '9') continue;
    std::vector<std::string_view> fields;
    size_t f = 0;
    while (f < line.size()) {
      size_t space = line.find(' ', f);
      if (space == std::string_view::npos) space = line.size();
      if (space > f) fields.push_back(line.substr(f, space - f));
      f = space + 1;
    }
    if (fields.size() < 6) return Status(ErrorCode::kInternal, "short /proc/stat line '" + std::string(line) + "'");
    FLARE_ASSIGN_OR_RETURN(uint64_t cpu, parse_field(fields[0].substr(3)));
    FLARE_ASSIGN_OR_RETURN(uint64_t idle_ticks, parse_field(fields[4]));
    FLARE_ASSIGN_OR_RETURN(uint64_t iowait_ticks, parse_field(fields[5]));
    idle[static_cast<int>(cpu)] =
        (idle_ticks + iowait_ticks) * (1'000'000'000ull / static_cast<uint64_t>(ticks_per_second));
  }
  if (idle.empty()) return Status(ErrorCode::kInternal, "no per-CPU lines in /proc/stat");
  return idle;
}

Result<std::map<int, uint64_t>> read_cpu_idle_ns() {
  std::ifstream f("/proc/stat");
  if (!f) return Status::from_errno(errno, "reading /proc/stat");
  std::stringstream text;
  text << f.rdbuf();
  return parse_cpu_idle_ns(text.str(), sysconf(_SC_CLK_TCK));
}

}  // namespace flare::agent
