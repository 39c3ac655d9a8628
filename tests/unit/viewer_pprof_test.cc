// The pprof writer checked twice: structurally, by decoding our own bytes
// with the generated classes, and by the real consumer, go tool pprof.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "profile.pb.h"
#include "tests/unit/go_pprof_for_tests.h"
#include "tests/unit/gunzip_for_tests.h"
#include "tests/unit/pprof_for_tests.h"
#include "tests/unit/viewer_test_support.h"
#include "viewer/pprof.h"

namespace flare::viewer {
namespace {

namespace pb = perftools::profiles;
using testing::KnownRecording;
using testing::RecordingBuilder;

using ::flare::testing::convert;
using ::flare::testing::Index;
using ::flare::testing::parse_top;
using ::flare::testing::run;
using ::flare::testing::TempDir;
using ::flare::testing::TopRow;

TEST(ViewerPprof, StringTableAndIdsAreWellFormed) {
  KnownRecording k;
  pb::Profile p = convert(k.rec());
  ASSERT_GT(p.string_table_size(), 0);
  EXPECT_EQ(p.string_table(0), "");

  Index ix(p);
  EXPECT_EQ(ix.mappings.size(), static_cast<size_t>(p.mapping_size())) << "duplicate mapping ids";
  EXPECT_EQ(ix.locations.size(), static_cast<size_t>(p.location_size())) << "duplicate location ids";
  EXPECT_EQ(ix.functions.size(), static_cast<size_t>(p.function_size())) << "duplicate function ids";
  EXPECT_EQ(ix.mappings.count(0), 0u);
  EXPECT_EQ(ix.locations.count(0), 0u);
  EXPECT_EQ(ix.functions.count(0), 0u);

  auto valid_string = [&](int64_t i) { return i >= 0 && i < p.string_table_size(); };
  for (const auto& m : p.mapping()) {
    EXPECT_TRUE(valid_string(m.filename()));
    EXPECT_TRUE(valid_string(m.build_id()));
  }
  for (const auto& l : p.location()) {
    if (l.mapping_id() != 0) {
      EXPECT_EQ(ix.mappings.count(l.mapping_id()), 1u) << "location " << l.id();
    }
    ASSERT_EQ(l.line_size(), 1);
    EXPECT_EQ(ix.functions.count(l.line(0).function_id()), 1u) << "location " << l.id();
  }
  std::set<std::pair<int64_t, int64_t>> function_keys;
  for (const auto& f : p.function()) {
    EXPECT_TRUE(valid_string(f.name()));
    EXPECT_TRUE(valid_string(f.filename()));
    EXPECT_TRUE(function_keys.insert({f.name(), f.filename()}).second)
        << "function not deduplicated: " << ix.str(f.name());
  }
  for (const auto& s : p.sample()) {
    for (uint64_t id : s.location_id()) EXPECT_EQ(ix.locations.count(id), 1u);
  }
}

TEST(ViewerPprof, HeaderDescribesCpuProfile) {
  KnownRecording k;
  pb::Profile p = convert(k.rec());
  Index ix(p);
  ASSERT_EQ(p.sample_type_size(), 2);
  EXPECT_EQ(ix.str(p.sample_type(0).type()), "samples");
  EXPECT_EQ(ix.str(p.sample_type(0).unit()), "count");
  EXPECT_EQ(ix.str(p.sample_type(1).type()), "cpu");
  EXPECT_EQ(ix.str(p.sample_type(1).unit()), "nanoseconds");
  EXPECT_EQ(ix.str(p.period_type().type()), "cpu");
  EXPECT_EQ(ix.str(p.period_type().unit()), "nanoseconds");
  EXPECT_EQ(p.period(), static_cast<int64_t>(RecordingBuilder::kPeriodNs));
  EXPECT_EQ(ix.str(p.default_sample_type()), "cpu");
  EXPECT_EQ(p.time_nanos(), static_cast<int64_t>(RecordingBuilder::kRealtimeStart));
  EXPECT_EQ(p.duration_nanos(), 2'020'000'000);  // first sample at +0, last at +2.02 s
}

TEST(ViewerPprof, ValuesSumToSamplesTimesPeriod) {
  KnownRecording k;
  pb::Profile p = convert(k.rec());
  int64_t count = 0, nanos = 0;
  for (const auto& s : p.sample()) {
    ASSERT_EQ(s.value_size(), 2);
    EXPECT_EQ(s.value(1), s.value(0) * static_cast<int64_t>(RecordingBuilder::kPeriodNs));
    count += s.value(0);
    nanos += s.value(1);
  }
  EXPECT_EQ(count, 18);
  EXPECT_EQ(nanos, 18 * static_cast<int64_t>(RecordingBuilder::kPeriodNs));
}

TEST(ViewerPprof, AggregatesByStackAndThread) {
  KnownRecording k;
  pb::Profile p = convert(k.rec());
  Index ix(p);
  // Six distinct (stack, tid) pairs; samples of S1 on two threads stay apart.
  ASSERT_EQ(p.sample_size(), 6);
  std::map<std::pair<std::vector<std::string>, int64_t>, int64_t> by_stack_tid;
  for (const auto& s : p.sample()) {
    auto key = std::make_pair(ix.names(s), ix.label_num(s, "tid"));
    EXPECT_EQ(by_stack_tid.count(key), 0u) << "same stack and thread emitted twice";
    by_stack_tid[key] = s.value(0);
  }
  using Names = std::vector<std::string>;
  EXPECT_EQ((by_stack_tid[{Names{"leaf", "compute", "main"}, 100}]), 5);
  EXPECT_EQ((by_stack_tid[{Names{"leaf", "compute", "main"}, 101}]), 3);
  EXPECT_EQ((by_stack_tid[{Names{"compute", "main"}, 100}]), 2);
  EXPECT_EQ((by_stack_tid[{
                Names{"[kernel] 0xffffffff81000200", "do_syscall_64", "[libfoo.so+0x1abc]", "compute", "main"}, 101}]),
            4);
  EXPECT_EQ((by_stack_tid[{Names{"do_syscall_64"}, 102}]), 1);
  EXPECT_EQ((by_stack_tid[{Names{"fib", "fib", "fib", "main"}, 100}]), 3);
}

TEST(ViewerPprof, EverySampleHasThreadLabels) {
  KnownRecording k;
  pb::Profile p = convert(k.rec());
  Index ix(p);
  std::map<int64_t, std::string> names;
  for (const auto& s : p.sample()) {
    int64_t tid = ix.label_num(s, "tid");
    ASSERT_GT(tid, 0);
    EXPECT_EQ(ix.label_num(s, "pid"), 100);
    names[tid] = ix.label_str(s, "thread");
  }
  EXPECT_EQ(names[100], "main");
  EXPECT_EQ(names[101], "worker");
  EXPECT_EQ(names[102], "tid-102");
}

TEST(ViewerPprof, MappingsAreReferencedOnesWithTruthfulFlags) {
  KnownRecording k;
  pb::Profile p = convert(k.rec());
  Index ix(p);
  EXPECT_EQ(p.mapping_size(), 3);  // app, libfoo, kernel; libunused has no frame
  EXPECT_EQ(ix.mapping_named("/opt/app/lib/libunused.so"), nullptr);

  const pb::Mapping* app = ix.mapping_named("/opt/app/bin/app");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(ix.str(app->build_id()), "abc123");
  EXPECT_EQ(app->memory_start(), KnownRecording::kAppStart);
  EXPECT_EQ(app->memory_limit(), 0x500000u);
  EXPECT_TRUE(app->has_functions());
  EXPECT_TRUE(app->has_filenames());
  EXPECT_TRUE(app->has_line_numbers());

  const pb::Mapping* lib = ix.mapping_named("/opt/app/lib/libfoo.so");
  ASSERT_NE(lib, nullptr);
  EXPECT_EQ(ix.str(lib->build_id()), "");
  EXPECT_EQ(lib->file_offset(), 0x1000u);
  EXPECT_FALSE(lib->has_functions()) << "pprof would never symbolize it";
  EXPECT_FALSE(lib->has_filenames());

  const pb::Mapping* kernel = ix.mapping_named("[kernel.kallsyms]");
  ASSERT_NE(kernel, nullptr);
  EXPECT_TRUE(kernel->has_functions());
  EXPECT_LE(kernel->memory_start(), KnownRecording::kSyscall);
  EXPECT_GT(kernel->memory_limit(), KnownRecording::kKernelUnresolved);
}

TEST(ViewerPprof, MainBinaryMappingComesFirst) {
  RecordingBuilder b;
  uint32_t libc = b.mapping(1, 0x7f0000000000, 0x7f0000100000, 0, "/usr/lib/x86_64-linux-gnu/libc.so.6");
  uint32_t heap = b.mapping(1, 0x9000000, 0x9100000, 0, "[heap]");
  uint32_t plugin = b.mapping(1, 0x7e0000000000, 0x7e0000100000, 0, "/opt/plugins/libplug.so");
  uint32_t exe = b.mapping(1, 0x400000, 0x500000, 0, "/usr/bin/server");
  b.thread(1, 1, "server");
  b.samples(1,
            b.stack({b.user_function("strlen", libc, 0x7f0000000010), b.user_address(heap, 0x9000010),
                     b.user_function("plug", plugin, 0x7e0000000010), b.user_function("main", exe, 0x400010)}),
            1);
  pb::Profile p = convert(b.rec);
  Index ix(p);
  ASSERT_EQ(p.mapping_size(), 4);
  EXPECT_EQ(ix.str(p.mapping(0).filename()), "/usr/bin/server");
  EXPECT_EQ(p.mapping(0).id(), 1u);
  EXPECT_EQ(ix.str(p.mapping(1).filename()), "/usr/lib/x86_64-linux-gnu/libc.so.6");
}

TEST(ViewerPprof, LocationsCarryAddressMappingAndSource) {
  KnownRecording k;
  pb::Profile p = convert(k.rec());
  Index ix(p);
  std::map<std::string, const pb::Location*> by_name;
  for (const auto& l : p.location()) by_name[ix.name_of(l.id())] = &l;

  ASSERT_TRUE(by_name.count("compute"));
  const pb::Location& compute = *by_name["compute"];
  EXPECT_EQ(compute.address(), 0x402000u);
  EXPECT_EQ(ix.str(ix.mappings.at(compute.mapping_id())->filename()), "/opt/app/bin/app");
  EXPECT_EQ(compute.line(0).line(), 20);
  EXPECT_EQ(ix.str(ix.function_of(compute.id()).filename()), "/src/compute.cc");

  ASSERT_TRUE(by_name.count("[libfoo.so+0x1abc]"));
  const pb::Location& lib = *by_name["[libfoo.so+0x1abc]"];
  EXPECT_EQ(lib.address(), KnownRecording::kLibStart + 0xabc);
  EXPECT_EQ(ix.str(ix.mappings.at(lib.mapping_id())->filename()), "/opt/app/lib/libfoo.so");

  ASSERT_TRUE(by_name.count("[kernel] 0xffffffff81000200"));
  const pb::Location& kernel = *by_name["[kernel] 0xffffffff81000200"];
  EXPECT_EQ(kernel.address(), KnownRecording::kKernelUnresolved);
  EXPECT_EQ(ix.str(ix.mappings.at(kernel.mapping_id())->filename()), "[kernel.kallsyms]");

  // One location per frame: fib recursing three deep is one location.
  EXPECT_EQ(p.location_size(), 7);
}

TEST(ViewerPprof, FunctionsDeduplicatedByNameAndFile) {
  RecordingBuilder b;
  uint32_t m = b.mapping(1, 0x1000, 0x9000, 0, "/bin/x");
  uint32_t a1 = b.user_function("work", m, 0x1100, "/src/work.cc", 5);
  uint32_t a2 = b.user_function("work", m, 0x1200, "/src/work.cc", 7);   // same function, other line
  uint32_t a3 = b.user_function("work", m, 0x1300, "/src/other.cc", 9);  // a different "work"
  b.thread(1, 1, "x");
  b.samples(1, b.stack({a1}), 1);
  b.samples(1, b.stack({a2}), 1);
  b.samples(1, b.stack({a3}), 1);
  pb::Profile p = convert(b.rec);
  EXPECT_EQ(p.location_size(), 3);
  EXPECT_EQ(p.function_size(), 2);
}

TEST(ViewerPprof, UserOnlyDropsKernelFrames) {
  KnownRecording k;
  pb::Profile p = convert(k.rec(), ViewOptions{.user_only = true});
  Index ix(p);
  EXPECT_EQ(ix.mapping_named("[kernel.kallsyms]"), nullptr);
  for (const auto& l : p.location()) {
    std::string name = ix.name_of(l.id());
    EXPECT_NE(name, "do_syscall_64");
    EXPECT_EQ(name.rfind("[kernel] ", 0), std::string::npos) << name;
  }
  int64_t total = 0;
  bool saw_placeholder = false;
  for (const auto& s : p.sample()) {
    total += s.value(0);
    std::vector<std::string> names = ix.names(s);
    if (ix.label_num(s, "tid") == 101 && names.size() > 3) {
      EXPECT_EQ(names, (std::vector<std::string>{"[libfoo.so+0x1abc]", "compute", "main"}));
    }
    if (ix.label_num(s, "tid") == 102) {
      // The kernel-only stack stays visible as one "[kernel]" frame.
      EXPECT_EQ(names, std::vector<std::string>{"[kernel]"});
      const pb::Location& l = *ix.locations.at(s.location_id(0));
      EXPECT_EQ(l.mapping_id(), 0u);
      saw_placeholder = true;
    }
  }
  EXPECT_TRUE(saw_placeholder);
  EXPECT_EQ(total, 18) << "filtering frames must not change totals";
}

TEST(ViewerPprof, EmptyStackAndEmptyRecording) {
  RecordingBuilder b;
  b.thread(7, 7, "lonely");
  b.samples(7, 0, 2);
  pb::Profile p = convert(b.rec);
  Index ix(p);
  ASSERT_EQ(p.sample_size(), 1);
  EXPECT_EQ(ix.names(p.sample(0)), std::vector<std::string>{"[no stack]"});
  EXPECT_EQ(p.sample(0).value(0), 2);

  RecordingBuilder empty;
  pb::Profile e = convert(empty.rec);
  EXPECT_EQ(e.sample_size(), 0);
  EXPECT_EQ(e.string_table(0), "");
  EXPECT_EQ(e.duration_nanos(), 0);
}

// --- the real consumer -------------------------------------------------------

TEST(ViewerPprof, GoToolPprofReadsIt) {
  ASSERT_EQ(access("/usr/bin/go", X_OK), 0) << "go is required (apt-get install golang-go); this test never skips";
  TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  KnownRecording k;
  std::string file = dir.path + "/cpu.pb.gz";
  {
    std::ofstream out(file, std::ios::binary);
    ASSERT_TRUE(write_pprof(k.rec(), {}, out).is_ok());
  }
  std::string env = "HOME=" + dir.path + " GOCACHE=" + dir.path + "/gocache GOPATH=" + dir.path +
                    "/gopath PPROF_TMPDIR=" + dir.path + " ";
  std::string err = dir.path + "/stderr";

  int status = 0;
  std::string counts =
      run(env + "/usr/bin/go tool pprof -top -nodecount=100 -sample_index=samples " + file + " 2>" + err, status);
  std::ifstream err_in(err);
  std::string err_text((std::istreambuf_iterator<char>(err_in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(status, 0) << counts << err_text;
  std::map<std::string, TopRow> rows = parse_top(counts);
  SCOPED_TRACE(counts + err_text);

  ASSERT_EQ(rows.size(), 7u);
  EXPECT_EQ(rows["leaf"].flat, "8");
  EXPECT_EQ(rows["leaf"].flat_pct, "44.44%");
  EXPECT_EQ(rows["[kernel] 0xffffffff81000200"].flat, "4");
  EXPECT_EQ(rows["fib"].flat, "3");
  EXPECT_EQ(rows["fib"].cum, "3");  // recursion counted once
  EXPECT_EQ(rows["compute"].flat, "2");
  EXPECT_EQ(rows["compute"].cum, "14");
  EXPECT_EQ(rows["do_syscall_64"].flat, "1");
  EXPECT_EQ(rows["do_syscall_64"].cum, "5");
  EXPECT_EQ(rows["main"].flat, "0");
  EXPECT_EQ(rows["main"].cum, "17");
  EXPECT_EQ(rows["main"].cum_pct, "94.44%");
  EXPECT_EQ(rows["[libfoo.so+0x1abc]"].cum, "4");

  // The default view is CPU time: 18 samples x 10 ms.
  std::string cpu = run(env + "/usr/bin/go tool pprof -top -nodecount=100 " + file + " 2>/dev/null", status);
  ASSERT_EQ(status, 0) << cpu;
  EXPECT_NE(cpu.find("Showing nodes accounting for 180ms, 100% of 180ms total"), std::string::npos) << cpu;
  std::map<std::string, TopRow> cpu_rows = parse_top(cpu);
  EXPECT_EQ(cpu_rows["leaf"].flat, "80ms") << cpu;

  // Thread labels are usable for focusing, as a person would.
  std::string worker =
      run(env + "/usr/bin/go tool pprof -top -sample_index=samples -tagfocus=thread=worker " + file + " 2>/dev/null",
          status);
  ASSERT_EQ(status, 0) << worker;
  std::map<std::string, TopRow> worker_rows = parse_top(worker);
  EXPECT_EQ(worker_rows["leaf"].flat, "3") << worker;
  EXPECT_EQ(worker_rows["main"].cum, "7") << worker;

  // Placeholder frames (no mapping, address 0) are accepted too: user-only
  // view, plus one sample whose stack was never captured.
  rec::Recording user_rec = k.rec();
  user_rec.samples.push_back(rec::CpuSample{RecordingBuilder::kMonotonicStart, 102, 0, 0});
  std::string user_file = dir.path + "/user.pb.gz";
  {
    std::ofstream out(user_file, std::ios::binary);
    ASSERT_TRUE(write_pprof(user_rec, ViewOptions{.user_only = true}, out).is_ok());
  }
  std::string user = run(
      env + "/usr/bin/go tool pprof -top -nodecount=100 -sample_index=samples " + user_file + " 2>/dev/null", status);
  ASSERT_EQ(status, 0) << user;
  std::map<std::string, TopRow> user_rows = parse_top(user);
  EXPECT_NE(user.find("Showing nodes accounting for 19, 100% of 19 total"), std::string::npos) << user;
  EXPECT_EQ(user_rows["[kernel]"].flat, "1") << user;
  EXPECT_EQ(user_rows["[no stack]"].flat, "1") << user;
  EXPECT_EQ(user_rows["[libfoo.so+0x1abc]"].flat, "4") << user;
  EXPECT_EQ(user_rows.count("do_syscall_64"), 0u) << user;
}

}  // namespace
}  // namespace flare::viewer

namespace flare::viewer {
namespace {

// [helper (inlined), work, main]: helper was inlined into work at 0x1100.
// Next to it, `rec` recursing at one call site: two frames with the same
// address that are not inlined, which must stay two locations' worth.
struct InlinedRecording {
  RecordingBuilder b;
  InlinedRecording() {
    uint32_t m = b.mapping(1, 0x1000, 0x9000, 0, "/bin/app", "abcd");
    uint32_t helper = b.user_function("helper", m, 0x1100, "/src/helper.h", 7);
    b.rec.frames[helper].flags |= rec::kFrameInlined;
    uint32_t work = b.user_function("work", m, 0x1100, "/src/work.cc", 40);
    uint32_t main_fn = b.user_function("main", m, 0x1500, "/src/main.cc", 3);
    uint32_t recurse = b.user_function("recurse", m, 0x1300, "/src/main.cc", 9);
    b.thread(1, 1, "app");
    b.samples(1, b.stack({helper, work, main_fn}), 3);
    b.samples(1, b.stack({recurse, recurse, main_fn}), 2);
  }
};

TEST(ViewerPprof, InlinedFramesAreLinesOfOneLocation) {
  InlinedRecording r;
  pb::Profile p = convert(r.b.rec);
  Index ix(p);
  const pb::Location* inlined = nullptr;
  for (const auto& l : p.location()) {
    if (l.line_size() > 1) inlined = &l;
  }
  ASSERT_NE(inlined, nullptr);
  EXPECT_EQ(p.location_size(), 3);  // helper+work, main, recurse
  EXPECT_EQ(inlined->address(), 0x1100u);
  ASSERT_EQ(inlined->line_size(), 2);
  // Innermost first, each with its own position.
  EXPECT_EQ(ix.str(ix.functions.at(inlined->line(0).function_id())->name()), "helper");
  EXPECT_EQ(inlined->line(0).line(), 7);
  EXPECT_EQ(ix.str(ix.functions.at(inlined->line(1).function_id())->name()), "work");
  EXPECT_EQ(inlined->line(1).line(), 40);
  ASSERT_EQ(p.mapping_size(), 1);
  EXPECT_TRUE(p.mapping(0).has_inline_frames());
  EXPECT_TRUE(p.mapping(0).has_functions());
  EXPECT_TRUE(p.mapping(0).has_line_numbers());
  for (const auto& s : p.sample()) {
    EXPECT_EQ(s.location_id_size(), s.value(0) == 3 ? 2 : 3);  // recursion keeps both frames
  }
}

TEST(ViewerPprof, GoToolPprofShowsInlinedFramesWithTheirLines) {
  ASSERT_EQ(access("/usr/bin/go", X_OK), 0) << "go is required (apt-get install golang-go); this test never skips";
  TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  InlinedRecording r;
  std::string file = dir.path + "/cpu.pb.gz";
  {
    std::ofstream out(file, std::ios::binary);
    ASSERT_TRUE(write_pprof(r.b.rec, {}, out).is_ok());
  }
  std::string env = "HOME=" + dir.path + " GOCACHE=" + dir.path + "/gocache GOPATH=" + dir.path +
                    "/gopath PPROF_TMPDIR=" + dir.path + " ";
  int status = 0;
  std::string traces = run(env + "/usr/bin/go tool pprof -traces -lines " + file + " 2>&1", status);
  ASSERT_EQ(status, 0) << traces;
  // pprof marks inlined frames "(inline)" and prints file:line per frame.
  EXPECT_NE(traces.find("helper /src/helper.h:7 (inline)"), std::string::npos) << traces;
  EXPECT_NE(traces.find("work /src/work.cc:40"), std::string::npos) << traces;
  EXPECT_EQ(traces.find("work /src/work.cc:40 (inline)"), std::string::npos) << traces;
}

}  // namespace
}  // namespace flare::viewer
