#include "agent/open_in_root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace flare::agent {

int open_in_root(const std::string& root, const std::string& path) {
  constexpr uint64_t kFlags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
  int dirfd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) return -1;
  struct open_how how{};
  how.flags = kFlags;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof(how)));
  if (fd < 0 && errno == ENOSYS) {
    // Kernels before 5.6; callers check that what they opened is what they
    // expected (the mapped inode, a regular file).
    fd = ::open((root + path).c_str(), static_cast<int>(kFlags));
  }
  int saved = errno;
  ::close(dirfd);
  errno = saved;
  return fd;
}

}  // namespace flare::agent
