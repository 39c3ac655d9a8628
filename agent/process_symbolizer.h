// Turns user-space instruction addresses of one target process into
// (mapping, function, file:line), tracking the process's mappings as they
// come and go.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "agent/elf_symbolizer.h"
#include "agent/perf_map.h"
#include "agent/proc_maps.h"
#include "agent/symbol_file_cache.h"
#include "agent/user_stack_unwinder.h"
#include "common/status.h"

namespace flare::agent {

struct Mapping {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t offset = 0;
  // The path the target sees; "[anon]", "[heap]", "[vdso]"... for mappings
  // without a file.
  std::string path;
  std::string build_id;  // lowercase hex; "" if none or the file could not be opened
  uint64_t serial = 0;   // unique per Mapping within one ProcessSymbolizer, from 1
  bool executable = false;
};

struct UserFrame {
  const Mapping* mapping = nullptr;  // null: no mapping covers the address
  SourceSymbol symbol;
  // Unresolved, but a later look may name it: the address was in no known
  // mapping, or in code outside any ELF file (a JIT's perf map grows).
  bool may_resolve_later = false;
};

struct ProcessSymbolizerOptions {
  // Shared across the capture's processes; a private cache when null.
  std::shared_ptr<SymbolFileCache> files;
  // A miss triggers at most one re-read of the maps per interval, so garbage
  // addresses from a broken unwind cannot cause a storm of /proc reads.
  uint64_t min_refresh_interval_ns = 50'000'000;
  // An address still unmapped after a re-read may trigger another only after
  // this long: a mapping can appear after a first look (a read that raced
  // with exec or dlopen), but garbage addresses must not cause a /proc storm.
  uint64_t unknown_retry_interval_ns = 1'000'000'000;
  // Test seams; default to read_proc_maps, open_perf_map and CLOCK_MONOTONIC.
  std::function<Result<std::vector<MapEntry>>(uint32_t pid)> read_maps;
  std::function<Result<std::unique_ptr<PerfMap>>(uint32_t pid)> open_perf_map;
  std::function<uint64_t()> now_ns;
};

// Not thread-safe. Mapping objects live until forget_retired() frees them
// (only mappings retired before its previous call), so `UserFrame::mapping`
// pointers stay valid until then; `serial`s stay unique.
class ProcessSymbolizer final : public CodeLocator {
 public:
  explicit ProcessSymbolizer(uint32_t pid, ProcessSymbolizerOptions options = {});
  ~ProcessSymbolizer();
  ProcessSymbolizer(const ProcessSymbolizer&) = delete;
  ProcessSymbolizer& operator=(const ProcessSymbolizer&) = delete;

  uint32_t pid() const { return pid_; }

  // `address` is already adjusted by the caller (the leaf pc, or a return
  // address minus one). Looks in the current mappings, re-reads the maps on a
  // miss (rate-limited), then falls back to retired mappings: a library that
  // was sampled and then unmapped (dlclose) still symbolizes. An address in
  // no ELF file (JIT code in anonymous memory) is looked up in the process's
  // perf map, which is re-read when it has grown.
  UserFrame resolve(uint64_t address);

  // Changes whenever what resolve() knows has grown (a re-read of the maps,
  // new perf map lines). Callers that cache unresolved results resolve them
  // again when it changed. For a process with JIT code, polls its perf map
  // (at most once per min_refresh_interval_ns): the JIT appends to it.
  uint64_t symbols_version();

  // For the unwinder: the CFI of the code at `address`. Finds mappings as
  // resolve() does, without counting symbolization stats.
  CodeAt locate_code(uint64_t address) override;

  // Re-reads /proc/PID/maps now. Mappings that disappeared become retired;
  // on error (e.g. the process exited) the known mappings stay as they were.
  Status refresh();

  // The mappings as of the last refresh, sorted by start.
  std::vector<const Mapping*> current_mappings() const;

  // Called at every chunk of the recording (when callers have dropped the
  // Mapping pointers they cached): frees the mappings retired before the
  // previous call (so an unmapped library still symbolizes the samples that
  // arrive up to a whole chunk late), and the oldest others beyond
  // max_retired, releasing their files in the shared cache. Without this a
  // target that keeps loading and unloading code grows the agent for as
  // long as it runs. Returns how many were freed (also in stats).
  size_t forget_retired(size_t max_retired = 1024);
  size_t retired_mappings() const { return retired_.size(); }

  struct Stats {
    uint64_t refreshes = 0;        // reads of /proc/PID/maps attempted
    uint64_t refresh_errors = 0;   // ...that failed
    uint64_t unknown_mapping = 0;  // resolve() calls no mapping covered
    uint64_t unresolved = 0;       // resolve() calls with a mapping but no symbol
    uint64_t open_errors = 0;      // mapped files that could not be opened as ELF
    uint64_t perf_maps_opened = 0; // JIT perf maps found (0 or 1)
    uint64_t jit_resolved = 0;     // resolve() calls a perf map answered
    uint64_t mappings_forgotten = 0;  // retired mappings freed by forget_retired()
  };
  Stats stats() const { return stats_; }

 private:
  struct Slot;

  // The current mapping at `address`, re-reading the maps on a miss (rate
  // limited), else a retired one; nullptr if none.
  Slot* find_slot(uint64_t address);
  Slot* find_current(uint64_t address) const;
  Slot* find_retired(uint64_t address) const;
  bool may_refresh(uint64_t address) const;
  Slot* adopt(const MapEntry& entry);
  ElfSymbolizer* symbolizer_for(Slot& slot);
  ElfSymbolizer* open_file(const Slot& slot);
  const std::string* jit_symbol(uint64_t address);
  void try_open_perf_map();
  void read_perf_map();

  uint32_t pid_;
  ProcessSymbolizerOptions options_;
  void free_slot(Slot* slot);

  std::vector<std::unique_ptr<Slot>> slots_;  // every mapping not yet forgotten
  std::vector<Slot*> current_;                // sorted by start
  std::vector<Slot*> retired_;                // oldest first
  std::unordered_set<uint64_t> unknown_addresses_;
  std::optional<uint64_t> last_refresh_ns_;
  bool process_gone_ = false;
  std::unique_ptr<PerfMap> perf_map_;
  std::optional<uint64_t> perf_map_retry_ns_;  // no map yet: when to look again
  bool jit_seen_ = false;          // anonymous code, or a JIT lookup, was seen
  uint64_t jit_version_ = 0;       // bumped when the perf map was opened or grew
  uint64_t last_jit_poll_ns_ = 0;
  uint64_t next_serial_ = 1;
  uint64_t forget_epoch_ = 0;      // calls of forget_retired() so far
  Stats stats_;
};

}  // namespace flare::agent
