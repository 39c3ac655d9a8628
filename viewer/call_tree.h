// Stacks merged into one prefix tree of function names, root first, the way a
// flame graph draws them. The HTML view ships this tree once and refers to a
// stack by its node, so a recording of a million samples becomes a few
// arrays of (node, thread, weight). Frames merge by display name (as top does),
// which also lets two recordings share one tree for a differential view.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "recorder/model.h"

namespace flare::viewer {

// How the page colours a frame.
enum class FrameStyle : uint8_t {
  kUser = 0,
  kKernel = 1,
  kMarker = 2,  // placeholders and markers: "[no stack]", "[truncated]", ...
};

class CallTree {
 public:
  static constexpr uint32_t kRoot = 0;

  CallTree();

  uint32_t intern_name(std::string_view name, FrameStyle style);
  // The node for `name` under `parent`, created on first use.
  uint32_t child(uint32_t parent, uint32_t name);

  size_t size() const { return parent_.size(); }
  const std::vector<uint32_t>& parents() const { return parent_; }
  const std::vector<uint32_t>& node_names() const { return name_; }
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<FrameStyle>& styles() const { return styles_; }

 private:
  std::vector<uint32_t> parent_;  // per node; the root is its own parent
  std::vector<uint32_t> name_;    // per node, index into names_
  std::unordered_map<uint64_t, uint32_t> children_;  // (parent << 32 | name) -> node
  std::vector<std::string> names_;
  std::vector<FrameStyle> styles_;
  std::unordered_map<std::string, uint32_t> name_ids_;
};

// Maps one recording's stack ids to nodes of a CallTree, naming each frame
// once. Stack ids the recording lacks map like the empty stack.
class StackNodes {
 public:
  StackNodes(const rec::Recording& rec, CallTree& tree);

  uint32_t node_of_stack(uint32_t stack_id);
  // A stackless entry shown under one placeholder frame (e.g. the off-CPU
  // time the recorder only totalled).
  uint32_t node_of_placeholder(std::string_view frame);

 private:
  uint32_t frame_name(uint32_t frame_id);

  const rec::Recording& rec_;
  CallTree& tree_;
  std::vector<uint32_t> stack_nodes_;  // per stack id; UINT32_MAX until computed
  std::vector<uint32_t> frame_names_;  // per frame id; UINT32_MAX until named
  std::vector<uint32_t> frames_;
};

}  // namespace flare::viewer
