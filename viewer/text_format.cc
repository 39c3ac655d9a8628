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

}  // namespace flare::viewer
