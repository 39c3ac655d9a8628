// Number formatting shared by the text views, so percentages and times look
// the same in top and info.
#pragma once

#include <cstdint>
#include <string>

namespace flare::viewer {

// 0 when `whole` is 0, so an empty recording prints 0 % instead of NaN.
double percent_of(uint64_t part, uint64_t whole);

// "12.34%"
std::string format_percent(uint64_t part, uint64_t whole);

// "1.234s", "-0.002s": milliseconds are the useful resolution at 99 Hz.
std::string format_seconds(int64_t ns);

// "60ms", "1.5ms", "2.35s", "850us", "120ns", "0": three significant
// figures at most, trailing zeros dropped, as go tool pprof prints times.
std::string format_time_ns(uint64_t ns);

// "512B", "1.50KiB", "300MiB", "2.05GiB": three significant figures at most,
// binary units.
std::string format_bytes(uint64_t bytes);

}  // namespace flare::viewer
