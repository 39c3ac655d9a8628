#include "agent/go_binary.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>

#include "agent/unique_fd.h"

namespace flare::agent {

namespace {

struct ElfDeleter {
  void operator()(Elf* elf) const { elf_end(elf); }
};
struct DwarfDeleter {
  void operator()(Dwarf* dwarf) const { dwarf_end(dwarf); }
};

constexpr std::string_view kBuildInfoMagic("\xff Go buildinf:", 14);
// Go 1.17 moved amd64 to the register ABI (arguments in RAX, RBX, RCX, ...,
// the current g in R14), which the BPF programs read.
constexpr int kOldestMinor = 17;

std::optional<uint64_t> read_uvarint(std::string_view s, size_t& pos) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64 && pos < s.size(); shift += 7) {
    const uint8_t b = static_cast<uint8_t>(s[pos++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  return std::nullopt;
}

// The allocated, file-backed contents of a Go executable by virtual address.
class VirtualMemory {
 public:
  explicit VirtualMemory(Elf* elf) {
    Elf_Scn* scn = nullptr;
    while ((scn = elf_nextscn(elf, scn)) != nullptr) {
      GElf_Shdr sh;
      if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) || sh.sh_type == SHT_NOBITS || sh.sh_size == 0) continue;
      sections_[sh.sh_addr] = {scn, sh.sh_size};
    }
  }
  // `n` bytes at `vaddr`, or empty when they are not all in one section.
  std::string_view read(uint64_t vaddr, uint64_t n) const {
    auto it = sections_.upper_bound(vaddr);
    if (it == sections_.begin()) return {};
    --it;
    const auto& [scn, size] = it->second;
    const uint64_t offset = vaddr - it->first;
    if (offset > size || n > size - offset) return {};
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data || !data->d_buf || offset + n > data->d_size) return {};
    return std::string_view(static_cast<const char*>(data->d_buf) + offset, n);
  }
  std::optional<uint64_t> read_u64(uint64_t vaddr) const {
    std::string_view b = read(vaddr, 8);
    if (b.size() != 8) return std::nullopt;
    uint64_t v;
    std::memcpy(&v, b.data(), 8);
    return v;
  }
  // A Go string header (pointer, length) at `vaddr`.
  std::optional<std::string> read_go_string(uint64_t vaddr) const {
    auto ptr = read_u64(vaddr), len = read_u64(vaddr + 8);
    if (!ptr || !len || *len > 4096) return std::nullopt;
    if (*len == 0) return std::string();
    std::string_view s = read(*ptr, *len);
    if (s.size() != *len) return std::nullopt;
    return std::string(s);
  }

 private:
  std::map<uint64_t, std::pair<Elf_Scn*, uint64_t>> sections_;
};

struct SectionInfo {
  std::string_view buildinfo;
  uint64_t buildinfo_vaddr = 0;
  std::map<std::string, GElf_Sym> objects;  // the data symbols asked for
};

SectionInfo scan_sections(Elf* elf, const std::vector<std::string>& wanted_objects) {
  SectionInfo out;
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) return out;
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf, scn)) != nullptr) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    const char* name = elf_strptr(elf, shstrndx, sh.sh_name);
    if (name && std::strcmp(name, ".go.buildinfo") == 0) {
      if (Elf_Data* data = elf_getdata(scn, nullptr); data && data->d_buf) {
        out.buildinfo = std::string_view(static_cast<const char*>(data->d_buf), data->d_size);
        out.buildinfo_vaddr = sh.sh_addr;
      }
    }
    if (sh.sh_type != SHT_SYMTAB || sh.sh_entsize == 0) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data) continue;
    for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; ++i) {
      GElf_Sym sym;
      if (!gelf_getsym(data, static_cast<int>(i), &sym) || GELF_ST_TYPE(sym.st_info) != STT_OBJECT) continue;
      const char* sym_name = elf_strptr(elf, sh.sh_link, sym.st_name);
      if (!sym_name) continue;
      for (const std::string& w : wanted_objects) {
        if (w == sym_name) out.objects[w] = sym;
      }
    }
  }
  return out;
}

// Go 1.13-1.17 build info holds pointers to the version string's header.
std::optional<std::string> pointer_buildinfo_version(std::string_view section, const VirtualMemory& memory) {
  if (section.size() < 32 || section.substr(0, kBuildInfoMagic.size()) != kBuildInfoMagic) return std::nullopt;
  if (static_cast<uint8_t>(section[14]) != 8 || section[15] != 0) return std::nullopt;  // 64-bit little-endian
  uint64_t header;
  std::memcpy(&header, section.data() + 16, 8);
  return memory.read_go_string(header);
}

struct StructFields {
  std::map<std::string, uint32_t> members;  // name -> byte offset
  bool found = false;
};

// Top-level structure types named in `wanted`, with their member offsets.
void read_struct_layouts(Dwarf* dwarf, std::map<std::string, StructFields>& wanted) {
  size_t remaining = wanted.size();
  Dwarf_Off offset = 0, next = 0;
  size_t header_size = 0;
  while (remaining && dwarf_nextcu(dwarf, offset, &next, &header_size, nullptr, nullptr, nullptr) == 0) {
    Dwarf_Die cu, child;
    if (dwarf_offdie(dwarf, offset + header_size, &cu) && dwarf_child(&cu, &child) == 0) {
      do {
        if (dwarf_tag(&child) != DW_TAG_structure_type) continue;
        const char* name = dwarf_diename(&child);
        auto it = name ? wanted.find(name) : wanted.end();
        if (it == wanted.end() || it->second.found) continue;
        it->second.found = true;
        --remaining;
        Dwarf_Die member;
        if (dwarf_child(&child, &member) != 0) continue;
        do {
          Dwarf_Attribute attr;
          Dwarf_Word location = 0;
          const char* member_name = dwarf_diename(&member);
          if (dwarf_tag(&member) != DW_TAG_member || !member_name) continue;
          if (!dwarf_attr(&member, DW_AT_data_member_location, &attr) || dwarf_formudata(&attr, &location) != 0) {
            continue;
          }
          it->second.members[member_name] = static_cast<uint32_t>(location);
        } while (dwarf_siblingof(&member, &member) == 0);
      } while (dwarf_siblingof(&child, &child) == 0);
    }
    offset = next;
  }
}

}  // namespace

std::optional<GoVersion> parse_go_version(std::string_view text) {
  if (text.substr(0, 2) != "go") return std::nullopt;
  GoVersion v;
  v.text = std::string(text.substr(0, text.find(' ')));
  int* parts[] = {&v.major, &v.minor, &v.patch};
  size_t pos = 2;
  for (int i = 0; i < 3 && pos < text.size(); ++i) {
    if (text[pos] < '0' || text[pos] > '9') break;
    int n = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') n = n * 10 + (text[pos++] - '0');
    *parts[i] = n;
    if (pos >= text.size() || text[pos] != '.') break;
    ++pos;
  }
  if (v.major == 0) return std::nullopt;
  return v;
}

std::optional<std::string> go_buildinfo_version(std::string_view section) {
  if (section.size() < 32 || section.substr(0, kBuildInfoMagic.size()) != kBuildInfoMagic) return std::nullopt;
  if (!(static_cast<uint8_t>(section[15]) & 2)) return std::nullopt;  // not inline (before Go 1.18)
  size_t pos = 32;
  auto len = read_uvarint(section, pos);
  if (!len || *len > section.size() - pos) return std::nullopt;
  return std::string(section.substr(pos, *len));
}

Result<GoBinary> GoBinary::read(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::from_errno(errno, "opening " + path);
  elf_version(EV_CURRENT);
  std::unique_ptr<Elf, ElfDeleter> elf(elf_begin(fd.get(), ELF_C_READ, nullptr));
  GElf_Ehdr ehdr;
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF || !gelf_getehdr(elf.get(), &ehdr)) {
    return Status(ErrorCode::kNotFound, path + " is not an ELF file, so not a Go program");
  }
  const SectionInfo info = scan_sections(elf.get(), {"runtime.waitReasonStrings", "runtime.buildVersion"});
  const VirtualMemory memory(elf.get());
  std::optional<std::string> version_text = go_buildinfo_version(info.buildinfo);
  if (!version_text) version_text = pointer_buildinfo_version(info.buildinfo, memory);
  if (!version_text) {
    if (auto it = info.objects.find("runtime.buildVersion"); it != info.objects.end()) {
      version_text = memory.read_go_string(it->second.st_value);
    }
  }
  if (info.buildinfo.empty() && !version_text) {
    return Status(ErrorCode::kNotFound, path + " is not a Go program (no .go.buildinfo section, no Go runtime symbols)");
  }
  std::optional<GoVersion> version = version_text ? parse_go_version(*version_text) : std::nullopt;
  if (!version) {
    return Status(ErrorCode::kUnsupported,
                  path + " looks like a Go program but its Go version cannot be read (stripped symbols?)");
  }
  GoBinary out;
  out.path_ = path;
  out.version_ = *version;
  const std::string what = path + " (" + version->text + ")";
  if (ehdr.e_machine != EM_X86_64) {
    return Status(ErrorCode::kUnsupported, what + " is not an x86-64 binary: goroutine tracing supports amd64 only");
  }
  if (version->major == 1 && version->minor < kOldestMinor) {
    return Status(ErrorCode::kUnsupported,
                  what + " predates Go 1.17's register ABI: goroutine tracing needs Go 1.17 or later");
  }

  std::unique_ptr<Dwarf, DwarfDeleter> dwarf(dwarf_begin_elf(elf.get(), DWARF_C_READ, nullptr));
  if (!dwarf) {
    return Status(ErrorCode::kUnsupported,
                  what + " has no DWARF (built with -ldflags=-w or stripped?): the runtime's structure layout "
                         "cannot be established");
  }
  std::map<std::string, StructFields> structs{{"runtime.g", {}}, {"runtime.m", {}}, {"runtime.pollDesc", {}}};
  read_struct_layouts(dwarf.get(), structs);
  struct Field {
    const char* type;
    const char* member;
    uint32_t* out;
  };
  const Field fields[] = {{"runtime.g", "goid", &out.layout_.g_goid},
                          {"runtime.g", "m", &out.layout_.g_m},
                          {"runtime.m", "curg", &out.layout_.m_curg},
                          {"runtime.pollDesc", "rg", &out.layout_.poll_desc_rg},
                          {"runtime.pollDesc", "wg", &out.layout_.poll_desc_wg}};
  for (const Field& f : fields) {
    const StructFields& s = structs[f.type];
    auto it = s.members.find(f.member);
    if (it == s.members.end()) {
      return Status(ErrorCode::kUnsupported, what + ": its DWARF has no " + f.type + "." + f.member +
                                                 ": the runtime's structure layout cannot be established");
    }
    *f.out = it->second;
  }

  if (auto it = info.objects.find("runtime.waitReasonStrings"); it != info.objects.end()) {
    for (uint64_t i = 0; i < it->second.st_size / 16; ++i) {
      std::optional<std::string> s = memory.read_go_string(it->second.st_value + i * 16);
      out.wait_reasons_.push_back(s ? *s : std::string());
    }
  }
  FLARE_ASSIGN_OR_RETURN(out.functions_, ElfFunctions::read(path));
  return out;
}

std::string GoBinary::wait_reason(uint32_t value) const {
  if (value < wait_reasons_.size() && !wait_reasons_[value].empty()) return wait_reasons_[value];
  return "wait reason " + std::to_string(value);
}

}  // namespace flare::agent
