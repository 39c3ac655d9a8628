// One `flare record` run: validate targets and output, load and attach the
// sampler, drain samples into the recording until the capture ends (duration,
// a stop request, or every target gone), then detach and finalize.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/capture_progress.h"
#include "agent/unwind_mode.h"
#include "common/status.h"
#include "recorder/writer.h"

namespace flare::agent {

struct CaptureOptions {
  std::vector<uint32_t> pids;         // attach to these ...
  std::vector<std::string> command;   // ... or spawn this
  uint64_t duration_ns = 0;           // 0: until stopped or the targets exit
  bool cpu = true;                    // sample CPU stacks
  bool offcpu = false;                // trace scheduler park/unpark
  bool alloc = false;                 // sample allocations, track sampled blocks until freed
  bool goroutine = false;             // trace Go goroutines parking and being readied
  uint64_t alloc_rate = 512 * 1024;   // mean bytes between allocation samples; 1: every allocation
  std::optional<uint64_t> alloc_seed; // fixed: reproducible sampling; none: a random seed
  uint32_t frequency_hz = 99;
  UnwindMode unwind = UnwindMode::kAuto;  // user stacks of CPU samples
  uint32_t stack_copy_bytes = 32768;      // per sample, for dwarf and auto
  uint64_t offcpu_min_ns = 100'000;   // shorter off-CPU intervals are only totalled
  uint32_t offcpu_max_per_second = 10'000;  // ... and those beyond this rate (0: no cap)
  uint32_t ring_buffer_bytes = 0;  // every ring; 0: each sized from its event rate (agent/ring_size.h)
  std::string output_path;
  uint64_t flush_interval_ns = 1'000'000'000;  // data older than this is on disk
  uint64_t chunk_duration_ns = 60'000'000'000;
  // Set (flight recorder): each chunk becomes a file of its own, named and
  // retired by the sink; output_path is the first chunk's. Not owned.
  rec::ChunkFileSink* chunk_files = nullptr;
  bool verbose = false;
  // Searched for separate debug info before the standard places.
  std::vector<std::string> debug_dirs;
  // Called with one line for every condition that makes the recording less
  // complete than asked (e.g. an allocator flare does not hook).
  std::function<void(std::string_view)> on_warning;
  // With verbose: one line per detail worth knowing (e.g. each probe site).
  std::function<void(std::string_view)> on_detail;
  // About once a second while recording (flare record's status line).
  std::function<void(const CaptureProgress&)> on_progress;
};

struct CaptureSummary {
  std::string output_path;
  uint64_t samples = 0;
  uint64_t offcpu_intervals = 0;
  uint64_t alloc_samples = 0;    // sampled allocations recorded
  uint64_t alloc_frees = 0;      // ... and frees of them
  uint64_t goroutine_events = 0; // goroutine parks and readies recorded
  uint64_t lost = 0;             // target samples dropped in the kernel
  uint64_t ticks_due = 0;        // sampler timer ticks due while CPUs were busy
  uint64_t ticks_missed = 0;     // ... for which the sampler did not run
  uint64_t bytes = 0;
  uint64_t duration_ns = 0;
  std::string end_reason;   // "duration", "signal", "targets exited"
  int child_exit_status = -1;  // spawn mode only
};

// `stop` is set asynchronously (signal handler) to end the capture cleanly.
Result<CaptureSummary> run_capture(const CaptureOptions& options, const std::atomic<bool>& stop);

// Default output name: flare-<pid>-<YYYYmmdd-HHMMSS>.flare
std::string default_output_path(uint32_t pid);

}  // namespace flare::agent
