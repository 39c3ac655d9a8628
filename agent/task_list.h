// The threads of a process as /proc shows them now: id, scheduler state
// letter and name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flare::agent {

struct TaskState {
  uint32_t tid = 0;
  char state = '?';  // R, S, D, T, t, Z, X, I, ...
  std::string comm;
};

// One /proc/PID/task/TID/stat line: "TID (COMM) STATE ...". The name may
// itself contain ") ", so the last ')' ends it.
std::optional<TaskState> parse_task_stat(std::string_view line);

// Empty when the process is gone; threads that exit while listed are skipped.
std::vector<TaskState> list_task_states(uint32_t pid);

}  // namespace flare::agent
