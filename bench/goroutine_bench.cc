// The agent's per-event cost for goroutine tracing, in ns per event:
//
// - BM_GoroutineProcessEvent: one BPF ring record (flare_goroutine_event)
//   through GoroutineProcessor::process: thread naming, wait reason
//   interning, park/ready pairing, stack interning with symbolization of
//   real code addresses of this process (warm caches, the steady state),
//   and encoding into the block being built, written every 8192 events.
//   Parks and readies alternate over 1000 goroutines, 8 frames each.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "agent/goroutine_processor.h"
#include "agent/sample_processor.h"
#include "agent/symbol_file_cache.h"
#include "bench/alloc_counter.h"
#include "bench/synthetic_recording.h"
#include "recorder/writer.h"

namespace flare::bench {
namespace {

// Real code addresses of this binary, so symbolization is real.
std::vector<uint64_t> code_addresses() {
  const uintptr_t base = reinterpret_cast<uintptr_t>(&code_addresses);
  std::vector<uint64_t> out;
  for (uint64_t i = 0; i < 64; ++i) out.push_back(base + i * 16);
  return out;
}

void BM_GoroutineProcessEvent(benchmark::State& state) {
  const std::string path = bench_temp_dir() + "/goroutine_process.flare";
  auto writer = rec::RecordingWriter::create(path, synthetic_header(default_synthetic_profile()));
  if (!writer.is_ok()) {
    state.SkipWithError(writer.status().message().c_str());
    return;
  }
  agent::SampleProcessor stacks(**writer, std::nullopt, std::make_shared<agent::SymbolFileCache>());
  agent::GoroutineProcessor processor(**writer, stacks);
  const std::vector<uint64_t> code = code_addresses();
  constexpr uint64_t kGoroutines = 1000;
  constexpr int kFrames = 8;
  flare_goroutine_event e{};
  e.pid = static_cast<uint32_t>(getpid());
  std::strncpy(e.comm, "bench", FLARE_COMM_LEN - 1);
  auto fill = [&](uint64_t i) {
    const uint64_t goid = i / 2 % kGoroutines;
    e.kind = i % 2 == 0 ? FLARE_GO_PARK : FLARE_GO_READY;
    e.tid = e.pid + static_cast<uint32_t>(goid % 4);
    e.time_ns = 1'000'000'000 + i * 1000;
    e.goid = goid + 1;
    e.waker_goid = e.kind == FLARE_GO_READY ? (goid + 7) % kGoroutines + 1 : 0;
    e.reason = static_cast<uint32_t>(goid % 5);
    // Parking stacks differ per goroutine group; the leaf is shared.
    for (int f = 0; f < kFrames; ++f) e.user_ips[f] = code[(goid % 16 + static_cast<uint64_t>(f) * 5) % code.size()];
    e.user_stack_bytes = kFrames * 8;
  };
  for (uint64_t i = 0; i < 2 * kGoroutines; ++i) {
    fill(i);
    processor.process(e);
  }
  AllocationScope allocs;
  uint64_t i = 2 * kGoroutines;
  uint64_t n = 0;
  for (auto _ : state) {
    fill(i++);
    processor.process(e);
    if (++n % 8192 == 0) {
      Status st = (*writer)->flush();
      if (!st.is_ok()) state.SkipWithError(st.message().c_str());
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.counters["allocs_per_event"] = allocs.per_item(n);
  (*writer)->abandon();
  std::remove(path.c_str());
}
BENCHMARK(BM_GoroutineProcessEvent);

}  // namespace
}  // namespace flare::bench
