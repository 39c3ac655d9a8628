// Synthetic CPU profiles that look like real ones, for the micro-benchmarks
// and for scripts/bench-overhead's conversion figure. Interning, compression
// and aggregation all get trivially fast on toy data (one stack, one thread,
// evenly spaced timestamps), so the generator reproduces the shape of a real
// capture of a server process:
//
// - a call tree: every thread runs from a fixed runtime prefix (clone3 ->
//   start_thread -> ... -> its event loop), and stacks branch off shared
//   prefixes, reusing functions (and call sites) at many depths;
// - >= 10 k unique stacks, depth 20..60 with a long tail (most 20..30);
// - ~30 % of stacks carry a kernel part (syscall paths) on the leaf side;
// - popularity skewed like a real profile: a few hot stacks, a long tail;
// - several threads in a few thread groups, CPU samples from several CPUs
//   at a fixed rate, jittered so they arrive slightly out of order.
//
// The profile is plain data (make_synthetic_profile); write_synthetic_recording
// is the single place that talks to the recorder's writer API, so a change of
// that API is adapted here and nowhere else.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "recorder/model.h"
#include "recorder/writer.h"

namespace flare::bench {

struct SyntheticSpec {
  uint64_t samples = 1'000'000;
  uint32_t unique_stacks = 12'000;
  uint32_t user_functions = 6'000;
  uint32_t threads = 8;        // in thread_groups groups sharing their call trees
  uint32_t thread_groups = 3;
  uint32_t cpus = 8;
  uint32_t frequency_hz = 999;  // per CPU; every CPU is busy with the target
  uint64_t seed = 1;
};

struct SyntheticMapping {
  uint64_t start = 0, end = 0, offset = 0;
  std::string path;
  std::string build_id;
};

struct SyntheticFrame {
  uint64_t address = 0;
  int32_t mapping = -1;  // index into mappings; -1 for kernel frames
  uint32_t function = 0;  // index into function_names
  uint32_t file = 0;      // index into file_names (user frames)
  uint32_t line = 0;
  bool kernel = false;
};

struct SyntheticThread {
  uint32_t tid = 0;
  std::string name;
};

struct SyntheticSample {
  uint64_t time_ns = 0;
  uint32_t thread = 0;  // index into threads
  uint32_t stack = 0;   // index into stacks
  uint16_t cpu = 0;
};

struct SyntheticProfile {
  SyntheticSpec spec;
  uint32_t pid = 0;
  uint64_t start_ns = 0;  // CLOCK_MONOTONIC-like time of the first sample
  std::vector<std::string> function_names;
  std::vector<std::string> file_names;
  std::vector<SyntheticMapping> mappings;
  std::vector<SyntheticFrame> frames;
  std::vector<std::vector<uint32_t>> stacks;  // frame indices, leaf first, kernel frames first
  std::vector<uint32_t> stack_thread_group;   // per stack
  std::vector<SyntheticThread> threads;
  std::vector<SyntheticSample> samples;

  size_t user_frames_in(uint32_t stack) const;
};

// Deterministic for a given spec (seed included).
SyntheticProfile make_synthetic_profile(const SyntheticSpec& spec);

// The profile's recording header (targets, frequency, clocks).
rec::FileHeader synthetic_header(const SyntheticProfile& profile);

// Feeds a profile into a RecordingWriter the way the agent does: pool entries
// on first use (again after every chunk change), set_thread and
// add_cpu_sample per sample, maybe_flush at each sample's time (so blocks hold
// one second of samples, and chunks roll over as in a real capture).
class SyntheticFeeder {
 public:
  SyntheticFeeder(const SyntheticProfile& profile, rec::RecordingWriter& writer);
  // Encodes sample i of the profile, time_offset_ns later than its time.
  Status add_sample(size_t i, uint64_t time_offset_ns = 0);
  // The writer's frame ids of one stack (valid until the writer's generation
  // changes); for benchmarks of stack interning.
  const std::vector<uint32_t>& stack_frame_ids(uint32_t stack);
  uint32_t stack_id(uint32_t stack);

 private:
  void sync_generation();
  uint32_t frame_id(uint32_t frame);
  uint32_t mapping_id(int32_t mapping);

  const SyntheticProfile& p_;
  rec::RecordingWriter& w_;
  uint64_t generation_ = ~0ull;
  std::vector<uint32_t> frame_ids_, stack_ids_, mapping_ids_;
  std::vector<uint32_t> scratch_;
};

struct SyntheticWriteResult {
  uint64_t bytes = 0;
  uint64_t samples = 0;
  uint32_t chunks = 0;
};

// Writes samples [0, n) (all when n is 0) of the profile to `path`, finished.
Result<SyntheticWriteResult> write_synthetic_recording(const SyntheticProfile& profile, const std::string& path,
                                                       uint64_t n = 0, const rec::WriterOptions& options = {});

// The size of the profiles the throughput benchmarks use: 1 M samples unless
// --synthetic_samples says otherwise (bench_main.cc).
uint64_t synthetic_samples_flag();
void set_synthetic_samples_flag(uint64_t n);

// A shared, lazily built profile of synthetic_samples_flag() samples.
const SyntheticProfile& default_synthetic_profile();

// A directory for benchmark output files, removed at exit.
const std::string& bench_temp_dir();

}  // namespace flare::bench
