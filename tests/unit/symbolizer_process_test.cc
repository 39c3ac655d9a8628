// ProcessSymbolizer against this test process (its own code, libc, a
// dlopen'ed library that goes away) and against scripted /proc/PID/maps
// contents for the mapping-lifecycle and refresh rules.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "agent/process_symbolizer.h"

volatile int g_sink = 0;
// Entry is attributed to the declaration (-O0) or the first statement (-O2).
constexpr int kLeafLine = __LINE__ + 1;
extern "C" __attribute__((noinline)) int flare_process_test_leaf(int x) {
  g_sink = x;
  return x * 5;
}

namespace flare_test_ns {
__attribute__((noinline)) long namespaced_function(long x, const char* label) {
  g_sink = static_cast<int>(x) + label[0];
  return x;
}
}  // namespace flare_test_ns

namespace flare::agent {
namespace {

uint32_t self_pid() { return static_cast<uint32_t>(getpid()); }
uint64_t address_of(const void* p) { return reinterpret_cast<uintptr_t>(p); }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// True if /proc/self/maps currently maps `address`.
bool is_mapped(uint64_t address) {
  auto entries = read_proc_maps(self_pid());
  if (!entries.is_ok()) return false;
  for (const MapEntry& e : *entries) {
    if (address >= e.start && address < e.end) return true;
  }
  return false;
}

class TempDir {
 public:
  TempDir() {
    char templ[] = "/tmp/flare-proc-test-XXXXXX";
    path_ = mkdtemp(templ);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A private copy of libz: a different inode, so the dynamic loader maps it
// afresh even though libdw already loaded the system libz, and dlclose really
// unmaps it.
std::string copy_of_libz(const TempDir& dir) {
  void* system_libz = dlopen("libz.so.1", RTLD_NOW | RTLD_NOLOAD);
  if (system_libz == nullptr) system_libz = dlopen("libz.so.1", RTLD_NOW);
  if (system_libz == nullptr) return "";
  Dl_info info;
  void* symbol = dlsym(system_libz, "zlibVersion");
  if (symbol == nullptr || dladdr(symbol, &info) == 0) return "";
  std::string copy = dir.path() + "/libflare-test-z.so";
  std::error_code ec;
  if (!std::filesystem::copy_file(info.dli_fname, copy, ec)) return "";
  return copy;
}

TEST(ProcessSymbolizer, OwnFunctions) {
  ProcessSymbolizer symbolizer(self_pid());
  UserFrame leaf = symbolizer.resolve(address_of(reinterpret_cast<const void*>(&flare_process_test_leaf)));
  ASSERT_NE(leaf.mapping, nullptr);
  EXPECT_EQ(leaf.mapping->path, std::filesystem::read_symlink("/proc/self/exe").string());
  EXPECT_EQ(leaf.mapping->build_id.size(), 40u);
  EXPECT_TRUE(leaf.mapping->executable);
  EXPECT_TRUE(leaf.symbol.resolved);
  EXPECT_EQ(leaf.symbol.function, "flare_process_test_leaf");
  EXPECT_TRUE(ends_with(leaf.symbol.file, "symbolizer_process_test.cc")) << leaf.symbol.file;
  EXPECT_GE(leaf.symbol.line, static_cast<uint32_t>(kLeafLine));
  EXPECT_LE(leaf.symbol.line, static_cast<uint32_t>(kLeafLine + 1));

  UserFrame cxx = symbolizer.resolve(address_of(reinterpret_cast<const void*>(&flare_test_ns::namespaced_function)) + 1);
  EXPECT_EQ(cxx.symbol.function, "flare_test_ns::namespaced_function(long, char const*)");
  EXPECT_EQ(cxx.mapping, leaf.mapping) << "same mapping object for the same text segment";
  EXPECT_EQ(symbolizer.stats().unresolved, 0u);
  EXPECT_EQ(symbolizer.stats().refreshes, 1u);
}

TEST(ProcessSymbolizer, LibcFunctions) {
  void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(libc, nullptr);
  // dlsym on libc's handle gives libc's own definitions, not a PLT slot.
  void* getpid_address = dlsym(libc, "getpid");
  void* malloc_address = dlsym(libc, "malloc");
  ASSERT_NE(getpid_address, nullptr);
  ASSERT_NE(malloc_address, nullptr);

  ProcessSymbolizer symbolizer(self_pid());
  UserFrame getpid_frame = symbolizer.resolve(address_of(getpid_address));
  ASSERT_NE(getpid_frame.mapping, nullptr);
  EXPECT_NE(getpid_frame.mapping->path.find("libc.so"), std::string::npos) << getpid_frame.mapping->path;
  // Aliases at the same address; either is the truth.
  EXPECT_TRUE(getpid_frame.symbol.function == "getpid" || getpid_frame.symbol.function == "__getpid")
      << getpid_frame.symbol.function;

  UserFrame malloc_frame = symbolizer.resolve(address_of(malloc_address) + 16);
  EXPECT_TRUE(malloc_frame.symbol.function == "malloc" || malloc_frame.symbol.function == "__libc_malloc")
      << malloc_frame.symbol.function;
  EXPECT_FALSE(malloc_frame.mapping->build_id.empty());
  dlclose(libc);
}

TEST(ProcessSymbolizer, UnmappedAddressIsCountedAndDoesNotRefreshAgain) {
  ProcessSymbolizer symbolizer(self_pid());
  const uint64_t unmapped = 0x10;  // page zero is never mapped
  UserFrame frame = symbolizer.resolve(unmapped);
  EXPECT_EQ(frame.mapping, nullptr);
  EXPECT_FALSE(frame.symbol.resolved);
  EXPECT_EQ(symbolizer.stats().unknown_mapping, 1u);
  EXPECT_EQ(symbolizer.stats().refreshes, 1u);

  (void)symbolizer.resolve(unmapped);
  EXPECT_EQ(symbolizer.stats().unknown_mapping, 2u);
  EXPECT_EQ(symbolizer.stats().refreshes, 1u) << "a known-unknown address must not re-read the maps";
}

TEST(ProcessSymbolizer, DlclosedLibraryStillSymbolizes) {
  TempDir dir;
  std::string path = copy_of_libz(dir);
  if (path.empty()) GTEST_SKIP() << "libz.so.1 not available";
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  uint64_t address = address_of(dlsym(handle, "zlibVersion"));
  ASSERT_NE(address, 0u);

  ProcessSymbolizer symbolizer(self_pid());
  UserFrame before = symbolizer.resolve(address);
  ASSERT_NE(before.mapping, nullptr);
  EXPECT_EQ(before.mapping->path, path);
  EXPECT_EQ(before.symbol.function, "zlibVersion");

  ASSERT_EQ(dlclose(handle), 0);
  ASSERT_FALSE(is_mapped(address)) << "dlclose should have unmapped the private copy";
  ASSERT_TRUE(symbolizer.refresh().is_ok());

  UserFrame after = symbolizer.resolve(address);
  ASSERT_NE(after.mapping, nullptr);
  EXPECT_EQ(after.mapping, before.mapping) << "the retired mapping keeps its identity";
  EXPECT_EQ(after.mapping->serial, before.mapping->serial);
  EXPECT_EQ(after.symbol.function, "zlibVersion");
  // (The path itself may still be mapped: libelf maps the file it reads,
  // and this process is the target.)
  for (const Mapping* m : symbolizer.current_mappings()) {
    EXPECT_FALSE(address >= m->start && address < m->end) << m->path;
  }
}

TEST(ProcessSymbolizer, LibraryDeletedBeforeFirstLookup) {
  TempDir dir;
  std::string path = copy_of_libz(dir);
  if (path.empty()) GTEST_SKIP() << "libz.so.1 not available";
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  uint64_t address = address_of(dlsym(handle, "zlibVersion"));
  ASSERT_EQ(::unlink(path.c_str()), 0);

  ProcessSymbolizer symbolizer(self_pid());
  UserFrame frame = symbolizer.resolve(address);
  ASSERT_NE(frame.mapping, nullptr);
  EXPECT_EQ(frame.mapping->path, path) << "\" (deleted)\" is not part of the path";
  if (geteuid() == 0) {
    // Reached through /proc/PID/map_files, which needs privileges.
    EXPECT_EQ(frame.symbol.function, "zlibVersion");
  } else {
    EXPECT_FALSE(frame.symbol.resolved);
    EXPECT_GE(symbolizer.stats().open_errors, 1u);
  }
  dlclose(handle);
}

TEST(ProcessSymbolizer, FilesAreSharedAcrossProcessSymbolizers) {
  auto files = std::make_shared<SymbolFileCache>();
  ProcessSymbolizerOptions options;
  options.files = files;
  ProcessSymbolizer first(self_pid(), options);
  uint64_t leaf = address_of(reinterpret_cast<const void*>(&flare_process_test_leaf));
  EXPECT_EQ(first.resolve(leaf).symbol.function, "flare_process_test_leaf");
  // Opening files can load libraries into this process (elfutils dlopens its
  // debuginfod client); a second refresh lets `first` open those as well.
  ASSERT_TRUE(first.refresh().is_ok());
  size_t opened = files->size();
  EXPECT_GE(opened, 2u) << "at least the test binary and libc";

  ProcessSymbolizer second(self_pid(), options);
  EXPECT_EQ(second.resolve(leaf).symbol.function, "flare_process_test_leaf");
  EXPECT_EQ(files->size(), opened);
}

// Containers of one image map the same build from different files: the
// copies are opened and indexed once, by build-id; a stripped copy (same
// build-id, different content) is not confused with them.
TEST(ProcessSymbolizer, SameBuildInDifferentFilesIsIndexedOnce) {
  std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
  auto own = read_proc_maps(self_pid());
  ASSERT_TRUE(own.is_ok());
  const MapEntry* text = nullptr;
  for (const MapEntry& e : *own) {
    if (e.path == exe && e.executable()) text = &e;
  }
  ASSERT_NE(text, nullptr);
  uint64_t leaf = address_of(reinterpret_cast<const void*>(&flare_process_test_leaf));
  ASSERT_TRUE(leaf >= text->start && leaf < text->end);

  TempDir dir;
  std::vector<std::string> copies = {dir.path() + "/a", dir.path() + "/b", dir.path() + "/stripped"};
  for (size_t i = 0; i < 2; ++i) ASSERT_TRUE(std::filesystem::copy_file(exe, copies[i]));
  std::string strip = "/usr/bin/objcopy --strip-all '" + exe + "' '" + copies[2] + "'";
  ASSERT_EQ(std::system(strip.c_str()), 0) << strip;

  // Each copy "mapped" like the real text, at its own range.
  std::vector<MapEntry> maps;
  const uint64_t kStride = uint64_t{1} << 40;
  for (size_t i = 0; i < copies.size(); ++i) {
    MapEntry e = *text;
    e.start = kStride * (i + 1);
    e.end = e.start + (text->end - text->start);
    e.path = copies[i];
    struct stat st;
    ASSERT_EQ(::stat(copies[i].c_str(), &st), 0);
    e.inode = st.st_ino;
    e.dev_major = 0;
    e.dev_minor = static_cast<uint32_t>(i + 1);  // distinct identities, as distinct overlay mounts have
    maps.push_back(e);
  }
  auto files = std::make_shared<SymbolFileCache>();
  ProcessSymbolizerOptions options;
  options.files = files;
  options.read_maps = [&](uint32_t) -> Result<std::vector<MapEntry>> { return maps; };
  options.open_perf_map = [](uint32_t) -> Result<std::unique_ptr<PerfMap>> {
    return Status(ErrorCode::kNotFound, "no perf map");
  };
  ProcessSymbolizer symbolizer(self_pid(), options);
  for (size_t i = 0; i < 2; ++i) {
    UserFrame frame = symbolizer.resolve(maps[i].start + (leaf - text->start));
    EXPECT_EQ(frame.symbol.function, "flare_process_test_leaf") << copies[i];
  }
  EXPECT_FALSE(symbolizer.resolve(maps[2].start + (leaf - text->start)).symbol.resolved)
      << "the stripped copy has no symbols of its own to give";
  // Three file identities served, two files indexed: a (shared with b) and
  // the stripped copy.
  EXPECT_EQ(files->size(), 3u);
  EXPECT_EQ(files->opened(), 2u) << "the second copy should share the first one's index";

  // a (the indexed file) unmapped while b (served by a's index) stays: the
  // index stays for b; once b goes too, both are released.
  const std::vector<MapEntry> all = maps;
  maps = {all[1], all[2]};
  ASSERT_TRUE(symbolizer.refresh().is_ok());
  symbolizer.forget_retired();
  EXPECT_EQ(symbolizer.forget_retired(), 1u) << "a chunk after it was unmapped";
  EXPECT_EQ(files->release_unused(), 0u) << "b still uses a's index";
  EXPECT_EQ(symbolizer.resolve(all[1].start + (leaf - text->start)).symbol.function, "flare_process_test_leaf");
  maps = {all[2]};
  ASSERT_TRUE(symbolizer.refresh().is_ok());
  symbolizer.forget_retired();
  symbolizer.forget_retired();
  EXPECT_EQ(files->release_unused(), 2u) << "b's identity and a's index";
  EXPECT_EQ(files->opened(), 1u);
  EXPECT_EQ(files->size(), 1u);
}

// --- scripted maps: refresh policy and mapping lifecycle ---

struct ScriptedProcess {
  std::vector<MapEntry> maps;
  Status error;
  int reads = 0;
  uint64_t now = 0;

  ProcessSymbolizerOptions options() {
    ProcessSymbolizerOptions o;
    o.read_maps = [this](uint32_t) -> Result<std::vector<MapEntry>> {
      ++reads;
      if (!error.is_ok()) return error;
      return maps;
    };
    o.now_ns = [this] { return now; };
    // Scripted processes have no JIT unless a test gives them one.
    o.open_perf_map = [](uint32_t) -> Result<std::unique_ptr<PerfMap>> {
      return Status(ErrorCode::kNotFound, "no perf map");
    };
    return o;
  }
};

MapEntry anon(uint64_t start, uint64_t end, const std::string& path = "") {
  MapEntry e;
  e.start = start;
  e.end = end;
  e.perms = "rw-p";
  e.path = path;
  return e;
}

TEST(ProcessSymbolizerScripted, RefreshesAreRateLimitedAndUnknownAddressesRemembered) {
  ScriptedProcess process;
  process.maps = {anon(0x1000, 0x2000)};
  ProcessSymbolizer symbolizer(42, process.options());

  UserFrame frame = symbolizer.resolve(0x1800);
  ASSERT_NE(frame.mapping, nullptr);
  EXPECT_EQ(frame.mapping->path, "[anon]");
  EXPECT_FALSE(frame.symbol.resolved);
  EXPECT_EQ(process.reads, 1);

  EXPECT_EQ(symbolizer.resolve(0x5000).mapping, nullptr);
  EXPECT_EQ(process.reads, 1) << "within the interval of the last read";

  process.now += 60'000'000;
  EXPECT_EQ(symbolizer.resolve(0x5000).mapping, nullptr);
  EXPECT_EQ(process.reads, 2);

  process.now += 60'000'000;
  EXPECT_EQ(symbolizer.resolve(0x5000).mapping, nullptr);
  EXPECT_EQ(process.reads, 2) << "0x5000 is already known to be unmapped";

  // A new mapping appears; a new address finds it.
  process.maps.push_back(anon(0x6000, 0x7000, "[heap]"));
  frame = symbolizer.resolve(0x6100);
  ASSERT_NE(frame.mapping, nullptr);
  EXPECT_EQ(frame.mapping->path, "[heap]");
  EXPECT_EQ(process.reads, 3);

  auto stats = symbolizer.stats();
  EXPECT_EQ(stats.refreshes, 3u);
  EXPECT_EQ(stats.refresh_errors, 0u);
  EXPECT_EQ(stats.unknown_mapping, 3u);
  EXPECT_EQ(stats.unresolved, 2u);
}

// A first read can race with exec or dlopen: an address unknown after it is
// looked up again, but only after the (longer) retry interval.
TEST(ProcessSymbolizerScripted, UnknownAddressesAreRetriedAfterTheRetryInterval) {
  ScriptedProcess process;
  process.maps = {anon(0x1000, 0x2000)};
  ProcessSymbolizer symbolizer(42, process.options());
  EXPECT_EQ(symbolizer.resolve(0x6100).mapping, nullptr);
  EXPECT_EQ(process.reads, 1);

  process.maps.push_back(anon(0x6000, 0x7000, "[late]"));
  process.now += 100'000'000;  // past the refresh interval, not the retry one
  EXPECT_EQ(symbolizer.resolve(0x6100).mapping, nullptr);
  EXPECT_EQ(process.reads, 1);

  process.now += 1'000'000'000;
  const Mapping* mapping = symbolizer.resolve(0x6100).mapping;
  ASSERT_NE(mapping, nullptr);
  EXPECT_EQ(mapping->path, "[late]");
  EXPECT_EQ(process.reads, 2);
}

TEST(ProcessSymbolizerScripted, MappingIdentityAcrossRefreshes) {
  ScriptedProcess process;
  MapEntry a = anon(0x1000, 0x2000, "[a]");
  MapEntry b = anon(0x3000, 0x4000, "[b]");
  MapEntry c = anon(0x3000, 0x5000, "[c]");  // same start as b, different range
  process.maps = {a, b};
  ProcessSymbolizer symbolizer(42, process.options());
  ASSERT_TRUE(symbolizer.refresh().is_ok());
  const Mapping* ma = symbolizer.resolve(0x1000).mapping;
  const Mapping* mb = symbolizer.resolve(0x3000).mapping;
  ASSERT_TRUE(ma && mb);
  EXPECT_NE(ma->serial, mb->serial);

  process.maps = {a, c};
  ASSERT_TRUE(symbolizer.refresh().is_ok());
  EXPECT_EQ(symbolizer.resolve(0x1000).mapping, ma);
  const Mapping* mc = symbolizer.resolve(0x3000).mapping;
  ASSERT_NE(mc, nullptr);
  EXPECT_EQ(mc->path, "[c]");
  EXPECT_NE(mc->serial, mb->serial);
  EXPECT_NE(mc->serial, ma->serial);
  // Only the retired b covers nothing c does not; 0x4800 is c's.
  EXPECT_EQ(symbolizer.resolve(0x4800).mapping, mc);

  process.maps = {a};
  ASSERT_TRUE(symbolizer.refresh().is_ok());
  // Both b and c are retired; the newest retiree wins an overlap.
  EXPECT_EQ(symbolizer.resolve(0x3000).mapping, mc);
  EXPECT_EQ(symbolizer.current_mappings().size(), 1u);

  process.maps = {a, b};
  ASSERT_TRUE(symbolizer.refresh().is_ok());
  EXPECT_EQ(symbolizer.resolve(0x3000).mapping, mb) << "a mapping that comes back keeps its object";
}

TEST(ProcessSymbolizerScripted, ExitedProcessKeepsItsMappings) {
  ScriptedProcess process;
  process.maps = {anon(0x1000, 0x2000, "[a]")};
  ProcessSymbolizer symbolizer(42, process.options());
  ASSERT_NE(symbolizer.resolve(0x1000).mapping, nullptr);

  process.error = Status(ErrorCode::kNotFound, "process 42 not found");
  process.now += 100'000'000;
  EXPECT_EQ(symbolizer.resolve(0x9000).mapping, nullptr);
  EXPECT_EQ(process.reads, 2);
  process.now += 100'000'000;
  EXPECT_EQ(symbolizer.resolve(0xa000).mapping, nullptr);
  EXPECT_EQ(process.reads, 2) << "no re-reads once the process is known to be gone";
  EXPECT_NE(symbolizer.resolve(0x1000).mapping, nullptr);
  EXPECT_EQ(symbolizer.stats().refresh_errors, 1u);
  Status direct = symbolizer.refresh();
  EXPECT_EQ(direct.code(), ErrorCode::kNotFound);
}

// A scripted process whose maps are the real libc text mapping of this
// process (so files open and symbolize for real); `getpid_address` is in it.
ScriptedProcess libc_text_only(uint64_t& getpid_address) {
  ScriptedProcess process;
  void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  if (libc == nullptr) return process;
  getpid_address = address_of(dlsym(libc, "getpid"));
  dlclose(libc);
  auto real = read_proc_maps(self_pid());
  if (!real.is_ok()) return process;
  for (const MapEntry& e : *real) {
    if (getpid_address >= e.start && getpid_address < e.end) process.maps.push_back(e);
  }
  return process;
}

TEST(ProcessSymbolizerScripted, RetiredFileMappingStillSymbolizes) {
  // The real libc text mapping of this process, reported once and then gone.
  uint64_t getpid_address = 0;
  ScriptedProcess process = libc_text_only(getpid_address);
  ASSERT_EQ(process.maps.size(), 1u);
  ProcessSymbolizerOptions options = process.options();
  ProcessSymbolizer symbolizer(self_pid(), options);
  ASSERT_TRUE(symbolizer.refresh().is_ok());

  process.maps.clear();
  ASSERT_TRUE(symbolizer.refresh().is_ok());
  EXPECT_TRUE(symbolizer.current_mappings().empty());
  UserFrame frame = symbolizer.resolve(getpid_address);
  ASSERT_NE(frame.mapping, nullptr);
  EXPECT_TRUE(frame.symbol.function == "getpid" || frame.symbol.function == "__getpid") << frame.symbol.function;
}

// Unloaded code is forgotten a chunk after it was unloaded (and its file
// closed when no mapping uses it), so a target that keeps loading new
// libraries does not grow the agent; until then it still symbolizes.
TEST(ProcessSymbolizerScripted, RetiredMappingsAreForgottenAChunkLaterWithTheirFiles) {
  uint64_t getpid_address = 0;
  ScriptedProcess process = libc_text_only(getpid_address);
  ASSERT_EQ(process.maps.size(), 1u);
  auto files = std::make_shared<SymbolFileCache>();
  ProcessSymbolizerOptions options = process.options();
  options.files = files;
  ProcessSymbolizer symbolizer(self_pid(), options);
  ASSERT_TRUE(symbolizer.refresh().is_ok());
  EXPECT_EQ(files->opened(), 1u);
  EXPECT_EQ(files->release_unused(), 0u) << "a mapped file stays open";

  process.maps.clear();
  ASSERT_TRUE(symbolizer.refresh().is_ok());
  EXPECT_EQ(symbolizer.forget_retired(), 0u) << "retired in this chunk: kept for late samples";
  EXPECT_EQ(files->release_unused(), 0u);
  EXPECT_TRUE(symbolizer.resolve(getpid_address).symbol.resolved);
  EXPECT_EQ(symbolizer.forget_retired(), 1u);
  EXPECT_EQ(symbolizer.retired_mappings(), 0u);
  EXPECT_EQ(symbolizer.stats().mappings_forgotten, 1u);
  EXPECT_EQ(files->release_unused(), 1u);
  EXPECT_EQ(files->opened(), 0u);
  EXPECT_EQ(files->forgotten(), 1u);
  EXPECT_EQ(symbolizer.resolve(getpid_address).mapping, nullptr) << "forgotten, not misattributed";
}

TEST(ProcessSymbolizerScripted, RetiredMappingsBeyondTheCapAreForgottenOldestFirst) {
  ScriptedProcess process;
  ProcessSymbolizer symbolizer(self_pid(), process.options());
  for (uint64_t i = 0; i < 10; ++i) {
    process.maps = {anon(0x10000 * (i + 1), 0x10000 * (i + 1) + 0x1000)};
    ASSERT_TRUE(symbolizer.refresh().is_ok());
  }
  EXPECT_EQ(symbolizer.retired_mappings(), 9u);
  EXPECT_EQ(symbolizer.forget_retired(4), 5u);
  EXPECT_EQ(symbolizer.retired_mappings(), 4u);
  // The newest retired ones are kept.
  EXPECT_NE(symbolizer.resolve(0x90000).mapping, nullptr);
  EXPECT_EQ(symbolizer.resolve(0x10000).mapping, nullptr);
}

}  // namespace
}  // namespace flare::agent
