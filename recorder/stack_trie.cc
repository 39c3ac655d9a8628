#include "recorder/stack_trie.h"

#include <algorithm>

namespace flare::rec {

namespace {

size_t slot_of(uint32_t parent, uint32_t frame, size_t mask) {
  uint64_t key = static_cast<uint64_t>(parent) << 32 | frame;
  return static_cast<size_t>((key * 0x9e3779b97f4a7c15ull) >> 24) & mask;
}

}  // namespace

StackTrie::Match StackTrie::add(std::span<const uint32_t> frames, uint32_t id) {
  uint32_t node = 0;
  size_t i = frames.size();
  // Follow the existing path from the root-side frame...
  for (; i > 0; --i) {
    const Edge* edge = find(node, frames[i - 1]);
    if (!edge) break;
    node = edge->child;
  }
  Match match{node_stack_[node], static_cast<uint32_t>(frames.size() - i)};
  // ...and grow it with this stack's own leaf-side frames, while the table
  // is small enough to stay in cache (see kMaxEdges).
  for (; i > 0 && used_ < kMaxEdges; --i) {
    auto child = static_cast<uint32_t>(node_stack_.size());
    node_stack_.push_back(id);
    insert(node, frames[i - 1], child);
    node = child;
  }
  return match;
}

void StackTrie::clear() {
  std::fill(edges_.begin(), edges_.end(), Edge{});
  used_ = 0;
  node_stack_.assign(1, 0);
}

const StackTrie::Edge* StackTrie::find(uint32_t parent, uint32_t frame) const {
  if (edges_.empty()) return nullptr;
  const size_t mask = edges_.size() - 1;
  for (size_t i = slot_of(parent, frame, mask);; i = (i + 1) & mask) {
    const Edge& e = edges_[i];
    if (e.child == 0) return nullptr;
    if (e.parent == parent && e.frame == frame) return &e;
  }
}

void StackTrie::insert(uint32_t parent, uint32_t frame, uint32_t child) {
  if (4 * (used_ + 1) > 3 * edges_.size()) grow();
  const size_t mask = edges_.size() - 1;
  size_t i = slot_of(parent, frame, mask);
  while (edges_[i].child != 0) i = (i + 1) & mask;
  edges_[i] = {parent, frame, child};
  ++used_;
}

void StackTrie::grow() {
  std::vector<Edge> old = std::move(edges_);
  edges_.assign(std::max<size_t>(1024, old.size() * 2), Edge{});
  used_ = 0;
  for (const Edge& e : old) {
    if (e.child != 0) insert(e.parent, e.frame, e.child);
  }
}

}  // namespace flare::rec
