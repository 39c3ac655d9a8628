#include "viewer/folded.h"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "viewer/frame_names.h"
#include "viewer/view_stack.h"
#include "viewer/weighted_stacks.h"

namespace flare::viewer {

namespace {

// bcc's offwaketime separator between the blocked stack and the waker's.
constexpr std::string_view kWakerSeparator = "--";

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

class LineBuilder {
 public:
  LineBuilder(const rec::Recording& rec, const ViewOptions& options)
      : rec_(rec), options_(options), frame_names_(rec.frames.size()), named_(rec.frames.size(), false) {}

  const std::string& thread(uint32_t tid) {
    auto [it, inserted] = thread_names_.try_emplace(tid);
    if (inserted) it->second = thread_display_name(rec_, tid);
    return it->second;
  }

  // The stack's frames, root first, or leaf first for a waker's stack.
  void append_stack(std::string& line, uint32_t stack, bool leaf_first) {
    std::string_view placeholder = view_stack(rec_, stack, options_, frames_);
    if (!placeholder.empty()) {
      line += ';';
      line += placeholder;
    }
    auto append = [&](uint32_t id) {
      line += ';';
      append_name(line, name_of(id));
    };
    if (leaf_first) {
      std::for_each(frames_.begin(), frames_.end(), append);
    } else {
      std::for_each(frames_.rbegin(), frames_.rend(), append);
    }
  }

 private:
  // Names are computed once per frame, not once per appearance in a stack.
  const std::string& name_of(uint32_t id) {
    if (!named_[id]) {
      const rec::FrameInfo& f = rec_.frames[id];
      std::string name = frame_display_name(rec_, f);
      if (f.kind == rec::FrameKind::kKernel && frame_is_resolved(rec_, f)) name += "_[k]";
      frame_names_[id] = std::move(name);
      named_[id] = true;
    }
    return frame_names_[id];
  }

  const rec::Recording& rec_;
  const ViewOptions& options_;
  std::vector<std::string> frame_names_;
  std::vector<bool> named_;
  std::unordered_map<uint32_t, std::string> thread_names_;
  std::vector<uint32_t> frames_;
};

}  // namespace

Status write_folded(const rec::Recording& rec, const ViewOptions& options, std::ostream& out) {
  FLARE_RETURN_IF_ERROR(check_signal_recorded(rec, options.signal));
  LineBuilder builder(rec, options);
  const bool with_waker = options.signal == Signal::kOffCpu;

  // Different stacks can print alike (same names, different addresses) and
  // different threads can share a name, so lines are merged by text.
  std::unordered_map<std::string, uint64_t> lines;
  std::string line;
  for (const WeightedStack& w : weighted_stacks(rec, options.signal)) {
    line.clear();
    append_name(line, builder.thread(w.tid));
    if (w.totals_only) {
      line += ';';
      line += kUntracedOffCpuFrame;
    } else {
      builder.append_stack(line, w.stack, false);
    }
    if (with_waker && w.waker_tid != 0) {
      line += ';';
      line += kWakerSeparator;
      builder.append_stack(line, w.waker_stack, true);
      line += ';';
      append_name(line, builder.thread(w.waker_tid));
    }
    lines[line] += view_weight(w, options.signal);
  }

  std::vector<std::pair<std::string, uint64_t>> sorted(lines.begin(), lines.end());
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [text, value] : sorted) {
    // Samples for cpu, bytes for alloc and inuse, times in rounded microseconds.
    uint64_t shown = (options.signal == Signal::kCpu || is_alloc_signal(options.signal)) ? value : (value + 500) / 1000;
    if (shown != 0) out << text << ' ' << shown << '\n';
  }
  out.flush();
  if (!out) return Status(ErrorCode::kIo, "writing folded stacks failed");
  return Status::ok();
}

}  // namespace flare::viewer
