// Symbols of one ELF file (executable or shared object), through elfutils'
// libdwfl: .symtab, else .dynsym (and MiniDebugInfo), file:line and inlined
// frames from DWARF, separate debug info found by build-id or .gnu_debuglink.
//
// The file is opened once and its descriptor held (inside the Dwfl), and a
// stripped file's separate debug file is found and opened at open(), so the
// symbolizer keeps working after the process, the mapping, or the file's name
// on disk is gone. DWARF is loaded at the first lookup that needs it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/call_frame_rules.h"
#include "agent/source_symbol.h"
#include "common/status.h"

namespace flare::agent {

struct SymbolizerOptions {
  // Extra absolute directories searched for separate debug info before the
  // defaults (the file's own directory, its .debug/, /usr/lib/debug), both as
  // <dir>/.build-id/xx/yyyy.debug and by .gnu_debuglink name. Directory names
  // must not contain ':' (elfutils' path separator).
  std::vector<std::string> debug_dirs;
  // File:line and inlined frames from DWARF. Loading a file's DWARF costs
  // memory (libc's compressed debug info inflates to ~16 MB); without it,
  // symbols still come from the symbol tables.
  bool source_lines = true;
};

// Not thread-safe: the agent symbolizes from one thread.
class ElfSymbolizer {
 public:
  // Opens `path_to_open` (e.g. /proc/PID/root/usr/lib/libc.so.6); errors and
  // the Dwfl module name use `display_path` (the path the target sees).
  static Result<std::unique_ptr<ElfSymbolizer>> open(const std::string& path_to_open,
                                                     const std::string& display_path,
                                                     const SymbolizerOptions& options = {});
  // Same, from a descriptor the caller opened (and verified); takes ownership
  // of `fd` in every case. `debuglink_base` is the path whose directory is
  // searched for .gnu_debuglink files.
  static Result<std::unique_ptr<ElfSymbolizer>> open_fd(int fd, const std::string& debuglink_base,
                                                        const std::string& display_path,
                                                        const SymbolizerOptions& options = {});

  ~ElfSymbolizer();
  ElfSymbolizer(const ElfSymbolizer&) = delete;
  ElfSymbolizer& operator=(const ElfSymbolizer&) = delete;

  const std::string& display_path() const { return display_path_; }
  // Lowercase hex of the GNU build-id note, "" if the file has none.
  const std::string& build_id() const { return build_id_; }

  // Maps an offset in the file to the virtual address the ELF headers give
  // it, through the PT_LOAD segment containing it; nullopt outside them.
  std::optional<uint64_t> file_offset_to_vaddr(uint64_t file_offset) const;

  // Resolves an address in the file's own virtual address space (as in its
  // symbol table). Results are cached: sampled addresses repeat a lot.
  SourceSymbol symbolize(uint64_t elf_vaddr);

  // The file's unwind rules: .eh_frame, else .debug_frame (which may come
  // from the separate debug file). nullptr when it has neither.
  CallFrameRules* call_frame_rules();

  // Times its bounded caches (symbols, unwind rows) were full and dropped.
  uint64_t cache_resets() const;

 private:
  struct LoadSegment {
    uint64_t offset, vaddr, filesz;
  };

  struct Session;  // the elfutils state, kept out of this header

  ElfSymbolizer();
  SourceSymbol lookup(uint64_t elf_vaddr);

  std::string display_path_;
  std::string build_id_;
  std::vector<LoadSegment> loads_;
  std::unique_ptr<Session> session_;
  std::unordered_map<uint64_t, SourceSymbol> cache_;
  uint64_t symbol_cache_resets_ = 0;
};

}  // namespace flare::agent
