#include "agent/uprobe_multi_link.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace flare::agent {

namespace {

// Attach types and the link_create layout of uprobe_multi links (kernel
// 6.6; sessions 6.13), newer than the UAPI headers libbpf 1.1 ships with.
constexpr uint32_t kBpfLinkCreate = 28;

struct UprobeMultiLinkAttr {
  uint32_t prog_fd;
  uint32_t target_fd;
  uint32_t attach_type;
  uint32_t flags;
  uint64_t path;
  uint64_t offsets;
  uint64_t ref_ctr_offsets;
  uint64_t cookies;
  uint32_t cnt;
  uint32_t multi_flags;
  uint32_t pid;
  uint32_t pad;
};

}  // namespace

Result<UniqueFd> create_uprobe_multi_link(int prog_fd, uint32_t attach_type, const std::string& path,
                                          const std::vector<uint64_t>& offsets, const std::vector<uint64_t>& cookies,
                                          uint32_t pid) {
  UprobeMultiLinkAttr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.prog_fd = static_cast<uint32_t>(prog_fd);
  attr.attach_type = attach_type;
  attr.path = reinterpret_cast<uint64_t>(path.c_str());
  attr.offsets = reinterpret_cast<uint64_t>(offsets.data());
  attr.cookies = reinterpret_cast<uint64_t>(cookies.data());
  attr.cnt = static_cast<uint32_t>(offsets.size());
  attr.pid = pid;
  int fd = static_cast<int>(syscall(SYS_bpf, kBpfLinkCreate, &attr, sizeof attr));
  if (fd < 0 && errno == EINVAL) {
    // The kernel refuses a uprobe where another one sits with a different
    // reference counter offset (dmesg: "ref_ctr_offset mismatch"); bcc's
    // memleak leaves such uprobes on malloc while it runs.
    return Status(ErrorCode::kUnsupported,
                  "attaching uprobes to " + path +
                      " was refused (invalid argument): another tracer may hold uprobes on the same functions "
                      "(bcc's memleak does; dmesg says 'ref_ctr_offset mismatch'); stop it and retry");
  }
  if (fd < 0) return Status::from_errno(errno, "attaching uprobes to " + path);
  return UniqueFd(fd);
}

}  // namespace flare::agent
