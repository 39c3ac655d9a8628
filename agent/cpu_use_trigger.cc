#include "agent/cpu_use_trigger.h"

#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace flare::agent {

bool CpuUseTrigger::observe(uint64_t now_ns, uint64_t process_cpu_ns) {
  const bool first = !prev_now_ns_;
  const uint64_t wall = first ? 0 : now_ns - *prev_now_ns_;
  const uint64_t cpu = first || process_cpu_ns < *prev_cpu_ns_ ? 0 : process_cpu_ns - *prev_cpu_ns_;
  prev_now_ns_ = now_ns;
  prev_cpu_ns_ = process_cpu_ns;
  if (first || wall == 0) return false;
  last_percent_ = 100.0 * static_cast<double>(cpu) / static_cast<double>(wall);
  if (last_percent_ <= percent_) {
    above_since_ns_.reset();
    fired_ = false;
    return false;
  }
  // The interval just observed was above: the episode began at its start.
  if (!above_since_ns_) above_since_ns_ = now_ns - wall;
  if (fired_ || now_ns - *above_since_ns_ < for_ns_) return false;
  fired_ = true;
  return true;
}

Result<uint64_t> read_process_cpu_ns(uint32_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  std::ifstream f(path);
  std::string line;
  if (!f || !std::getline(f, line)) return Status(ErrorCode::kNotFound, "cannot read " + path);
  // The command name may hold spaces and parentheses: fields count from
  // the last ')'. utime and stime are fields 14 and 15.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return Status(ErrorCode::kCorruptData, "unexpected format of " + path);
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  int index = 3;
  for (; index <= 15 && rest >> field; ++index) {
    uint64_t* target = index == 14 ? &utime : index == 15 ? &stime : nullptr;
    if (!target) continue;
    auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), *target);
    if (ec != std::errc()) break;
  }
  if (index <= 15) return Status(ErrorCode::kCorruptData, "unexpected format of " + path);
  const uint64_t ticks_per_second = static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
  return (utime + stime) * 1'000'000'000ull / ticks_per_second;
}

}  // namespace flare::agent
