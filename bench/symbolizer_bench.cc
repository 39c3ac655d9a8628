// Symbolizer lookups per second, cold and warm, on this very binary (built
// with -g: DWARF file:line and inline frames) and on the kernel's symbols.
//
// - cold: each address is looked up for the first time in that symbolizer
//   (the file is open and its DWARF loaded; the address is not cached);
// - warm: the address was looked up before (the cache the agent relies on:
//   sampled addresses repeat);
// - process warm: ProcessSymbolizer::resolve (mapping lookup + warm ELF
//   cache), what the agent calls per new frame;
// - kernel: KernelSymbolizer::resolve (binary search over /proc/kallsyms);
// - big binary: /usr/bin/node (~100 MB, V8 inside, .symtab but no DWARF),
//   opened and indexed once, then cold lookups of random code addresses.
#include <benchmark/benchmark.h>
#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <random>
#include <vector>

#include "agent/elf_symbolizer.h"
#include "agent/kernel_symbolizer.h"
#include "agent/proc_maps.h"
#include "agent/process_symbolizer.h"
#include "bench/alloc_counter.h"

namespace flare::bench {
namespace {

struct SelfCode {
  std::vector<uint64_t> runtime;  // addresses in this process
  std::vector<uint64_t> elf;      // the same, in the ELF file's vaddr space
};

// Random addresses inside this executable's code.
const SelfCode& self_code() {
  static const SelfCode code = [] {
    SelfCode c;
    auto maps = agent::read_proc_maps(static_cast<uint32_t>(getpid()));
    auto sym = agent::ElfSymbolizer::open("/proc/self/exe", "flare_microbench");
    if (!maps.is_ok() || !sym.is_ok()) return c;
    std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
    std::mt19937_64 rng(7);
    for (const agent::MapEntry& m : *maps) {
      if (!m.executable() || m.path != exe) continue;
      auto vaddr = (*sym)->file_offset_to_vaddr(m.offset);
      if (!vaddr) continue;
      for (int i = 0; i < 65536; ++i) {
        uint64_t off = rng() % (m.end - m.start);
        c.runtime.push_back(m.start + off);
        c.elf.push_back(*vaddr + off);
      }
    }
    return c;
  }();
  return code;
}

std::unique_ptr<agent::ElfSymbolizer> open_self() {
  auto sym = agent::ElfSymbolizer::open("/proc/self/exe", "flare_microbench");
  return sym.is_ok() ? std::move(sym).value() : nullptr;
}

void BM_ElfSymbolizeCold(benchmark::State& state) {
  const SelfCode& code = self_code();
  if (code.elf.empty()) {
    state.SkipWithError("no code addresses of this binary");
    return;
  }
  std::unique_ptr<agent::ElfSymbolizer> sym;
  size_t i = 0, resolved = 0, n = 0;
  for (auto _ : state) {
    if (!sym || i == code.elf.size()) {
      state.PauseTiming();
      sym = open_self();
      if (sym) (void)sym->symbolize(code.elf[0] ^ 1);  // loads DWARF: not part of a lookup
      i = 0;
      state.ResumeTiming();
      if (!sym) {
        state.SkipWithError("cannot open /proc/self/exe");
        return;
      }
    }
    resolved += sym->symbolize(code.elf[i++]).resolved ? 1 : 0;
    ++n;
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.counters["resolved_pct"] = n ? 100.0 * static_cast<double>(resolved) / static_cast<double>(n) : 0;
}
BENCHMARK(BM_ElfSymbolizeCold);

// Opening a file and loading its DWARF: paid once per mapped file.
void BM_ElfOpenAndFirstLookup(benchmark::State& state) {
  const SelfCode& code = self_code();
  for (auto _ : state) {
    auto sym = open_self();
    if (!sym || code.elf.empty()) {
      state.SkipWithError("cannot open /proc/self/exe");
      return;
    }
    benchmark::DoNotOptimize(sym->symbolize(code.elf[0]));
  }
}
BENCHMARK(BM_ElfOpenAndFirstLookup)->Unit(benchmark::kMillisecond);

void BM_ElfSymbolizeWarm(benchmark::State& state) {
  const SelfCode& code = self_code();
  auto sym = open_self();
  if (!sym || code.elf.empty()) {
    state.SkipWithError("cannot open /proc/self/exe");
    return;
  }
  const size_t hot = 4096;
  for (size_t j = 0; j < hot; ++j) (void)sym->symbolize(code.elf[j]);
  AllocationScope allocs;
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(sym->symbolize(code.elf[i++ % hot]));
  state.SetItemsProcessed(static_cast<int64_t>(i));
  state.counters["allocs_per_lookup"] = allocs.per_item(i);
}
BENCHMARK(BM_ElfSymbolizeWarm);

void BM_ProcessSymbolizerWarm(benchmark::State& state) {
  const SelfCode& code = self_code();
  if (code.runtime.empty()) {
    state.SkipWithError("no code addresses of this binary");
    return;
  }
  agent::ProcessSymbolizer sym(static_cast<uint32_t>(getpid()));
  const size_t hot = 4096;
  for (size_t j = 0; j < hot; ++j) (void)sym.resolve(code.runtime[j]);
  AllocationScope allocs;
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(sym.resolve(code.runtime[i++ % hot]));
  state.SetItemsProcessed(static_cast<int64_t>(i));
  state.counters["allocs_per_lookup"] = allocs.per_item(i);
}
BENCHMARK(BM_ProcessSymbolizerWarm);

void BM_KernelSymbolize(benchmark::State& state) {
  auto kernel = agent::KernelSymbolizer::load();
  if (!kernel.is_ok()) {
    state.SkipWithError(kernel.status().message().c_str());
    return;
  }
  // Addresses across the kernel text: the first and last symbols' range.
  std::vector<uint64_t> addrs;
  std::mt19937_64 rng(11);
  for (int i = 0; i < 65536; ++i) addrs.push_back(0xffffffff81000000ull + rng() % 0x2000000ull);
  size_t i = 0, resolved = 0;
  for (auto _ : state) resolved += kernel->resolve(addrs[i++ % addrs.size()]).resolved ? 1 : 0;
  state.SetItemsProcessed(static_cast<int64_t>(i));
  state.counters["symbols"] = static_cast<double>(kernel->size());
  state.counters["resolved_pct"] = i ? 100.0 * static_cast<double>(resolved) / static_cast<double>(i) : 0;
}
BENCHMARK(BM_KernelSymbolize);

constexpr const char* kBigBinary = "/usr/bin/node";

// Random addresses (ELF vaddrs) in the largest executable PT_LOAD segment of
// `path` (the others hold a few stubs: .init, .plt).
std::vector<uint64_t> code_vaddrs(const char* path, size_t n) {
  std::vector<uint64_t> out;
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  Elf64_Ehdr eh;
  std::vector<Elf64_Phdr> code;
  if (::pread(fd, &eh, sizeof(eh), 0) == sizeof(eh) && eh.e_ident[EI_CLASS] == ELFCLASS64) {
    for (int i = 0; i < eh.e_phnum; ++i) {
      Elf64_Phdr ph;
      if (::pread(fd, &ph, sizeof(ph), static_cast<off_t>(eh.e_phoff + i * eh.e_phentsize)) != sizeof(ph)) break;
      if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) && (code.empty() || ph.p_filesz > code[0].p_filesz)) {
        code.assign(1, ph);
      }
    }
  }
  ::close(fd);
  std::mt19937_64 rng(5);
  for (size_t i = 0; i < n && !code.empty(); ++i) {
    const Elf64_Phdr& ph = code[0];
    out.push_back(ph.p_vaddr + rng() % ph.p_filesz);
  }
  return out;
}

// Paid once per big mapped file: open, bind the symbol table, first lookup
// (which builds the sorted symbol index).
void BM_BigBinaryOpenAndFirstLookup(benchmark::State& state) {
  std::vector<uint64_t> addrs = code_vaddrs(kBigBinary, 1);
  if (addrs.empty()) {
    state.SkipWithError("no /usr/bin/node to measure");
    return;
  }
  for (auto _ : state) {
    auto sym = agent::ElfSymbolizer::open(kBigBinary, kBigBinary);
    if (!sym.is_ok()) {
      state.SkipWithError(sym.status().message().c_str());
      return;
    }
    benchmark::DoNotOptimize((*sym)->symbolize(addrs[0]));
  }
  struct stat st;
  if (::stat(kBigBinary, &st) == 0) state.counters["file_MiB"] = static_cast<double>(st.st_size) / (1 << 20);
}
BENCHMARK(BM_BigBinaryOpenAndFirstLookup)->Unit(benchmark::kMillisecond);

// Lookups of addresses not seen before, the file already open and indexed.
void BM_BigBinarySymbolizeCold(benchmark::State& state) {
  std::vector<uint64_t> addrs = code_vaddrs(kBigBinary, 1 << 20);
  auto sym = agent::ElfSymbolizer::open(kBigBinary, kBigBinary);
  if (addrs.empty() || !sym.is_ok()) {
    state.SkipWithError("no /usr/bin/node to measure");
    return;
  }
  (void)(*sym)->symbolize(addrs[0] ^ 1);  // builds the index: not part of a lookup
  // The result cache keeps at most 8192 addresses, so when the 2^20 run out
  // and repeat, they are long gone from it: still cold.
  size_t i = 0, resolved = 0;
  for (auto _ : state) resolved += (*sym)->symbolize(addrs[1 + i++ % (addrs.size() - 1)]).resolved ? 1 : 0;
  state.SetItemsProcessed(static_cast<int64_t>(i));
  state.counters["resolved_pct"] = i ? 100.0 * static_cast<double>(resolved) / static_cast<double>(i) : 0;
}
BENCHMARK(BM_BigBinarySymbolizeCold);

}  // namespace
}  // namespace flare::bench
