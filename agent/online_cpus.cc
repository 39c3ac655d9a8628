#include "agent/online_cpus.h"

#include <charconv>
#include <fstream>
#include <string>

namespace flare::agent {

Result<std::vector<int>> parse_cpu_list(std::string_view text) {
  std::vector<int> cpus;
  auto bad = [&] { return Status(ErrorCode::kCorruptData, "malformed CPU list '" + std::string(text) + "'"); };
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view range = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    size_t dash = range.find('-');
    int lo = 0, hi = 0;
    std::string_view a = range.substr(0, dash);
    if (std::from_chars(a.data(), a.data() + a.size(), lo).ec != std::errc()) return bad();
    hi = lo;
    if (dash != std::string_view::npos) {
      std::string_view b = range.substr(dash + 1);
      if (std::from_chars(b.data(), b.data() + b.size(), hi).ec != std::errc() || hi < lo) return bad();
    }
    for (int c = lo; c <= hi; ++c) cpus.push_back(c);
  }
  if (cpus.empty()) return bad();
  return cpus;
}

Result<std::vector<int>> online_cpus() {
  std::ifstream f("/sys/devices/system/cpu/online");
  std::string line;
  if (!f || !std::getline(f, line)) {
    return Status(ErrorCode::kIo, "cannot read /sys/devices/system/cpu/online");
  }
  return parse_cpu_list(line);
}

}  // namespace flare::agent
