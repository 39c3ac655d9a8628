#include "agent/libbpf_owners.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <string>

namespace flare::agent {

Result<uint64_t> program_recursion_misses(bpf_object* object, const char* what) {
  uint64_t misses = 0;
  bpf_program* program = nullptr;
  bpf_object__for_each_program(program, object) {
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(bpf_program__fd(program), &info, &len) != 0) {
      return Status::from_errno(errno, std::string("reading the ") + what + " programs' run statistics");
    }
    misses += info.recursion_misses;
  }
  return misses;
}

}  // namespace flare::agent
