#include "agent/loss_ledger.h"

namespace flare::agent {

bool loses_events(rec::LostCause cause) {
  switch (cause) {
    case rec::LostCause::kUserStackFailed:
    case rec::LostCause::kKernelStackFailed:
      return false;  // the event is kept without that stack
    case rec::LostCause::kSamplerTicksMissed:
      return false;  // an estimate of ticks of any task, reported on its own
    case rec::LostCause::kGoroutineUnpaired:
      return false;  // both events were kept; only their pairing is missing
    default:
      return true;
  }
}

void LossLedger::write_one(rec::RecordingWriter& writer, rec::LostCause cause, uint32_t cpu, uint64_t now,
                           uint64_t& written) {
  if (now <= written) return;
  const uint64_t growth = now - written;
  writer.add_lost({cause, cpu, growth});
  written = now;
  if (loses_events(cause)) events_lost_ += growth;
}

uint64_t LossLedger::write_growth(rec::RecordingWriter& writer, std::string_view counter, rec::LostCause cause,
                                  const std::vector<uint64_t>& per_cpu) {
  auto it = per_cpu_written_.find(counter);
  if (it == per_cpu_written_.end()) it = per_cpu_written_.emplace(std::string(counter), std::vector<uint64_t>()).first;
  std::vector<uint64_t>& written = it->second;
  if (written.size() < per_cpu.size()) written.resize(per_cpu.size());
  uint64_t total = 0;
  for (size_t cpu = 0; cpu < per_cpu.size(); ++cpu) {
    write_one(writer, cause, static_cast<uint32_t>(cpu), per_cpu[cpu], written[cpu]);
    total += written[cpu];
  }
  return total;
}

uint64_t LossLedger::write_growth_all_cpus(rec::RecordingWriter& writer, std::string_view counter,
                                           rec::LostCause cause, uint64_t count) {
  auto it = all_cpus_written_.find(counter);
  if (it == all_cpus_written_.end()) it = all_cpus_written_.emplace(std::string(counter), 0).first;
  write_one(writer, cause, rec::kLostCpuUnknown, count, it->second);
  return it->second;
}

}  // namespace flare::agent
