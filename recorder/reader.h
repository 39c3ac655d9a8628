// Reads a recording into memory, validating every byte it relies on: a
// corrupt or truncated file yields a clear error, never a crash or a guess.
#pragma once

#include <string>

#include "common/status.h"
#include "recorder/model.h"

namespace flare::rec {

struct ReadOptions {
  // Return the intact prefix of an incomplete file (cut, damaged, or left as
  // PATH.partial by a killed capture) instead of failing; the Recording's
  // `truncation` says where and why it ends.
  bool salvage = false;
};

Result<Recording> read_recording(const std::string& path, const ReadOptions& options = {});
Result<Recording> parse_recording(std::string_view bytes, const ReadOptions& options = {});

}  // namespace flare::rec
