// The in-memory vocabulary of a recording, shared by the writer's API and the
// reader's result. Entries are referenced by dense ids (0 always means
// "none"); strings are interned into one table.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace flare::rec {

// 2.0: samples and stacks as record types 16 and 17 (docs/FORMAT.md).
// 2.1: header tags 12 and 13 (how user stacks were taken).
// 2.2: the frame flag kFrameInlined.
// 2.3: allocations (header tags 14-15, alloc flags, lost causes 7-8).
// 2.4: goroutines (goroutine wait_ns and flags, lost causes 9-10).
// 2.5: header tag 16 (lost records written at every flush).
inline constexpr uint16_t kFormatMajor = 2;
inline constexpr uint16_t kOldestReadableMajor = 1;
inline constexpr uint16_t kFormatMinor = 5;

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
  // Off-CPU gates (0 when off-CPU was not recorded): intervals shorter than
  // offcpu_min_ns, and those over offcpu_max_per_second, are only totalled
  // (OffCpuTotal), not recorded one by one.
  uint64_t offcpu_min_ns = 0;
  uint32_t offcpu_max_per_second = 0;
  // How user stacks were taken: "fp", "dwarf" or "auto" ("" in files before
  // 2.1, which used frame pointers), and the stack copy size for the last two.
  std::string user_stacks;
  uint32_t stack_copy_bytes = 0;
  // Allocation sampling (0 when allocations were not recorded): the mean
  // number of bytes between samples (1: every allocation) and the seed of
  // the sampler's generator.
  uint64_t alloc_sample_rate = 0;
  uint64_t alloc_seed = 0;
  // Set: lost records are written at every flush, so the file's lost
  // records count every loss up to its last block, even when it was never
  // finished (a crash, a flight chunk still being written). Clear (files
  // before 2.5): they were written when the capture ended, and a file
  // without its end has none.
  bool losses_at_flush = false;
};

enum class FrameKind : uint8_t { kUser = 0, kKernel = 1 };

enum FrameFlags : uint8_t {
  kFrameResolved = 1 << 0,  // function name known
  // (since 2.2) The frame is a function inlined into the next frame of the
  // stack (toward the root), at the same address: the two are one machine
  // frame. Its file:line is inside the inlined function; the next frame's
  // is the call site. An older reader shows it as a caller-less frame of its
  // own, which is still true.
  kFrameInlined = 1 << 1,
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
  // Timer ticks due on a CPU (by the perf event's own clock) for which the
  // sampler did not run: counts ticks of any task, not only of the targets.
  kSamplerTicksMissed = 4,
  // Off-CPU intervals over the --offcpu-max-rate cap: not recorded one by
  // one, but still in the per-thread totals (OffCpuTotal).
  kOffCpuRateLimited = 5,
  // Scheduler events the BPF side could not track (its per-thread table was
  // full, or the ring had no room): the thread's off-CPU time is incomplete.
  kOffCpuUntracked = 6,
  // Sampled allocations whose free cannot be seen (the live table was full,
  // or the free event was lost): they do not count as in use.
  kAllocUntracked = 7,
  // Allocator calls the tracer could not look at (no per-thread state, an
  // unreadable return address or result, a program run the kernel skipped):
  // the sampler never saw their bytes.
  kAllocUnseen = 8,
  // Goroutine park or ready events the tracer could not read (a runtime
  // structure was unreadable) or a tracer run the kernel skipped.
  kGoroutineUnseen = 9,
  // Parks never paired with a ready: a path made the goroutine runnable
  // that flare does not probe, or gopark returned without parking.
  kGoroutineUnpaired = 10,
};

// LostRecord::cpu when the kernel counts a loss for all CPUs together.
inline constexpr uint32_t kLostCpuUnknown = 0xffffffff;

struct LostRecord {
  LostCause cause = LostCause::kRingBufferFull;
  uint32_t cpu = 0;
  uint64_t count = 0;
};

const char* lost_cause_name(LostCause cause);

// Event types beyond CPU samples. The format has room for every signal flare
// records or will record; producers arrive with the scheduler, allocation and
// goroutine work. Field meanings are fixed here and in docs/FORMAT.md.

enum class OffCpuState : uint8_t {
  kSleeping = 1,         // TASK_INTERRUPTIBLE
  kUninterruptible = 2,  // TASK_UNINTERRUPTIBLE (D)
  kPreempted = 3,        // switched out while runnable
};

enum OffCpuFlags : uint8_t {
  kOffCpuClippedStart = 1 << 0,  // already off-CPU when the capture started
  kOffCpuClippedEnd = 1 << 1,    // still off-CPU when the capture ended
};

struct OffCpuInterval {
  uint64_t time_ns = 0;      // switched out
  uint64_t blocked_ns = 0;   // until woken
  uint64_t runq_ns = 0;      // woken until on-CPU again
  uint32_t tid = 0;
  uint32_t stack = 0;        // where it blocked
  uint32_t waker_tid = 0;    // 0: no user waker (timer, interrupt) or unknown
  uint32_t waker_stack = 0;
  OffCpuState state = OffCpuState::kSleeping;
  uint8_t flags = 0;
};

// Off-CPU intervals not recorded one by one (shorter than the header's
// offcpu_min_ns, or over its rate cap), summed per thread and state since the
// previous total of the same thread and state; readers add them all up.
struct OffCpuTotal {
  uint64_t time_ns = 0;  // end of the period summed
  uint32_t tid = 0;
  OffCpuState state = OffCpuState::kSleeping;
  uint64_t count = 0;       // intervals
  uint64_t blocked_ns = 0;  // their blocked time
  uint64_t runq_ns = 0;     // their run-queue wait
};

struct Wakeup {
  uint64_t time_ns = 0;
  uint32_t waker_pid = 0;
  uint32_t waker_tid = 0;
  uint32_t wakee_tid = 0;
  uint32_t waker_stack = 0;
};

enum AllocationFlags : uint8_t {
  // Not tracked until freed (the tracer's live table was full): whether it
  // is still in use is unknown, so in-use views leave it out.
  kAllocUntracked = 1 << 0,
};

struct Allocation {
  uint64_t time_ns = 0;
  uint32_t tid = 0;
  uint32_t stack = 0;
  uint64_t address = 0;
  uint64_t size = 0;    // bytes requested
  uint64_t weight = 0;  // bytes this sample stands for (sampling); = size when unsampled
  uint8_t flags = 0;    // AllocationFlags (since 2.3)
};

struct Free {
  uint64_t time_ns = 0;
  uint32_t tid = 0;
  uint64_t address = 0;
};

enum class GoroutineEventKind : uint8_t { kPark = 1, kReady = 2 };

struct GoroutineEvent {
  uint64_t time_ns = 0;
  GoroutineEventKind kind = GoroutineEventKind::kPark;
  uint32_t tid = 0;        // OS thread it happened on
  uint64_t goid = 0;       // the goroutine parked or made ready
  uint64_t waker_goid = 0; // ready only: the goroutine that readied it (0 unknown)
  uint32_t reason = 0;     // park only: wait reason, string id
  uint32_t stack = 0;      // park: parking stack; ready: waker's stack
  uint64_t wait_ns = 0;    // ready only (since 2.4): since this goroutine's park (0: park not seen)
  uint8_t flags = 0;       // since 2.4: GoroutineFlags
};

enum GoroutineFlags : uint8_t {
  kGoroutineFromNetpoll = 1 << 0,  // ready: made runnable by the netpoller (a descriptor became ready)
};

enum class ThreadEventKind : uint8_t { kStart = 1, kEnd = 2 };

struct ThreadEvent {
  uint64_t time_ns = 0;
  ThreadEventKind kind = ThreadEventKind::kStart;
  uint32_t pid = 0;
  uint32_t tid = 0;
};

// What a reader learned about the file's structure (for `flare info`).
struct ChunkSummary {
  uint32_t chunk_id = 0;
  uint64_t first_ns = 0, last_ns = 0;  // event time range, 0 when no events
  uint32_t blocks = 0;
  uint64_t file_bytes = 0;  // block headers + compressed payloads
  uint64_t raw_bytes = 0;   // decompressed payloads
};

// Why a read stopped before the end marker, when it did.
struct Truncation {
  bool truncated = false;
  uint64_t offset = 0;      // where the intact prefix ends
  uint64_t bytes_ignored = 0;
  std::string reason;       // e.g. "incomplete block", "no end marker"
};

// A whole recording loaded into memory by read_recording(). Ids here are
// global to the Recording: the reader merges the chunks' local pools by
// content, so the same frame or stack has one id however it was chunked.
struct Recording {
  FileHeader header;
  std::vector<std::string> strings{""};
  std::vector<MappingInfo> mappings{MappingInfo{}};
  std::vector<FrameInfo> frames{FrameInfo{}};
  std::vector<std::vector<uint32_t>> stacks{{}};
  std::unordered_map<uint32_t, ThreadInfo> threads;  // by tid, last name seen
  std::vector<CpuSample> samples;
  std::vector<OffCpuInterval> offcpu;
  std::vector<OffCpuTotal> offcpu_totals;
  std::vector<Wakeup> wakeups;
  std::vector<Allocation> allocations;
  std::vector<Free> frees;
  std::vector<GoroutineEvent> goroutine_events;
  std::vector<ThreadEvent> thread_events;
  std::vector<LostRecord> lost;
  std::vector<std::pair<std::string, uint64_t>> stats;  // agent self-statistics
  bool finalized = false;  // the end block was present
  Truncation truncation;
  std::vector<ChunkSummary> chunks;
  uint64_t blocks_read = 0;
  uint64_t unknown_records_skipped = 0;  // record types from a newer minor version
  uint64_t file_bytes = 0;

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
  // Whether the lost records count every loss up to the file's last block:
  // written at every flush (2.5), or at the end of a capture that ended.
  bool losses_known() const { return header.losses_at_flush || stat("capture_duration_ns") != 0; }
};

}  // namespace flare::rec
