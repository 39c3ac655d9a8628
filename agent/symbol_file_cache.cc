#include "agent/symbol_file_cache.h"

namespace flare::agent {

ElfSymbolizer* SymbolFileCache::find(const FileId& id) const {
  auto it = files_.find(id);
  return it == files_.end() ? nullptr : it->second.get();
}

ElfSymbolizer* SymbolFileCache::insert(const FileId& id, std::unique_ptr<ElfSymbolizer> symbolizer) {
  return files_.try_emplace(id, std::move(symbolizer)).first->second.get();
}

}  // namespace flare::agent
