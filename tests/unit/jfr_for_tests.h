// Reading what the JDK's `jfr` tool prints, for the unit and integration
// tests of flare's JFR output.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>

namespace flare::testing {

// `jfr summary` rows ("  jdk.ExecutionSample   17   1234"): type -> count.
inline std::map<std::string, uint64_t> jfr_summary_counts(const std::string& text) {
  std::map<std::string, uint64_t> counts;
  static const std::regex row(R"(^\s*(\S+)\s+(\d+)\s+(\d+)\s*$)");
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (std::regex_match(line, m, row)) counts[m[1]] = std::stoull(m[2]);
  }
  return counts;
}

// A java.time.Duration as `jfr print --json` writes it ("PT0.02S",
// "PT1M2.5S", "PT0S") in nanoseconds; nullopt for anything else.
inline std::optional<uint64_t> iso_duration_ns(const std::string& text) {
  std::smatch m;
  static const std::regex iso(R"(^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d+))?S)?$)");
  if (!std::regex_match(text, m, iso)) return std::nullopt;
  uint64_t ns = 0;
  if (m[1].matched) ns += std::stoull(m[1]) * 3600'000'000'000;
  if (m[2].matched) ns += std::stoull(m[2]) * 60'000'000'000;
  if (m[3].matched) ns += std::stoull(m[3]) * 1'000'000'000;
  if (m[4].matched) {
    std::string frac = m[4].str();
    frac.resize(9, '0');
    ns += std::stoull(frac);
  }
  return ns;
}

}  // namespace flare::testing
