// Checksums and decompresses a recording's blocks on a second thread, a few
// blocks ahead of the reader, so that zstd and CRC work overlaps parsing.
// It only computes pure functions of each block's payload (its CRC32 and
// its decompressed bytes); the reader still makes every check and decision
// itself, in file order, and computes a result inline whenever the inflater
// has none (it stopped early, or never started). It also decodes the CPU
// sample batches, the bulk of most blocks, which need no state but their own
// bytes; the reader maps their stack ids.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "recorder/model.h"

namespace flare::rec {

class BlockInflater {
 public:
  struct Block {
    size_t offset = 0;  // of the block header in the file
    uint32_t payload_crc = 0;
    bool decompressed = false;  // raw holds exactly the header's raw_len bytes
    std::string raw;
    // The block's CPU sample batch records, decoded in record order up to
    // the first that does not decode: batch i is samples[batch_ends[i-1]
    // (0 for the first), batch_ends[i]), stack ids as stored.
    std::vector<CpuSample> samples;
    std::vector<size_t> batch_ends;
  };

  // Starts on the blocks from `first_block` on; a small file is read without
  // a thread (take() then always returns false).
  BlockInflater(std::string_view file, size_t first_block);
  ~BlockInflater();
  BlockInflater(const BlockInflater&) = delete;
  BlockInflater& operator=(const BlockInflater&) = delete;

  // Moves the results for the block whose header is at `offset` into `out`,
  // waiting for them; false when the inflater will not produce them.
  bool take(size_t offset, Block& out);

 private:
  void run();
  bool inflate_next(size_t& offset, Block& block) const;

  std::string_view file_;
  size_t first_block_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Block> ready_;
  size_t ready_bytes_ = 0;
  bool done_ = false;     // the worker produces nothing more
  bool stopping_ = false;  // the reader wants nothing more
  std::thread worker_;
};

}  // namespace flare::rec
