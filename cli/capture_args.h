// Option parsing and signal handling shared by the commands that capture
// (`record`, `flight`).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/capture.h"
#include "common/status.h"

namespace flare::cli {

// SIGINT/SIGTERM set the flag (without SA_RESTART, so a poll wakes up).
void install_stop_handlers();
const std::atomic<bool>& stop_requested();

// "-p 1,2 -p 3"
Result<std::vector<uint32_t>> parse_pids(const std::vector<std::string>& specs);

// "cpu,offcpu": the signals to record, with the --offcpu/--alloc/--goroutines
// shorthands. Names from DESIGN.md's vocabulary that flare cannot record yet
// are refused by name rather than ignored. No list: cpu only.
Status parse_events(const std::vector<std::string>& specs, bool offcpu_flag, bool alloc_flag,
                    bool goroutine_flag, agent::CaptureOptions& options);

// "512KiB", "1MiB", "4096": bytes, with binary suffixes, 1 to `max`.
Result<uint64_t> parse_bytes(const std::string& text, std::string_view option, uint64_t max);

}  // namespace flare::cli
