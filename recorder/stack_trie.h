// The writer's index of the stacks defined in the current chunk, as a trie
// from the root-side frame down: it finds, for a new stack, the defined
// stack sharing the most root-side frames with it, so the stack_delta record
// (format 2.0) stores only the frames that differ. Stacks of one program
// share long root-side runs (main, the thread entry, the dispatch loop), so
// a new stack usually costs a few bytes instead of one varint per frame.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace flare::rec {

class StackTrie {
 public:
  struct Match {
    uint32_t stack = 0;   // a defined stack (0: none shares a frame)
    uint32_t shared = 0;  // root-side frames it shares with the new stack
  };

  // The trie stops growing at this many edges (a table of ~1 MiB). Real
  // profiles have a few hundred to a few thousand stacks and stay far below;
  // a chunk with tens of thousands of deep stacks would otherwise make every
  // new stack a walk of cache misses. Stacks after the cap still find their
  // base among the indexed ones; they are just not indexed themselves.
  static constexpr size_t kMaxEdges = size_t{1} << 16;

  // `frames` is leaf first. Returns the best earlier stack, then records
  // `frames` as stack `id` (as far as the cap allows).
  Match add(std::span<const uint32_t> frames, uint32_t id);
  // Forgets every stack (a new chunk); keeps the table's memory, which is
  // bounded by what one chunk needed.
  void clear();

 private:
  // One edge of the trie: parent node + frame -> child node, in an open-
  // addressing table, because a new stack adds one edge per frame it does
  // not share and a node-based map would allocate for each. 12 bytes, so
  // the table of a chunk with many stacks stays small in cache.
  struct Edge {
    uint32_t parent = 0;
    uint32_t frame = 0;
    uint32_t child = 0;  // 0 = empty slot (node ids start at 1)
  };
  const Edge* find(uint32_t parent, uint32_t frame) const;
  void insert(uint32_t parent, uint32_t frame, uint32_t child);
  void grow();

  std::vector<Edge> edges_;  // size is a power of two, at most 3/4 full
  size_t used_ = 0;
  // By node id: the first stack that passed through the node.
  std::vector<uint32_t> node_stack_{0};
};

}  // namespace flare::rec
