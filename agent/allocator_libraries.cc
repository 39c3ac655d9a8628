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

bool same_file(const MappedLibrary& a, const MapEntry& b) {
  return a.inode == b.inode && a.dev_major == b.dev_major && a.dev_minor == b.dev_minor;
}

}  // namespace

bool is_replacement_allocator_name(const std::string& path) {
  std::string_view name = basename_of(path);
  return starts_with(name, "lib") && (name.find("jemalloc") != std::string_view::npos ||
                                      name.find("tcmalloc") != std::string_view::npos ||
                                      name.find("mimalloc") != std::string_view::npos);
}

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
    } else if (is_replacement_allocator_name(m.path)) {
      bool known = false;
      for (const MappedLibrary& r : out.replacements) known = known || same_file(r, m);
      if (!known) out.replacements.push_back(library_of(m));
    }
  }
  return out;
}

bool is_go_executable(const ElfFunctions& functions) {
  // .go.buildinfo and .gopclntab stay in stripped Go binaries.
  return functions.find("runtime.mallocgc") || functions.has_section(".go.buildinfo") ||
         functions.has_section(".gopclntab");
}

ExecutableAllocator classify_executable(uint32_t pid, const std::vector<MapEntry>& maps) {
  ExecutableAllocator out;
  const std::string exe = "/proc/" + std::to_string(pid) + "/exe";
  std::error_code ec;
  out.path = std::filesystem::read_symlink(exe, ec).string();
  if (ec) out.path = exe;
  auto functions = ElfFunctions::read(exe);
  if (!functions.is_ok()) return out;
  for (const MapEntry& m : maps) {
    if (m.file_backed() && m.executable() && m.path == out.path) {
      out.mapping = library_of(m);
      break;
    }
  }
  if (is_go_executable(*functions)) {
    out.kind = ExecutableAllocator::Kind::kGo;
  } else if (functions->find("malloc") && functions->find("free")) {
    // Without its mapping (a deleted or replaced file) it cannot be probed.
    out.kind = out.mapping ? ExecutableAllocator::Kind::kOwnMalloc : ExecutableAllocator::Kind::kUnreadable;
  } else if (!functions->has_interpreter()) {
    out.kind = ExecutableAllocator::Kind::kUnreadable;
  }
  return out;
}

std::string executable_allocator_warning(const ExecutableAllocator& exe) {
  switch (exe.kind) {
    case ExecutableAllocator::Kind::kGo:
      if (exe.mapping) break;  // its runtime's sampling is probed
      return exe.path + " is a Go program whose mapping flare cannot find: its Go heap allocations are not seen";
    case ExecutableAllocator::Kind::kUnreadable:
      return exe.path + " is statically linked without a malloc flare can find (no symbols?): its allocations are "
                        "not seen";
    case ExecutableAllocator::Kind::kNone:
    case ExecutableAllocator::Kind::kOwnMalloc:
      break;
  }
  return {};
}

std::vector<std::string> library_open_paths(uint32_t pid, const MappedLibrary& lib) {
  char range[64];
  std::snprintf(range, sizeof range, "%llx-%llx", static_cast<unsigned long long>(lib.start),
                static_cast<unsigned long long>(lib.end));
  const std::string proc = "/proc/" + std::to_string(pid);
  return {proc + "/map_files/" + range, proc + "/root" + lib.path};
}

}  // namespace flare::agent
