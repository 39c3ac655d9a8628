// uprobe_multi links (kernel 6.6; sessions 6.13) created with the raw bpf()
// syscall: they postdate Debian's libbpf 1.1. One link puts a program on
// many offsets of one file, for one process only, each with a cookie the
// program reads with bpf_get_attach_cookie(). Closing the fd detaches it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/unique_fd.h"
#include "common/status.h"

namespace flare::agent {

// Attach types newer than the UAPI headers libbpf 1.1 ships with.
constexpr uint32_t kAttachUprobeMulti = 48;
constexpr uint32_t kAttachUprobeSession = 57;

Result<UniqueFd> create_uprobe_multi_link(int prog_fd, uint32_t attach_type, const std::string& path,
                                          const std::vector<uint64_t>& offsets, const std::vector<uint64_t>& cookies,
                                          uint32_t pid);

}  // namespace flare::agent
