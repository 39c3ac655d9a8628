// What CFI unwinding costs the agent per sample, on real stacks of this
// process (built -O2 without frame pointers, like the code flare meets):
//
// - BM_UnwindStack/N: UserStackUnwinder::unwind of a stack copy taken N
//   recursion frames deep (plus the ~10 frames of the benchmark harness, libc
//   and _start above), with the CFI row cache warm: the steady state.
// - BM_ProcessCopySample/N: the whole agent path of one BPF copy sample
//   (unwind, symbolize each frame from its cache, intern the stack, encode).
// Counters: ns per frame. The stack copy itself is the BPF side's cost
// (docs/UNWINDING.md), not measured here.
#include <benchmark/benchmark.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "agent/process_symbolizer.h"
#include "agent/sample_processor.h"
#include "agent/symbol_file_cache.h"
#include "agent/user_stack_unwinder.h"
#include "bench/synthetic_recording.h"
#include "bpf/cpu_sample.h"
#include "recorder/writer.h"

namespace flare::bench {
namespace {

uint64_t stack_mapping_end(uint64_t address) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    uint64_t start = 0, end = 0;
    char dash = 0;
    std::istringstream in(line);
    in >> std::hex >> start >> dash >> end;
    if (address >= start && address < end) return end;
  }
  return address;
}

// Fills `out` as the BPF sampler would: registers in DWARF order and up to
// 32 KiB of stack from the stack pointer.
__attribute__((noinline)) void capture(flare_cpu_sample_copy& out) {
  ucontext_t context;
  getcontext(&context);
  const greg_t* g = context.uc_mcontext.gregs;
  const int order[FLARE_USER_REGS] = {REG_RAX, REG_RDX, REG_RCX, REG_RBX, REG_RSI, REG_RDI, REG_RBP, REG_RSP, REG_R8,
                                      REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15, REG_RIP};
  for (int r = 0; r < FLARE_USER_REGS; ++r) out.user_regs[r] = static_cast<uint64_t>(g[order[r]]);
  uint64_t sp = out.user_regs[FLARE_USER_REG_SP];
  size_t bytes = std::min<uint64_t>(stack_mapping_end(sp) - sp, 32768);
  std::memcpy(out.stack, reinterpret_cast<const void*>(sp), bytes);
  out.user_stack_bytes = static_cast<int32_t>(bytes);
  out.user_stack_kind = FLARE_USER_STACK_COPY;
  out.kernel_stack_bytes = 0;
  out.pid = static_cast<uint32_t>(getpid());
  out.tid = static_cast<uint32_t>(gettid());
  std::strncpy(out.comm, "unwind_bench", FLARE_COMM_LEN - 1);
  asm volatile("" ::: "memory");
}

__attribute__((noinline)) void capture_at_depth(flare_cpu_sample_copy& out, int depth) {
  if (depth <= 0) {
    capture(out);
  } else {
    capture_at_depth(out, depth - 1);
  }
  asm volatile("" ::: "memory");  // not a tail call: each level keeps its frame
}

std::unique_ptr<flare_cpu_sample_copy> sample_at_depth(int depth) {
  auto sample = std::make_unique<flare_cpu_sample_copy>();
  capture_at_depth(*sample, depth);
  return sample;
}

void BM_UnwindStack(benchmark::State& state) {
  auto sample = sample_at_depth(static_cast<int>(state.range(0)));
  agent::ProcessSymbolizer process(static_cast<uint32_t>(getpid()));
  agent::UserRegisters regs = agent::UserRegisters::all_known(sample->user_regs);
  agent::StackWindow window(sample->user_regs[FLARE_USER_REG_SP], sample->stack,
                            static_cast<size_t>(sample->user_stack_bytes), false);
  agent::UserStackUnwinder unwinder(agent::UnwindMode::kAuto, 512);
  agent::UnwindResult result;
  unwinder.unwind(regs, window, process, result);  // warms the CFI row cache
  if (result.status != agent::UnwindStatus::kComplete) {
    state.SkipWithError(("unwind ended " + std::string(agent::unwind_status_name(result.status))).c_str());
    return;
  }
  for (auto _ : state) {
    unwinder.unwind(regs, window, process, result);
    benchmark::DoNotOptimize(result.pcs.data());
  }
  state.counters["frames"] = static_cast<double>(result.pcs.size());
  state.counters["ns_per_frame"] = benchmark::Counter(
      static_cast<double>(state.iterations() * result.pcs.size()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_UnwindStack)->Arg(0)->Arg(8)->Arg(32)->Arg(128)->Arg(300);

void BM_ProcessCopySample(benchmark::State& state) {
  auto sample = sample_at_depth(static_cast<int>(state.range(0)));
  const std::string path = bench_temp_dir() + "/unwind_process.flare";
  SyntheticSpec spec;
  SyntheticProfile profile = make_synthetic_profile(spec);
  rec::WriterOptions options;
  options.chunk_duration_ns = ~0ull >> 1;
  options.chunk_max_bytes = ~0ull >> 1;
  auto writer = rec::RecordingWriter::create(path, synthetic_header(profile), options);
  if (!writer.is_ok()) {
    state.SkipWithError(writer.status().message().c_str());
    return;
  }
  agent::SampleProcessorOptions processor_options;
  processor_options.unwind = agent::UnwindMode::kAuto;
  agent::SampleProcessor processor(**writer, std::nullopt, std::make_shared<agent::SymbolFileCache>(),
                                   processor_options);
  const size_t stack_bytes = static_cast<size_t>(sample->user_stack_bytes);
  processor.process(*sample, stack_bytes);  // warm caches
  for (auto _ : state) {
    sample->time_ns += 10'000'000;
    processor.process(*sample, stack_bytes);
    if ((state.iterations() & 8191) == 0) (void)(*writer)->flush();
  }
  (void)(*writer)->finish();
  ::unlink(path.c_str());
}
BENCHMARK(BM_ProcessCopySample)->Arg(8)->Arg(300);

}  // namespace
}  // namespace flare::bench
