#include "agent/local_debuginfo.h"

#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <cstring>

namespace flare::agent {

namespace {

std::string_view directory_of(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  return slash == 0 ? std::string_view("/") : path.substr(0, slash);
}

std::string join(std::string_view a, std::string_view b) {
  std::string out(a);
  if (out.empty() || out.back() != '/') out += '/';
  out += b;
  return out;
}

// The debug file belongs to the module: the same build-id when the module
// has one, else the CRC-32 its .gnu_debuglink recorded.
bool belongs_to(int fd, Dwfl_Module* module, GElf_Word debuglink_crc) {
  const unsigned char* module_id = nullptr;
  GElf_Addr id_vaddr = 0;
  int module_id_len = dwfl_module_build_id(module, &module_id, &id_vaddr);
  if (module_id_len > 0) {
    Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
    if (elf == nullptr) return false;
    const void* id = nullptr;
    ssize_t len = dwelf_elf_gnu_build_id(elf, &id);
    bool same = len == module_id_len && std::memcmp(id, module_id, static_cast<size_t>(len)) == 0;
    elf_end(elf);
    return same;
  }
  uLong crc = crc32(0, nullptr, 0);
  unsigned char buffer[64 * 1024];
  off_t offset = 0;
  while (true) {
    ssize_t n = ::pread(fd, buffer, sizeof buffer, offset);
    if (n < 0) return false;
    if (n == 0) break;
    crc = crc32(crc, buffer, static_cast<uInt>(n));
    offset += n;
  }
  return static_cast<GElf_Word>(crc) == debuglink_crc;
}

}  // namespace

std::vector<std::string> debuglink_candidates(std::string_view debuginfo_path, std::string_view file_name,
                                              std::string_view debuglink) {
  const std::string_view dir = directory_of(file_name);
  std::vector<std::string> candidates;
  size_t start = 0;
  while (start <= debuginfo_path.size()) {
    size_t end = debuginfo_path.find(':', start);
    if (end == std::string_view::npos) end = debuginfo_path.size();
    std::string_view entry = debuginfo_path.substr(start, end - start);
    if (entry.empty()) {
      candidates.push_back(join(dir, debuglink));
    } else if (entry.front() != '/') {
      candidates.push_back(join(join(dir, entry), debuglink));
    } else {
      candidates.push_back(join(std::string(entry) + std::string(dir), debuglink));
    }
    start = end + 1;
  }
  return candidates;
}

int find_debuginfo_locally(Dwfl_Module* module, void** userdata, const char* module_name, Dwarf_Addr base,
                           const char* file_name, const char* debuglink_file, GElf_Word debuglink_crc,
                           char** debuginfo_file_name) {
  int fd = dwfl_build_id_find_debuginfo(module, userdata, module_name, base, file_name, debuglink_file,
                                        debuglink_crc, debuginfo_file_name);
  if (fd >= 0 || file_name == nullptr) return fd;
  // Without a .gnu_debuglink, libdw looks for "<file name>.debug".
  const std::string_view name(file_name);
  const std::string debuglink =
      debuglink_file != nullptr ? std::string(debuglink_file) : std::string(name.substr(name.rfind('/') + 1)) + ".debug";
  const std::string* search_path = userdata != nullptr ? static_cast<const std::string*>(*userdata) : nullptr;
  const std::string_view path = search_path != nullptr ? std::string_view(*search_path) : kDefaultDebugSearchPath;
  for (const std::string& candidate : debuglink_candidates(path, name, debuglink)) {
    if (candidate == name) continue;  // the file itself
    int candidate_fd = ::open(candidate.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (candidate_fd < 0) continue;
    if (belongs_to(candidate_fd, module, debuglink_crc)) {
      *debuginfo_file_name = ::strdup(candidate.c_str());
      return candidate_fd;
    }
    ::close(candidate_fd);
  }
  return -1;
}

}  // namespace flare::agent
