// The GNU build-id of an ELF file, read from its notes without indexing
// anything else: cheap enough to ask before deciding to open a file fully.
#pragma once

#include <string>

namespace flare::agent {

// Lowercase hex of the NT_GNU_BUILD_ID note of the ELF file open on `fd`
// (not consumed), "" when it has none or is not ELF.
std::string read_elf_build_id(int fd);

}  // namespace flare::agent
