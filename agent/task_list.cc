#include "agent/task_list.h"

#include <charconv>
#include <filesystem>
#include <fstream>

namespace flare::agent {

std::optional<TaskState> parse_task_stat(std::string_view line) {
  size_t open = line.find(" (");
  size_t close = line.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open + 2 ||
      close + 2 >= line.size()) {
    return std::nullopt;
  }
  TaskState task;
  auto [end, ec] = std::from_chars(line.data(), line.data() + open, task.tid);
  if (ec != std::errc() || end != line.data() + open) return std::nullopt;
  task.comm = std::string(line.substr(open + 2, close - open - 2));
  task.state = line[close + 2];
  return task;
}

std::vector<TaskState> list_task_states(uint32_t pid) {
  std::vector<TaskState> tasks;
  std::error_code ec;
  const std::filesystem::path dir = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::ifstream f(entry.path() / "stat");
    std::string line;
    if (!std::getline(f, line)) continue;
    if (auto task = parse_task_stat(line)) tasks.push_back(std::move(*task));
  }
  return tasks;
}

}  // namespace flare::agent
