#include "agent/allocator_libraries.h"

#include <cstdio>
#include <filesystem>
#include <string_view>

#include "agent/elf_functions.h"

namespace flare::agent {

namespace {

std::string_view basename_of(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

MappedLibrary library_of(const MapEntry& m) {
  return MappedLibrary{m.path, m.start, m.end, m.inode, m.dev_major, m.dev_minor};
}

}  // namespace

AllocatorLibraries find_allocator_libraries(const std::vector<MapEntry>& maps) {
  AllocatorLibraries out;
  for (const MapEntry& m : maps) {
    if (!m.file_backed() || !m.executable()) continue;
    std::string_view name = basename_of(m.path);
    // libc.so.6, or libc-2.31.so in older layouts; not libcrypt, libcap, ...
    if (!out.libc && (starts_with(name, "libc.so") || (starts_with(name, "libc-") && name.ends_with(".so")))) {
      out.libc = library_of(m);
    } else if (!out.libstdcxx && starts_with(name, "libstdc++.so")) {
      out.libstdcxx = library_of(m);
    } else if (name.find("jemalloc") != std::string_view::npos || name.find("tcmalloc") != std::string_view::npos ||
               name.find("mimalloc") != std::string_view::npos) {
      out.other_allocators.push_back(m.path);
    }
  }
  return out;
}

std::vector<std::string> executable_allocator_warnings(uint32_t pid) {
  const std::string exe = "/proc/" + std::to_string(pid) + "/exe";
  auto functions = ElfFunctions::read(exe);
  if (!functions.is_ok()) return {};
  std::error_code ec;
  std::string path = std::filesystem::read_symlink(exe, ec).string();
  if (ec) path = exe;
  std::vector<std::string> out;
  // .go.buildinfo and .gopclntab stay in stripped Go binaries.
  if (functions->find("runtime.mallocgc") || functions->has_section(".go.buildinfo") ||
      functions->has_section(".gopclntab")) {
    out.push_back(path + " is a Go program: its Go heap allocations are not seen, only those through glibc (cgo)");
  } else if (functions->find("malloc")) {
    out.push_back(path + " has its own malloc: allocations it serves are not seen (flare hooks glibc's allocator)");
  } else if (!functions->has_interpreter()) {
    out.push_back(path + " is statically linked: its allocations are not seen (flare hooks glibc's shared libc)");
  }
  return out;
}

std::vector<std::string> library_open_paths(uint32_t pid, const MappedLibrary& lib) {
  char range[64];
  std::snprintf(range, sizeof range, "%llx-%llx", static_cast<unsigned long long>(lib.start),
                static_cast<unsigned long long>(lib.end));
  const std::string proc = "/proc/" + std::to_string(pid);
  return {proc + "/map_files/" + range, proc + "/root" + lib.path};
}

}  // namespace flare::agent
