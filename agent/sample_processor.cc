#include "agent/sample_processor.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace flare::agent {

SampleProcessor::SampleProcessor(rec::RecordingWriter& writer, std::optional<KernelSymbolizer> kernel,
                                 std::shared_ptr<SymbolFileCache> files, SampleProcessorOptions options)
    : writer_(writer),
      kernel_(std::move(kernel)),
      files_(std::move(files)),
      options_(options),
      unwinder_(options.unwind, options.max_user_frames) {}

ProcessSymbolizer& SampleProcessor::process_symbolizer(uint32_t pid) {
  auto& slot = processes_[pid];
  if (!slot) {
    ProcessSymbolizerOptions options;
    options.files = files_;
    slot = std::make_unique<ProcessSymbolizer>(pid, std::move(options));
  }
  return *slot;
}

ProcessSymbolizer::Stats SampleProcessor::symbolizer_stats() const {
  ProcessSymbolizer::Stats total{};
  for (const auto& [pid, p] : processes_) {
    ProcessSymbolizer::Stats s = p->stats();
    total.refreshes += s.refreshes;
    total.unknown_mapping += s.unknown_mapping;
    total.unresolved += s.unresolved;
    total.refresh_errors += s.refresh_errors;
    total.open_errors += s.open_errors;
    total.perf_maps_opened += s.perf_maps_opened;
    total.jit_resolved += s.jit_resolved;
    total.mappings_forgotten += s.mappings_forgotten;
  }
  return total;
}

uint32_t SampleProcessor::mapping_id(uint32_t pid, const Mapping& mapping) {
  auto [it, inserted] = mapping_ids_.try_emplace(&mapping, 0);
  if (inserted) {
    rec::MappingInfo info;
    info.pid = pid;
    info.start = mapping.start;
    info.end = mapping.end;
    info.file_offset = mapping.offset;
    info.path = writer_.intern_string(mapping.path);
    info.build_id = writer_.intern_string(mapping.build_id);
    it->second = writer_.add_mapping(info);
  }
  return it->second;
}

void SampleProcessor::append_user_frames(uint32_t pid, uint64_t address) {
  ProcessSymbolizer& symbolizer = process_symbolizer(pid);
  auto [it, inserted] = frame_ids_.try_emplace(FrameKey{pid, address});
  CachedFrame& cached = it->second;
  if (inserted || (cached.retry_at_version && *cached.retry_at_version != symbolizer.symbols_version())) {
    resolve_user_frame(pid, address, inserted, cached);
  }
  stack_scratch_.insert(stack_scratch_.end(), cached.inlined_ids.begin(), cached.inlined_ids.end());
  stack_scratch_.push_back(cached.id);
}

void SampleProcessor::resolve_user_frame(uint32_t pid, uint64_t address, bool first_time, CachedFrame& cached) {
  ProcessSymbolizer& symbolizer = process_symbolizer(pid);
  UserFrame resolved = symbolizer.resolve(address);
  if (!first_time && !resolved.symbol.resolved && resolved.mapping == cached.mapping) {
    // Still nothing new to say: keep the frame already written.
    if (resolved.may_resolve_later) {
      cached.retry_at_version = symbolizer.symbols_version();
    } else {
      cached.retry_at_version.reset();
    }
    return;
  }
  cached.mapping = resolved.mapping;
  rec::FrameInfo frame;
  frame.address = address;
  frame.kind = rec::FrameKind::kUser;
  cached.retry_at_version.reset();
  cached.inlined_ids.clear();
  if (resolved.mapping) {
    frame.mapping = mapping_id(pid, *resolved.mapping);
  } else if (first_time) {
    ++stats_.frames_unknown_mapping;
  }
  if (resolved.may_resolve_later) cached.retry_at_version = symbolizer.symbols_version();
  if (resolved.symbol.resolved) {
    // Inlined functions are frames of their own, at the same address, so
    // every view shows them; the flag lets pprof fold them into one Location.
    for (const InlinedFrame& inlined : resolved.symbol.inlined) {
      rec::FrameInfo f = frame;
      f.flags = rec::kFrameResolved | rec::kFrameInlined;
      f.function = writer_.intern_string(inlined.function);
      f.file = writer_.intern_string(inlined.file);
      f.line = inlined.line;
      cached.inlined_ids.push_back(writer_.add_frame(f));
    }
    frame.flags |= rec::kFrameResolved;
    frame.function = writer_.intern_string(resolved.symbol.function);
    frame.file = writer_.intern_string(resolved.symbol.file);
    frame.line = resolved.symbol.line;
  } else if (first_time) {
    ++stats_.frames_unresolved;
  }
  cached.id = writer_.add_frame(frame);
}

uint32_t SampleProcessor::kernel_frame(uint64_t address) {
  auto [it, inserted] = frame_ids_.try_emplace(FrameKey{0, address});
  if (!inserted) return it->second.id;
  rec::FrameInfo frame;
  frame.address = address;
  frame.kind = rec::FrameKind::kKernel;
  SourceSymbol symbol = kernel_ ? kernel_->resolve(address) : SourceSymbol{};
  if (symbol.resolved) {
    frame.flags |= rec::kFrameResolved;
    frame.function = writer_.intern_string(symbol.function);
  } else {
    ++stats_.frames_unresolved;
  }
  it->second.id = writer_.add_frame(frame);
  return it->second.id;
}

uint32_t SampleProcessor::placeholder_frame(std::string_view name) {
  // Looked up by string_view: a marker frame ends many stacks, and a key
  // string per lookup would be an allocation per sample.
  if (auto it = placeholder_frame_ids_.find(name); it != placeholder_frame_ids_.end()) return it->second;
  rec::FrameInfo frame;
  frame.kind = rec::FrameKind::kUser;
  frame.flags = rec::kFrameResolved;
  frame.function = writer_.intern_string(name);
  uint32_t id = writer_.add_frame(frame);
  placeholder_frame_ids_.emplace(std::string(name), id);
  return id;
}

void SampleProcessor::drop_stale_caches() {
  if (writer_.generation() == generation_) return;
  // A new chunk started: the writer's ids we cached are gone with it.
  generation_ = writer_.generation();
  frame_ids_.clear();
  mapping_ids_.clear();
  placeholder_frame_ids_.clear();
  // No Mapping pointer is cached any more: what the targets unmapped a
  // chunk ago can go, and the files only it used (see docs/FLIGHT.md,
  // Bounded memory).
  for (auto& [pid, symbolizer] : processes_) symbolizer->forget_retired();
  files_->release_unused();
}

uint32_t SampleProcessor::intern_stack(uint32_t pid, const __u64* kernel_ips, int32_t kernel_bytes,
                                       const __u64* user_ips, int32_t user_bytes,
                                       std::string_view root_placeholder, size_t kernel_skip) {
  user_pcs_scratch_.clear();
  std::string_view user_end;
  if (user_bytes > 0) {
    size_t n = static_cast<size_t>(user_bytes) / sizeof(uint64_t);
    user_pcs_scratch_.assign(user_ips, user_ips + std::min<size_t>(n, FLARE_MAX_USER_FRAMES));
    if (n >= FLARE_MAX_USER_FRAMES) {
      ++stats_.user_stacks_truncated;
      user_end = "[truncated]";
    }
  }
  return intern_pcs(pid, kernel_ips, kernel_bytes, user_pcs_scratch_, user_end, root_placeholder, kernel_skip);
}

uint32_t SampleProcessor::intern_pcs(uint32_t pid, const __u64* kernel_ips, int32_t kernel_bytes,
                                     std::span<const uint64_t> user_pcs, std::string_view user_end,
                                     std::string_view root_placeholder, size_t kernel_skip) {
  drop_stale_caches();
  stack_scratch_.clear();
  // Callers' return addresses point after the call; minus one puts them inside
  // the call instruction, so the line and inline chain are the caller's.
  if (kernel_bytes > 0) {
    size_t n = static_cast<size_t>(kernel_bytes) / sizeof(uint64_t);
    for (size_t i = kernel_skip; i < n && i < FLARE_MAX_KERNEL_FRAMES; ++i) {
      uint64_t ip = kernel_ips[i];
      stack_scratch_.push_back(kernel_frame(i == 0 ? ip : ip - 1));
    }
  }
  for (size_t i = 0; i < user_pcs.size(); ++i) {
    uint64_t ip = user_pcs[i];
    append_user_frames(pid, i == 0 ? ip : ip - 1);
  }
  if (!user_end.empty()) {
    stack_scratch_.push_back(placeholder_frame(user_end));
  }
  if (!root_placeholder.empty()) stack_scratch_.push_back(placeholder_frame(root_placeholder));
  return writer_.intern_stack(stack_scratch_);
}

uint8_t SampleProcessor::kernel_role(uint64_t address) const {
  auto [it, inserted] = kernel_roles_.try_emplace(address, 0);
  if (!inserted) return it->second;
  SourceSymbol symbol = kernel_->resolve(address);
  if (!symbol.resolved) return 0;
  auto starts = [&](std::string_view prefix) { return symbol.function.rfind(prefix, 0) == 0; };
  // Entry points of hard interrupts, IPIs and softirqs on x86 and arm64.
  for (std::string_view entry :
       {"asm_sysvec_", "sysvec_", "__sysvec_", "asm_common_interrupt", "common_interrupt", "handle_softirqs",
        "__do_softirq", "run_ksoftirqd", "irq_exit_rcu", "__irq_exit_rcu", "hrtimer_interrupt", "el1_interrupt",
        "el0_interrupt", "gic_handle_irq"}) {
    if (starts(entry)) it->second |= kInterruptEntry;
  }
  if (starts("bpf_trace_run") || starts("__bpf_trace_") || starts("bpf_trampoline_")) it->second |= kTracingEntry;
  return it->second;
}

std::optional<bool> SampleProcessor::kernel_stack_in_interrupt(const __u64* kernel_ips, int32_t kernel_bytes) const {
  if (!kernel_ || kernel_bytes <= 0) return std::nullopt;
  size_t n = static_cast<size_t>(kernel_bytes) / sizeof(uint64_t);
  for (size_t i = 0; i < n && i < FLARE_MAX_KERNEL_FRAMES; ++i) {
    if (kernel_role(i == 0 ? kernel_ips[i] : kernel_ips[i] - 1) & kInterruptEntry) return true;
  }
  return false;
}

size_t SampleProcessor::tracing_frames_on_top(const __u64* kernel_ips, int32_t kernel_bytes) const {
  if (!kernel_ || kernel_bytes <= 0) return 0;
  const size_t n = std::min<size_t>(static_cast<size_t>(kernel_bytes) / sizeof(uint64_t), 6);
  for (size_t i = 0; i < n; ++i) {
    if (kernel_role(i == 0 ? kernel_ips[i] : kernel_ips[i] - 1) & kTracingEntry) return i + 1;
  }
  return 0;
}

void SampleProcessor::process(const flare_cpu_sample& sample) {
  ++stats_.samples;
  writer_.set_thread(sample.pid, sample.tid, std::string_view(sample.comm, strnlen(sample.comm, FLARE_COMM_LEN)));
  rec::CpuSample out;
  out.time_ns = sample.time_ns;
  out.tid = sample.tid;
  out.cpu = static_cast<uint16_t>(sample.cpu);
  out.stack = intern_stack(sample.pid, sample.kernel_ips, sample.kernel_stack_bytes, sample.user_ips,
                           sample.user_stack_bytes);
  writer_.add_cpu_sample(out);
}

namespace {

// The frame a stack ends in when its unwind stopped early: every sample says
// how its stack ended, and a cut stack never passes for a whole one.
std::string_view unwind_end_marker(UnwindStatus status) {
  switch (status) {
    case UnwindStatus::kComplete: return {};
    case UnwindStatus::kTruncatedWindow:
    case UnwindStatus::kTruncatedDepth: return "[truncated]";
    case UnwindStatus::kNoUnwindInfo: return "[no unwind info]";
    case UnwindStatus::kUnknownMapping: return "[unknown mapping]";
    case UnwindStatus::kBadFrame: return "[unwind failed]";
    case UnwindStatus::kNoStack: return "[user stack not copied]";
  }
  return "[unwind failed]";
}

}  // namespace

void SampleProcessor::process(const flare_cpu_sample_copy& sample, size_t stack_bytes) {
  ++stats_.samples;
  writer_.set_thread(sample.pid, sample.tid, std::string_view(sample.comm, strnlen(sample.comm, FLARE_COMM_LEN)));
  UnwindResult& unwound = unwind_scratch_;
  if (sample.user_stack_bytes < 0) {
    unwound.pcs.clear();
    unwound.frame_pointer_steps = 0;
    unwound.status = UnwindStatus::kNoStack;
  } else {
    UserRegisters regs = UserRegisters::all_known(sample.user_regs);
    // The BPF side copies whole pages while one more fits the limit; a copy
    // shorter than that stopped at the end of the stack mapping.
    const bool cut = stack_bytes + FLARE_STACK_PAGE > options_.stack_copy_bytes;
    StackWindow window(sample.user_regs[FLARE_USER_REG_SP], sample.stack, stack_bytes, cut);
    unwinder_.unwind(regs, window, process_symbolizer(sample.pid), unwound);
  }
  ++stats_.unwind_status[static_cast<size_t>(unwound.status)];
  stats_.unwind_frames += unwound.pcs.size();
  stats_.unwind_frame_pointer_steps += unwound.frame_pointer_steps;
  rec::CpuSample out;
  out.time_ns = sample.time_ns;
  out.tid = sample.tid;
  out.cpu = static_cast<uint16_t>(sample.cpu);
  out.stack = intern_pcs(sample.pid, sample.kernel_ips, sample.kernel_stack_bytes, unwound.pcs,
                         unwind_end_marker(unwound.status), {}, 0);
  writer_.add_cpu_sample(out);
}

}  // namespace flare::agent
