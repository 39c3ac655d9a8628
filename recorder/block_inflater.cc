#include "recorder/block_inflater.h"

#include <zstd.h>

#include <system_error>

#include "recorder/byte_io.h"
#include "recorder/format.h"
#include "recorder/sample_batch.h"

namespace flare::rec {

namespace {

// Below this the thread costs more than it saves.
constexpr size_t kMinFileBytes = 1 << 20;
// How far the worker may run ahead, in decompressed bytes (at least one
// block): enough to keep the reader fed, bounded for huge blocks.
constexpr size_t kMaxReadyBytes = 8 << 20;

size_t footprint(const BlockInflater::Block& block) {
  return block.raw.size() + block.samples.size() * sizeof(CpuSample);
}

void decode_sample_batches(BlockInflater::Block& block) {
  ByteReader in(block.raw);
  while (!in.at_end()) {
    auto type = static_cast<RecordType>(in.varint());
    std::string_view body = in.bytes();
    if (in.failed()) break;
    if (type != RecordType::kCpuSampleBatch) continue;
    ByteReader batch(body);
    if (!decode_sample_batch(batch, block.samples)) break;  // the reader decodes it again and reports it
    block.batch_ends.push_back(block.samples.size());
  }
  block.samples.resize(block.batch_ends.empty() ? 0 : block.batch_ends.back());
}

}  // namespace

BlockInflater::BlockInflater(std::string_view file, size_t first_block) : file_(file), first_block_(first_block) {
  if (file.size() < kMinFileBytes) {
    done_ = true;
    return;
  }
  try {
    worker_ = std::thread(&BlockInflater::run, this);
  } catch (const std::system_error&) {
    done_ = true;  // no thread: the reader does all the work itself
  }
}

BlockInflater::~BlockInflater() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (worker_.joinable()) worker_.join();
}

bool BlockInflater::take(size_t offset, Block& out) {
  std::unique_lock lock(mutex_);
  while (true) {
    // Blocks before `offset` were not wanted after all (cannot happen while
    // the reader walks the file in order, as it does).
    while (!ready_.empty() && ready_.front().offset < offset) {
      ready_bytes_ -= footprint(ready_.front());
      ready_.pop_front();
      changed_.notify_all();
    }
    if (!ready_.empty()) {
      if (ready_.front().offset != offset) return false;
      out = std::move(ready_.front());
      ready_bytes_ -= footprint(out);
      ready_.pop_front();
      changed_.notify_all();
      return true;
    }
    if (done_) return false;
    changed_.wait(lock);
  }
}

// The block at `offset`: false where the reader will stop anyway (a header
// that does not check out, a cut payload). Advances `offset` past it.
bool BlockInflater::inflate_next(size_t& offset, Block& block) const {
  if (offset > file_.size() || file_.size() - offset < kBlockHeaderSize) return false;
  ByteReader in(file_.substr(offset));
  std::string_view header_bytes = file_.substr(offset, kBlockHeaderSize - 4);
  uint32_t magic = in.u32();
  auto kind = static_cast<BlockKind>(in.u8());
  in.raw(3 + 4 + 4 + 8 + 8);  // flags, reserved, chunk, sequence, times: the reader's business
  uint32_t compressed_len = in.u32();
  uint32_t raw_len = in.u32();
  in.u32();  // payload CRC: compared by the reader
  uint32_t header_crc = in.u32();
  if (in.failed() || magic != kBlockMagic || crc32_of(header_bytes) != header_crc) return false;
  if (compressed_len > kMaxBlockPayload || raw_len > kMaxBlockPayload || in.remaining() < compressed_len) return false;
  std::string_view payload = in.raw(compressed_len);
  block.offset = offset;
  block.payload_crc = crc32_of(payload);
  if (kind == BlockKind::kData) {
    block.raw.resize(raw_len);
    size_t n = ZSTD_decompress(block.raw.data(), block.raw.size(), payload.data(), payload.size());
    block.decompressed = !ZSTD_isError(n) && n == raw_len;
    if (block.decompressed) decode_sample_batches(block);
  }
  offset += kBlockHeaderSize + compressed_len;
  return true;
}

void BlockInflater::run() {
  size_t offset = first_block_;
  while (true) {
    Block block;
    bool produced = inflate_next(offset, block);
    std::unique_lock lock(mutex_);
    if (!produced || stopping_) break;
    ready_bytes_ += footprint(block);
    ready_.push_back(std::move(block));
    changed_.notify_all();
    changed_.wait(lock, [this] { return stopping_ || ready_bytes_ < kMaxReadyBytes; });
    if (stopping_) break;
  }
  std::lock_guard lock(mutex_);
  done_ = true;
  changed_.notify_all();
}

}  // namespace flare::rec
