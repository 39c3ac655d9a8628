#include "common/status.h"

#include <cerrno>
#include <cstring>

namespace flare {

Status Status::from_errno(int err, const std::string& what) {
  ErrorCode code = ErrorCode::kIo;
  switch (err) {
    case EPERM:
    case EACCES:
      code = ErrorCode::kPermissionDenied;
      break;
    case ENOENT:
    case ESRCH:
      code = ErrorCode::kNotFound;
      break;
    case EINVAL:
      code = ErrorCode::kInvalidArgument;
      break;
    case EOPNOTSUPP:
    case ENOSYS:
      code = ErrorCode::kUnsupported;
      break;
    default:
      break;
  }
  return Status(code, what + ": " + std::strerror(err));
}

}  // namespace flare
