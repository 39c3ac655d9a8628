// The in-memory vocabulary of a recording, shared by the writer's API and the
// reader's result. Everything is referenced by dense ids that are global to a
// file (0 always means "none"); strings are interned into one table.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace flare::rec {

inline constexpr uint16_t kFormatMajor = 0;
inline constexpr uint16_t kFormatMinor = 1;

struct TargetInfo {
  uint32_t pid = 0;
  std::string command_line;  // NUL-separated argv joined with spaces
};

struct FileHeader {
  uint16_t major = kFormatMajor;
  uint16_t minor = kFormatMinor;
  std::string flare_version;
  std::string hostname;
  std::string kernel_release;
  std::vector<TargetInfo> targets;
  std::string events;                // comma-separated signal names, e.g. "cpu"
  uint32_t sample_frequency_hz = 0;  // CPU sampling frequency
  uint64_t sample_period_ns = 0;     // weight of one CPU sample
  // A clock pair read back to back when the capture started: event times are
  // CLOCK_MONOTONIC nanoseconds, this ties them to wall time.
  uint64_t clock_monotonic_ns = 0;
  uint64_t clock_realtime_ns = 0;
};

enum class FrameKind : uint8_t { kUser = 0, kKernel = 1 };

enum FrameFlags : uint8_t {
  kFrameResolved = 1 << 0,  // function name known
};

struct MappingInfo {
  uint32_t pid = 0;
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t file_offset = 0;
  uint32_t path = 0;      // string id
  uint32_t build_id = 0;  // string id, lowercase hex; 0 when unknown
};

struct FrameInfo {
  // The address symbolized: the sampled pc for a leaf, the return address
  // minus one for callers (so it lies inside the call instruction).
  uint64_t address = 0;
  uint32_t mapping = 0;   // mapping id, 0 for kernel or unknown
  uint32_t function = 0;  // string id; 0 when unresolved
  uint32_t file = 0;      // string id of the source file; 0 when unknown
  uint32_t line = 0;
  FrameKind kind = FrameKind::kUser;
  uint8_t flags = 0;
};

struct ThreadInfo {
  uint32_t pid = 0;
  uint32_t tid = 0;
  uint32_t name = 0;  // string id
};

struct CpuSample {
  uint64_t time_ns = 0;  // CLOCK_MONOTONIC
  uint32_t tid = 0;
  uint32_t stack = 0;  // stack id: frames leaf first, kernel frames before user frames
  uint16_t cpu = 0;
};

enum class LostCause : uint32_t {
  kRingBufferFull = 1,     // the BPF ring buffer had no room for a sample
  kUserStackFailed = 2,    // bpf_get_stack failed for the user stack
  kKernelStackFailed = 3,  // bpf_get_stack failed for the kernel stack
};

struct LostRecord {
  LostCause cause = LostCause::kRingBufferFull;
  uint32_t cpu = 0;
  uint64_t count = 0;
};

const char* lost_cause_name(LostCause cause);

// A whole recording loaded into memory by read_recording().
struct Recording {
  FileHeader header;
  std::vector<std::string> strings{""};
  std::vector<MappingInfo> mappings{MappingInfo{}};
  std::vector<FrameInfo> frames{FrameInfo{}};
  std::vector<std::vector<uint32_t>> stacks{{}};
  std::unordered_map<uint32_t, ThreadInfo> threads;  // by tid, last name seen
  std::vector<CpuSample> samples;
  std::vector<LostRecord> lost;
  std::vector<std::pair<std::string, uint64_t>> stats;  // agent self-statistics
  bool finalized = false;       // the end block was present
  uint64_t blocks_read = 0;
  uint64_t trailing_bytes_ignored = 0;  // only with salvage: an incomplete tail

  const std::string& str(uint32_t id) const { return id < strings.size() ? strings[id] : strings[0]; }
  std::span<const uint32_t> stack(uint32_t id) const {
    return id < stacks.size() ? std::span<const uint32_t>(stacks[id]) : std::span<const uint32_t>();
  }
  uint64_t stat(std::string_view name) const {
    for (const auto& [k, v] : stats) {
      if (k == name) return v;
    }
    return 0;
  }
};

}  // namespace flare::rec
