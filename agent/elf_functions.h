// The defined functions of one ELF file by name, with where their code lies
// in the file: what uprobes need (they are placed by file offset) and what
// the allocation tracer needs to choose a probe site (the first bytes).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace flare::agent {

struct ElfFunction {
  uint64_t vaddr = 0;        // st_value
  uint64_t size = 0;         // st_size
  uint64_t file_offset = 0;  // of the entry, through the PT_LOAD segment holding it
};

class ElfFunctions {
 public:
  // Reads .dynsym and .symtab of the file at `path` (e.g. a
  // /proc/PID/map_files/... link): functions and variables with a size,
  // defined in the file.
  static Result<ElfFunctions> read(const std::string& path);

  const ElfFunction* find(const std::string& name) const;
  const std::map<std::string, ElfFunction>& functions() const { return functions_; }
  // The address (st_value) of a defined data symbol with a size.
  std::optional<uint64_t> find_variable(const std::string& name) const;
  bool has_section(const std::string& name) const { return sections_.count(name) != 0; }
  // Has a program interpreter (PT_INTERP): the dynamic linker loads its
  // libraries, libc among them. False for a static executable.
  bool has_interpreter() const { return has_interpreter_; }
  // Up to `n` bytes of the file at `file_offset` (fewer at the end).
  Result<std::vector<uint8_t>> code(uint64_t file_offset, size_t n) const;

 private:
  std::string path_;
  std::map<std::string, ElfFunction> functions_;
  std::map<std::string, uint64_t> variables_;
  std::set<std::string> sections_;
  bool has_interpreter_ = false;
};

}  // namespace flare::agent
