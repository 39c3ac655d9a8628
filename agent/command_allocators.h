// The allocators of a command flare spawns (`record --alloc -- CMD`). Its
// probes must be in place before it runs, but the command is held before
// its exec, when only flare's own libraries are mapped: glibc's libc is the
// same file, a replacement allocator (jemalloc, tcmalloc, mimalloc, linked or
// preloaded) is not there yet. So flare asks the dynamic linker which
// libraries the command will load, as ldd does (LD_TRACE_LOADED_OBJECTS: the
// linker lists them and exits before the program runs), probes the
// replacement allocators among them by file, and after the exec checks what
// the command really mapped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/allocator_libraries.h"

namespace flare::agent {

// Paths of the objects in a dynamic linker trace (LD_TRACE_LOADED_OBJECTS
// output): "name => /path (0x...)" and "/path (0x...)" lines.
std::vector<std::string> parse_loaded_objects(std::string_view trace);

// What `argv` will allocate with besides glibc, with the identity of the
// files.
struct CommandAllocators {
  // Its executable if it defines malloc and free, and the replacement
  // allocators it will load (none for a static or non-ELF command, or when
  // the trace fails).
  std::vector<MappedLibrary> replacements;
  // Its executable if it is a Go program.
  std::optional<MappedLibrary> go_executable;
};
CommandAllocators predict_command_allocators(const std::vector<std::string>& argv);

// After the exec: compares what the command mapped with what was probed.
class CommandAllocatorCheck {
 public:
  CommandAllocatorCheck(uint32_t pid, const CommandAllocators& probed)
      : pid_(pid), probed_(probed.replacements), go_probed_(probed.go_executable) {}

  struct Outcome {
    std::vector<std::string> warnings;
    // Mapped but not probed before the exec: to probe now, late.
    std::vector<MappedLibrary> attach_late;
    std::optional<MappedLibrary> attach_go_late;
  };
  // Called on every loop turn until done(): waits for the exec (the
  // executable is no longer flare's) and for libc, mapped before main runs;
  // gives up after about `max_checks` turns.
  Outcome check(int max_checks = 50);
  bool done() const { return done_; }

 private:
  void attach_if_not_probed(const MappedLibrary& lib, Outcome& out);

  uint32_t pid_;
  std::vector<MappedLibrary> probed_;
  std::optional<MappedLibrary> go_probed_;
  bool execed_ = false;
  bool own_malloc_ = false;
  bool done_ = false;
  int checks_ = 0;
};

}  // namespace flare::agent
