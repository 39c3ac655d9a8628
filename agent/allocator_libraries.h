// Which mapped files of a target serve its allocations: glibc's libc (malloc
// and friends) and libstdc++ (operator new), found in the target's own
// mappings, never at a fixed path. Allocators flare does not hook yet
// (jemalloc, tcmalloc, mimalloc) are named so that flare can say that the
// allocations they serve are not seen.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/proc_maps.h"

namespace flare::agent {

struct MappedLibrary {
  std::string path;     // as the target sees it
  uint64_t start = 0;   // one of its mappings, for /proc/PID/map_files
  uint64_t end = 0;
  uint64_t inode = 0;
  uint32_t dev_major = 0, dev_minor = 0;
};

struct AllocatorLibraries {
  std::optional<MappedLibrary> libc;
  std::optional<MappedLibrary> libstdcxx;
  std::vector<std::string> other_allocators;  // paths of jemalloc, tcmalloc, ...
};

AllocatorLibraries find_allocator_libraries(const std::vector<MapEntry>& maps);

// One line per allocator the target's executable brings itself, whose
// allocations glibc's probes do not see: its own malloc (a statically linked
// jemalloc or tcmalloc), or Go's runtime heap. Empty when it has none or
// cannot be read.
std::vector<std::string> executable_allocator_warnings(uint32_t pid);

// Paths through which flare opens (and the kernel resolves) a target's
// library: the mapped file itself (/proc/PID/map_files/START-END, valid even
// if the file was replaced on disk), then the path inside the target's root.
std::vector<std::string> library_open_paths(uint32_t pid, const MappedLibrary& lib);

}  // namespace flare::agent
