// A recording as a JDK Flight Recorder file (one chunk, format 2.0), for
// `jfr` and JDK Mission Control: CPU samples as jdk.ExecutionSample, off-CPU
// intervals as jdk.ThreadPark (duration = blocked + run-queue time), sampled
// allocations as jdk.ObjectAllocationSample (weight = the bytes the sample
// stands for), thread start/end as jdk.ThreadStart/jdk.ThreadEnd, the capture
// as jdk.ActiveRecording with its settings as jdk.ActiveSetting, and what was
// lost and the agent's statistics as flare.LostEvents and flare.Statistic.
// Events are written in time order; times are CLOCK_MONOTONIC nanoseconds as
// ticks, anchored to wall time by the recording's clock pair.
#pragma once

#include <ostream>
#include <string>

#include "common/status.h"
#include "recorder/model.h"
#include "viewer/view_options.h"

namespace flare::viewer {

struct JfrOptions {
  ViewOptions view;         // user_only applies; the signal does not (every event type is written)
  std::string source_name;  // shown as the jdk.ActiveRecording's destination
};

Status write_jfr(const rec::Recording& rec, const JfrOptions& options, std::ostream& out);

}  // namespace flare::viewer
