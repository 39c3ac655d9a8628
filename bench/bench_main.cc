// flare_microbench: Google Benchmark main, plus
//   --synthetic_samples=N      size of the synthetic recordings (default 1 M)
//   --write_recording=PATH     write a synthetic recording of N samples to PATH
//                              and exit (scripts/bench-overhead times
//                              `flare convert` on it)
// and a replaced global operator new that counts allocations.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "bench/alloc_counter.h"
#include "bench/synthetic_recording.h"

namespace {
std::atomic<uint64_t> g_allocations{0};

void* counted_alloc(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (size == 0) size = 1;
  void* p = std::malloc(size);
  if (!p) throw std::bad_alloc();
  return p;
}

void* counted_aligned_alloc(std::size_t size, std::align_val_t align) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  std::size_t a = static_cast<std::size_t>(align);
  void* p = std::aligned_alloc(a, (size + a - 1) / a * a);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t size) { return counted_alloc(size); }
void* operator new[](std::size_t size) { return counted_alloc(size); }
void* operator new(std::size_t size, std::align_val_t a) { return counted_aligned_alloc(size, a); }
void* operator new[](std::size_t size, std::align_val_t a) { return counted_aligned_alloc(size, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace flare::bench {
uint64_t allocation_count() { return g_allocations.load(std::memory_order_relaxed); }
}  // namespace flare::bench

int main(int argc, char** argv) {
  std::vector<char*> rest;
  std::string write_path;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--synthetic_samples=", 20) == 0) {
      char* end = nullptr;
      unsigned long long n = std::strtoull(argv[i] + 20, &end, 10);
      if (!end || *end || n == 0) {
        std::fprintf(stderr, "flare_microbench: bad %s\n", argv[i]);
        return 2;
      }
      flare::bench::set_synthetic_samples_flag(n);
    } else if (std::strncmp(argv[i], "--write_recording=", 18) == 0) {
      write_path = argv[i] + 18;
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (!write_path.empty()) {
    auto written = flare::bench::write_synthetic_recording(flare::bench::default_synthetic_profile(), write_path);
    if (!written.is_ok()) {
      std::fprintf(stderr, "flare_microbench: %s\n", written.status().message().c_str());
      return 1;
    }
    std::printf("wrote %s: %llu samples, %llu bytes, %u chunks\n", write_path.c_str(),
                static_cast<unsigned long long>(written->samples), static_cast<unsigned long long>(written->bytes),
                written->chunks);
    return 0;
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
