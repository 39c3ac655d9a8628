// Opening a file the way a target process sees it, from the agent.
#pragma once

#include <string>

namespace flare::agent {

// Opens `path` (absolute, as the target sees it) read-only inside `root`
// (e.g. /proc/PID/root). RESOLVE_IN_ROOT keeps absolute symlinks inside the
// target's root: with a plain open of /proc/PID/root/path they would resolve
// against the agent's root, letting a container point the (privileged)
// agent at any host file. O_NONBLOCK: a FIFO must not hang the agent.
// Returns the descriptor, or -1 with errno set.
int open_in_root(const std::string& root, const std::string& path);

}  // namespace flare::agent
