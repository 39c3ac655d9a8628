#include "viewer/folded.h"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "viewer/frame_names.h"
#include "viewer/sample_counts.h"
#include "viewer/view_stack.h"

namespace flare::viewer {

namespace {

// ';' separates frames and a line ends at '\n', so neither may appear inside
// a name. The trailing " count" is found from the right, so spaces are fine.
void append_name(std::string& line, std::string_view name) {
  size_t start = line.size();
  line.append(name);
  for (size_t i = start; i < line.size(); ++i) {
    char& c = line[i];
    if (c == ';')
      c = ':';
    else if (c == '\n' || c == '\r')
      c = ' ';
  }
}

}  // namespace

Status write_folded(const rec::Recording& rec, const ViewOptions& options, std::ostream& out) {
  // Names are computed once per frame, not once per appearance in a stack.
  std::vector<std::string> frame_names(rec.frames.size());
  std::vector<bool> named(rec.frames.size(), false);
  auto name_of = [&](uint32_t id) -> const std::string& {
    if (!named[id]) {
      const rec::FrameInfo& f = rec.frames[id];
      std::string name = frame_display_name(rec, f);
      if (f.kind == rec::FrameKind::kKernel && frame_is_resolved(rec, f)) name += "_[k]";
      frame_names[id] = std::move(name);
      named[id] = true;
    }
    return frame_names[id];
  };

  // Different stacks can print alike (same names, different addresses) and
  // different threads can share a name, so lines are merged by text.
  std::unordered_map<std::string, uint64_t> lines;
  std::unordered_map<uint32_t, std::string> thread_names;
  std::vector<uint32_t> frames;
  std::string line;
  for (const StackThreadCount& c : count_by_stack_and_thread(rec.samples)) {
    auto [thread, inserted] = thread_names.try_emplace(c.tid);
    if (inserted) thread->second = thread_display_name(rec, c.tid);
    line.clear();
    append_name(line, thread->second);
    std::string_view placeholder = view_stack(rec, c.stack, options, frames);
    if (!placeholder.empty()) {
      line += ';';
      line += placeholder;
    }
    for (auto it = frames.rbegin(); it != frames.rend(); ++it) {  // root first
      line += ';';
      append_name(line, name_of(*it));
    }
    lines[line] += c.count;
  }

  std::vector<std::pair<std::string, uint64_t>> sorted(lines.begin(), lines.end());
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [text, count] : sorted) out << text << ' ' << count << '\n';
  out.flush();
  if (!out) return Status(ErrorCode::kIo, "writing folded stacks failed");
  return Status::ok();
}

}  // namespace flare::viewer
