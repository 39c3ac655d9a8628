#include "viewer/event_listing.h"

#include <cinttypes>
#include <cstdio>
#include <memory>

#include "viewer/event_order.h"
#include "viewer/frame_names.h"
#include "viewer/json_writer.h"
#include "viewer/view_stack.h"
#include "viewer/wall_time.h"
#include "viewer/weighted_stacks.h"

namespace flare::viewer {

namespace {

const char* kind_type_name(EventKind kind) {
  switch (kind) {
    case EventKind::kCpuSample:
      return "cpu";
    case EventKind::kOffCpu:
      return "offcpu";
    case EventKind::kOffCpuTotal:
      return "offcpu_total";
    case EventKind::kWakeup:
      return "wakeup";
    case EventKind::kAlloc:
      return "alloc";
    case EventKind::kFree:
      return "free";
    case EventKind::kGoroutine:
      return "goroutine";
    case EventKind::kThread:
      return "thread";
  }
  return "?";
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

// One event's content, written the same way whatever the output format:
// the per-type code below says what an event holds, a Sink how it looks.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void begin(const char* type, std::optional<uint64_t> time_ns) = 0;
  virtual void number(const char* name, uint64_t value) = 0;
  virtual void text(const char* name, const std::string& value) = 0;
  virtual void flag(const char* name, bool value) = 0;
  virtual void duration(const char* name, uint64_t ns) = 0;
  virtual void thread(const char* name, uint32_t tid) = 0;
  virtual void stack(const char* name, uint32_t stack_id) = 0;
  virtual void end() = 0;
  virtual void finish() = 0;
};

class TextSink : public Sink {
 public:
  TextSink(const rec::Recording& rec, const ViewOptions& view, std::ostream& out) : rec_(rec), view_(view), out_(out) {}

  void begin(const char* type, std::optional<uint64_t> time_ns) override {
    out_ << type << " {\n";
    if (!time_ns) return;
    out_ << "  time = " << offset_text(since_capture_start_ns(rec_.header, *time_ns));
    if (auto wall = wall_time_ns(rec_.header, *time_ns)) out_ << " (" << format_wall_time(*wall) << ')';
    out_ << '\n';
  }
  void number(const char* name, uint64_t value) override { out_ << "  " << name << " = " << value << '\n'; }
  void text(const char* name, const std::string& value) override {
    out_ << "  " << name << " = " << json_quote(value) << '\n';
  }
  void flag(const char* name, bool value) override { out_ << "  " << name << " = " << (value ? "true" : "false") << '\n'; }
  void duration(const char* name, uint64_t ns) override {
    out_ << "  " << name << " = " << offset_text(static_cast<int64_t>(ns)).substr(1) << '\n';
  }
  void thread(const char* name, uint32_t tid) override {
    out_ << "  " << name << " = ";
    if (tid == 0) {
      out_ << "none\n";
      return;
    }
    out_ << json_quote(thread_display_name(rec_, tid)) << " (tid " << tid;
    auto it = rec_.threads.find(tid);
    if (it != rec_.threads.end()) out_ << ", pid " << it->second.pid;
    out_ << ")\n";
  }
  void stack(const char* name, uint32_t stack_id) override {
    if (stack_id == 0) {
      out_ << "  " << name << " = none\n";
      return;
    }
    std::string_view placeholder = view_stack(rec_, stack_id, view_, frames_);
    out_ << "  " << name << " = [\n";
    if (!placeholder.empty()) out_ << "    " << placeholder << '\n';
    for (uint32_t id : frames_) {
      const rec::FrameInfo& f = rec_.frames[id];
      out_ << "    " << frame_display_name(rec_, f);
      if (f.file != 0) out_ << "  " << rec_.str(f.file) << ':' << f.line;
      if (f.flags & rec::kFrameInlined) out_ << "  (inline)";
      out_ << '\n';
    }
    out_ << "  ]\n";
  }
  void end() override { out_ << "}\n"; }
  void finish() override {}

 private:
  // "+1.234567890s": nanoseconds, so events of one thread never look simultaneous.
  static std::string offset_text(int64_t ns) {
    char buf[48];
    uint64_t mag = ns < 0 ? static_cast<uint64_t>(-ns) : static_cast<uint64_t>(ns);
    std::snprintf(buf, sizeof buf, "%c%" PRIu64 ".%09" PRIu64 "s", ns < 0 ? '-' : '+', mag / 1'000'000'000,
                  mag % 1'000'000'000);
    return buf;
  }

  const rec::Recording& rec_;
  ViewOptions view_;
  std::ostream& out_;
  std::vector<uint32_t> frames_;
};

class JsonSink : public Sink {
 public:
  JsonSink(const rec::Recording& rec, const ViewOptions& view, std::ostream& out)
      : rec_(rec), view_(view), json_(out) {
    json_.begin_object();
    json_.field("capture_start_monotonic_ns", rec.header.clock_monotonic_ns);
    json_.key("events");
    json_.begin_array();
  }

  void begin(const char* type, std::optional<uint64_t> time_ns) override {
    json_.begin_object();
    json_.field("type", type);
    if (!time_ns) return;
    json_.field("time_ns", *time_ns);
    json_.field("offset_ns", since_capture_start_ns(rec_.header, *time_ns));
    if (auto wall = wall_time_ns(rec_.header, *time_ns)) json_.field("wall_time", format_wall_time(*wall));
  }
  void number(const char* name, uint64_t value) override { json_.field(name, value); }
  void text(const char* name, const std::string& value) override { json_.field(name, value); }
  void flag(const char* name, bool value) override { json_.field(name, value); }
  void duration(const char* name, uint64_t ns) override { json_.field(std::string(name) + "_ns", ns); }
  void thread(const char* name, uint32_t tid) override {
    json_.key(name);
    if (tid == 0) {
      json_.null();
      return;
    }
    json_.begin_object();
    json_.field("tid", tid);
    auto it = rec_.threads.find(tid);
    json_.field("pid", it != rec_.threads.end() ? it->second.pid : 0);
    json_.field("name", thread_display_name(rec_, tid));
    json_.end_object();
  }
  void stack(const char* name, uint32_t stack_id) override {
    json_.key(name);
    if (stack_id == 0) {
      json_.null();
      return;
    }
    std::string_view placeholder = view_stack(rec_, stack_id, view_, frames_);
    json_.begin_array();
    if (!placeholder.empty()) {
      json_.begin_object();
      json_.field("function", placeholder);
      json_.end_object();
    }
    for (uint32_t id : frames_) {
      const rec::FrameInfo& f = rec_.frames[id];
      json_.begin_object();
      json_.field("function", frame_display_name(rec_, f));
      json_.field("resolved", frame_is_resolved(rec_, f));
      json_.field("kind", f.kind == rec::FrameKind::kKernel ? "kernel" : "user");
      json_.field("address", f.address);
      if (f.mapping != 0 && f.mapping < rec_.mappings.size()) {
        json_.field("module", rec_.str(rec_.mappings[f.mapping].path));
      }
      if (f.file != 0) {
        json_.field("file", rec_.str(f.file));
        json_.field("line", f.line);
      }
      json_.field("inlined", (f.flags & rec::kFrameInlined) != 0);
      json_.end_object();
    }
    json_.end_array();
  }
  void end() override { json_.end_object(); }
  void finish() override {
    json_.end_array();
    json_.end_object();
  }

 private:
  const rec::Recording& rec_;
  ViewOptions view_;
  JsonWriter json_;
  std::vector<uint32_t> frames_;
};

bool involves(const rec::Recording& rec, const EventRef& r, uint32_t tid) {
  switch (r.kind) {
    case EventKind::kCpuSample:
      return rec.samples[r.index].tid == tid;
    case EventKind::kOffCpu:
      return rec.offcpu[r.index].tid == tid || rec.offcpu[r.index].waker_tid == tid;
    case EventKind::kOffCpuTotal:
      return rec.offcpu_totals[r.index].tid == tid;
    case EventKind::kWakeup:
      return rec.wakeups[r.index].wakee_tid == tid || rec.wakeups[r.index].waker_tid == tid;
    case EventKind::kAlloc:
      return rec.allocations[r.index].tid == tid;
    case EventKind::kFree:
      return rec.frees[r.index].tid == tid;
    case EventKind::kGoroutine:
      return rec.goroutine_events[r.index].tid == tid;
    case EventKind::kThread:
      return rec.thread_events[r.index].tid == tid;
  }
  return false;
}

void write_event(const rec::Recording& rec, const EventRef& r, Sink& s) {
  s.begin(kind_type_name(r.kind), r.time_ns);
  switch (r.kind) {
    case EventKind::kCpuSample: {
      const rec::CpuSample& e = rec.samples[r.index];
      s.thread("thread", e.tid);
      s.number("cpu", e.cpu);
      s.stack("stack", e.stack);
      break;
    }
    case EventKind::kOffCpu: {
      const rec::OffCpuInterval& e = rec.offcpu[r.index];
      s.thread("thread", e.tid);
      s.text("state", thread_state_name(static_cast<uint8_t>(e.state)));
      s.duration("duration", e.blocked_ns + e.runq_ns);
      s.duration("blocked", e.blocked_ns);
      s.duration("runq", e.runq_ns);
      s.flag("clipped_start", (e.flags & rec::kOffCpuClippedStart) != 0);
      s.flag("clipped_end", (e.flags & rec::kOffCpuClippedEnd) != 0);
      s.stack("stack", e.stack);
      s.thread("waker", e.waker_tid);
      s.stack("waker_stack", e.waker_stack);
      break;
    }
    case EventKind::kOffCpuTotal: {
      const rec::OffCpuTotal& e = rec.offcpu_totals[r.index];
      s.thread("thread", e.tid);
      s.text("state", thread_state_name(static_cast<uint8_t>(e.state)));
      s.number("count", e.count);
      s.duration("blocked", e.blocked_ns);
      s.duration("runq", e.runq_ns);
      break;
    }
    case EventKind::kWakeup: {
      const rec::Wakeup& e = rec.wakeups[r.index];
      s.thread("waker", e.waker_tid);
      s.number("waker_pid", e.waker_pid);
      s.thread("wakee", e.wakee_tid);
      s.stack("waker_stack", e.waker_stack);
      break;
    }
    case EventKind::kAlloc: {
      const rec::Allocation& e = rec.allocations[r.index];
      s.thread("thread", e.tid);
      s.text("address", hex(e.address));
      s.number("size", e.size);
      s.number("weight", e.weight);
      s.flag("untracked", (e.flags & rec::kAllocUntracked) != 0);
      s.stack("stack", e.stack);
      break;
    }
    case EventKind::kFree: {
      const rec::Free& e = rec.frees[r.index];
      s.thread("thread", e.tid);
      s.text("address", hex(e.address));
      break;
    }
    case EventKind::kGoroutine: {
      const rec::GoroutineEvent& e = rec.goroutine_events[r.index];
      s.thread("thread", e.tid);
      s.text("kind", e.kind == rec::GoroutineEventKind::kPark ? "park" : "ready");
      s.number("goid", e.goid);
      if (e.kind == rec::GoroutineEventKind::kPark) {
        s.text("reason", rec.str(e.reason));
      } else {
        s.number("waker_goid", e.waker_goid);
      }
      s.stack("stack", e.stack);
      break;
    }
    case EventKind::kThread: {
      const rec::ThreadEvent& e = rec.thread_events[r.index];
      s.thread("thread", e.tid);
      s.text("kind", e.kind == rec::ThreadEventKind::kStart ? "start" : "end");
      s.number("pid", e.pid);
      break;
    }
  }
  s.end();
}

}  // namespace

const std::vector<std::string_view>& listing_event_types() {
  static const std::vector<std::string_view> types = {"cpu",       "offcpu", "offcpu_total", "wakeup", "alloc",
                                                      "free",      "goroutine", "thread",   "lost",   "stat"};
  return types;
}

Result<std::set<std::string>> parse_listing_types(std::string_view names) {
  std::set<std::string> out;
  while (!names.empty()) {
    size_t comma = names.find(',');
    std::string_view name = names.substr(0, comma);
    if (!name.empty()) {
      bool known = false;
      for (std::string_view t : listing_event_types()) known = known || t == name;
      if (!known) {
        std::string valid;
        for (std::string_view t : listing_event_types()) valid += (valid.empty() ? "" : ", ") + std::string(t);
        return Status(ErrorCode::kInvalidArgument, "unknown event type '" + std::string(name) + "' (valid: " + valid + ")");
      }
      out.emplace(name);
    }
    if (comma == std::string_view::npos) break;
    names.remove_prefix(comma + 1);
  }
  return out;
}

Status write_event_listing(const rec::Recording& rec, const ListingOptions& options, std::ostream& out) {
  std::unique_ptr<Sink> sink;
  if (options.json) {
    sink = std::make_unique<JsonSink>(rec, options.view, out);
  } else {
    sink = std::make_unique<TextSink>(rec, options.view, out);
  }
  auto wanted = [&](const char* type) { return options.types.empty() || options.types.count(type) != 0; };
  for (const EventRef& r : events_in_time_order(rec)) {
    if (!wanted(kind_type_name(r.kind))) continue;
    if (options.tid && !involves(rec, r, *options.tid)) continue;
    int64_t offset = since_capture_start_ns(rec.header, r.time_ns);
    if (options.from_ns && offset < *options.from_ns) continue;
    if (options.to_ns && offset >= *options.to_ns) continue;
    write_event(rec, r, *sink);
  }
  // Losses and statistics belong to no thread and no instant.
  if (!options.tid) {
    if (wanted("lost")) {
      for (const rec::LostRecord& l : rec.lost) {
        sink->begin("lost", std::nullopt);
        sink->text("cause", rec::lost_cause_name(l.cause));
        sink->flag("all_cpus", l.cpu == rec::kLostCpuUnknown);
        if (l.cpu != rec::kLostCpuUnknown) sink->number("cpu", l.cpu);
        sink->number("count", l.count);
        sink->end();
      }
    }
    if (wanted("stat")) {
      for (const auto& [name, value] : rec.stats) {
        sink->begin("stat", std::nullopt);
        sink->text("name", name);
        sink->number("value", value);
        sink->end();
      }
    }
  }
  sink->finish();
  if (!out) return Status(ErrorCode::kIo, "writing the event listing failed");
  return Status::ok();
}

}  // namespace flare::viewer
