#include "agent/symbol_file_cache.h"

#include "agent/vdso_image.h"

namespace flare::agent {

ElfSymbolizer* SymbolFileCache::find(const FileId& id) const {
  auto it = files_.find(id);
  return it == files_.end() ? nullptr : it->second.get();
}

ElfSymbolizer* SymbolFileCache::insert(const FileId& id, std::unique_ptr<ElfSymbolizer> symbolizer) {
  return files_.try_emplace(id, std::move(symbolizer)).first->second.get();
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
