// Turns raw BPF samples into recording entries: symbolizes each distinct
// frame once (per process for user frames), interns stacks, names threads.
// Symbolization happens now, while the process and its files exist, so the
// recording converts after the target is gone.
#pragma once

#include <cstdint>
#include <memory>
#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/kernel_symbolizer.h"
#include "agent/process_symbolizer.h"
#include "agent/user_stack_unwinder.h"
#include "bpf/cpu_sample.h"
#include "recorder/writer.h"

namespace flare::agent {

struct ProcessorStats {
  uint64_t samples = 0;
  uint64_t user_stacks_truncated = 0;  // hit the frame cap: the stack ends in [truncated]
  uint64_t frames_unresolved = 0;      // distinct frames without a function name
  uint64_t frames_unknown_mapping = 0; // distinct user frames outside any mapping
  // Samples with copied stacks, by how their unwind ended (UnwindStatus).
  std::array<uint64_t, kUnwindStatusCount> unwind_status{};
  uint64_t unwind_frames = 0;               // user frames those unwinds produced
  uint64_t unwind_frame_pointer_steps = 0;  // ... of which by the frame-pointer fallback
};

struct SampleProcessorOptions {
  UnwindMode unwind = UnwindMode::kAuto;  // for samples that carry a stack copy
  size_t max_user_frames = 512;
  uint32_t stack_copy_bytes = 32768;  // the BPF side's copy limit (CpuSamplerOptions)
};

class SampleProcessor {
 public:
  // kernel is empty when kernel symbols are unavailable.
  SampleProcessor(rec::RecordingWriter& writer, std::optional<KernelSymbolizer> kernel,
                  std::shared_ptr<SymbolFileCache> files, SampleProcessorOptions options = {});

  void process(const flare_cpu_sample& sample);
  // A sample with a stack copy: `stack_bytes` of `sample.stack` are valid.
  // The user stack is unwound now and the copy is not kept.
  void process(const flare_cpu_sample_copy& sample, size_t stack_bytes);

  // Interns the stack of raw instruction pointers as bpf_get_stack returns
  // them (leaf first; `*_bytes` filled, 0 or -errno): kernel frames, then
  // user frames symbolized in process `pid`. Ids are valid until the
  // writer's generation changes. Used by every event family.
  // Whether a kernel stack runs through an interrupt or softirq entry: code
  // there runs on top of whichever task it interrupted, which is then not
  // the actor. nullopt when kernel symbols are unavailable.
  std::optional<bool> kernel_stack_in_interrupt(const __u64* kernel_ips, int32_t kernel_bytes) const;

  // A non-empty `root_placeholder` (e.g. "[user stack not captured]") is
  // appended as a frame of its own at the root end.
  uint32_t intern_stack(uint32_t pid, const __u64* kernel_ips, int32_t kernel_bytes, const __u64* user_ips,
                        int32_t user_bytes, std::string_view root_placeholder = {}, size_t kernel_skip = 0);

  // How many leaf-side kernel frames belong to the tracing machinery rather
  // than to the traced code: a tracepoint program's own stack starts with
  // the program (JIT code) and bpf_trace_runN, which called it.
  size_t tracing_frames_on_top(const __u64* kernel_ips, int32_t kernel_bytes) const;

  const ProcessorStats& stats() const { return stats_; }
  // Aggregated over every target process.
  ProcessSymbolizer::Stats symbolizer_stats() const;
  // The capture's opened files: how many were closed, cache resets.
  const SymbolFileCache& symbol_files() const { return *files_; }

 private:
  // Kernel frames as bpf_get_stack gives them, then user pcs (leaf first: the
  // first is exact, the rest are return addresses), then `user_end` (a
  // marker of how the user stack ended, if not completely) and the root
  // placeholder.
  uint32_t intern_pcs(uint32_t pid, const __u64* kernel_ips, int32_t kernel_bytes, std::span<const uint64_t> user_pcs,
                      std::string_view user_end, std::string_view root_placeholder, size_t kernel_skip);
  // Appends the frames of one user address to stack_scratch_: its inlined
  // functions (innermost first), then the function they are inlined into.
  void append_user_frames(uint32_t pid, uint64_t address);
  struct CachedFrame;
  void resolve_user_frame(uint32_t pid, uint64_t address, bool first_time, CachedFrame& cached);
  uint32_t kernel_frame(uint64_t address);
  uint32_t placeholder_frame(std::string_view name);
  // What a kernel address is part of, resolved once per address: these
  // checks run on every off-CPU interval.
  enum KernelRole : uint8_t { kInterruptEntry = 1 << 0, kTracingEntry = 1 << 1 };
  uint8_t kernel_role(uint64_t address) const;
  void drop_stale_caches();
  ProcessSymbolizer& process_symbolizer(uint32_t pid);
  uint32_t mapping_id(uint32_t pid, const Mapping& mapping);

  rec::RecordingWriter& writer_;
  std::optional<KernelSymbolizer> kernel_;
  std::shared_ptr<SymbolFileCache> files_;
  std::unordered_map<uint32_t, std::unique_ptr<ProcessSymbolizer>> processes_;
  // (pid << 64 | address) is too wide for a key; pid and address are hashed together.
  struct FrameKey {
    uint32_t pid;
    uint64_t address;
    bool operator==(const FrameKey&) const = default;
  };
  struct FrameKeyHash {
    size_t operator()(const FrameKey& k) const { return std::hash<uint64_t>()(k.address * 31 + k.pid); }
  };
  struct CachedFrame {
    uint32_t id = 0;
    std::vector<uint32_t> inlined_ids;  // innermost first; stacked before `id`
    // For a user frame that may be named later (no mapping covered it, or
    // JIT code not in the perf map yet): the process's symbols_version()
    // then. When that changes the frame is resolved again, so a maps read
    // that raced with exec or dlopen, or a perf map line written after the
    // first look, does not leave it unresolved.
    std::optional<uint64_t> retry_at_version;
    const Mapping* mapping = nullptr;  // as last resolved
  };
  std::unordered_map<FrameKey, CachedFrame, FrameKeyHash> frame_ids_;  // pid 0: kernel
  std::unordered_map<const Mapping*, uint32_t> mapping_ids_;
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> placeholder_frame_ids_;
  mutable std::unordered_map<uint64_t, uint8_t> kernel_roles_;  // KernelRole bits; kernel text never moves
  uint64_t generation_ = 0;  // the writer's chunk generation the caches belong to
  std::vector<uint32_t> stack_scratch_;
  std::vector<uint64_t> user_pcs_scratch_;
  SampleProcessorOptions options_;
  UserStackUnwinder unwinder_;
  UnwindResult unwind_scratch_;
  ProcessorStats stats_;
};

}  // namespace flare::agent
