// The goroutine part of one `flare record --events goroutine` run, so the
// capture loop (agent/capture.cc) only calls it at its few fixed points:
// load (refuses non-Go targets before anything is attached), attach, drain,
// detach, losses (at every flush) and statistics (at the end).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/goroutine_processor.h"
#include "agent/goroutine_tracer.h"
#include "agent/loss_ledger.h"
#include "common/status.h"
#include "recorder/writer.h"

namespace flare::agent {

struct GoroutineTarget {
  uint32_t pid = 0;
  std::string executable;  // the Go program it runs (or will run, for a held child)
};

class GoroutineCapture {
 public:
  // Reads every target's binary (one clear error for a non-Go one) and
  // loads the BPF program.
  static Result<std::unique_ptr<GoroutineCapture>> load(std::vector<GoroutineTarget> targets,
                                                        uint32_t ring_buffer_bytes);
  // Attaches the probes; events go to `writer` with stacks interned by `stacks`.
  // `on_detail` gets one line per probe site (verbose output).
  Status attach(rec::RecordingWriter& writer, SampleProcessor& stacks,
                const std::function<void(std::string_view)>& on_detail);
  Result<int> poll(int timeout_ms) { return tracer_->poll(timeout_ms); }
  Status drain() { return tracer_->drain().status(); }
  void detach() { tracer_->detach(); }
  // The growth of the drop counters since the last call, as lost records
  // (at every flush and, after drain(), at the end).
  Status write_losses(rec::RecordingWriter& writer, LossLedger& ledger);
  // At the end, after the last write_losses().
  void write_stats(rec::RecordingWriter& writer) const;
  uint64_t events() const;

 private:
  GoroutineCapture() = default;

  std::vector<GoroutineTarget> targets_;
  std::vector<std::shared_ptr<const GoBinary>> binaries_;  // by target
  std::optional<GoroutineProcessor> processor_;
  std::unique_ptr<GoroutineTracer> tracer_;
  std::map<std::string, uint64_t> drop_counts_;  // by statistic name
};

}  // namespace flare::agent
