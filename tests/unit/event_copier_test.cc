// slice and cat re-encode events; the pprof of a recording must not change
// when it is sliced over its full range or cut in two and joined again.
#include "recorder/event_copier.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <zlib.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "profile.pb.h"
#include "tests/unit/gunzip_for_tests.h"
#include "recorder/reader.h"
#include "viewer/folded.h"
#include "viewer/pprof.h"

namespace flare::rec {
namespace {

namespace fs = std::filesystem;

class EventCopierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("flare-copier-test-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) { return (dir_ / name).string(); }

  static FileHeader header() {
    FileHeader h;
    h.targets = {{10, "app"}};
    h.events = "cpu";
    h.sample_frequency_hz = 100;
    h.sample_period_ns = 10'000'000;
    h.clock_monotonic_ns = 1'000'000'000;
    h.clock_realtime_ns = 1'700'000'000'000'000'000ull;
    return h;
  }

  // Several threads, dozens of distinct stacks, small chunks so that pools
  // are re-interned many times.
  Recording write_original(const std::string& file) {
    WriterOptions options;
    options.flush_interval_ns = 100'000'000;
    options.chunk_duration_ns = 500'000'000;
    auto writer = RecordingWriter::create(path(file), header(), options);
    EXPECT_TRUE(writer.is_ok());
    RecordingWriter& w = **writer;
    for (uint32_t tid = 11; tid < 14; ++tid) w.set_thread(10, tid, "worker-" + std::to_string(tid));
    uint64_t generation = UINT64_MAX;
    std::vector<uint32_t> stacks;
    for (int i = 0; i < 600; ++i) {
      if (w.generation() != generation) {
        generation = w.generation();
        stacks.clear();
        uint32_t mapping = w.add_mapping({10, 0x1000, 0x9000, 0, w.intern_string("/bin/app"), w.intern_string("b1d")});
        for (int s = 0; s < 40; ++s) {
          std::vector<uint32_t> frames;
          for (int d = 0; d <= s % 7; ++d) {
            FrameInfo f;
            f.address = 0x1000 + static_cast<uint64_t>(s * 16 + d);
            f.mapping = mapping;
            f.function = w.intern_string("fn_" + std::to_string(s) + "_" + std::to_string(d));
            f.flags = kFrameResolved;
            frames.push_back(w.add_frame(f));
          }
          stacks.push_back(w.intern_stack(frames));
        }
      }
      uint64_t t = 1'000'000'000 + static_cast<uint64_t>(i) * 5'000'000;
      w.add_cpu_sample({t, 11u + static_cast<uint32_t>(i % 3), stacks[(i * 7) % stacks.size()], 0});
      EXPECT_TRUE(w.maybe_flush(t).is_ok());
    }
    w.add_lost({LostCause::kRingBufferFull, 0, 3});
    EXPECT_TRUE(w.finish().is_ok());
    auto rec = read_recording(path(file));
    EXPECT_TRUE(rec.is_ok()) << rec.status().message();
    return std::move(rec).value();
  }

  Recording copy(const std::vector<const Recording*>& inputs, const TimeRange& range, const std::string& file) {
    WriterOptions options;
    options.chunk_duration_ns = 700'000'000;  // chunked differently from the original
    auto writer = RecordingWriter::create(path(file), inputs.front()->header, options);
    EXPECT_TRUE(writer.is_ok());
    EXPECT_TRUE(copy_events(inputs, range, **writer).is_ok());
    EXPECT_TRUE((*writer)->finish().is_ok());
    auto rec = read_recording(path(file));
    EXPECT_TRUE(rec.is_ok()) << rec.status().message();
    return std::move(rec).value();
  }

  // The profile's content independent of id numbering: per (stack of
  // function names, labels), the summed values. Ids are assigned in order of
  // first definition, which a re-encoding may change for synthetic inputs.
  static std::map<std::string, std::vector<int64_t>> pprof(const Recording& rec) {
    std::ostringstream out;
    EXPECT_TRUE(viewer::write_pprof(rec, {}, out).is_ok());
    std::string raw = testing::gunzip(out.str());
    perftools::profiles::Profile profile;
    EXPECT_TRUE(profile.ParseFromString(raw));
    std::map<uint64_t, std::string> function_name;
    for (const auto& f : profile.function()) function_name[f.id()] = profile.string_table(f.name());
    std::map<uint64_t, std::string> location_name;
    for (const auto& l : profile.location()) {
      for (const auto& line : l.line()) location_name[l.id()] += function_name[line.function_id()] + "|";
    }
    std::map<std::string, std::vector<int64_t>> content;
    for (const auto& sample : profile.sample()) {
      std::string key;
      for (uint64_t id : sample.location_id()) key += location_name[id] + ";";
      for (const auto& label : sample.label()) {
        key += " " + profile.string_table(label.key()) + "=" + profile.string_table(label.str()) +
               std::to_string(label.num());
      }
      auto& values = content[key];
      values.resize(sample.value_size());
      for (int i = 0; i < sample.value_size(); ++i) values[i] += sample.value(i);
    }
    content["#period"] = {profile.period()};
    content["#types"] = {profile.sample_type_size()};
    return content;
  }

  static std::string folded(const Recording& rec) {
    std::ostringstream out;
    EXPECT_TRUE(viewer::write_folded(rec, {}, out).is_ok());
    return out.str();
  }

  fs::path dir_;
};

TEST_F(EventCopierTest, FullSliceKeepsThePprofIdentical) {
  Recording original = write_original("orig.flare");
  ASSERT_EQ(original.samples.size(), 600u);
  ASSERT_GE(original.chunks.size(), 5u);
  Recording full = copy({&original}, TimeRange{}, "full.flare");
  EXPECT_EQ(full.samples.size(), 600u);
  EXPECT_TRUE(pprof(full) == pprof(original));
  EXPECT_EQ(folded(full), folded(original));
}

TEST_F(EventCopierTest, HalvesJoinedByCatGiveTheSamePprof) {
  Recording original = write_original("orig.flare");
  const uint64_t middle = original.samples[300].time_ns;
  Recording first = copy({&original}, {0, middle}, "a.flare");
  Recording second = copy({&original}, {middle, UINT64_MAX}, "b.flare");
  EXPECT_EQ(first.samples.size(), 300u);
  EXPECT_EQ(second.samples.size(), 300u);
  for (const CpuSample& s : first.samples) EXPECT_LT(s.time_ns, middle);
  for (const CpuSample& s : second.samples) EXPECT_GE(s.time_ns, middle);
  // Given in reverse order on purpose: cat merges by time.
  Recording joined = copy({&second, &first}, TimeRange{}, "joined.flare");
  ASSERT_EQ(joined.samples.size(), 600u);
  EXPECT_TRUE(pprof(joined) == pprof(original));
  EXPECT_EQ(folded(joined), folded(original));
  EXPECT_GT(pprof(original).size(), 40u);  // the comparison has substance
}

}  // namespace
}  // namespace flare::rec
