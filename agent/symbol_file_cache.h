// Opened ELF files shared by every ProcessSymbolizer of a capture, so a
// library mapped by many targets (libc) is opened, indexed and cached once;
// also when it is the same build in different files (containers of one
// image, each with its own copy or overlay mount): by build-id.
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

  size_t size() const { return files_.size() + aliases_.size(); }  // file identities served
  size_t opened() const { return files_.size(); }                    // files opened and indexed

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
  std::unordered_map<FileId, std::unique_ptr<ElfSymbolizer>, FileIdHash> files_;
  struct Alias {
    ElfSymbolizer* shared;
    UniqueFd file;
  };
  std::unordered_map<FileId, Alias, FileIdHash> aliases_;
  std::unordered_map<std::string, ElfSymbolizer*> by_build_;
  std::unique_ptr<ElfSymbolizer> vdso_;
  bool vdso_attempted_ = false;
};

}  // namespace flare::agent
