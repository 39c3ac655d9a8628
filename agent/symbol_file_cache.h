// Opened ELF files shared by every ProcessSymbolizer of a capture, so a
// library mapped by many targets (libc) is opened, indexed and cached once;
// also when it is the same build in different files (containers of one
// image, each with its own copy or overlay mount): by build-id.
//
// Files are counted by the mappings that use them (acquire/release), and
// release_unused() closes those no mapping uses any more: a target that
// keeps dlopen'ing and dlclose'ing libraries does not keep every one open
// for as long as the capture (a flight) runs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "agent/elf_symbolizer.h"
#include "agent/unique_fd.h"

namespace flare::agent {

// A file as /proc/PID/maps identifies it. Safe as a key: every cached entry
// holds its file open, so the inode cannot be freed and its number reused
// for another file while the entry lives.
struct FileId {
  uint32_t dev_major = 0;
  uint32_t dev_minor = 0;
  uint64_t inode = 0;
  bool operator==(const FileId&) const = default;
};

class SymbolFileCache {
 public:
  explicit SymbolFileCache(SymbolizerOptions options = {}) : options_(std::move(options)) {}

  const SymbolizerOptions& options() const { return options_; }

  // nullptr when the file has not been opened yet. Failures are not cached
  // here: whether a file can be opened depends on the process it is reached
  // through (mount namespace, lifetime), so callers remember their own.
  ElfSymbolizer* find(const FileId& id) const;
  // Takes ownership; returns the cached symbolizer (the existing one if the
  // file was inserted meanwhile). `build` (see build_key) lets other files
  // of the same build share it; "" for none.
  ElfSymbolizer* insert(const FileId& id, std::unique_ptr<ElfSymbolizer> symbolizer, const std::string& build = "");

  // What makes two files the same build: the build-id, and the size, since
  // a stripped copy has the build-id of the full file but not its symbols.
  // "" when there is no build-id.
  static std::string build_key(const std::string& build_id, uint64_t file_size);
  // The symbolizer of an opened file of this build, or null.
  ElfSymbolizer* find_build(const std::string& build) const;
  // Serves `id` with `shared` (a file of the same build); `file` is the
  // file `id` names, held open so its inode number stays its own.
  void alias(const FileId& id, ElfSymbolizer* shared, UniqueFd file);

  // A mapping uses the file `id` (found or inserted above) / no longer does.
  void acquire(const FileId& id);
  void release(const FileId& id);
  // Closes the files and aliases no mapping uses; returns how many file
  // identities were dropped (also added to forgotten()).
  size_t release_unused();

  size_t size() const { return files_.size() + aliases_.size(); }  // file identities served
  size_t opened() const { return files_.size(); }                    // files opened and indexed
  uint64_t forgotten() const { return forgotten_; }                  // file identities released so far
  // Times a file's bounded caches were full and dropped, over every file
  // opened so far (also those released since).
  uint64_t cache_resets() const;

  // The vDSO image (see vdso_image.h), opened at the first call; nullptr if
  // it cannot be (then [vdso] frames stay unnamed and are unwound by frame
  // pointers).
  ElfSymbolizer* vdso();

 private:
  struct FileIdHash {
    size_t operator()(const FileId& id) const {
      uint64_t dev = (uint64_t{id.dev_major} << 32) | id.dev_minor;
      return std::hash<uint64_t>()(id.inode * 0x9e3779b97f4a7c15ull ^ dev);
    }
  };

  SymbolizerOptions options_;
  struct File {
    std::unique_ptr<ElfSymbolizer> symbolizer;
    size_t users = 0;
  };
  std::unordered_map<FileId, File, FileIdHash> files_;
  struct Alias {
    ElfSymbolizer* shared;
    UniqueFd file;
    size_t users = 0;
  };
  std::unordered_map<FileId, Alias, FileIdHash> aliases_;
  std::unordered_map<std::string, ElfSymbolizer*> by_build_;
  std::unique_ptr<ElfSymbolizer> vdso_;
  bool vdso_attempted_ = false;
  uint64_t forgotten_ = 0;
  uint64_t cache_resets_of_released_ = 0;
};

}  // namespace flare::agent
