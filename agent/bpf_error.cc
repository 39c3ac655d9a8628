#include "agent/bpf_error.h"

#include <cerrno>

#include "agent/libbpf_log.h"

namespace flare::agent {

Status bpf_error(int err, const std::string& what) {
  if (err == EPERM || err == EACCES) {
    return Status(ErrorCode::kPermissionDenied,
                  what + ": permission denied; flare needs CAP_BPF and CAP_PERFMON (or root)");
  }
  std::string detail = last_libbpf_warning();
  Status st = Status::from_errno(err, what);
  return detail.empty() ? st : st.with_context(detail).with_context(what);
}

}  // namespace flare::agent
