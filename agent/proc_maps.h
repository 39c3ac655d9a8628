// /proc/PID/maps: the address-space layout of a target process. Parsing is a
// pure function so its corner cases (spaces in paths, deleted files, pseudo
// mappings) are unit-tested on crafted text; reading is the syscall boundary.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace flare::agent {

struct MapEntry {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t offset = 0;  // file offset of `start`
  uint32_t dev_major = 0;
  uint32_t dev_minor = 0;
  uint64_t inode = 0;
  std::string perms;  // "r-xp"
  // As the kernel prints it, minus a trailing " (deleted)"; may be empty
  // (anonymous) or a pseudo name such as "[heap]" or "[vdso]".
  std::string path;
  // The kernel appended " (deleted)": the file was unlinked (or replaced) after
  // it was mapped, so `path` may name nothing or a different file now.
  bool deleted = false;

  bool executable() const { return perms.size() >= 3 && perms[2] == 'x'; }
  // Backed by a file we may open (not anonymous, not a [pseudo] mapping).
  bool file_backed() const { return inode != 0 && !path.empty() && path[0] == '/'; }
};

// Parses the text of /proc/PID/maps. Malformed lines are skipped.
std::vector<MapEntry> parse_proc_maps(std::string_view text);

// Reads and parses /proc/PID/maps. A vanished process is kNotFound
// "process N not found".
Result<std::vector<MapEntry>> read_proc_maps(uint32_t pid);

// Reads a whole file in one go, looping because /proc files report size 0.
// ENOENT/ESRCH map to kNotFound, EACCES/EPERM to kPermissionDenied.
Result<std::string> read_proc_file(const std::string& path);

}  // namespace flare::agent
