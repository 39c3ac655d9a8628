// Byte-level constants of the recording format. docs/FORMAT.md is the spec;
// change both together.
#pragma once

#include <cstdint>
#include <string_view>

namespace flare::rec {

// "\x89FLARE\r\n": the high byte and CR/LF catch 7-bit and newline-mangling
// transfers, as PNG's signature does.
inline constexpr std::string_view kFileMagic{"\x89" "FLARE\r\n", 8};

inline constexpr uint32_t kBlockMagic = 0x4b424c46;  // "FLBK" little-endian
inline constexpr size_t kBlockHeaderSize = 48;
inline constexpr uint32_t kMaxBlockPayload = 256u << 20;  // a reader refuses larger blocks

enum class BlockKind : uint8_t {
  kData = 1,  // a zstd frame of records
  kEnd = 2,   // the file was finalized; nothing follows
};

enum BlockFlags : uint8_t {
  kBlockChunkStart = 1 << 0,  // first block of a chunk: pools start empty
};

// Tags of the file header's TLV fields. Unknown tags are skipped.
enum class HeaderTag : uint32_t {
  kFlareVersion = 1,
  kHostname = 2,
  kKernelRelease = 3,
  kTarget = 4,  // repeated: varint pid, bytes command line
  kEvents = 5,
  kSampleFrequencyHz = 6,
  kSamplePeriodNs = 7,
  kClockMonotonicNs = 8,
  kClockRealtimeNs = 9,
  kOffCpuMinNs = 10,         // since 1.1
  kOffCpuMaxPerSecond = 11,  // since 1.1
  kUserStacks = 12,          // since 2.1
  kStackCopyBytes = 13,      // since 2.1
  kAllocSampleRate = 14,     // since 2.3
  kAllocSeed = 15,           // since 2.3
  kLossesAtFlush = 16,       // since 2.5
};

// Record types inside a data block. Unknown types are skipped by length;
// fields appended to a known type in a later minor version are ignored.
enum class RecordType : uint32_t {
  kString = 1,
  kMapping = 2,
  kFrame = 3,
  kStack = 4,
  kThread = 5,
  kCpuSample = 6,
  kLost = 7,
  kStat = 8,
  kOffCpu = 9,
  kWakeup = 10,
  kAllocation = 11,
  kFree = 12,
  kGoroutine = 13,
  kThreadEvent = 14,
  kOffCpuTotal = 15,  // since 1.1
  // Since 2.0: every CPU sample of a block in one columnar record
  // (sample_batch.h); 2.0 writers use it instead of kCpuSample.
  kCpuSampleBatch = 16,
  // Since 2.0: a stack as new leaf-side frames on top of the root-side frames
  // of a stack defined before it; 2.0 writers use it instead of kStack.
  kStackDelta = 17,
};

}  // namespace flare::rec
