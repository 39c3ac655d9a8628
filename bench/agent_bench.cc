// The agent's per-sample hot path, in ns per event and allocations per event:
//
// - BM_AgentProcessSample: one BPF ring record (flare_cpu_sample) through
//   SampleProcessor::process: frame lookup/symbolization, stack interning,
//   thread naming and encoding into the block being built, with the block
//   compressed and written every 8192 samples. The records carry real code
//   addresses of this very process (and real kernel addresses from
//   /proc/kallsyms when visible), so symbolization is real; the caches are
//   warm (every distinct record is processed once before timing), which is
//   the steady state of a capture.
// - BM_InternStack: RecordingWriter::intern_stack on already known stacks.
// - BM_EncodeCpuSample: set_thread + add_cpu_sample + maybe_flush per sample
//   (zstd and the write(2) of each 1 s block amortized over its samples).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "agent/kernel_symbolizer.h"
#include "agent/proc_maps.h"
#include "agent/sample_processor.h"
#include "agent/symbol_file_cache.h"
#include "bench/alloc_counter.h"
#include "bench/synthetic_recording.h"
#include "bpf/cpu_sample.h"
#include "recorder/writer.h"

namespace flare::bench {
namespace {

std::vector<uint64_t> visible_kernel_text_addresses() {
  std::vector<uint64_t> out;
  std::ifstream f("/proc/kallsyms");
  std::string line;
  while (std::getline(f, line)) {
    unsigned long long addr = 0;
    char type = 0;
    if (std::sscanf(line.c_str(), "%llx %c", &addr, &type) == 2 && (type == 't' || type == 'T') && addr) {
      out.push_back(addr);
    }
  }
  return out;
}

// Ring records for every stack of a (smaller) synthetic profile, with the
// synthetic addresses mapped onto real code of this process.
struct SelfRecords {
  SyntheticProfile profile;
  std::vector<flare_cpu_sample> by_stack;
};

const SelfRecords& self_records() {
  static const SelfRecords records = [] {
    SelfRecords r;
    SyntheticSpec spec;
    spec.samples = 200'000;
    r.profile = make_synthetic_profile(spec);
    std::vector<agent::MapEntry> code;
    auto maps = agent::read_proc_maps(static_cast<uint32_t>(getpid()));
    if (maps.is_ok()) {
      for (const agent::MapEntry& m : *maps) {
        if (m.executable() && m.file_backed()) code.push_back(m);
      }
    }
    std::vector<uint64_t> kernel = visible_kernel_text_addresses();
    // A first DWARF lookup in a compilation unit costs milliseconds (see
    // symbolizer_bench.cc), so warming 20 k distinct addresses would take
    // minutes: the synthetic frames share kRealAddresses real ones. Stacks
    // stay distinct; the warm path measured is the same.
    constexpr uint64_t kRealAddresses = 1500;
    auto real_address = [&](const SyntheticFrame& f) -> uint64_t {
      uint64_t h = (f.address * 0x9e3779b97f4a7c15ull) >> 11;
      if (f.kernel) return kernel.empty() ? f.address : kernel[h % kernel.size()] + 0x10;
      if (code.empty()) return f.address;
      // The synthetic main binary maps to this binary, libraries to libraries.
      const agent::MapEntry& m = code[static_cast<size_t>(f.mapping) % code.size()];
      uint64_t slot = h % kRealAddresses;
      return m.start + (slot * 0x9e3779b97f4a7c15ull >> 13) % (m.end - m.start);
    };
    r.by_stack.resize(r.profile.stacks.size());
    for (size_t s = 0; s < r.profile.stacks.size(); ++s) {
      flare_cpu_sample& rec = r.by_stack[s];
      std::memset(&rec, 0, sizeof rec);
      rec.pid = static_cast<uint32_t>(getpid());
      size_t nk = 0, nu = 0;
      for (uint32_t fi : r.profile.stacks[s]) {
        const SyntheticFrame& f = r.profile.frames[fi];
        if (f.kernel && nk < FLARE_MAX_KERNEL_FRAMES) rec.kernel_ips[nk++] = real_address(f);
        if (!f.kernel && nu < FLARE_MAX_USER_FRAMES) rec.user_ips[nu++] = real_address(f);
      }
      rec.kernel_stack_bytes = static_cast<int32_t>(nk * 8);
      rec.user_stack_bytes = static_cast<int32_t>(nu * 8);
    }
    return r;
  }();
  return records;
}

rec::WriterOptions one_chunk() {
  rec::WriterOptions o;
  o.chunk_duration_ns = ~0ull >> 1;
  o.chunk_max_bytes = ~0ull >> 1;
  return o;
}

void BM_AgentProcessSample(benchmark::State& state) {
  const SelfRecords& r = self_records();
  const std::string path = bench_temp_dir() + "/agent_process.flare";
  auto writer = rec::RecordingWriter::create(path, synthetic_header(r.profile), one_chunk());
  if (!writer.is_ok()) {
    state.SkipWithError(writer.status().message().c_str());
    return;
  }
  std::optional<agent::KernelSymbolizer> kernel;
  if (auto k = agent::KernelSymbolizer::load(); k.is_ok()) kernel.emplace(std::move(k).value());
  agent::SampleProcessor processor(**writer, std::move(kernel), std::make_shared<agent::SymbolFileCache>());

  flare_cpu_sample rec;
  auto fill = [&](size_t i) {
    const SyntheticSample& s = r.profile.samples[i % r.profile.samples.size()];
    std::memcpy(&rec, &r.by_stack[s.stack], sizeof rec);
    const SyntheticThread& t = r.profile.threads[s.thread];
    rec.time_ns = s.time_ns;
    rec.tid = t.tid;
    rec.cpu = s.cpu;
    std::strncpy(rec.comm, t.name.c_str(), FLARE_COMM_LEN - 1);
  };
  // Warm every cache: each distinct stack once.
  for (size_t s = 0; s < r.by_stack.size(); ++s) processor.process(r.by_stack[s]);
  (void)(*writer)->flush();

  AllocationScope allocs;
  size_t i = 0;
  for (auto _ : state) {
    fill(i);
    processor.process(rec);
    if (++i % 8192 == 0) {
      Status st = (*writer)->flush();
      if (!st.is_ok()) state.SkipWithError(st.message().c_str());
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(i));
  state.counters["allocs_per_sample"] = allocs.per_item(i);
  const agent::ProcessorStats& ps = processor.stats();
  state.counters["unresolved_frame_pct"] =
      100.0 * static_cast<double>(ps.frames_unresolved) / static_cast<double>(std::max<size_t>(1, r.profile.frames.size()));
  (void)(*writer)->finish();
  std::remove(path.c_str());
}
BENCHMARK(BM_AgentProcessSample);

void BM_InternStack(benchmark::State& state) {
  const SyntheticProfile& p = self_records().profile;
  const std::string path = bench_temp_dir() + "/intern.flare";
  auto writer = rec::RecordingWriter::create(path, synthetic_header(p), one_chunk());
  if (!writer.is_ok()) {
    state.SkipWithError(writer.status().message().c_str());
    return;
  }
  SyntheticFeeder feeder(p, **writer);
  std::vector<std::vector<uint32_t>> ids(p.stacks.size());
  for (uint32_t s = 0; s < p.stacks.size(); ++s) {
    ids[s] = feeder.stack_frame_ids(s);
    (void)(*writer)->intern_stack(ids[s]);
  }
  AllocationScope allocs;
  size_t i = 0;
  uint64_t frames = 0;
  for (auto _ : state) {
    const auto& stack = ids[p.samples[i % p.samples.size()].stack];
    benchmark::DoNotOptimize((*writer)->intern_stack(stack));
    frames += stack.size();
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(i));
  state.counters["allocs_per_stack"] = allocs.per_item(i);
  state.counters["mean_depth"] = i ? static_cast<double>(frames) / static_cast<double>(i) : 0;
  (*writer)->abandon();
}
BENCHMARK(BM_InternStack);

void BM_EncodeCpuSample(benchmark::State& state) {
  const SyntheticProfile& p = default_synthetic_profile();
  const std::string path = bench_temp_dir() + "/encode.flare";
  std::unique_ptr<rec::RecordingWriter> writer;
  std::optional<SyntheticFeeder> feeder;
  auto reopen = [&]() -> bool {
    feeder.reset();
    if (writer) writer->abandon();
    auto w = rec::RecordingWriter::create(path, synthetic_header(p));
    if (!w.is_ok()) {
      state.SkipWithError(w.status().message().c_str());
      return false;
    }
    writer = std::move(w).value();
    feeder.emplace(p, *writer);
    return true;
  };
  if (!reopen()) return;
  // A first pass defines the pools; the timed passes go on where it ended
  // (later in time), so their samples reference known stacks, except that
  // each new chunk (every 60 s of sample time) re-emits its pools, as in a
  // real capture.
  const uint64_t span = p.samples.back().time_ns - p.start_ns + 1'000'000'000;
  for (size_t j = 0; j < p.samples.size(); ++j) (void)feeder->add_sample(j);
  uint64_t offset = span;
  AllocationScope allocs;
  uint64_t n = 0;
  size_t i = 0;
  for (auto _ : state) {
    if (i == p.samples.size()) {
      i = 0;
      offset += span;
    }
    Status st = feeder->add_sample(i++, offset);
    if (!st.is_ok()) {
      state.SkipWithError(st.message().c_str());
      return;
    }
    ++n;
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.counters["allocs_per_sample"] = allocs.per_item(n);
  if (writer) writer->abandon();
}
BENCHMARK(BM_EncodeCpuSample);

}  // namespace
}  // namespace flare::bench
