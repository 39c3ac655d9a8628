#include "agent/capture_progress.h"

#include <cinttypes>
#include <cstdio>

namespace flare::agent {

namespace {

std::string seconds(uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ns) / 1e9);
  return buf;
}

// Binary units with one decimal: the line changes in place, so its width
// should not jump around.
std::string size_text(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0) {
    std::snprintf(buf, sizeof buf, "%" PRIu64 " B", bytes);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", value, kUnits[unit]);
  }
  return buf;
}

}  // namespace

std::string format_capture_progress(const CaptureProgress& p) {
  std::string line = seconds(p.elapsed_ns);
  if (p.duration_ns != 0) line += "/" + seconds(p.duration_ns);
  auto count = [&](const char* name, uint64_t n) { line += "  " + std::string(name) + " " + std::to_string(n); };
  if (p.cpu) count("cpu", p.samples);
  if (p.offcpu) count("offcpu", p.offcpu_intervals);
  if (p.alloc) {
    count("alloc", p.alloc_samples);
    count("free", p.alloc_frees);
  }
  count("threads", p.thread_events);
  count("drops", p.ring_drops);
  line += "  " + size_text(p.bytes);
  return line;
}

}  // namespace flare::agent
