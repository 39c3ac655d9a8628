#include <gtest/gtest.h>
#include <unistd.h>

#include "agent/proc_maps.h"

namespace flare::agent {
namespace {

TEST(ParseProcMaps, FileBackedMapping) {
  auto entries = parse_proc_maps(
      "55d5c8a4e000-55d5c8a50000 r-xp 00002000 08:01 1234567                    /usr/bin/cat\n");
  ASSERT_EQ(entries.size(), 1u);
  const MapEntry& e = entries[0];
  EXPECT_EQ(e.start, 0x55d5c8a4e000u);
  EXPECT_EQ(e.end, 0x55d5c8a50000u);
  EXPECT_EQ(e.offset, 0x2000u);
  EXPECT_EQ(e.dev_major, 8u);
  EXPECT_EQ(e.dev_minor, 1u);
  EXPECT_EQ(e.inode, 1234567u);
  EXPECT_EQ(e.perms, "r-xp");
  EXPECT_EQ(e.path, "/usr/bin/cat");
  EXPECT_FALSE(e.deleted);
  EXPECT_TRUE(e.executable());
  EXPECT_TRUE(e.file_backed());
}

TEST(ParseProcMaps, PathWithSpacesAndHexDevice) {
  auto entries = parse_proc_maps(
      "7f0000000000-7f0000001000 r--p 00000000 fd:1a 42    /opt/my app/lib  two.so\n");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].path, "/opt/my app/lib  two.so");
  EXPECT_EQ(entries[0].dev_major, 0xfdu);
  EXPECT_EQ(entries[0].dev_minor, 0x1au);
  EXPECT_FALSE(entries[0].executable());
}

TEST(ParseProcMaps, DeletedFile) {
  auto entries = parse_proc_maps(
      "7f0000000000-7f0000001000 r-xp 00001000 08:01 99 /tmp/libgone.so (deleted)\n"
      "7f0000002000-7f0000003000 r-xp 00000000 00:01 7 /memfd:jit (deleted)\n");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].path, "/tmp/libgone.so");
  EXPECT_TRUE(entries[0].deleted);
  EXPECT_EQ(entries[1].path, "/memfd:jit");
  EXPECT_TRUE(entries[1].deleted);
  EXPECT_TRUE(entries[1].file_backed());
}

TEST(ParseProcMaps, AnonymousAndPseudoMappings) {
  auto entries = parse_proc_maps(
      "7f0000000000-7f0000021000 rw-p 00000000 00:00 0 \n"
      "7f0000021000-7f0000022000 ---p 00000000 00:00 0\n"
      "55d5c9000000-55d5c9021000 rw-p 00000000 00:00 0                          [heap]\n"
      "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n"
      "7ffd00100000-7ffd00102000 r-xp 00000000 00:00 0                          [vdso]\n"
      "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n");
  ASSERT_EQ(entries.size(), 6u);
  EXPECT_EQ(entries[0].path, "");
  EXPECT_EQ(entries[1].path, "");
  EXPECT_EQ(entries[2].path, "[heap]");
  EXPECT_EQ(entries[3].path, "[stack]");
  EXPECT_EQ(entries[4].path, "[vdso]");
  EXPECT_TRUE(entries[4].executable());
  EXPECT_EQ(entries[5].end, 0xffffffffff601000u);
  for (const MapEntry& e : entries) EXPECT_FALSE(e.file_backed()) << e.path;
}

TEST(ParseProcMaps, SkipsMalformedLinesAndToleratesNoTrailingNewline) {
  auto entries = parse_proc_maps(
      "garbage\n"
      "7f00-7e00 r-xp 00000000 08:01 1 /backwards\n"
      "7f00-7f10 r-xp zz 08:01 1 /badoffset\n"
      "\n"
      "1000-2000 r-xp 00000000 08:01 5 /ok");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].path, "/ok");
}

TEST(ReadProcMaps, ReadsOwnProcess) {
  auto entries = read_proc_maps(static_cast<uint32_t>(getpid()));
  ASSERT_TRUE(entries.is_ok()) << entries.status().message();
  EXPECT_FALSE(entries->empty());
  bool has_exec = false;
  for (const MapEntry& e : *entries) has_exec |= e.executable() && e.file_backed();
  EXPECT_TRUE(has_exec);
}

TEST(ReadProcMaps, MissingProcessIsNotFound) {
  // Above the default pid_max (4194304 at most), so no such process.
  auto entries = read_proc_maps(0x7ffffff0u);
  ASSERT_FALSE(entries.is_ok());
  EXPECT_EQ(entries.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(entries.status().message(), "process 2147483632 not found");
}

}  // namespace
}  // namespace flare::agent
