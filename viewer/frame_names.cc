#include "viewer/frame_names.h"

#include <cinttypes>
#include <cstdio>
#include <string_view>

namespace flare::viewer {

namespace {

std::string hex(uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, value);
  return buf;
}

}  // namespace

std::string_view mapping_short_name(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash != std::string_view::npos) path.remove_prefix(slash + 1);
  if (path.size() >= 2 && path.front() == '[' && path.back() == ']') {
    path = path.substr(1, path.size() - 2);
  }
  return path;
}

bool frame_is_resolved(const rec::Recording& rec, const rec::FrameInfo& frame) {
  return (frame.flags & rec::kFrameResolved) != 0 && frame.function != 0 && !rec.str(frame.function).empty();
}

std::string frame_display_name(const rec::Recording& rec, const rec::FrameInfo& frame) {
  if (frame_is_resolved(rec, frame)) return rec.str(frame.function);
  if (frame.kind == rec::FrameKind::kKernel) return "[kernel] " + hex(frame.address);
  if (frame.mapping != 0 && frame.mapping < rec.mappings.size()) {
    const rec::MappingInfo& m = rec.mappings[frame.mapping];
    std::string_view name = mapping_short_name(rec.str(m.path));
    // An anonymous mapping (JIT code, say) has no file the offset could be
    // looked up in, so only the absolute address means anything.
    if (!name.empty() && frame.address >= m.start) {
      std::string out = "[";
      out += name;
      out += '+';
      out += hex(frame.address - m.start + m.file_offset);
      out += ']';
      return out;
    }
  }
  return "[unknown] " + hex(frame.address);
}

std::string thread_display_name(const rec::Recording& rec, uint32_t tid) {
  auto it = rec.threads.find(tid);
  if (it != rec.threads.end()) {
    const std::string& name = rec.str(it->second.name);
    if (!name.empty()) return name;
  }
  return "tid-" + std::to_string(tid);
}

}  // namespace flare::viewer
