#include "agent/goroutine_capture.h"

namespace flare::agent {

Result<std::unique_ptr<GoroutineCapture>> GoroutineCapture::load(std::vector<GoroutineTarget> targets,
                                                                 uint32_t ring_buffer_bytes) {
  std::unique_ptr<GoroutineCapture> capture(new GoroutineCapture());
  for (const GoroutineTarget& t : targets) {
    auto binary = GoBinary::read(t.executable);
    if (!binary.is_ok()) {
      return binary.status().with_context("--events goroutine needs a Go program; process " + std::to_string(t.pid));
    }
    capture->binaries_.push_back(std::make_shared<const GoBinary>(std::move(binary).value()));
  }
  capture->targets_ = std::move(targets);
  GoroutineTracerOptions options;
  options.ring_buffer_bytes = ring_buffer_bytes;
  GoroutineCapture* self = capture.get();
  FLARE_ASSIGN_OR_RETURN(capture->tracer_, GoroutineTracer::load(options, [self](const flare_goroutine_event& e) {
                           self->processor_->process(e);
                         }));
  return capture;
}

Status GoroutineCapture::attach(rec::RecordingWriter& writer, SampleProcessor& stacks,
                                const std::function<void(std::string_view)>& on_detail) {
  processor_.emplace(writer, stacks);
  for (size_t i = 0; i < targets_.size(); ++i) {
    processor_->add_target(targets_[i].pid, binaries_[i]);
    FLARE_ASSIGN_OR_RETURN(GoroutineTargetReport report,
                           tracer_->add_target(targets_[i].pid, targets_[i].executable, *binaries_[i]));
    if (!on_detail) continue;
    on_detail("process " + std::to_string(targets_[i].pid) + " runs " + binaries_[i]->version().text);
    for (const GoroutineProbe& p : report.probes) {
      on_detail("probe " + p.function + "+" + std::to_string(p.offset) + " in " + targets_[i].executable +
                (p.emulated ? " (emulated in the trap)" : " (single-stepped)"));
    }
  }
  return Status::ok();
}

uint64_t GoroutineCapture::events() const {
  return processor_ ? processor_->stats().parks + processor_->stats().readies : 0;
}

Status GoroutineCapture::write_losses(rec::RecordingWriter& writer, LossLedger& ledger) {
  FLARE_ASSIGN_OR_RETURN(auto drops, tracer_->read_drops());
  static constexpr rec::LostCause kCauses[FLARE_GO_DROP_MAX] = {
      rec::LostCause::kRingBufferFull, rec::LostCause::kUserStackFailed, rec::LostCause::kGoroutineUnseen};
  static constexpr const char* kDropStats[FLARE_GO_DROP_MAX] = {"goroutine_ring_full", "goroutine_user_stack_failed",
                                                                "goroutine_read_failed"};
  for (uint32_t cause = 0; cause < FLARE_GO_DROP_MAX; ++cause) {
    drop_counts_[kDropStats[cause]] = ledger.write_growth(writer, kDropStats[cause], kCauses[cause], drops[cause]);
  }
  FLARE_ASSIGN_OR_RETURN(uint64_t misses, tracer_->read_recursion_misses());
  drop_counts_["goroutine_program_recursion_misses"] =
      ledger.write_growth_all_cpus(writer, "goroutine_program_recursion_misses", rec::LostCause::kGoroutineUnseen, misses);
  ledger.write_growth_all_cpus(writer, "goroutine_parks_superseded", rec::LostCause::kGoroutineUnpaired,
                      processor_->pairing().stats().superseded_parks);
  return Status::ok();
}

void GoroutineCapture::write_stats(rec::RecordingWriter& writer) const {
  for (const auto& [name, count] : drop_counts_) writer.add_stat(name, count);
  const GoroutineStats& gs = processor_->stats();
  const GoroutinePairingStats& ps = processor_->pairing().stats();
  writer.add_stat("goroutine_parks", gs.parks);
  writer.add_stat("goroutine_readies", gs.readies);
  writer.add_stat("goroutine_netpoll_readies", gs.netpoll_readies);
  writer.add_stat("goroutine_readies_paired", ps.paired);
  writer.add_stat("goroutine_readies_unpaired", ps.unpaired_ready);
  writer.add_stat("goroutine_parks_superseded", ps.superseded_parks);
  writer.add_stat("goroutine_parks_open_at_end", processor_->pairing().open_parks());
  writer.add_stat("goroutine_malformed_ring_records", tracer_->malformed_records());
}

}  // namespace flare::agent
