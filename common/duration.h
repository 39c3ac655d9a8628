// Durations on the command line: "500ms", "30s", "2m", "1h", "250us", "10ns".
// A bare number is rejected: the unit is never guessed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace flare {

Result<uint64_t> parse_duration_ns(std::string_view text);

// "1.5s", "250ms", "3m" — the shortest exact spelling for printing.
std::string format_duration_ns(uint64_t ns);

}  // namespace flare
