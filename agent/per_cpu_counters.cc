#include "agent/per_cpu_counters.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>

namespace flare::agent {

Result<std::vector<std::vector<uint64_t>>> read_per_cpu_counters(int fd, uint32_t n_causes, const std::string& what) {
  int ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) return Status::from_errno(-ncpus, "counting possible CPUs");
  std::vector<std::vector<uint64_t>> counters(n_causes);
  for (uint32_t cause = 0; cause < n_causes; ++cause) {
    counters[cause].resize(static_cast<size_t>(ncpus));
    if (bpf_map_lookup_elem(fd, &cause, counters[cause].data()) != 0) {
      return Status::from_errno(errno, "reading the " + what);
    }
  }
  return counters;
}

}  // namespace flare::agent
