// ElfSymbolizer against the test binary itself: its build-id, PT_LOAD
// translation, symbols with file:line, inlined frames, separate debug info,
// and surviving the file's deletion.
#include <dlfcn.h>
#include <elf.h>
#include <gtest/gtest.h>
#include <link.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "agent/elf_symbolizer.h"
#include "agent/local_debuginfo.h"

// Known functions to look up. noinline and called through volatile pointers
// so each keeps one out-of-line copy at its symbol address.
volatile int g_sink = 0;
// An -O2 entry point is attributed to the first statement, an -O0 one to the
// declaration: either line is the truth.
constexpr int kLeafLine = __LINE__ + 1;
extern "C" __attribute__((noinline)) int flare_elf_test_leaf(int x) {
  g_sink = x;
  return x * 3;
}

namespace flare_test_ns {
constexpr int kMemberLine = __LINE__ + 3;
struct Widget {
  int value = 0;
  __attribute__((noinline)) int compute(int x) {
    g_sink = x + value;
    return x + value;
  }
};
}  // namespace flare_test_ns

#if defined(__x86_64__)
uintptr_t g_inlined_pc = 0;
int g_helper_line = 0;
int g_call_line = 0;
namespace flare_test_ns {
// always_inline: this body becomes a DW_TAG_inlined_subroutine of the caller;
// the asm captures an address inside it.
__attribute__((always_inline)) inline uintptr_t inlined_helper(int x) {
  uintptr_t pc;
  g_helper_line = __LINE__; asm volatile("1: lea 1b(%%rip), %0" : "=r"(pc));
  g_sink = x;
  return pc;
}
}  // namespace flare_test_ns
extern "C" __attribute__((noinline)) int flare_elf_test_outer(int x) {
  g_call_line = __LINE__; g_inlined_pc = flare_test_ns::inlined_helper(x);
  return x + 1;
}

// Two levels: outer2 -> middle (inlined) -> inner (inlined into middle).
uintptr_t g_nested_pc = 0;
int g_inner_line = 0, g_middle_call_line = 0, g_outer2_call_line = 0;
namespace flare_test_ns {
__attribute__((always_inline)) inline uintptr_t inner_helper(int x) {
  uintptr_t pc;
  g_inner_line = __LINE__; asm volatile("1: lea 1b(%%rip), %0" : "=r"(pc));
  g_sink = x;
  return pc;
}
__attribute__((always_inline)) inline uintptr_t middle_helper(int x) {
  g_middle_call_line = __LINE__; uintptr_t pc = inner_helper(x + 1);
  g_sink = x;
  return pc;
}
}  // namespace flare_test_ns
extern "C" __attribute__((noinline)) int flare_elf_test_outer2(int x) {
  g_outer2_call_line = __LINE__; g_nested_pc = flare_test_ns::middle_helper(x);
  return x + 2;
}
#endif

namespace flare::agent {
namespace {

struct MainProgram {
  uintptr_t load_bias = 0;
  std::string build_id;  // from the in-memory note, independent of libelf
  std::vector<ElfW(Phdr)> loads;
};

std::string hex(const unsigned char* bytes, size_t n) {
  std::string out;
  char buf[3];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof(buf), "%02x", bytes[i]);
    out += buf;
  }
  return out;
}

MainProgram main_program() {
  MainProgram info;
  dl_iterate_phdr(
      [](dl_phdr_info* phdr_info, size_t, void* data) {
        auto* out = static_cast<MainProgram*>(data);
        out->load_bias = phdr_info->dlpi_addr;
        for (int i = 0; i < phdr_info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = phdr_info->dlpi_phdr[i];
          if (ph.p_type == PT_LOAD) out->loads.push_back(ph);
          if (ph.p_type != PT_NOTE) continue;
          auto* p = reinterpret_cast<const unsigned char*>(phdr_info->dlpi_addr + ph.p_vaddr);
          const unsigned char* end = p + ph.p_memsz;
          while (p + sizeof(ElfW(Nhdr)) <= end) {
            auto* note = reinterpret_cast<const ElfW(Nhdr)*>(p);
            const unsigned char* name = p + sizeof(ElfW(Nhdr));
            const unsigned char* desc = name + ((note->n_namesz + 3) & ~3u);
            if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0) {
              out->build_id = hex(desc, note->n_descsz);
            }
            p = desc + ((note->n_descsz + 3) & ~3u);
          }
        }
        return 1;  // the main program comes first
      },
      &info);
  return info;
}

uint64_t vaddr_of(const void* address) {
  return reinterpret_cast<uintptr_t>(address) - main_program().load_bias;
}

std::string exe_path() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

std::unique_ptr<ElfSymbolizer> open_self(const SymbolizerOptions& options = {}) {
  auto opened = ElfSymbolizer::open(exe_path(), exe_path(), options);
  EXPECT_TRUE(opened.is_ok()) << opened.status().message();
  return opened.is_ok() ? std::move(opened).value() : nullptr;
}

bool is_leaf_entry_line(uint32_t line) {
  return line == static_cast<uint32_t>(kLeafLine) || line == static_cast<uint32_t>(kLeafLine + 1);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

class TempDir {
 public:
  TempDir() {
    char templ[] = "/tmp/flare-elf-test-XXXXXX";
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

TEST(ElfSymbolizer, BuildIdMatchesTheLoadedNote) {
  MainProgram self = main_program();
  ASSERT_EQ(self.build_id.size(), 40u) << "test binary should be linked with --build-id (sha1)";
  auto elf = open_self();
  ASSERT_NE(elf, nullptr);
  EXPECT_EQ(elf->build_id(), self.build_id);
}

TEST(ElfSymbolizer, FileOffsetToVaddrFollowsProgramHeaders) {
  auto elf = open_self();
  ASSERT_NE(elf, nullptr);
  MainProgram self = main_program();
  ASSERT_FALSE(self.loads.empty());
  for (const ElfW(Phdr)& load : self.loads) {
    EXPECT_EQ(elf->file_offset_to_vaddr(load.p_offset), load.p_vaddr);
    if (load.p_filesz > 0) {
      EXPECT_EQ(elf->file_offset_to_vaddr(load.p_offset + load.p_filesz - 1), load.p_vaddr + load.p_filesz - 1);
    }
  }
  EXPECT_EQ(elf->file_offset_to_vaddr(uint64_t{1} << 40), std::nullopt);
}

TEST(ElfSymbolizer, CFunctionWithFileAndLine) {
  auto elf = open_self();
  ASSERT_NE(elf, nullptr);
  SourceSymbol symbol = elf->symbolize(vaddr_of(reinterpret_cast<const void*>(&flare_elf_test_leaf)));
  EXPECT_TRUE(symbol.resolved);
  EXPECT_EQ(symbol.function, "flare_elf_test_leaf");
  EXPECT_TRUE(ends_with(symbol.file, "symbolizer_elf_test.cc")) << symbol.file;
  EXPECT_TRUE(is_leaf_entry_line(symbol.line)) << symbol.line;
  EXPECT_TRUE(symbol.inlined.empty());
}

TEST(ElfSymbolizer, CxxMemberFunctionIsDemangled) {
  auto elf = open_self();
  ASSERT_NE(elf, nullptr);
  int (flare_test_ns::Widget::*member)(int) = &flare_test_ns::Widget::compute;
  void* address;
  std::memcpy(&address, &member, sizeof(address));  // Itanium ABI: non-virtual = function address
  SourceSymbol symbol = elf->symbolize(vaddr_of(address));
  EXPECT_TRUE(symbol.resolved);
  EXPECT_EQ(symbol.function, "flare_test_ns::Widget::compute(int)");
  EXPECT_GE(symbol.line, static_cast<uint32_t>(flare_test_ns::kMemberLine));
  EXPECT_LE(symbol.line, static_cast<uint32_t>(flare_test_ns::kMemberLine + 1));
}

TEST(ElfSymbolizer, AddressInsideFunctionAndCacheAgree) {
  auto elf = open_self();
  ASSERT_NE(elf, nullptr);
  uint64_t vaddr = vaddr_of(reinterpret_cast<const void*>(&flare_elf_test_leaf)) + 2;
  SourceSymbol first = elf->symbolize(vaddr);
  SourceSymbol cached = elf->symbolize(vaddr);
  EXPECT_EQ(first.function, "flare_elf_test_leaf");
  EXPECT_EQ(cached.function, first.function);
  EXPECT_EQ(cached.line, first.line);
  EXPECT_GE(first.line, static_cast<uint32_t>(kLeafLine));
  EXPECT_LE(first.line, static_cast<uint32_t>(kLeafLine + 3));
}

TEST(ElfSymbolizer, AddressOutsideAnySymbolIsUnresolved) {
  auto elf = open_self();
  ASSERT_NE(elf, nullptr);
  SourceSymbol symbol = elf->symbolize(uint64_t{1} << 44);
  EXPECT_FALSE(symbol.resolved);
  EXPECT_TRUE(symbol.function.empty());
  EXPECT_EQ(symbol.line, 0u);
}

#if defined(__x86_64__)
TEST(ElfSymbolizer, InlinedFramesInnermostFirst) {
  g_sink = flare_elf_test_outer(1);
  ASSERT_NE(g_inlined_pc, 0u);
  auto elf = open_self();
  ASSERT_NE(elf, nullptr);
  SourceSymbol symbol = elf->symbolize(vaddr_of(reinterpret_cast<const void*>(g_inlined_pc)));
  EXPECT_TRUE(symbol.resolved);
  EXPECT_EQ(symbol.function, "flare_elf_test_outer");
  EXPECT_TRUE(ends_with(symbol.file, "symbolizer_elf_test.cc")) << symbol.file;
  EXPECT_EQ(symbol.line, static_cast<uint32_t>(g_call_line)) << "outer frame shows the call site";
  ASSERT_EQ(symbol.inlined.size(), 1u);
  EXPECT_EQ(symbol.inlined[0].function, "flare_test_ns::inlined_helper(int)");
  EXPECT_TRUE(ends_with(symbol.inlined[0].file, "symbolizer_elf_test.cc")) << symbol.inlined[0].file;
  EXPECT_EQ(symbol.inlined[0].line, static_cast<uint32_t>(g_helper_line));
}
#endif

#if defined(__x86_64__)
TEST(ElfSymbolizer, NestedInlinedFramesEachWithTheirCallSite) {
  g_sink = flare_elf_test_outer2(1);
  ASSERT_NE(g_nested_pc, 0u);
  auto elf = open_self();
  ASSERT_NE(elf, nullptr);
  for (int round = 0; round < 2; ++round) {  // the second answer comes from the result cache
    SourceSymbol symbol = elf->symbolize(vaddr_of(reinterpret_cast<const void*>(g_nested_pc)));
    EXPECT_EQ(symbol.function, "flare_elf_test_outer2");
    EXPECT_EQ(symbol.line, static_cast<uint32_t>(g_outer2_call_line));
    ASSERT_EQ(symbol.inlined.size(), 2u);
    EXPECT_EQ(symbol.inlined[0].function, "flare_test_ns::inner_helper(int)");
    EXPECT_EQ(symbol.inlined[0].line, static_cast<uint32_t>(g_inner_line));
    EXPECT_EQ(symbol.inlined[1].function, "flare_test_ns::middle_helper(int)");
    EXPECT_EQ(symbol.inlined[1].line, static_cast<uint32_t>(g_middle_call_line));
  }
  // Another address of the same unit, after the index exists: no inlines.
  SourceSymbol leaf = elf->symbolize(vaddr_of(reinterpret_cast<const void*>(&flare_elf_test_leaf)));
  EXPECT_EQ(leaf.function, "flare_elf_test_leaf");
  EXPECT_TRUE(leaf.inlined.empty());
}
#endif

// binutils' addr2line -i is the external truth for inline chains: for
// random code addresses of this binary (C++ with deep std:: inlining), the
// lines of every frame, innermost first, must be the ones it prints.
TEST(ElfSymbolizer, InlineChainsAgreeWithAddr2line) {
  auto elf = open_self();
  ASSERT_NE(elf, nullptr);
  MainProgram self = main_program();
  std::vector<uint64_t> addresses;
  uint64_t seed = 12345;
  for (const ElfW(Phdr)& load : self.loads) {
    if ((load.p_flags & PF_X) == 0) continue;
    for (int i = 0; i < 400; ++i) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      addresses.push_back(load.p_vaddr + (seed >> 16) % load.p_filesz);
    }
  }
  ASSERT_FALSE(addresses.empty());
  TempDir dir;
  std::string list = dir.path() + "/addresses";
  FILE* f = std::fopen(list.c_str(), "w");
  ASSERT_NE(f, nullptr);
  for (uint64_t a : addresses) std::fprintf(f, "0x%llx\n", static_cast<unsigned long long>(a));
  std::fclose(f);
  std::string command = "/usr/bin/addr2line -a -i -e '" + exe_path() + "' @" + list;
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::map<uint64_t, std::vector<uint32_t>> truth;
  uint64_t current = 0;
  char buf[8192];
  while (std::fgets(buf, sizeof(buf), pipe) != nullptr) {
    std::string line(buf);
    if (line.rfind("0x", 0) == 0) {
      current = std::strtoull(line.c_str(), nullptr, 16);
      truth[current];
      continue;
    }
    size_t colon = line.rfind(':');
    truth[current].push_back(colon == std::string::npos ? 0 : static_cast<uint32_t>(std::atoi(line.c_str() + colon + 1)));
  }
  ASSERT_EQ(::pclose(pipe), 0) << command;

  size_t compared = 0, agreed = 0, nested = 0;
  std::string mismatches;
  for (uint64_t a : addresses) {
    SourceSymbol symbol = elf->symbolize(a);
    if (!symbol.resolved) continue;
    std::vector<uint32_t> ours;
    for (const InlinedFrame& in : symbol.inlined) ours.push_back(in.line);
    ours.push_back(symbol.line);
    ++compared;
    nested += symbol.inlined.size() >= 2;
    if (ours == truth[a]) {
      ++agreed;
    } else if (mismatches.size() < 2000) {
      mismatches += std::to_string(a) + " " + symbol.function + "\n";
    }
  }
  ASSERT_GT(compared, addresses.size() / 2);
  EXPECT_GT(nested, 10u) << "the sample should include nested inline chains";
  EXPECT_GE(agreed * 100, compared * 99) << agreed << " of " << compared << " agree\n" << mismatches;
}

TEST(ElfSymbolizer, KeepsWorkingAfterTheFileIsDeleted) {
  TempDir dir;
  std::string copy = dir.path() + "/copy-of-test";
  std::error_code ec;
  ASSERT_TRUE(std::filesystem::copy_file(exe_path(), copy, ec)) << ec.message();
  auto opened = ElfSymbolizer::open(copy, "/original/path");
  ASSERT_TRUE(opened.is_ok()) << opened.status().message();
  ASSERT_EQ(::unlink(copy.c_str()), 0);
  SourceSymbol symbol = (*opened)->symbolize(vaddr_of(reinterpret_cast<const void*>(&flare_elf_test_leaf)));
  EXPECT_EQ(symbol.function, "flare_elf_test_leaf");
  EXPECT_TRUE(is_leaf_entry_line(symbol.line)) << symbol.line;
  EXPECT_EQ((*opened)->display_path(), "/original/path");
}

TEST(ElfSymbolizer, FindsSeparateDebugInfoByBuildIdInExtraDirs) {
  TempDir dir;
  std::string stripped = dir.path() + "/stripped";
  std::string command = "/usr/bin/objcopy --strip-debug '" + exe_path() + "' '" + stripped + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  uint64_t leaf = vaddr_of(reinterpret_cast<const void*>(&flare_elf_test_leaf));

  // Without the debug directory: the name from .symtab, no position.
  auto plain = ElfSymbolizer::open(stripped, stripped);
  ASSERT_TRUE(plain.is_ok()) << plain.status().message();
  SourceSymbol without = (*plain)->symbolize(leaf);
  EXPECT_EQ(without.function, "flare_elf_test_leaf");
  EXPECT_EQ(without.line, 0u);

  // The unstripped binary has the same build-id, so it serves as the
  // separate debug file: <dir>/.build-id/xx/yyyy.debug.
  std::string build_id = (*plain)->build_id();
  ASSERT_EQ(build_id.size(), 40u);
  std::string debug_dir = dir.path() + "/debug";
  std::filesystem::create_directories(debug_dir + "/.build-id/" + build_id.substr(0, 2));
  std::filesystem::create_symlink(exe_path(), debug_dir + "/.build-id/" + build_id.substr(0, 2) + "/" +
                                                  build_id.substr(2) + ".debug");
  auto with_dir = ElfSymbolizer::open(stripped, stripped, SymbolizerOptions{{debug_dir}});
  ASSERT_TRUE(with_dir.is_ok()) << with_dir.status().message();
  SourceSymbol with = (*with_dir)->symbolize(leaf);
  EXPECT_EQ(with.function, "flare_elf_test_leaf");
  EXPECT_TRUE(ends_with(with.file, "symbolizer_elf_test.cc")) << with.file;
  EXPECT_TRUE(is_leaf_entry_line(with.line)) << with.line;
}

// The debug file's sections compressed, as distributions ship them.
TEST(ElfSymbolizer, FindsSeparateDebugInfoByDebuglinkNextToTheFile) {
  TempDir dir;
  std::string debug = dir.path() + "/test.debug";
  std::string stripped = dir.path() + "/test";
  std::string keep = "/usr/bin/objcopy --only-keep-debug --compress-debug-sections=zlib '" + exe_path() + "' '" +
                     debug + "'";
  ASSERT_EQ(std::system(keep.c_str()), 0) << keep;
  std::string strip = "/usr/bin/objcopy --strip-all --add-gnu-debuglink='" + debug + "' '" + exe_path() + "' '" +
                      stripped + "'";
  ASSERT_EQ(std::system(strip.c_str()), 0) << strip;
  auto opened = ElfSymbolizer::open(stripped, "/app/test");
  ASSERT_TRUE(opened.is_ok()) << opened.status().message();
  SourceSymbol symbol = (*opened)->symbolize(vaddr_of(reinterpret_cast<const void*>(&flare_elf_test_leaf)));
  EXPECT_EQ(symbol.function, "flare_elf_test_leaf");
  EXPECT_TRUE(ends_with(symbol.file, "symbolizer_elf_test.cc")) << symbol.file;
  EXPECT_TRUE(is_leaf_entry_line(symbol.line)) << symbol.line;
}

TEST(ElfSymbolizer, FullyStrippedFileKeepsItsBuildIdAndResolvesNothing) {
  TempDir dir;
  std::string stripped = dir.path() + "/test";
  std::string strip = "/usr/bin/objcopy --strip-all '" + exe_path() + "' '" + stripped + "'";
  ASSERT_EQ(std::system(strip.c_str()), 0) << strip;
  auto opened = ElfSymbolizer::open(stripped, "/app/test");
  ASSERT_TRUE(opened.is_ok()) << opened.status().message();
  EXPECT_EQ((*opened)->build_id(), main_program().build_id);
  SourceSymbol symbol = (*opened)->symbolize(vaddr_of(reinterpret_cast<const void*>(&flare_elf_test_leaf)));
  EXPECT_FALSE(symbol.resolved) << symbol.function;  // a wrong neighbour's name would be worse
}

TEST(ElfSymbolizer, LibcFromTheSystem) {
  // The libc mapped into this process, symbolized from the file alone.
  Dl_info info;
  void* getpid_address = reinterpret_cast<void*>(&::getpid);
  ASSERT_NE(dladdr(getpid_address, &info), 0);
  std::string path = std::filesystem::canonical(info.dli_fname).string();
  auto elf = ElfSymbolizer::open(path, path);
  ASSERT_TRUE(elf.is_ok()) << elf.status().message();
  EXPECT_EQ((*elf)->build_id().size(), 40u);
  // libc is ET_DYN with its first PT_LOAD at vaddr 0: vaddr = address - base.
  uint64_t vaddr = reinterpret_cast<uintptr_t>(getpid_address) - reinterpret_cast<uintptr_t>(info.dli_fbase);
  SourceSymbol symbol = (*elf)->symbolize(vaddr);
  EXPECT_TRUE(symbol.function == "getpid" || symbol.function == "__getpid") << symbol.function;
}

TEST(ElfSymbolizer, OpenErrors) {
  auto missing = ElfSymbolizer::open("/nonexistent/libnothing.so", "/nonexistent/libnothing.so");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);

  TempDir dir;
  std::string text_file = dir.path() + "/not-elf";
  FILE* f = std::fopen(text_file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("hello, not an ELF file\n", f);
  std::fclose(f);
  auto not_elf = ElfSymbolizer::open(text_file, text_file);
  ASSERT_FALSE(not_elf.is_ok());
  EXPECT_EQ(not_elf.status().code(), ErrorCode::kUnsupported);
  EXPECT_NE(not_elf.status().message().find("not an ELF file"), std::string::npos);
}

}  // namespace
}  // namespace flare::agent

namespace flare::agent {
namespace {

TEST(LocalDebuginfo, DebuglinkIsSearchedNextToTheFileInDotDebugAndUnderAbsoluteRoots) {
  std::vector<std::string> c = debuglink_candidates(":.debug:/usr/lib/debug", "/opt/app/bin/server", "server.debug");
  std::vector<std::string> expected = {"/opt/app/bin/server.debug", "/opt/app/bin/.debug/server.debug",
                                       "/usr/lib/debug/opt/app/bin/server.debug"};
  EXPECT_EQ(c, expected);
  // --debug-dir entries come first; a file without a directory is in ".".
  c = debuglink_candidates("/srv/debug/:", "app", "app.debug");
  expected = {"/srv/debug/./app.debug", "./app.debug"};
  EXPECT_EQ(c, expected);
}

}  // namespace
}  // namespace flare::agent
