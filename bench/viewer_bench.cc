// Viewer throughput: reading a recording (rec::parse_recording) and turning
// it into pprof (viewer::write_pprof), JFR (viewer::write_jfr) or flare view's page,
// in samples per second, on the synthetic default profile (1 M samples).
#include <benchmark/benchmark.h>

#include <fstream>
#include <ostream>
#include <sstream>
#include <streambuf>

#include "bench/alloc_counter.h"
#include "bench/synthetic_recording.h"
#include "recorder/reader.h"
#include "viewer/jfr_writer.h"
#include "viewer/html_page.h"
#include "viewer/pprof.h"

namespace flare::bench {
namespace {

// Counts bytes and drops them: pprof output size without the cost of keeping it.
class CountingBuf : public std::streambuf {
 public:
  uint64_t bytes = 0;

 protected:
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) ++bytes;
    return c;
  }
  std::streamsize xsputn(const char*, std::streamsize n) override {
    bytes += static_cast<uint64_t>(n);
    return n;
  }
};

const std::string& default_recording_bytes() {
  static const std::string bytes = [] {
    const std::string path = bench_temp_dir() + "/viewer_input.flare";
    auto written = write_synthetic_recording(default_synthetic_profile(), path);
    if (!written.is_ok()) return std::string();
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }();
  return bytes;
}

const rec::Recording* default_recording() {
  static const auto recording = rec::parse_recording(default_recording_bytes());
  return recording.is_ok() ? &*recording : nullptr;
}

void BM_ReadRecording(benchmark::State& state) {
  const std::string& bytes = default_recording_bytes();
  uint64_t samples = 0;
  AllocationScope allocs;
  for (auto _ : state) {
    auto recording = rec::parse_recording(bytes);
    if (!recording.is_ok()) {
      state.SkipWithError(recording.status().message().c_str());
      return;
    }
    samples += recording->samples.size();
    benchmark::DoNotOptimize(recording->samples.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(samples));
  state.counters["allocs_per_sample"] = allocs.per_item(samples);
  state.counters["file_MiB"] = static_cast<double>(bytes.size()) / (1 << 20);
}
BENCHMARK(BM_ReadRecording)->Unit(benchmark::kMillisecond)->UseRealTime();

// Runs `write` (recording, stream -> Status) over the default recording;
// items are the recording's samples, `size_counter` the output's size.
template <typename Write>
void bench_writer(benchmark::State& state, const char* size_counter, Write write) {
  const rec::Recording* recording = default_recording();
  if (!recording) {
    state.SkipWithError("synthetic recording did not parse");
    return;
  }
  uint64_t samples = 0, out_bytes = 0;
  for (auto _ : state) {
    CountingBuf buf;
    std::ostream out(&buf);
    Status st = write(*recording, out);
    if (!st.is_ok()) {
      state.SkipWithError(st.message().c_str());
      return;
    }
    samples += recording->samples.size();
    out_bytes = buf.bytes;
  }
  state.SetItemsProcessed(static_cast<int64_t>(samples));
  state.counters[size_counter] = static_cast<double>(out_bytes) / (1 << 20);
}

void BM_WritePprof(benchmark::State& state) {
  bench_writer(state, "pprof_MiB", [](const rec::Recording& recording, std::ostream& out) {
    return viewer::write_pprof(recording, viewer::ViewOptions{}, out);
  });
}
BENCHMARK(BM_WritePprof)->Unit(benchmark::kMillisecond)->UseRealTime();

// What `flare convert --to pprof` does minus the file I/O: bytes in, gzip'd
// profile out. The budget (>= 5 M samples/s) is about this.
void BM_ReadAndWritePprof(benchmark::State& state) {
  const std::string& bytes = default_recording_bytes();
  uint64_t samples = 0;
  for (auto _ : state) {
    auto recording = rec::parse_recording(bytes);
    if (!recording.is_ok()) {
      state.SkipWithError(recording.status().message().c_str());
      return;
    }
    CountingBuf buf;
    std::ostream out(&buf);
    Status st = viewer::write_pprof(*recording, viewer::ViewOptions{}, out);
    if (!st.is_ok()) {
      state.SkipWithError(st.message().c_str());
      return;
    }
    samples += recording->samples.size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(samples));
}
BENCHMARK(BM_ReadAndWritePprof)->Unit(benchmark::kMillisecond)->UseRealTime();

// `flare convert --to jfr` minus the file I/O: one event per sample (JFR
// has no aggregation), with stacks, methods and symbols pooled once.
void BM_WriteJfr(benchmark::State& state) {
  bench_writer(state, "jfr_MiB", [](const rec::Recording& recording, std::ostream& out) {
    return viewer::write_jfr(recording, viewer::JfrOptions{}, out);
  });
}
BENCHMARK(BM_WriteJfr)->Unit(benchmark::kMillisecond)->UseRealTime();

// flare view minus the file I/O: aggregation into the page's call tree,
// views and timeline, then the page itself.
void BM_WriteHtmlPage(benchmark::State& state) {
  bench_writer(state, "page_MiB", [](const rec::Recording& r, std::ostream& out) {
    return viewer::write_html_page(viewer::build_html_page(r, "synthetic"), out);
  });
}
BENCHMARK(BM_WriteHtmlPage)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace flare::bench
