// Which mapped files of a target serve its allocations, found in the
// target's own mappings, never at a fixed path: glibc's libc (malloc and
// friends), libstdc++ (operator new), an allocator library that replaces
// glibc's malloc (jemalloc, tcmalloc, mimalloc: linked or preloaded), and an
// executable that carries its own malloc (a statically linked allocator or
// a static glibc).
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
  // jemalloc, tcmalloc, mimalloc: they export malloc, free and operator
  // new/delete of their own, which the dynamic linker binds ahead of glibc's.
  std::vector<MappedLibrary> replacements;
};

AllocatorLibraries find_allocator_libraries(const std::vector<MapEntry>& maps);

// Whether a file name is that of an allocator library that replaces
// glibc's malloc (libjemalloc.so.2, libtcmalloc_minimal.so.4, ...).
bool is_replacement_allocator_name(const std::string& path);

// What the executable of a process brings itself.
struct ExecutableAllocator {
  enum class Kind {
    kNone,        // allocates through shared libraries (or not at all)
    kOwnMalloc,   // defines malloc and free: probed like an allocator library
    kGo,          // Go's runtime heap: probed where the runtime samples it
    kUnreadable,  // static, without symbols: its allocations are not seen
  };
  Kind kind = Kind::kNone;
  std::string path;                      // as /proc/PID/exe names it
  std::optional<MappedLibrary> mapping;  // its executable mapping
};

ExecutableAllocator classify_executable(uint32_t pid, const std::vector<MapEntry>& maps);

class ElfFunctions;
// A Go program: its runtime's allocator, or the sections Go's linker writes.
bool is_go_executable(const ElfFunctions& functions);

// One line for an executable whose allocations flare does not see (static
// without symbols, or unmapped); empty otherwise.
std::string executable_allocator_warning(const ExecutableAllocator& exe);

// Paths through which flare opens (and the kernel resolves) a target's
// library: the mapped file itself (/proc/PID/map_files/START-END, valid even
// if the file was replaced on disk), then the path inside the target's root.
std::vector<std::string> library_open_paths(uint32_t pid, const MappedLibrary& lib);

}  // namespace flare::agent
