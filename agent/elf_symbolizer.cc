#include "agent/elf_symbolizer.h"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "agent/dwarf_scope_index.h"
#include "agent/local_debuginfo.h"
#include "agent/symbol_index.h"

namespace flare::agent {
namespace {

// elfutils' default search path: the file's directory, its .debug/, and
// /usr/lib/debug (which also holds .build-id/).

// Bounds the per-file result cache. A hot file sees a few thousand distinct
// sampled addresses; beyond that the cache is dropped and rebuilt rather than
// tracked with LRU bookkeeping on every lookup.
constexpr size_t kMaxCachedSymbols = 8192;

std::string demangle(const char* name) {
  if (name == nullptr) return {};
  if (name[0] == '_' && name[1] == 'Z') {
    int status = 0;
    char* demangled = abi::__cxa_demangle(name, nullptr, nullptr, &status);
    if (status == 0 && demangled != nullptr) {
      std::string out(demangled);
      std::free(demangled);
      return out;
    }
    std::free(demangled);
  }
  return name;
}

std::string dwfl_error() {
  const char* message = dwfl_errmsg(-1);
  return message != nullptr ? message : "unknown elfutils error";
}

// The name of a subprogram or inlined-subroutine DIE. The linkage name,
// demangled, is preferred: it carries namespaces and classes, and matches
// what the symbol table gives for the outer function.
std::string die_function_name(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  const char* linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
  if (linkage == nullptr) {
    linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
  }
  if (linkage != nullptr) return demangle(linkage);
  const char* name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
  return name != nullptr ? name : "";
}

// Where an inlined subroutine was called from: DW_AT_call_file/_line.
void call_site(Dwarf_Die* cudie, Dwarf_Die* inlined, std::string& file, uint32_t& line) {
  Dwarf_Attribute attr;
  Dwarf_Word value = 0;
  file.clear();
  line = 0;
  if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &value) == 0) {
    line = static_cast<uint32_t>(value);
  }
  Dwarf_Files* files = nullptr;
  size_t nfiles = 0;
  if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &value) == 0 &&
      dwarf_getsrcfiles(cudie, &files, &nfiles) == 0 && value < nfiles) {
    const char* name = dwarf_filesrc(files, value, nullptr, nullptr);
    if (name != nullptr) file = name;
  }
}

// Fills file:line and the inlined chain from DWARF, when the file (or its
// separate debug file) has it. `symbol.function` is only filled from DWARF
// when the symbol tables had nothing.
void add_dwarf_info(Dwfl_Module* module, Dwarf_Addr address, DwarfScopeIndex& index,
                    std::vector<Dwarf_Die>& scopes, SourceSymbol& symbol) {
  Dwarf_Addr cu_bias = 0;
  Dwarf_Die* cudie = dwfl_module_addrdie(module, address, &cu_bias);
  if (cudie == nullptr) return;

  std::string file;
  uint32_t line = 0;
  if (Dwfl_Line* src = dwfl_module_getsrc(module, address)) {
    int lineno = 0;
    const char* name = dwfl_lineinfo(src, nullptr, &lineno, nullptr, nullptr, nullptr);
    if (name != nullptr) file = name;
    line = lineno > 0 ? static_cast<uint32_t>(lineno) : 0;
  }

  // Scopes come innermost first. The line table describes the innermost
  // inlined code; each inlined_subroutine's call site is the position in the
  // scope around it, up to the real (out-of-line) function.
  index.find(cudie, address - cu_bias, scopes);
  for (Dwarf_Die& scope : scopes) {
    int tag = dwarf_tag(&scope);
    if (tag == DW_TAG_inlined_subroutine) {
      symbol.inlined.push_back(InlinedFrame{die_function_name(&scope), file, line});
      call_site(cudie, &scope, file, line);
    } else if (tag == DW_TAG_subprogram) {
      if (symbol.function.empty()) symbol.function = die_function_name(&scope);
      break;
    }
  }
  symbol.file = std::move(file);
  symbol.line = line;
}

// Reads the module's function symbols (.symtab, else .dynsym, plus
// MiniDebugInfo) through elfutils, in module addresses.
SymbolIndex index_symbols(Dwfl_Module* module) {
  std::vector<SymbolCandidate> candidates;
  int count = dwfl_module_getsymtab(module);
  for (int i = 1; i < count; ++i) {
    GElf_Sym sym;
    GElf_Addr address = 0;
    GElf_Word shndx = 0;
    Elf* elf = nullptr;
    Dwarf_Addr bias = 0;
    const char* name = dwfl_module_getsym_info(module, i, &sym, &address, &shndx, &elf, &bias);
    if (name == nullptr || name[0] == '\0' || elf == nullptr) continue;
    int type = GELF_ST_TYPE(sym.st_info);
    if (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE) continue;
    if (shndx == SHN_UNDEF || shndx >= SHN_LORESERVE) continue;
    // Only code: this also drops NOTYPE markers such as _end or __bss_start.
    GElf_Shdr shdr;
    Elf_Scn* section = elf_getscn(elf, shndx);
    if (section == nullptr || gelf_getshdr(section, &shdr) == nullptr || (shdr.sh_flags & SHF_EXECINSTR) == 0) {
      continue;
    }
    candidates.push_back(SymbolCandidate{address, sym.st_size, name, static_cast<uint8_t>(GELF_ST_BIND(sym.st_info)),
                                         shdr.sh_addr + shdr.sh_size + bias});
  }
  return SymbolIndex::build(std::move(candidates));
}

// Compressed or non-ELF files make elfutils take paths where it may close the
// descriptor itself; checking the magic first keeps fd ownership simple.
bool has_elf_magic(int fd) {
  unsigned char magic[SELFMAG];
  return ::pread(fd, magic, SELFMAG, 0) == SELFMAG && std::memcmp(magic, ELFMAG, SELFMAG) == 0;
}

}  // namespace

// The elfutils session for one file. elfutils reads the debug search path
// through a char** kept in the callbacks, so all of it lives at one stable
// address.
struct ElfSymbolizer::Session {
  std::string debuginfo_path;
  char* debuginfo_path_cstr = nullptr;
  Dwfl_Callbacks callbacks{};
  Dwfl* dwfl = nullptr;
  Dwfl_Module* module = nullptr;
  uint64_t bias = 0;  // module address = ELF vaddr + bias
  bool source_lines = true;
  std::optional<SymbolIndex> symbols;  // built at the first lookup
  DwarfScopeIndex scopes;              // grows per compilation unit looked up
  std::vector<Dwarf_Die> scope_scratch;
  std::unique_ptr<CallFrameRules> frame_rules;
  bool frame_rules_attempted = false;

  ~Session() {
    frame_rules.reset();                  // refers to CFI the Dwfl owns
    if (dwfl != nullptr) dwfl_end(dwfl);  // closes the file descriptor
  }
};

ElfSymbolizer::ElfSymbolizer() : session_(std::make_unique<Session>()) {}
ElfSymbolizer::~ElfSymbolizer() = default;

Result<std::unique_ptr<ElfSymbolizer>> ElfSymbolizer::open(const std::string& path_to_open,
                                                           const std::string& display_path,
                                                           const SymbolizerOptions& options) {
  // O_NONBLOCK: a FIFO planted at the path must not hang the agent; open_fd
  // then rejects anything but a regular file.
  int fd = ::open(path_to_open.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Status::from_errno(errno, "opening " + display_path);
  return open_fd(fd, path_to_open, display_path, options);
}

Result<std::unique_ptr<ElfSymbolizer>> ElfSymbolizer::open_fd(int fd, const std::string& debuglink_base,
                                                              const std::string& display_path,
                                                              const SymbolizerOptions& options) {
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status(ErrorCode::kUnsupported, display_path + ": not a regular file");
  }
  if (!has_elf_magic(fd)) {
    ::close(fd);
    return Status(ErrorCode::kUnsupported, display_path + ": not an ELF file");
  }
  std::unique_ptr<ElfSymbolizer> self(new ElfSymbolizer());
  self->display_path_ = display_path;
  Session& s = *self->session_;
  for (const std::string& dir : options.debug_dirs) s.debuginfo_path += dir + ":";
  s.debuginfo_path += kDefaultDebugSearchPath;
  s.debuginfo_path_cstr = s.debuginfo_path.data();
  s.source_lines = options.source_lines;
  s.callbacks.find_elf = dwfl_build_id_find_elf;
  s.callbacks.find_debuginfo = find_debuginfo_locally;
  s.callbacks.section_address = dwfl_offline_section_address;
  s.callbacks.debuginfo_path = &s.debuginfo_path_cstr;

  s.dwfl = dwfl_begin(&s.callbacks);
  if (s.dwfl == nullptr) {
    ::close(fd);
    return Status(ErrorCode::kInternal, "dwfl_begin: " + dwfl_error());
  }
  dwfl_report_begin(s.dwfl);
  // Base 0 relative to p_vaddr: module addresses are the file's own vaddrs
  // (any residual bias is read back below). `debuglink_base` names the file
  // so .gnu_debuglink is searched next to it.
  s.module = dwfl_report_elf(s.dwfl, display_path.c_str(), debuglink_base.c_str(), fd, 0, true);
  if (s.module == nullptr) {
    ::close(fd);  // only consumed on success
    return Status(ErrorCode::kUnsupported, display_path + ": " + dwfl_error());
  }
  dwfl_report_end(s.dwfl, nullptr, nullptr);
  // find_debuginfo_locally reads the search path from the module's userdata.
  void** userdata = nullptr;
  dwfl_module_info(s.module, &userdata, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
  if (userdata != nullptr) *userdata = &s.debuginfo_path;

  GElf_Addr bias = 0;
  Elf* elf = dwfl_module_getelf(s.module, &bias);
  if (elf == nullptr) return Status(ErrorCode::kCorruptData, display_path + ": " + dwfl_error());
  s.bias = bias;

  size_t phnum = 0;
  if (elf_getphdrnum(elf, &phnum) != 0) {
    return Status(ErrorCode::kCorruptData, display_path + ": unreadable program headers");
  }
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr phdr;
    if (gelf_getphdr(elf, static_cast<int>(i), &phdr) != nullptr && phdr.p_type == PT_LOAD) {
      self->loads_.push_back(LoadSegment{phdr.p_offset, phdr.p_vaddr, phdr.p_filesz});
    }
  }

  const unsigned char* bits = nullptr;
  GElf_Addr build_id_vaddr = 0;
  int length = dwfl_module_build_id(s.module, &bits, &build_id_vaddr);
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < length; ++i) {
    self->build_id_ += kHex[bits[i] >> 4];
    self->build_id_ += kHex[bits[i] & 0xf];
  }

  // Bind the symbol table now, while the target's files (and its mount
  // namespace) still exist: for a stripped file this finds and opens the
  // separate debug file, which then also serves DWARF. DWARF itself is loaded
  // at the first lookup, not here: distribution debug files have compressed
  // sections (libc's: ~100 ms and tens of MB to inflate), and most mapped
  // files are never sampled. Failure is not an error: symbols then come from
  // .dynsym, or the file stays unresolved.
  dwfl_module_getsymtab(s.module);
  return self;
}

std::optional<uint64_t> ElfSymbolizer::file_offset_to_vaddr(uint64_t file_offset) const {
  for (const LoadSegment& load : loads_) {
    if (file_offset >= load.offset && file_offset - load.offset < load.filesz) {
      return load.vaddr + (file_offset - load.offset);
    }
  }
  return std::nullopt;
}

SourceSymbol ElfSymbolizer::symbolize(uint64_t elf_vaddr) {
  auto it = cache_.find(elf_vaddr);
  if (it != cache_.end()) return it->second;
  if (cache_.size() >= kMaxCachedSymbols) {
    cache_.clear();
    ++symbol_cache_resets_;
  }
  SourceSymbol symbol = lookup(elf_vaddr);
  cache_.emplace(elf_vaddr, symbol);
  return symbol;
}

uint64_t ElfSymbolizer::cache_resets() const {
  const CallFrameRules* rules = session_->frame_rules.get();
  return symbol_cache_resets_ + (rules != nullptr ? rules->cache_resets() : 0);
}

CallFrameRules* ElfSymbolizer::call_frame_rules() {
  Session& s = *session_;
  if (!s.frame_rules_attempted) {
    s.frame_rules_attempted = true;
    // .eh_frame first: it is in the loaded file and always complete for
    // code that can throw or be cancelled. .debug_frame may need the separate
    // debug file, whose loading costs far more.
    Dwarf_Addr cfi_bias = 0;
    Dwarf_CFI* cfi = dwfl_module_eh_cfi(s.module, &cfi_bias);
    if (cfi == nullptr) cfi = dwfl_module_dwarf_cfi(s.module, &cfi_bias);
    if (cfi != nullptr) {
      // module address = ELF vaddr + s.bias = CFI address + cfi_bias
      s.frame_rules = std::make_unique<CallFrameRules>(
          cfi, static_cast<int64_t>(s.bias) - static_cast<int64_t>(cfi_bias));
    }
  }
  return s.frame_rules.get();
}

SourceSymbol ElfSymbolizer::lookup(uint64_t elf_vaddr) {
  Session& s = *session_;
  SourceSymbol symbol;
  GElf_Addr address = elf_vaddr + s.bias;
  if (!s.symbols) s.symbols = index_symbols(s.module);
  if (const char* name = s.symbols->find(address)) symbol.function = demangle(name);
  if (s.source_lines) add_dwarf_info(s.module, address, s.scopes, s.scope_scratch, symbol);
  symbol.resolved = !symbol.function.empty();
  if (!symbol.resolved) {
    // A position without a function is not a symbol we can stand behind.
    symbol.file.clear();
    symbol.line = 0;
    symbol.inlined.clear();
  }
  return symbol;
}

}  // namespace flare::agent
