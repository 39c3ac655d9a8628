// Recorder write throughput and bytes on disk per CPU sample, on synthetic
// recordings shaped like real captures (synthetic_recording.h).
#include <benchmark/benchmark.h>

#include <cstdio>

#include "bench/alloc_counter.h"
#include "bench/synthetic_recording.h"

namespace flare::bench {
namespace {

void report_write(benchmark::State& state, const SyntheticProfile& profile, uint64_t n) {
  const std::string path = bench_temp_dir() + "/recorder_write.flare";
  SyntheticWriteResult last;
  AllocationScope allocs;
  uint64_t samples = 0;
  for (auto _ : state) {
    auto written = write_synthetic_recording(profile, path, n);
    if (!written.is_ok()) {
      state.SkipWithError(written.status().message().c_str());
      return;
    }
    last = *written;
    samples += last.samples;
  }
  std::remove(path.c_str());
  state.SetItemsProcessed(static_cast<int64_t>(samples));
  state.counters["bytes_per_sample"] = static_cast<double>(last.bytes) / static_cast<double>(last.samples);
  state.counters["file_MiB"] = static_cast<double>(last.bytes) / (1 << 20);
  state.counters["chunks"] = last.chunks;
  state.counters["allocs_per_sample"] = allocs.per_item(samples);
}

// Throughput: the whole default profile (1 M samples from 8 CPUs at 999 Hz,
// i.e. ~2 min of a busy 8-CPU process: two chunks).
void BM_RecorderWrite(benchmark::State& state) {
  const SyntheticProfile& profile = default_synthetic_profile();
  report_write(state, profile, 0);
}
BENCHMARK(BM_RecorderWrite)->Unit(benchmark::kMillisecond)->UseRealTime();

// The budget's case: a steady 60 s capture at 99 Hz of a process keeping
// `cpus` CPUs busy, with the same stack population (bytes per sample include
// the stack, frame and string pools the capture needs).
void BM_RecorderSteady60s99Hz(benchmark::State& state) {
  SyntheticSpec spec;
  spec.cpus = static_cast<uint32_t>(state.range(0));
  spec.frequency_hz = 99;
  spec.samples = 60ull * 99 * spec.cpus;
  static std::vector<std::pair<uint32_t, SyntheticProfile>> cache;
  const SyntheticProfile* profile = nullptr;
  for (auto& [cpus, p] : cache) {
    if (cpus == spec.cpus) profile = &p;
  }
  if (!profile) profile = &cache.emplace_back(spec.cpus, make_synthetic_profile(spec)).second;
  report_write(state, *profile, 0);
}
BENCHMARK(BM_RecorderSteady60s99Hz)->Arg(2)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace flare::bench
