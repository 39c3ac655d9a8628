// One conversion of a libbpf/bpf() failure into a Status, shared by every BPF
// owner: permission problems say which capabilities flare needs, anything
// else carries libbpf's last warning (e.g. the verifier's complaint).
#pragma once

#include <string>

#include "common/status.h"

namespace flare::agent {

Status bpf_error(int err, const std::string& what);

}  // namespace flare::agent
