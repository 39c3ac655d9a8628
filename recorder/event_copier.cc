#include "recorder/event_copier.h"

#include <algorithm>
#include <vector>

namespace flare::rec {

namespace {

// Global (Recording) id -> writer id for the writer's current chunk.
class PoolTranslator {
 public:
  PoolTranslator(const Recording& rec, RecordingWriter& writer) : rec_(rec), writer_(writer) {}

  uint32_t stack(uint32_t id) {
    sync();
    if (id == 0) return 0;
    uint32_t& out = slot(stacks_, id);
    if (out == 0) {
      frame_scratch_.clear();
      for (uint32_t f : rec_.stack(id)) frame_scratch_.push_back(frame(f));
      out = writer_.intern_stack(frame_scratch_);
    }
    return out;
  }

  uint32_t string(uint32_t id) {
    sync();
    if (id == 0) return 0;
    uint32_t& out = slot(strings_, id);
    if (out == 0) out = writer_.intern_string(rec_.str(id));
    return out;
  }

 private:
  static uint32_t& slot(std::vector<uint32_t>& pool, uint32_t id) {
    if (pool.size() <= id) pool.resize(id + 1, 0);
    return pool[id];
  }

  // A new writer chunk invalidates every id handed out before.
  void sync() {
    if (writer_.generation() == generation_) return;
    generation_ = writer_.generation();
    strings_.clear();
    mappings_.clear();
    frames_.clear();
    stacks_.clear();
  }

  uint32_t mapping(uint32_t id) {
    if (id == 0) return 0;
    uint32_t& out = slot(mappings_, id);
    if (out == 0) {
      MappingInfo m = rec_.mappings[id];
      m.path = string(m.path);
      m.build_id = string(m.build_id);
      out = writer_.add_mapping(m);
    }
    return out;
  }

  uint32_t frame(uint32_t id) {
    uint32_t& out = slot(frames_, id);
    if (out == 0) {
      FrameInfo f = rec_.frames[id];
      f.mapping = mapping(f.mapping);
      f.function = string(f.function);
      f.file = string(f.file);
      out = writer_.add_frame(f);
    }
    return out;
  }

  const Recording& rec_;
  RecordingWriter& writer_;
  uint64_t generation_ = UINT64_MAX;
  std::vector<uint32_t> strings_, mappings_, frames_, stacks_;
  std::vector<uint32_t> frame_scratch_;
};

enum class Kind : uint8_t { kCpu, kOffCpu, kOffCpuTotal, kWakeup, kAlloc, kFree, kGoroutine, kThread };

struct EventRef {
  uint64_t time_ns;
  uint32_t input;
  Kind kind;
  uint32_t index;
};

template <typename Events>
void collect(const Events& events, uint32_t input, Kind kind, const TimeRange& range, std::vector<EventRef>& out) {
  for (size_t i = 0; i < events.size(); ++i) {
    if (range.contains(events[i].time_ns)) out.push_back({events[i].time_ns, input, kind, static_cast<uint32_t>(i)});
  }
}

}  // namespace

Status copy_events(std::span<const Recording* const> inputs, const TimeRange& range, RecordingWriter& writer) {
  std::vector<EventRef> events;
  for (uint32_t i = 0; i < inputs.size(); ++i) {
    const Recording& rec = *inputs[i];
    collect(rec.samples, i, Kind::kCpu, range, events);
    collect(rec.offcpu, i, Kind::kOffCpu, range, events);
    collect(rec.offcpu_totals, i, Kind::kOffCpuTotal, range, events);
    collect(rec.wakeups, i, Kind::kWakeup, range, events);
    collect(rec.allocations, i, Kind::kAlloc, range, events);
    collect(rec.frees, i, Kind::kFree, range, events);
    collect(rec.goroutine_events, i, Kind::kGoroutine, range, events);
    collect(rec.thread_events, i, Kind::kThread, range, events);
    for (const auto& [tid, t] : rec.threads) writer.set_thread(t.pid, tid, rec.str(t.name));
  }
  // Stable: events of equal time keep their recorded order.
  std::stable_sort(events.begin(), events.end(),
                   [](const EventRef& a, const EventRef& b) { return a.time_ns < b.time_ns; });

  std::vector<PoolTranslator> pools;
  for (const Recording* rec : inputs) pools.emplace_back(*rec, writer);
  for (const EventRef& ref : events) {
    FLARE_RETURN_IF_ERROR(writer.maybe_flush(ref.time_ns));
    const Recording& rec = *inputs[ref.input];
    PoolTranslator& pool = pools[ref.input];
    switch (ref.kind) {
      case Kind::kCpu: {
        CpuSample e = rec.samples[ref.index];
        e.stack = pool.stack(e.stack);
        writer.add_cpu_sample(e);
        break;
      }
      case Kind::kOffCpu: {
        OffCpuInterval e = rec.offcpu[ref.index];
        e.stack = pool.stack(e.stack);
        e.waker_stack = pool.stack(e.waker_stack);
        writer.add_offcpu(e);
        break;
      }
      case Kind::kOffCpuTotal:
        writer.add_offcpu_total(rec.offcpu_totals[ref.index]);
        break;
      case Kind::kWakeup: {
        Wakeup e = rec.wakeups[ref.index];
        e.waker_stack = pool.stack(e.waker_stack);
        writer.add_wakeup(e);
        break;
      }
      case Kind::kAlloc: {
        Allocation e = rec.allocations[ref.index];
        e.stack = pool.stack(e.stack);
        writer.add_allocation(e);
        break;
      }
      case Kind::kFree:
        writer.add_free(rec.frees[ref.index]);
        break;
      case Kind::kGoroutine: {
        GoroutineEvent e = rec.goroutine_events[ref.index];
        e.stack = pool.stack(e.stack);
        e.reason = pool.string(e.reason);
        writer.add_goroutine_event(e);
        break;
      }
      case Kind::kThread:
        writer.add_thread_event(rec.thread_events[ref.index]);
        break;
    }
  }
  for (const Recording* rec : inputs) {
    for (const LostRecord& l : rec->lost) writer.add_lost(l);
  }
  // Statistics describe one agent run: the first input's are kept.
  if (!inputs.empty()) {
    for (const auto& [name, value] : inputs.front()->stats) writer.add_stat(name, value);
  }
  return Status::ok();
}

Status write_events_copy(const std::string& output, const FileHeader& header,
                         std::span<const Recording* const> inputs, const TimeRange& range) {
  FLARE_ASSIGN_OR_RETURN(auto writer, RecordingWriter::create(output, header));
  Status st = copy_events(inputs, range, *writer);
  if (st.is_ok()) st = writer->finish();
  if (!st.is_ok()) writer->abandon();
  return st;
}

}  // namespace flare::rec
