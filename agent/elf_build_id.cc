#include "agent/elf_build_id.h"

#include <elf.h>
#include <gelf.h>
#include <libelf.h>

#include <cstring>

namespace flare::agent {

std::string read_elf_build_id(int fd) {
  if (elf_version(EV_CURRENT) == EV_NONE) return {};
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  if (elf == nullptr) return {};
  std::string out;
  static constexpr char kHex[] = "0123456789abcdef";
  size_t phnum = 0;
  // Program headers first (what the loader maps), then sections.
  auto scan = [&](Elf_Data* data) {
    GElf_Nhdr note;
    size_t offset = 0, name_at = 0, desc_at = 0;
    while (data != nullptr && out.empty() &&
           (offset = gelf_getnote(data, offset, &note, &name_at, &desc_at)) > 0) {
      const char* base = static_cast<const char*>(data->d_buf);
      if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 && std::memcmp(base + name_at, "GNU", 4) == 0) {
        for (size_t i = 0; i < note.n_descsz; ++i) {
          auto byte = static_cast<unsigned char>(base[desc_at + i]);
          out += kHex[byte >> 4];
          out += kHex[byte & 0xf];
        }
      }
    }
  };
  if (elf_getphdrnum(elf, &phnum) == 0) {
    for (size_t i = 0; i < phnum && out.empty(); ++i) {
      GElf_Phdr phdr;
      if (gelf_getphdr(elf, static_cast<int>(i), &phdr) == nullptr || phdr.p_type != PT_NOTE) continue;
      scan(elf_getdata_rawchunk(elf, static_cast<int64_t>(phdr.p_offset), phdr.p_filesz, ELF_T_NHDR));
    }
  }
  for (Elf_Scn* scn = nullptr; out.empty() && (scn = elf_nextscn(elf, scn)) != nullptr;) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) != nullptr && shdr.sh_type == SHT_NOTE) scan(elf_getdata(scn, nullptr));
  }
  elf_end(elf);
  return out;
}

}  // namespace flare::agent
