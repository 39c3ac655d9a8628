// The allocation tracer's pure parts: where probes go (probe_site.h), what a
// sample weighs (alloc_weight), which mapped files serve allocations
// (allocator_libraries.h). No BPF here.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "agent/alloc_processor.h"
#include "agent/allocator_libraries.h"
#include "agent/command_allocators.h"
#include "agent/probe_site.h"

namespace flare::agent {
namespace {

using Bytes = std::vector<uint8_t>;

// The first bytes of the functions flare probes, as Debian 12's glibc 2.36
// and libstdc++ 12 have them (objdump -d).
TEST(ProbeSite, GlibcFreeSkipsTheTestToTheEmulatedJump) {
  // test %rdi,%rdi; je rel32; push %rbp
  Bytes free_code = {0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf, 0x00, 0x00, 0x00, 0x55};
  ProbeSite site = choose_probe_site(free_code);
  EXPECT_EQ(site.offset, 3u);
  EXPECT_TRUE(site.emulated);
}

TEST(ProbeSite, MallocEntryIsAnEmulatedPush) {
  Bytes malloc_code = {0x41, 0x54, 0x55, 0x53};  // push %r12; push %rbp; push %rbx
  ProbeSite site = choose_probe_site(malloc_code);
  EXPECT_EQ(site.offset, 0u);
  EXPECT_TRUE(site.emulated);
}

TEST(ProbeSite, MemalignSkipsTheRipRelativeCompare) {
  // cmpb $0x0,0x140e71(%rip); je rel8
  Bytes memalign_code = {0x80, 0x3d, 0x71, 0x0e, 0x14, 0x00, 0x00, 0x74, 0x07};
  ProbeSite site = choose_probe_site(memalign_code);
  EXPECT_EQ(site.offset, 7u);
  EXPECT_TRUE(site.emulated);
}

TEST(ProbeSite, OperatorNewSkipsEndbrTestAndMovToThePush) {
  // endbr64; test %rdi,%rdi; mov $1,%eax; push %rbx
  Bytes new_code = {0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x85, 0xff, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x53};
  ProbeSite site = choose_probe_site(new_code);
  EXPECT_EQ(site.offset, 12u);
  EXPECT_TRUE(site.emulated);
}

TEST(ProbeSite, JemallocMallocSkipsTheImmediateCompare) {
  // cmp $0x1000,%rdi; ja rel32
  Bytes code = {0x48, 0x81, 0xff, 0x00, 0x10, 0x00, 0x00, 0x0f, 0x87, 0x93, 0x00, 0x00, 0x00};
  ProbeSite site = choose_probe_site(code);
  EXPECT_EQ(site.offset, 7u);
  EXPECT_TRUE(site.emulated);
  // cmp $0x8,%esi; jbe rel8 (the imm8 form, no REX)
  Bytes short_form = {0x83, 0xfe, 0x08, 0x76, 0x10};
  EXPECT_EQ(choose_probe_site(short_form).offset, 3u);
  // add $8,%rdi (83 /0) writes an argument: not stepped over.
  Bytes add = {0x48, 0x83, 0xc7, 0x08, 0x74, 0x10};
  EXPECT_EQ(choose_probe_site(add).offset, 0u);
}

TEST(ProbeSite, StepsOverWritesOfRegistersTheProbeDoesNotRead) {
  // tcmalloc's malloc: mov disp32(%rip),%rax; test %rax,%rax; jne rel8
  Bytes tcmalloc = {0x48, 0x8b, 0x05, 0x59, 0xab, 0x00, 0x00, 0x48, 0x85, 0xc0, 0x75, 0x75};
  EXPECT_EQ(choose_probe_site(tcmalloc, 1).offset, 10u);
  // mimalloc's free: mov %rdi,%rcx; test %rdi,%rdi; je rel8 -- rcx is the
  // fourth argument: free reads one, posix_memalign three, a caller that
  // reads all of them gets the entry.
  Bytes mimalloc = {0x48, 0x89, 0xf9, 0x48, 0x85, 0xff, 0x74, 0x5d};
  EXPECT_EQ(choose_probe_site(mimalloc, 1).offset, 6u);
  EXPECT_EQ(choose_probe_site(mimalloc, 3).offset, 6u);
  EXPECT_EQ(choose_probe_site(mimalloc, 4).offset, 0u);
  // mov %rdi,%rsi overwrites the second argument: fine for malloc, not for
  // calloc; mov %rax,%rsp never.
  Bytes to_rsi = {0x48, 0x89, 0xfe, 0x74, 0x10};
  EXPECT_EQ(choose_probe_site(to_rsi, 1).offset, 3u);
  EXPECT_EQ(choose_probe_site(to_rsi, 2).offset, 0u);
  Bytes to_rsp = {0x48, 0x89, 0xc4, 0x74, 0x10};
  EXPECT_EQ(choose_probe_site(to_rsp, 1).offset, 0u);
  // lea disp32(%rip),%r8 (REX.R): r8 is the fifth argument.
  Bytes lea_r8 = {0x4c, 0x8d, 0x05, 0x00, 0x10, 0x00, 0x00, 0x74, 0x10};
  EXPECT_EQ(choose_probe_site(lea_r8, 3).offset, 7u);
  EXPECT_EQ(choose_probe_site(lea_r8, 5).offset, 0u);
}

TEST(ProbeSite, GoStackGrowthChecksAreRecognized) {
  // runtime.mProf_Malloc (Go 1.19): lea -0xf0(%rsp),%r12; cmp 0x10(%r14),%r12;
  // jbe rel32; sub $0x170,%rsp
  Bytes big_frame = {0x4c, 0x8d, 0xa4, 0x24, 0x10, 0xff, 0xff, 0xff, 0x4d, 0x3b, 0x66, 0x10,
                     0x0f, 0x86, 0xaa, 0x01, 0x00, 0x00, 0x48, 0x81, 0xec, 0x70, 0x01, 0x00, 0x00};
  auto check = parse_go_stack_check(big_frame);
  ASSERT_TRUE(check);
  EXPECT_EQ(check->branch, 12u);
  EXPECT_EQ(check->body, 18u);
  EXPECT_TRUE(check->compares_r12);
  EXPECT_EQ(check->guard_offset, 0x10);
  // runtime.freeSpecial: cmp 0x10(%r14),%rsp; jbe rel32
  Bytes small_frame = {0x49, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0x0a, 0x01, 0x00, 0x00, 0x48, 0x83, 0xec, 0x30};
  check = parse_go_stack_check(small_frame);
  ASSERT_TRUE(check);
  EXPECT_EQ(check->branch, 4u);
  EXPECT_EQ(check->body, 10u);
  EXPECT_FALSE(check->compares_r12);
  Bytes short_jump = {0x49, 0x3b, 0x66, 0x18, 0x76, 0x20, 0x55};
  check = parse_go_stack_check(short_jump);
  ASSERT_TRUE(check);
  EXPECT_EQ(check->body, 6u);
  EXPECT_EQ(check->guard_offset, 0x18);
  // No stack check (a NOSPLIT function), or something else.
  Bytes nosplit = {0x48, 0x83, 0xec, 0x18, 0x48, 0x89, 0x6c, 0x24, 0x10};
  EXPECT_FALSE(parse_go_stack_check(nosplit));
  EXPECT_FALSE(parse_go_stack_check(Bytes{}));
}

TEST(ProbeSite, AnInstructionThatWritesAnArgumentStaysAtTheEntry) {
  // reallocarray: mov %rsi,%rax; mul %rdx -- mul writes rdx, an argument.
  Bytes code = {0x48, 0x89, 0xf0, 0x48, 0xf7, 0xe2};
  ProbeSite site = choose_probe_site(code);
  EXPECT_EQ(site.offset, 0u);
  EXPECT_FALSE(site.emulated);
  // endbr64 then something unknown: the entry, single-stepped.
  Bytes endbr_then_mov = {0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x89, 0xf8};
  EXPECT_EQ(choose_probe_site(endbr_then_mov).offset, 0u);
  EXPECT_EQ(choose_probe_site(Bytes{}).offset, 0u);
}

TEST(ProbeSite, TruncatedCodeIsNotReadPastItsEnd) {
  Bytes cut = {0x48, 0x85};  // half a test
  EXPECT_EQ(choose_probe_site(cut).offset, 0u);
  Bytes cut_cmp = {0x80, 0x3d, 0x00, 0x00};
  EXPECT_EQ(choose_probe_site(cut_cmp).offset, 0u);
}

TEST(AllocWeight, EveryAllocationWeighsItsSize) {
  EXPECT_EQ(alloc_weight(1024, 1), 1024u);
  EXPECT_EQ(alloc_weight(0, 1), 0u);
  EXPECT_EQ(alloc_weight(0, 512 * 1024), 0u);
}

TEST(AllocWeight, ScaledByTheInverseSamplingProbability) {
  const double rate = 512 * 1024;
  // size = rate: sampled with probability 1 - 1/e.
  EXPECT_EQ(alloc_weight(512 * 1024, 512 * 1024), static_cast<uint64_t>(std::llround(rate / (1 - std::exp(-1.0)))));
  // Small blocks stand for about `rate` bytes each (Go's approximation).
  EXPECT_NEAR(static_cast<double>(alloc_weight(16, 512 * 1024)), rate, 16);
  // Huge blocks are always sampled and weigh themselves.
  EXPECT_EQ(alloc_weight(1ull << 30, 512 * 1024), 1ull << 30);
}

TEST(AllocatorLibraries, FindsGlibcLibstdcxxAndReplacementAllocators) {
  auto maps = parse_proc_maps(
      "55d0a0000000-55d0a0001000 r-xp 00001000 08:01 100 /opt/app/bin/app\n"
      "7f0000000000-7f0000028000 r--p 00000000 08:01 200 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
      "7f0000028000-7f000019d000 r-xp 00028000 08:01 200 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
      "7f0000200000-7f0000300000 r-xp 00000000 08:01 300 /usr/lib/x86_64-linux-gnu/libcrypt.so.1\n"
      "7f0000400000-7f0000500000 r-xp 00000000 08:01 400 /usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30\n"
      "7f0000600000-7f0000700000 r-xp 00000000 08:01 500 /usr/lib/x86_64-linux-gnu/libjemalloc.so.2\n");
  AllocatorLibraries libs = find_allocator_libraries(maps);
  ASSERT_TRUE(libs.libc);
  EXPECT_EQ(libs.libc->path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
  EXPECT_EQ(libs.libc->start, 0x7f0000028000u);  // the executable mapping
  EXPECT_EQ(libs.libc->inode, 200u);
  ASSERT_TRUE(libs.libstdcxx);
  EXPECT_EQ(libs.libstdcxx->inode, 400u);
  ASSERT_EQ(libs.replacements.size(), 1u);
  EXPECT_EQ(libs.replacements[0].path, "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2");
  EXPECT_EQ(libs.replacements[0].inode, 500u);

  EXPECT_EQ(library_open_paths(42, *libs.libc),
            (std::vector<std::string>{"/proc/42/map_files/7f0000028000-7f000019d000",
                                      "/proc/42/root/usr/lib/x86_64-linux-gnu/libc.so.6"}));
}

TEST(AllocatorLibraries, ReplacementAllocatorNames) {
  EXPECT_TRUE(is_replacement_allocator_name("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"));
  EXPECT_TRUE(is_replacement_allocator_name("/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4.5.9"));
  EXPECT_TRUE(is_replacement_allocator_name("/opt/lib/libmimalloc.so.2"));
  EXPECT_FALSE(is_replacement_allocator_name("/usr/lib/x86_64-linux-gnu/libc.so.6"));
  EXPECT_FALSE(is_replacement_allocator_name("/opt/app/jemalloc-bench"));  // not a library
}

TEST(CommandAllocators, ParsesTheDynamicLinkersTrace) {
  // ldd's format: preloaded objects by path, needed ones as name => path,
  // the vDSO and the loader by name or path alone.
  const char* trace =
      "\tlinux-vdso.so.1 (0x00007ffc2b5f1000)\n"
      "\t/usr/lib/x86_64-linux-gnu/libmimalloc.so.2 (0x00007f0a1c000000)\n"
      "\tlibjemalloc.so.2 => /lib/x86_64-linux-gnu/libjemalloc.so.2 (0x00007f4e8a200000)\n"
      "\tlibmissing.so.1 => not found\n"
      "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f4e8a000000)\n"
      "\t/lib64/ld-linux-x86-64.so.2 (0x00007f4e8a6c0000)\n";
  EXPECT_EQ(parse_loaded_objects(trace),
            (std::vector<std::string>{"/usr/lib/x86_64-linux-gnu/libmimalloc.so.2",
                                      "/lib/x86_64-linux-gnu/libjemalloc.so.2", "/lib/x86_64-linux-gnu/libc.so.6",
                                      "/lib64/ld-linux-x86-64.so.2"}));
  EXPECT_TRUE(parse_loaded_objects("\tstatically linked\n").empty());
}

TEST(AllocatorLibraries, StaticBinaryHasNoLibc) {
  auto maps = parse_proc_maps("00400000-00500000 r-xp 00000000 08:01 100 /opt/static/app\n");
  EXPECT_FALSE(find_allocator_libraries(maps).libc);
  auto old_layout = parse_proc_maps("7f0000028000-7f000019d000 r-xp 00028000 08:01 200 /lib/libc-2.31.so\n");
  EXPECT_TRUE(find_allocator_libraries(old_layout).libc);
}

}  // namespace
}  // namespace flare::agent
