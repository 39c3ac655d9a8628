// What has been lost so far, written as it happens. The kernel side counts
// every drop in counters that only grow (per CPU, or one for all CPUs); the
// ledger remembers how much of each counter the recording already has and
// writes only the growth as `lost` records. Called at every flush, so a file
// cut short, or a flight chunk still being written, carries its losses up to
// its last block, and the lost records of a whole file (or of every chunk of
// a flight) add up to the counters' final values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/model.h"
#include "recorder/writer.h"

namespace flare::agent {

class LossLedger {
 public:
  // `counter` names one kernel-side counter (its statistic's name, e.g.
  // "offcpu_ring_full"); `per_cpu` is its current value on each CPU. Writes
  // one lost record of `cause` per CPU whose value grew since the last call
  // for this counter and returns the counter's total over all CPUs (what its
  // statistic says). A value that went down (an estimate, such as missed
  // timer ticks) writes nothing until it passes what was written.
  uint64_t write_growth(rec::RecordingWriter& writer, std::string_view counter, rec::LostCause cause,
                        const std::vector<uint64_t>& per_cpu);
  // The same for a counter kept for all CPUs together (cpu 0xffffffff).
  uint64_t write_growth_all_cpus(rec::RecordingWriter& writer, std::string_view counter, rec::LostCause cause,
                                 uint64_t count);
  // Everything the lost records written so far add up to: the events lost
  // (causes that drop an event, not those that only degrade one).
  uint64_t events_lost() const { return events_lost_; }

 private:
  void write_one(rec::RecordingWriter& writer, rec::LostCause cause, uint32_t cpu, uint64_t now, uint64_t& written);

  std::map<std::string, std::vector<uint64_t>, std::less<>> per_cpu_written_;
  std::map<std::string, uint64_t, std::less<>> all_cpus_written_;
  uint64_t events_lost_ = 0;
};

// Whether a lost cause drops the event or only keeps it without a part (a
// stack that could not be read).
bool loses_events(rec::LostCause cause);

}  // namespace flare::agent
