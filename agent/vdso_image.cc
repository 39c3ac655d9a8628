#include "agent/vdso_image.h"

#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <string>

#include "agent/proc_maps.h"

namespace flare::agent {

Result<UniqueFd> open_vdso_image() {
  const uint64_t base = getauxval(AT_SYSINFO_EHDR);
  if (base == 0) return Status(ErrorCode::kNotFound, "this process has no vDSO");
  // The image's size is its mapping's ([vvar] pages sit apart from it).
  FLARE_ASSIGN_OR_RETURN(std::vector<MapEntry> maps, read_proc_maps(static_cast<uint32_t>(getpid())));
  uint64_t size = 0;
  for (const MapEntry& m : maps) {
    if (m.path == "[vdso]" && m.start == base) size = m.end - m.start;
  }
  if (size == 0) return Status(ErrorCode::kNotFound, "the vDSO mapping is not in /proc/self/maps");
  UniqueFd fd(::memfd_create("flare-vdso", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid()) return Status::from_errno(errno, "memfd_create for the vDSO image");
  const char* bytes = reinterpret_cast<const char*>(base);
  for (uint64_t done = 0; done < size;) {
    ssize_t n = ::write(fd.get(), bytes + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::from_errno(errno, "copying the vDSO image");
    done += static_cast<uint64_t>(n);
  }
  (void)::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  return fd;
}

}  // namespace flare::agent
