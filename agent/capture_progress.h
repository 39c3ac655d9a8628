// What a running capture has done so far, for `flare record`'s live status
// line on a terminal: reported about once a second by run_capture.
#pragma once

#include <cstdint>
#include <string>

namespace flare::agent {

struct CaptureProgress {
  uint64_t elapsed_ns = 0;
  uint64_t duration_ns = 0;  // the capture's length; 0 when it runs until stopped
  bool cpu = false, offcpu = false, alloc = false;  // what is being recorded
  uint64_t samples = 0;           // CPU samples received
  uint64_t offcpu_intervals = 0;  // recorded one by one
  uint64_t alloc_samples = 0;
  uint64_t alloc_frees = 0;
  uint64_t thread_events = 0;
  uint64_t ring_drops = 0;  // events the kernel could not queue (ring buffers full), so far
  uint64_t bytes = 0;       // written to the recording so far
};

// One line, no newline: "12.0s/30s  cpu 1188  offcpu 412  threads 3  drops 0  1.2 MiB".
// Only the recorded signals are listed; "12.0s" alone when there is no -d.
std::string format_capture_progress(const CaptureProgress& p);

}  // namespace flare::agent
