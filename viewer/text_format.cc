#include "viewer/text_format.h"

#include <cstdio>

namespace flare::viewer {

double percent_of(uint64_t part, uint64_t whole) {
  return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

std::string format_percent(uint64_t part, uint64_t whole) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", percent_of(part, whole));
  return buf;
}

std::string format_seconds(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fs", static_cast<double>(ns) / 1e9);
  return buf;
}

std::string format_time_ns(uint64_t ns) {
  if (ns == 0) return "0";
  struct Unit {
    double ns;
    const char* suffix;
  };
  constexpr Unit kUnits[] = {{1e9, "s"}, {1e6, "ms"}, {1e3, "us"}, {1, "ns"}};
  const Unit* unit = &kUnits[3];
  for (const Unit& u : kUnits) {
    if (static_cast<double>(ns) >= u.ns) {
      unit = &u;
      break;
    }
  }
  double v = static_cast<double>(ns) / unit->ns;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", v >= 100 ? 0 : v >= 10 ? 1 : 2, v);
  std::string out = buf;
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  return out + unit->suffix;
}

}  // namespace flare::viewer
