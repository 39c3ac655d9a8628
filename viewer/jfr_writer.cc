#include "viewer/jfr_writer.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "viewer/event_order.h"
#include "viewer/jfr_constant_pools.h"
#include "viewer/jfr_encoding.h"
#include "viewer/jfr_metadata.h"
#include "viewer/wall_time.h"
#include "viewer/weighted_stacks.h"

namespace flare::viewer {

namespace {

using jfr::JfrBuffer;

constexpr uint64_t kTicksPerSecond = 1'000'000'000;  // ticks are nanoseconds
constexpr size_t kHeaderSize = 68;
constexpr uint16_t kJfrMajor = 2;
constexpr uint16_t kJfrMinor = 0;
// Header byte 67: bit 0 integers are compressed, bit 1 this is the last chunk.
constexpr uint8_t kChunkFlags = 0x03;

// The chunk's time span: from the capture start (or the first event, if
// earlier) to the end of the last event.
struct TimeSpan {
  uint64_t start = 0;
  uint64_t end = 0;
};

TimeSpan time_span(const rec::Recording& rec, const std::vector<EventRef>& refs) {
  TimeSpan span;
  span.start = rec.header.clock_monotonic_ns;
  if (!refs.empty() && (span.start == 0 || refs.front().time_ns < span.start)) span.start = refs.front().time_ns;
  span.end = span.start;
  for (const EventRef& r : refs) span.end = std::max(span.end, r.time_ns);
  for (const rec::OffCpuInterval& iv : rec.offcpu) span.end = std::max(span.end, iv.time_ns + iv.blocked_ns + iv.runq_ns);
  uint64_t captured = rec.stat("capture_duration_ns");
  if (rec.header.clock_monotonic_ns != 0 && captured != 0) {
    span.end = std::max(span.end, rec.header.clock_monotonic_ns + captured);
  }
  return span;
}

class EventWriter {
 public:
  EventWriter(const rec::Recording& rec, const JfrOptions& options, JfrBuffer& out)
      : rec_(rec), options_(options), out_(out), pools_(rec, options.view) {}

  void sample(const rec::CpuSample& s) {
    begin(jfr::kExecutionSample, s.time_ns);
    body_.varint(pools_.thread(s.tid));
    body_.varint(pools_.stack_trace(s.stack));
    body_.varint(jfr::kStateRunnable);
    body_.varint(s.cpu);
    end();
  }

  void offcpu(const rec::OffCpuInterval& iv) {
    begin(jfr::kThreadPark, iv.time_ns);
    body_.varint(iv.blocked_ns + iv.runq_ns);
    body_.varint(pools_.thread(iv.tid));
    body_.varint(pools_.stack_trace(iv.stack));
    body_.string(thread_state_name(static_cast<uint8_t>(iv.state)));
    body_.varint(iv.blocked_ns);
    body_.varint(iv.runq_ns);
    body_.varint(pools_.thread(iv.waker_tid));
    body_.varint(pools_.stack_trace(iv.waker_stack));
    body_.boolean((iv.flags & rec::kOffCpuClippedStart) != 0);
    body_.boolean((iv.flags & rec::kOffCpuClippedEnd) != 0);
    end();
  }

  void allocation(const rec::Allocation& a) {
    begin(jfr::kObjectAllocationSample, a.time_ns);
    body_.varint(pools_.thread(a.tid));
    body_.varint(pools_.stack_trace(a.stack));
    body_.varint(0);  // objectClass: native memory has no type
    body_.varint(a.weight);
    body_.varint(a.size);
    body_.varint(a.address);
    body_.boolean((a.flags & rec::kAllocUntracked) != 0);
    end();
  }

  void thread_event(const rec::ThreadEvent& e) {
    begin(e.kind == rec::ThreadEventKind::kStart ? jfr::kThreadStart : jfr::kThreadEnd, e.time_ns);
    body_.varint(pools_.thread(e.tid));
    body_.varint(pools_.thread(e.tid));
    end();
  }

  void recording(const TimeSpan& span) {
    begin(jfr::kActiveRecording, span.start);
    body_.varint(span.end - span.start);
    body_.varint(1);  // id
    body_.string("flare");
    body_.string(options_.source_name);
    std::optional<int64_t> wall = wall_time_ns(rec_.header, span.start);
    body_.svarint(wall ? *wall / 1'000'000 : 0);
    body_.varint((span.end - span.start) / 1'000'000);
    end();
  }

  void setting(uint64_t start, jfr::TypeId event_type, const std::string& name, const std::string& value) {
    begin(jfr::kActiveSetting, start);
    body_.varint(static_cast<uint64_t>(event_type));
    body_.string(name);
    body_.string(value);
    end();
  }

  void lost(uint64_t time, const rec::LostRecord& l) {
    begin(jfr::kFlareLost, time);
    body_.string(rec::lost_cause_name(l.cause));
    body_.svarint(l.cpu == rec::kLostCpuUnknown ? -1 : static_cast<int64_t>(l.cpu));
    body_.varint(l.count);
    end();
  }

  void statistic(uint64_t time, const std::string& name, uint64_t value) {
    begin(jfr::kFlareStatistic, time);
    body_.string(name);
    body_.varint(value);
    end();
  }

  const jfr::ConstantPools& pools() const { return pools_; }

 private:
  void begin(jfr::TypeId type, uint64_t time) {
    body_.clear();
    body_.varint(type);
    body_.varint(time);
  }
  void end() { jfr::append_sized(out_, body_.bytes()); }

  const rec::Recording& rec_;
  const JfrOptions& options_;
  JfrBuffer& out_;
  jfr::ConstantPools pools_;
  JfrBuffer body_;
};

void write_settings(EventWriter& w, const rec::Recording& rec, uint64_t start) {
  const rec::FileHeader& h = rec.header;
  w.setting(start, jfr::kExecutionSample, "enabled", rec.samples.empty() && h.sample_period_ns == 0 ? "false" : "true");
  if (h.sample_period_ns != 0) w.setting(start, jfr::kExecutionSample, "period", std::to_string(h.sample_period_ns) + " ns");
  if (h.offcpu_min_ns != 0) w.setting(start, jfr::kThreadPark, "threshold", std::to_string(h.offcpu_min_ns) + " ns");
  std::string targets;
  for (const rec::TargetInfo& t : h.targets) {
    if (!targets.empty()) targets += "; ";
    targets += std::to_string(t.pid) + " " + t.command_line;
  }
  const std::pair<const char*, std::string> flare_settings[] = {
      {"flare.version", h.flare_version},
      {"flare.hostname", h.hostname},
      {"flare.kernel", h.kernel_release},
      {"flare.events", h.events},
      {"flare.targets", targets},
      {"flare.sample_frequency_hz", std::to_string(h.sample_frequency_hz)},
      {"flare.user_stacks", h.user_stacks},
      {"flare.offcpu_max_per_second", std::to_string(h.offcpu_max_per_second)},
      {"flare.alloc_sample_rate", std::to_string(h.alloc_sample_rate)},
      {"flare.finalized", rec.finalized ? "true" : "false"},
  };
  for (const auto& [name, value] : flare_settings) w.setting(start, jfr::kMetadataRecord, name, value);
}

void patch_header(JfrBuffer& chunk, uint64_t checkpoint_offset, uint64_t metadata_offset, const rec::Recording& rec,
                  const TimeSpan& span) {
  JfrBuffer h;
  h.raw(std::string_view("FLR\0", 4));
  h.be16(kJfrMajor);
  h.be16(kJfrMinor);
  h.be64(chunk.size());
  h.be64(checkpoint_offset);
  h.be64(metadata_offset);
  std::optional<int64_t> wall = wall_time_ns(rec.header, span.start);
  h.be64(static_cast<uint64_t>(wall.value_or(0)));
  h.be64(span.end - span.start);
  h.be64(span.start);
  h.be64(kTicksPerSecond);
  h.u8(0);  // file state: finished
  h.u8(0);
  h.u8(0);
  h.u8(kChunkFlags);
  chunk.overwrite(0, h.bytes());
}

}  // namespace

Status write_jfr(const rec::Recording& rec, const JfrOptions& options, std::ostream& out) {
  std::vector<EventRef> refs = events_in_time_order(rec);
  TimeSpan span = time_span(rec, refs);

  JfrBuffer chunk;
  chunk.raw(std::string(kHeaderSize, '\0'));
  EventWriter w(rec, options, chunk);
  w.recording(span);
  write_settings(w, rec, span.start);
  for (const EventRef& r : refs) {
    switch (r.kind) {
      case EventKind::kCpuSample:
        w.sample(rec.samples[r.index]);
        break;
      case EventKind::kOffCpu:
        w.offcpu(rec.offcpu[r.index]);
        break;
      case EventKind::kAlloc:
        w.allocation(rec.allocations[r.index]);
        break;
      case EventKind::kThread:
        w.thread_event(rec.thread_events[r.index]);
        break;
      // No JDK event has their meaning; flare print shows them, and the
      // statistics below count them (offcpu_intervals_totalled, alloc_frees).
      case EventKind::kOffCpuTotal:
      case EventKind::kWakeup:
      case EventKind::kFree:
      case EventKind::kGoroutine:
        break;
    }
  }
  for (const rec::LostRecord& l : rec.lost) w.lost(span.end, l);
  for (const auto& [name, value] : rec.stats) w.statistic(span.end, name, value);

  uint64_t checkpoint_offset = chunk.size();
  w.pools().append_checkpoint(chunk, span.start);
  uint64_t metadata_offset = chunk.size();
  jfr::append_metadata(chunk, span.start);

  patch_header(chunk, checkpoint_offset, metadata_offset, rec, span);
  out.write(chunk.bytes().data(), static_cast<std::streamsize>(chunk.size()));
  if (!out) return Status(ErrorCode::kIo, "writing the JFR output failed");
  return Status::ok();
}

}  // namespace flare::viewer
