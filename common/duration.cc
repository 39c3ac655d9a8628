#include "common/duration.h"

#include <cmath>
#include <cstdio>
#include <limits>

namespace flare {

namespace {

struct Unit {
  std::string_view suffix;
  uint64_t ns;
};

// Longest suffixes first so "ms" is not read as "m" followed by junk.
constexpr Unit kUnits[] = {
    {"ns", 1ull},
    {"us", 1000ull},
    {"ms", 1000'000ull},
    {"s", 1000'000'000ull},
    {"m", 60ull * 1000'000'000ull},
    {"h", 3600ull * 1000'000'000ull},
};

}  // namespace

Result<uint64_t> parse_duration_ns(std::string_view text) {
  auto bad = [&](const char* why) {
    return Status(ErrorCode::kInvalidArgument,
                  "invalid duration '" + std::string(text) + "': " + why +
                      " (examples: 500ms, 30s, 2m)");
  };
  size_t digits_end = 0;
  bool seen_dot = false;
  while (digits_end < text.size() &&
         ((text[digits_end] >= '0' && text[digits_end] <= '9') ||
          (text[digits_end] == '.' && !seen_dot))) {
    seen_dot |= text[digits_end] == '.';
    ++digits_end;
  }
  if (digits_end == 0) return bad("expected a number");
  std::string_view suffix = text.substr(digits_end);
  if (suffix.empty()) return bad("missing unit");
  const Unit* unit = nullptr;
  for (const Unit& u : kUnits) {
    if (suffix == u.suffix) unit = &u;
  }
  if (!unit) return bad("unknown unit");
  std::string number(text.substr(0, digits_end));
  char* end = nullptr;
  double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(value)) return bad("expected a number");
  double ns = value * static_cast<double>(unit->ns);
  if (ns >= static_cast<double>(std::numeric_limits<uint64_t>::max())) return bad("too large");
  uint64_t result = static_cast<uint64_t>(std::llround(ns));
  if (result == 0) return bad("must be greater than zero");
  return result;
}

std::string format_duration_ns(uint64_t ns) {
  char buf[64];
  if (ns % 1000'000'000ull == 0) {
    std::snprintf(buf, sizeof buf, "%llus", static_cast<unsigned long long>(ns / 1000'000'000ull));
  } else if (ns >= 1000'000'000ull) {
    std::snprintf(buf, sizeof buf, "%.3fs", static_cast<double>(ns) / 1e9);
  } else if (ns % 1000'000ull == 0) {
    std::snprintf(buf, sizeof buf, "%llums", static_cast<unsigned long long>(ns / 1000'000ull));
  } else if (ns >= 1000'000ull) {
    std::snprintf(buf, sizeof buf, "%.3fms", static_cast<double>(ns) / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%lluns", static_cast<unsigned long long>(ns));
  }
  return buf;
}

}  // namespace flare
