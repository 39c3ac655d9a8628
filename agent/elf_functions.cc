#include "agent/elf_functions.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "agent/unique_fd.h"

namespace flare::agent {

namespace {

struct ElfDeleter {
  void operator()(Elf* elf) const { elf_end(elf); }
};

}  // namespace

Result<ElfFunctions> ElfFunctions::read(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::from_errno(errno, "opening " + path);
  elf_version(EV_CURRENT);
  std::unique_ptr<Elf, ElfDeleter> elf(elf_begin(fd.get(), ELF_C_READ, nullptr));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) {
    return Status(ErrorCode::kCorruptData, path + " is not an ELF file");
  }
  size_t nphdr = 0;
  if (elf_getphdrnum(elf.get(), &nphdr) != 0) return Status(ErrorCode::kCorruptData, path + ": no program headers");
  std::vector<GElf_Phdr> loads;
  bool interpreter = false;
  for (size_t i = 0; i < nphdr; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf.get(), static_cast<int>(i), &ph)) continue;
    if (ph.p_type == PT_LOAD) loads.push_back(ph);
    if (ph.p_type == PT_INTERP) interpreter = true;
  }

  ElfFunctions out;
  out.path_ = path;
  out.has_interpreter_ = interpreter;
  size_t shstrndx = 0;
  const bool have_names = elf_getshdrstrndx(elf.get(), &shstrndx) == 0;
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf.get(), scn)) != nullptr) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    if (have_names) {
      if (const char* name = elf_strptr(elf.get(), shstrndx, sh.sh_name)) out.sections_.insert(name);
    }
    if ((sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB) || sh.sh_entsize == 0) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data) continue;
    const size_t n = sh.sh_size / sh.sh_entsize;
    for (size_t i = 0; i < n; ++i) {
      GElf_Sym sym;
      if (!gelf_getsym(data, static_cast<int>(i), &sym)) continue;
      const int type = GELF_ST_TYPE(sym.st_info);
      if ((type != STT_FUNC && type != STT_OBJECT) || sym.st_shndx == SHN_UNDEF || sym.st_size == 0) continue;
      const char* name = elf_strptr(elf.get(), sh.sh_link, sym.st_name);
      if (!name || !*name) continue;
      if (type == STT_OBJECT) {
        out.variables_.emplace(name, sym.st_value);
        continue;
      }
      for (const GElf_Phdr& ph : loads) {
        if (sym.st_value >= ph.p_vaddr && sym.st_value < ph.p_vaddr + ph.p_filesz) {
          out.functions_.emplace(name, ElfFunction{sym.st_value, sym.st_size, sym.st_value - ph.p_vaddr + ph.p_offset});
          break;
        }
      }
    }
  }
  return out;
}

const ElfFunction* ElfFunctions::find(const std::string& name) const {
  auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : &it->second;
}

std::optional<uint64_t> ElfFunctions::find_variable(const std::string& name) const {
  auto it = variables_.find(name);
  if (it == variables_.end()) return std::nullopt;
  return it->second;
}

Result<std::vector<uint8_t>> ElfFunctions::code(uint64_t file_offset, size_t n) const {
  UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::from_errno(errno, "opening " + path_);
  std::vector<uint8_t> bytes(n);
  ssize_t got = ::pread(fd.get(), bytes.data(), n, static_cast<off_t>(file_offset));
  if (got < 0) return Status::from_errno(errno, "reading " + path_);
  bytes.resize(static_cast<size_t>(got));
  return bytes;
}

}  // namespace flare::agent
