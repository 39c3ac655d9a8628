#include "agent/symbol_file_cache.h"

#include <unordered_set>

#include "agent/vdso_image.h"

namespace flare::agent {

ElfSymbolizer* SymbolFileCache::find(const FileId& id) const {
  if (auto it = files_.find(id); it != files_.end()) return it->second.symbolizer.get();
  if (auto it = aliases_.find(id); it != aliases_.end()) return it->second.shared;
  return nullptr;
}

ElfSymbolizer* SymbolFileCache::insert(const FileId& id, std::unique_ptr<ElfSymbolizer> symbolizer,
                                       const std::string& build) {
  ElfSymbolizer* cached = files_.try_emplace(id, File{std::move(symbolizer)}).first->second.symbolizer.get();
  if (!build.empty()) by_build_.try_emplace(build, cached);
  return cached;
}

std::string SymbolFileCache::build_key(const std::string& build_id, uint64_t file_size) {
  return build_id.empty() ? std::string() : build_id + "/" + std::to_string(file_size);
}

ElfSymbolizer* SymbolFileCache::find_build(const std::string& build) const {
  if (build.empty()) return nullptr;
  auto it = by_build_.find(build);
  return it == by_build_.end() ? nullptr : it->second;
}

void SymbolFileCache::alias(const FileId& id, ElfSymbolizer* shared, UniqueFd file) {
  aliases_.try_emplace(id, Alias{shared, std::move(file)});
}

void SymbolFileCache::acquire(const FileId& id) {
  if (auto it = files_.find(id); it != files_.end()) {
    ++it->second.users;
  } else if (auto alias = aliases_.find(id); alias != aliases_.end()) {
    ++alias->second.users;
  }
}

void SymbolFileCache::release(const FileId& id) {
  if (auto it = files_.find(id); it != files_.end()) {
    if (it->second.users > 0) --it->second.users;
  } else if (auto alias = aliases_.find(id); alias != aliases_.end()) {
    if (alias->second.users > 0) --alias->second.users;
  }
}

size_t SymbolFileCache::release_unused() {
  size_t dropped = 0;
  // Aliases first: an unused file still serves the aliases that are used.
  std::unordered_set<const ElfSymbolizer*> shared_in_use;
  for (auto it = aliases_.begin(); it != aliases_.end();) {
    if (it->second.users == 0) {
      it = aliases_.erase(it);
      ++dropped;
    } else {
      shared_in_use.insert(it->second.shared);
      ++it;
    }
  }
  for (auto it = files_.begin(); it != files_.end();) {
    const ElfSymbolizer* symbolizer = it->second.symbolizer.get();
    if (it->second.users != 0 || shared_in_use.count(symbolizer) != 0) {
      ++it;
      continue;
    }
    std::erase_if(by_build_, [&](const auto& entry) { return entry.second == symbolizer; });
    cache_resets_of_released_ += symbolizer->cache_resets();
    it = files_.erase(it);
    ++dropped;
  }
  forgotten_ += dropped;
  return dropped;
}

uint64_t SymbolFileCache::cache_resets() const {
  uint64_t resets = cache_resets_of_released_ + (vdso_ ? vdso_->cache_resets() : 0);
  for (const auto& [id, file] : files_) resets += file.symbolizer->cache_resets();
  return resets;
}

ElfSymbolizer* SymbolFileCache::vdso() {
  if (!vdso_attempted_) {
    vdso_attempted_ = true;
    Result<UniqueFd> image = open_vdso_image();
    if (image.is_ok()) {
      Result<std::unique_ptr<ElfSymbolizer>> opened =
          ElfSymbolizer::open_fd(std::move(image).value().release(), "", "[vdso]", options_);
      if (opened.is_ok()) vdso_ = std::move(opened).value();
    }
  }
  return vdso_.get();
}

}  // namespace flare::agent
