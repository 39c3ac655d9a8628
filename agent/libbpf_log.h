// libbpf prints diagnostics through a callback. flare keeps them quiet by
// default (a user wants one clear error line, not a verifier dump) but keeps
// the last warning so a failure can say what libbpf saw; --verbose prints all.
#pragma once

#include <string>

namespace flare::agent {

void install_libbpf_logger(bool verbose);
std::string last_libbpf_warning();

}  // namespace flare::agent
