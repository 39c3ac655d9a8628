// Turns raw BPF samples into recording entries: symbolizes each distinct
// frame once (per process for user frames), interns stacks, names threads.
// Symbolization happens now, while the process and its files exist, so the
// recording converts after the target is gone.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "agent/kernel_symbolizer.h"
#include "agent/process_symbolizer.h"
#include "bpf/cpu_sample.h"
#include "recorder/writer.h"

namespace flare::agent {

struct ProcessorStats {
  uint64_t samples = 0;
  uint64_t user_stacks_truncated = 0;  // hit the frame cap: the stack ends in [truncated]
  uint64_t frames_unresolved = 0;      // distinct frames without a function name
  uint64_t frames_unknown_mapping = 0; // distinct user frames outside any mapping
};

class SampleProcessor {
 public:
  // kernel is empty when kernel symbols are unavailable.
  SampleProcessor(rec::RecordingWriter& writer, std::optional<KernelSymbolizer> kernel,
                  std::shared_ptr<SymbolFileCache> files);

  void process(const flare_cpu_sample& sample);

  const ProcessorStats& stats() const { return stats_; }
  // Aggregated over every target process.
  ProcessSymbolizer::Stats symbolizer_stats() const;

 private:
  uint32_t user_frame(uint32_t pid, uint64_t address);
  uint32_t kernel_frame(uint64_t address);
  uint32_t truncated_frame();
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
    // For a user frame no mapping covered: the process's refresh count then.
    // After another re-read of its maps the frame is resolved again, so a
    // read that raced with exec or dlopen does not leave it unknown.
    std::optional<uint64_t> unknown_at_refresh;
  };
  std::unordered_map<FrameKey, CachedFrame, FrameKeyHash> frame_ids_;  // pid 0: kernel
  std::unordered_map<const Mapping*, uint32_t> mapping_ids_;
  uint32_t truncated_frame_id_ = 0;
  uint64_t generation_ = 0;  // the writer's chunk generation the caches belong to
  std::vector<uint32_t> stack_scratch_;
  ProcessorStats stats_;
};

}  // namespace flare::agent
