// Writes a command's output so that a failure never leaves a partial file
// under the requested name: content goes to NAME.tmp-PID, renamed on success.
// "-" or "" means stdout.
#pragma once

#include <functional>
#include <ostream>
#include <string>

#include "common/status.h"

namespace flare::cli {

Status write_output(const std::string& path, const std::function<Status(std::ostream&)>& produce);

// Fails early when PATH cannot be created (before any expensive work).
Status check_writable(const std::string& path);

}  // namespace flare::cli
