#include "viewer/call_tree.h"

#include <limits>

#include "viewer/frame_names.h"
#include "viewer/view_options.h"
#include "viewer/view_stack.h"

namespace flare::viewer {

namespace {

constexpr uint32_t kUnset = std::numeric_limits<uint32_t>::max();

// Unresolved and marker frames are all bracketed ("[libc.so.6+0x...]",
// "[truncated]"); function names never start with '['.
FrameStyle style_of(const rec::Recording& rec, const rec::FrameInfo& frame, std::string_view name) {
  if (frame.kind == rec::FrameKind::kKernel) return FrameStyle::kKernel;
  if (!frame_is_resolved(rec, frame) || (!name.empty() && name.front() == '[')) return FrameStyle::kMarker;
  return FrameStyle::kUser;
}

}  // namespace

CallTree::CallTree() {
  intern_name("all", FrameStyle::kMarker);
  parent_.push_back(kRoot);
  name_.push_back(0);
}

uint32_t CallTree::intern_name(std::string_view name, FrameStyle style) {
  auto [it, inserted] = name_ids_.try_emplace(std::string(name), static_cast<uint32_t>(names_.size()));
  if (inserted) {
    names_.emplace_back(name);
    styles_.push_back(style);
  }
  return it->second;
}

uint32_t CallTree::child(uint32_t parent, uint32_t name) {
  uint64_t key = static_cast<uint64_t>(parent) << 32 | name;
  auto [it, inserted] = children_.try_emplace(key, static_cast<uint32_t>(parent_.size()));
  if (inserted) {
    parent_.push_back(parent);
    name_.push_back(name);
  }
  return it->second;
}

StackNodes::StackNodes(const rec::Recording& rec, CallTree& tree)
    : rec_(rec), tree_(tree), stack_nodes_(rec.stacks.size(), kUnset), frame_names_(rec.frames.size(), kUnset) {}

uint32_t StackNodes::frame_name(uint32_t frame_id) {
  uint32_t& id = frame_names_[frame_id];
  if (id == kUnset) {
    const rec::FrameInfo& f = rec_.frames[frame_id];
    std::string name = frame_display_name(rec_, f);
    id = tree_.intern_name(name, style_of(rec_, f, name));
  }
  return id;
}

uint32_t StackNodes::node_of_placeholder(std::string_view frame) {
  return tree_.child(CallTree::kRoot, tree_.intern_name(frame, FrameStyle::kMarker));
}

uint32_t StackNodes::node_of_stack(uint32_t stack_id) {
  if (stack_id >= stack_nodes_.size()) stack_id = 0;
  if (stack_nodes_.empty()) return node_of_placeholder(kNoStackPlaceholder);
  uint32_t& node = stack_nodes_[stack_id];
  if (node != kUnset) return node;
  std::string_view placeholder = view_stack(rec_, stack_id, ViewOptions{}, frames_);
  if (!placeholder.empty()) return node = node_of_placeholder(placeholder);
  uint32_t at = CallTree::kRoot;
  for (auto it = frames_.rbegin(); it != frames_.rend(); ++it) at = tree_.child(at, frame_name(*it));
  return node = at;
}

}  // namespace flare::viewer
