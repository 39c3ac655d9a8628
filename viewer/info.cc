#include "viewer/info.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/duration.h"
#include "viewer/frame_names.h"
#include "viewer/info_alloc.h"
#include "viewer/info_goroutine.h"
#include "viewer/json_writer.h"
#include "viewer/sample_counts.h"
#include "viewer/sample_weight.h"
#include "viewer/signal.h"
#include "viewer/text_format.h"
#include "viewer/thread_times.h"
#include "viewer/wall_time.h"

namespace flare::viewer {

namespace {

struct ThreadRow {
  uint32_t tid = 0;
  uint32_t pid = 0;  // 0 when the thread was never described
  std::string name;
  uint64_t samples = 0;
};

struct Unresolved {
  uint64_t frames_in_samples = 0;  // distinct frames any sample's stack uses
  uint64_t user_frames = 0;        // of those, unresolved user frames
  uint64_t kernel_frames = 0;      // of those, unresolved kernel frames
  uint64_t samples_with_user = 0;  // samples with at least one unresolved user frame
};

// Everything both renderers print, computed once.
struct Facts {
  uint64_t total_samples = 0;
  std::optional<uint64_t> first_ns, last_ns;  // CLOCK_MONOTONIC
  std::vector<ThreadRow> threads;             // with samples, most samples first
  uint64_t lost_total = 0;
  std::map<uint32_t, uint64_t> lost_by_cause;
  std::map<uint32_t, uint64_t> lost_by_cpu;
  Unresolved unresolved;
};

struct EventCount {
  const char* name;
  uint64_t count;
};

// Named as in the CLI's --events vocabulary where one exists.
std::vector<EventCount> event_counts(const rec::Recording& rec) {
  return {
      {"cpu", rec.samples.size()},
      {"offcpu", rec.offcpu.size()},
      {"wakeup", rec.wakeups.size()},
      {"alloc", rec.allocations.size()},
      {"free", rec.frees.size()},
      {"goroutine", rec.goroutine_events.size()},
      {"thread", rec.thread_events.size()},
  };
}

Facts gather(const rec::Recording& rec) {
  Facts f;
  f.total_samples = rec.samples.size();
  std::unordered_map<uint32_t, uint64_t> per_tid;
  for (const rec::CpuSample& s : rec.samples) {
    if (!f.first_ns || s.time_ns < *f.first_ns) f.first_ns = s.time_ns;
    if (!f.last_ns || s.time_ns > *f.last_ns) f.last_ns = s.time_ns;
    ++per_tid[s.tid];
  }
  for (const auto& [tid, n] : per_tid) {
    auto it = rec.threads.find(tid);
    f.threads.push_back(ThreadRow{tid, it == rec.threads.end() ? 0 : it->second.pid, thread_display_name(rec, tid), n});
  }
  std::sort(f.threads.begin(), f.threads.end(), [](const ThreadRow& a, const ThreadRow& b) {
    return a.samples != b.samples ? a.samples > b.samples : a.tid < b.tid;
  });

  for (const rec::LostRecord& l : rec.lost) {
    f.lost_total += l.count;
    f.lost_by_cause[static_cast<uint32_t>(l.cause)] += l.count;
    f.lost_by_cpu[l.cpu] += l.count;
  }

  std::vector<bool> frame_seen(rec.frames.size(), false);
  std::vector<uint64_t> per_stack = count_by_stack(rec);
  for (size_t stack = 0; stack < per_stack.size(); ++stack) {
    if (per_stack[stack] == 0) continue;
    bool has_unresolved_user = false;
    for (uint32_t id : rec.stack(static_cast<uint32_t>(stack))) {
      if (id == 0 || id >= rec.frames.size()) continue;
      const rec::FrameInfo& frame = rec.frames[id];
      bool resolved = frame_is_resolved(rec, frame);
      bool user = frame.kind == rec::FrameKind::kUser;
      has_unresolved_user |= user && !resolved;
      if (frame_seen[id]) continue;
      frame_seen[id] = true;
      ++f.unresolved.frames_in_samples;
      if (!resolved) ++(user ? f.unresolved.user_frames : f.unresolved.kernel_frames);
    }
    if (has_unresolved_user) f.unresolved.samples_with_user += per_stack[stack];
  }
  return f;
}

// A cause from a newer writer is still listed apart from the others.
std::string cause_name(uint32_t cause) {
  const char* name = rec::lost_cause_name(static_cast<rec::LostCause>(cause));
  if (!name || std::string_view(name) == "unknown") return "unknown-" + std::to_string(cause);
  return name;
}

std::string format_version(const rec::FileHeader& h) { return std::to_string(h.major) + "." + std::to_string(h.minor); }

std::vector<std::string> split_events(const std::string& events) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= events.size()) {
    size_t comma = events.find(',', start);
    if (comma == std::string::npos) comma = events.size();
    if (comma > start) out.push_back(events.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

// "+1.234s (2024-05-01T12:00:01.234000Z)"
std::string describe_user_stacks(const rec::FileHeader& h) {
  std::string kib = std::to_string(h.stack_copy_bytes / 1024) + " KiB";
  if (h.user_stacks == "auto") return "auto (CFI unwinding of a " + kib + " stack copy, frame pointers where code has none)";
  if (h.user_stacks == "dwarf") return "dwarf (CFI unwinding of a " + kib + " stack copy)";
  if (h.user_stacks == "fp") return "fp (frame pointers)";
  return h.user_stacks;
}

// How the unwinds of CPU samples ended, from the agent's unwind_* stats
// (absent for frame-pointer recordings).
struct UnwindCounts {
  std::vector<std::pair<std::string, uint64_t>> by_status;
  uint64_t total = 0;
  uint64_t count(std::string_view status) const {
    for (const auto& [name, n] : by_status) {
      if (name == status) return n;
    }
    return 0;
  }
};

std::optional<UnwindCounts> unwind_counts(const rec::Recording& rec) {
  static constexpr std::string_view kStatuses[] = {"complete",        "truncated_window", "truncated_depth",
                                                   "no_unwind_info",  "unknown_mapping",  "bad_frame",
                                                   "no_stack"};
  UnwindCounts c;
  for (std::string_view status : kStatuses) {
    for (const auto& [name, value] : rec.stats) {
      if (name.size() == status.size() + 7 && name.rfind("unwind_", 0) == 0 && name.substr(7) == status) {
        c.by_status.emplace_back(std::string(status), value);
        c.total += value;
      }
    }
  }
  if (c.by_status.empty()) return std::nullopt;
  return c;
}

std::string describe_time(const rec::FileHeader& h, uint64_t t) {
  int64_t rel = since_capture_start_ns(h, t);
  std::string out = (rel >= 0 ? "+" : "") + format_seconds(rel);
  if (auto wall = wall_time_ns(h, t)) out += " (" + format_wall_time(*wall) + ")";
  return out;
}

// Off-CPU state names in rec::OffCpuState order, index 0 for states this
// reader does not know (see ThreadTimes::intervals_by_state).
constexpr const char* kStateNames[] = {"unknown", "sleeping", "uninterruptible", "preempted"};

struct OffCpuThreadRow {
  uint32_t tid = 0;
  uint32_t pid = 0;
  std::string name;
  ThreadTimes times;
};

// Threads with CPU samples or off-CPU records, the most time first.
std::vector<OffCpuThreadRow> offcpu_rows(const rec::Recording& rec, const std::map<uint32_t, ThreadTimes>& times) {
  const uint64_t period = sample_period_ns(rec.header);
  std::vector<OffCpuThreadRow> rows;
  for (const auto& [tid, t] : times) {
    auto it = rec.threads.find(tid);
    rows.push_back(OffCpuThreadRow{tid, it == rec.threads.end() ? 0 : it->second.pid, thread_display_name(rec, tid), t});
  }
  std::sort(rows.begin(), rows.end(), [period](const OffCpuThreadRow& a, const OffCpuThreadRow& b) {
    uint64_t ta = a.times.cpu_samples * period + a.times.offcpu_ns();
    uint64_t tb = b.times.cpu_samples * period + b.times.offcpu_ns();
    return ta != tb ? ta > tb : a.tid < b.tid;
  });
  return rows;
}

void write_offcpu_text(const rec::Recording& rec, std::ostream& out) {
  const rec::FileHeader& h = rec.header;
  const uint64_t period = sample_period_ns(h);
  std::map<uint32_t, ThreadTimes> times = thread_times(rec);
  ThreadTimes all = sum_thread_times(times);
  out << "Off-CPU:     " << all.offcpu_intervals() << " intervals, " << format_seconds(all.offcpu_ns())
      << " (blocked " << format_seconds(all.blocked_ns) << ", run queue " << format_seconds(all.runq_ns) << ")\n";
  out << "             " << all.offcpu_recorded << " recorded with stacks (" << all.clipped_start
      << " clipped at capture start, " << all.clipped_end << " at its end), " << all.offcpu_totalled
      << " only totalled\n";
  out << "  by state:  ";
  const char* sep = "";
  for (size_t i = 1; i < all.intervals_by_state.size(); ++i) {
    out << sep << kStateNames[i] << ' ' << all.intervals_by_state[i];
    sep = ", ";
  }
  if (all.intervals_by_state[0]) out << sep << kStateNames[0] << ' ' << all.intervals_by_state[0];
  out << '\n';
  if (h.offcpu_min_ns != 0 || h.offcpu_max_per_second != 0) {
    out << "  gates:     intervals under " << format_duration_ns(h.offcpu_min_ns) << " or beyond "
        << h.offcpu_max_per_second << " per second are only totalled\n";
  }
  char buf[256];
  std::snprintf(buf, sizeof buf, "  %10s %10s %10s %10s %10s %10s %10s %10s  %s\n", "tid", "pid", "on-CPU", "blocked",
                "run-queue", "sleeping", "uninterr", "preempted", "name");
  out << buf;
  for (const OffCpuThreadRow& r : offcpu_rows(rec, times)) {
    const ThreadTimes& t = r.times;
    std::snprintf(buf, sizeof buf,
                  "  %10" PRIu32 " %10s %10s %10s %10s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "  ", r.tid,
                  r.pid ? std::to_string(r.pid).c_str() : "?", format_seconds(t.cpu_samples * period).c_str(),
                  format_seconds(t.blocked_ns).c_str(), format_seconds(t.runq_ns).c_str(), t.intervals_by_state[1],
                  t.intervals_by_state[2], t.intervals_by_state[3]);
    out << buf << r.name << '\n';
  }
}

void write_state_counts(JsonWriter& json, const ThreadTimes& t) {
  json.key("intervals_by_state");
  json.begin_object();
  for (size_t i = 1; i < t.intervals_by_state.size(); ++i) json.field(kStateNames[i], t.intervals_by_state[i]);
  json.field(kStateNames[0], t.intervals_by_state[0]);
  json.end_object();
}

void write_offcpu_json(const rec::Recording& rec, JsonWriter& json) {
  const rec::FileHeader& h = rec.header;
  json.key("offcpu");
  if (!has_offcpu(rec)) return json.null();
  const uint64_t period = sample_period_ns(h);
  std::map<uint32_t, ThreadTimes> times = thread_times(rec);
  ThreadTimes all = sum_thread_times(times);
  json.begin_object();
  json.field("min_ns", h.offcpu_min_ns);
  json.field("max_per_second", h.offcpu_max_per_second);
  json.field("intervals", all.offcpu_intervals());
  json.field("recorded", all.offcpu_recorded);
  json.field("totalled", all.offcpu_totalled);
  json.field("clipped_start", all.clipped_start);
  json.field("clipped_end", all.clipped_end);
  json.field("blocked_ns", all.blocked_ns);
  json.field("runq_ns", all.runq_ns);
  write_state_counts(json, all);
  json.key("threads");
  json.begin_array();
  for (const OffCpuThreadRow& r : offcpu_rows(rec, times)) {
    json.begin_object();
    json.field("tid", r.tid);
    json.field("pid", r.pid);
    json.field("name", r.name);
    json.field("oncpu_ns", r.times.cpu_samples * period);
    json.field("blocked_ns", r.times.blocked_ns);
    json.field("runq_ns", r.times.runq_ns);
    json.field("intervals", r.times.offcpu_intervals());
    write_state_counts(json, r.times);
    json.end_object();
  }
  json.end_array();
  json.end_object();
}

void write_text(const rec::Recording& rec, const Facts& f, std::ostream& out) {
  const rec::FileHeader& h = rec.header;
  char buf[256];
  if (!rec.finalized) {
    out << "WARNING: this recording was not finalized: the recorder stopped before writing its end block\n"
           "         (killed, crashed or out of disk). Data up to the last complete block is shown;\n"
           "         the capture may have run longer than this.\n";
  }
  out << "Finalized:   " << (rec.finalized ? "yes" : "NO") << '\n';
  out << "Format:      " << format_version(h);
  if (!h.flare_version.empty()) out << ", written by flare " << h.flare_version;
  out << '\n';
  out << "Host:        " << (h.hostname.empty() ? "?" : h.hostname) << '\n';
  out << "Kernel:      " << (h.kernel_release.empty() ? "?" : h.kernel_release) << '\n';
  if (h.targets.empty()) out << "Targets:     (none recorded)\n";
  for (size_t i = 0; i < h.targets.size(); ++i) {
    out << (i == 0 ? "Targets:     " : "             ") << "pid " << h.targets[i].pid << "  "
        << h.targets[i].command_line << '\n';
  }
  out << "Events:      " << (h.events.empty() ? "?" : h.events) << '\n';
  out << "Frequency:   " << h.sample_frequency_hz << " Hz (" << format_duration_ns(sample_period_ns(h))
      << " per sample)\n";
  if (!h.user_stacks.empty()) out << "User stacks: " << describe_user_stacks(h) << '\n';
  if (auto start = wall_time_ns(h, h.clock_monotonic_ns)) {
    out << "Started:     " << format_wall_time(*start) << '\n';
  }
  if (f.first_ns) {
    out << "First:       " << describe_time(h, *f.first_ns) << '\n';
    out << "Last:        " << describe_time(h, *f.last_ns) << '\n';
    out << "Duration:    " << format_seconds(static_cast<int64_t>(*f.last_ns - *f.first_ns))
        << " (first to last sample)\n";
  }
  out << "Samples:     " << f.total_samples << '\n';

  out << "Threads:     " << f.threads.size() << " with samples, " << rec.threads.size() << " known\n";
  if (!f.threads.empty()) {
    std::snprintf(buf, sizeof buf, "  %10s %10s %12s %8s  %s\n", "tid", "pid", "samples", "%", "name");
    out << buf;
  }
  for (const ThreadRow& t : f.threads) {
    std::snprintf(buf, sizeof buf, "  %10" PRIu32 " %10s %12" PRIu64 " %8s  ", t.tid,
                  t.pid ? std::to_string(t.pid).c_str() : "?", t.samples,
                  format_percent(t.samples, f.total_samples).c_str());
    out << buf << t.name << '\n';
  }
  // Only recordings with off-CPU data get the section, so the summary of a
  // CPU-only recording reads exactly as before.
  if (has_offcpu(rec)) write_offcpu_text(rec, out);
  write_alloc_info_text(rec, out);
  write_goroutine_info_text(rec, out);

  out << "Lost:        " << f.lost_total << " events";
  if (!rec.losses_known()) {
    out << " (drop counts not known: this flare version wrote them when a capture ended, and this one did not)";
  } else if (f.lost_total == 0) {
    out << " (nothing dropped)";
  }
  out << '\n';
  if (f.lost_total != 0) {
    const char* sep = "  by cause:  ";
    for (const auto& [cause, n] : f.lost_by_cause) {
      out << sep << cause_name(cause) << ' ' << n;
      sep = ", ";
    }
    sep = "\n  by cpu:    ";
    for (const auto& [cpu, n] : f.lost_by_cpu) {
      out << sep << "cpu" << cpu << ' ' << n;
      sep = ", ";
    }
    out << '\n';
  }

  if (std::optional<UnwindCounts> unwind = unwind_counts(rec)) {
    const UnwindCounts& c = *unwind;
    out << "Unwinding:   " << c.total << " samples: " << c.count("complete") << " complete, "
        << c.count("truncated_window") + c.count("truncated_depth") << " truncated (stack copy "
        << c.count("truncated_window") << ", depth " << c.count("truncated_depth") << "), "
        << c.count("no_unwind_info") << " no unwind info, " << c.count("unknown_mapping") << " unknown mapping, "
        << c.count("bad_frame") << " bad frame, " << c.count("no_stack") << " no stack copy\n";
  }

  const Unresolved& u = f.unresolved;
  out << "Unresolved:  " << (u.user_frames + u.kernel_frames) << " of " << u.frames_in_samples
      << " distinct frames (user " << u.user_frames << ", kernel " << u.kernel_frames << ")\n";
  out << "             " << u.samples_with_user << " samples (" << format_percent(u.samples_with_user, f.total_samples)
      << ") contain an unresolved user frame\n";

  if (rec.stats.empty()) {
    out << "Agent stats: (none recorded)\n";
  } else {
    out << "Agent stats:\n";
    size_t width = 0;
    for (const auto& [name, value] : rec.stats) width = std::max(width, name.size());
    for (const auto& [name, value] : rec.stats) {
      out << "  " << name << std::string(width - name.size() + 2, ' ') << value << '\n';
    }
  }

  out << "Events:     ";
  for (const EventCount& e : event_counts(rec)) out << ' ' << e.name << ' ' << e.count;
  if (!rec.offcpu_totals.empty()) out << " offcpu_total " << rec.offcpu_totals.size();
  out << '\n';
  if (rec.unknown_records_skipped) {
    out << "             " << rec.unknown_records_skipped << " records of unknown type skipped (newer minor version)\n";
  }
  out << "File:        " << rec.file_bytes << " bytes, " << rec.chunks.size() << " chunks, " << rec.blocks_read
      << " blocks";
  if (!rec.samples.empty()) {
    std::snprintf(buf, sizeof buf, ", %.1f bytes per CPU sample",
                  static_cast<double>(rec.file_bytes) / static_cast<double>(rec.samples.size()));
    out << buf;
  }
  out << '\n';
  for (size_t i = 0; i < rec.chunks.size(); ++i) {
    const rec::ChunkSummary& c = rec.chunks[i];
    out << "  chunk " << c.chunk_id << ": " << c.blocks << " blocks, " << c.file_bytes << " bytes (" << c.raw_bytes
        << " uncompressed)";
    if (c.last_ns) {
      out << ", +" << format_seconds(since_capture_start_ns(rec.header, c.first_ns)) << " to +"
          << format_seconds(since_capture_start_ns(rec.header, c.last_ns));
    }
    out << '\n';
  }
  if (rec.truncation.truncated) {
    out << "TRUNCATED:   " << rec.truncation.reason << "; " << rec.truncation.bytes_ignored
        << " bytes ignored; data ends at the last intact block\n";
  } else if (rec.truncation.bytes_ignored) {
    out << "Ignored:     " << rec.truncation.bytes_ignored << " bytes (" << rec.truncation.reason << ")\n";
  }
}

void write_json(const rec::Recording& rec, const Facts& f, std::ostream& out) {
  const rec::FileHeader& h = rec.header;
  JsonWriter json(out);
  json.begin_object();
  json.field("finalized", rec.finalized);
  json.field("format", format_version(h));
  json.field("flare_version", h.flare_version);
  json.field("host", h.hostname);
  json.field("kernel", h.kernel_release);
  json.key("targets");
  json.begin_array();
  for (const rec::TargetInfo& t : h.targets) {
    json.begin_object();
    json.field("pid", t.pid);
    json.field("command_line", t.command_line);
    json.end_object();
  }
  json.end_array();
  json.key("events");
  json.begin_array();
  for (const std::string& e : split_events(h.events)) json.value(e);
  json.end_array();
  json.field("sample_frequency_hz", h.sample_frequency_hz);
  json.field("sample_period_ns", sample_period_ns(h));
  if (!h.user_stacks.empty()) {
    json.key("user_stacks");
    json.begin_object();
    json.field("mode", h.user_stacks);
    json.field("stack_copy_bytes", h.stack_copy_bytes);
    json.end_object();
  }
  if (std::optional<UnwindCounts> unwind = unwind_counts(rec)) {
    json.key("unwind");
    json.begin_object();
    for (const auto& [status, n] : unwind->by_status) json.field(status, n);
    json.end_object();
  }

  json.key("capture_start");
  json.begin_object();
  json.field("monotonic_ns", h.clock_monotonic_ns);
  json.field("realtime_ns", h.clock_realtime_ns);
  auto start = wall_time_ns(h, h.clock_monotonic_ns);
  json.key("wall");
  start ? json.value(format_wall_time(*start)) : json.null();
  json.end_object();
  // Sample times: offsets from the capture start, and wall clock.
  auto sample_time = [&](const char* name, const std::optional<uint64_t>& t) {
    json.key(name);
    if (!t) return json.null();
    json.begin_object();
    json.field("offset_ns", since_capture_start_ns(h, *t));
    auto wall = wall_time_ns(h, *t);
    json.key("wall");
    wall ? json.value(format_wall_time(*wall)) : json.null();
    json.end_object();
  };
  sample_time("first_sample", f.first_ns);
  sample_time("last_sample", f.last_ns);
  json.field("duration_ns", f.first_ns ? *f.last_ns - *f.first_ns : 0);
  json.field("total_samples", f.total_samples);

  json.key("threads");
  json.begin_array();
  for (const ThreadRow& t : f.threads) {
    json.begin_object();
    json.field("tid", t.tid);
    json.field("pid", t.pid);
    json.field("name", t.name);
    json.field("samples", t.samples);
    json.key("percent");
    json.value_fixed(percent_of(t.samples, f.total_samples), 2);
    json.end_object();
  }
  json.end_array();
  json.field("threads_known", rec.threads.size());

  json.key("lost");
  json.begin_object();
  json.field("total", f.lost_total);
  json.field("known", rec.losses_known());
  json.key("by_cause");
  json.begin_array();
  for (const auto& [cause, n] : f.lost_by_cause) {
    json.begin_object();
    json.field("cause", cause_name(cause));
    json.field("count", n);
    json.end_object();
  }
  json.end_array();
  json.key("by_cpu");
  json.begin_array();
  for (const auto& [cpu, n] : f.lost_by_cpu) {
    json.begin_object();
    json.field("cpu", cpu);
    json.field("count", n);
    json.end_object();
  }
  json.end_array();
  json.end_object();

  const Unresolved& u = f.unresolved;
  json.key("unresolved");
  json.begin_object();
  json.field("frames_in_samples", u.frames_in_samples);
  json.field("distinct_frames", u.user_frames + u.kernel_frames);
  json.field("user_frames", u.user_frames);
  json.field("kernel_frames", u.kernel_frames);
  json.field("samples_with_unresolved_user_frame", u.samples_with_user);
  json.key("samples_with_unresolved_user_frame_percent");
  json.value_fixed(percent_of(u.samples_with_user, f.total_samples), 2);
  json.end_object();

  // An array, not an object: names come from the agent and are not
  // guaranteed unique, and order is kept as recorded.
  json.key("stats");
  json.begin_array();
  for (const auto& [name, value] : rec.stats) {
    json.begin_object();
    json.field("name", name);
    json.field("value", value);
    json.end_object();
  }
  json.end_array();
  json.key("event_counts");
  json.begin_object();
  for (const EventCount& e : event_counts(rec)) json.field(e.name, e.count);
  json.field("offcpu_total", rec.offcpu_totals.size());
  json.end_object();
  write_offcpu_json(rec, json);
  write_alloc_info_json(rec, json);
  write_goroutine_info_json(rec, json);
  json.field("unknown_records_skipped", rec.unknown_records_skipped);
  json.field("file_bytes", rec.file_bytes);
  json.field("blocks_read", rec.blocks_read);
  json.key("chunks");
  json.begin_array();
  for (const rec::ChunkSummary& c : rec.chunks) {
    json.begin_object();
    json.field("chunk_id", c.chunk_id);
    json.field("blocks", c.blocks);
    json.field("file_bytes", c.file_bytes);
    json.field("raw_bytes", c.raw_bytes);
    json.field("first_offset_ns", c.last_ns ? since_capture_start_ns(rec.header, c.first_ns) : 0);
    json.field("last_offset_ns", c.last_ns ? since_capture_start_ns(rec.header, c.last_ns) : 0);
    json.end_object();
  }
  json.end_array();
  json.key("truncation");
  json.begin_object();
  json.field("truncated", rec.truncation.truncated);
  json.field("reason", rec.truncation.reason);
  json.field("offset", rec.truncation.offset);
  json.field("bytes_ignored", rec.truncation.bytes_ignored);
  json.end_object();
  json.end_object();
}

}  // namespace

Status write_info(const rec::Recording& rec, bool json, std::ostream& out) {
  Facts facts = gather(rec);
  if (json) {
    write_json(rec, facts, out);
  } else {
    write_text(rec, facts, out);
  }
  out.flush();
  if (!out) return Status(ErrorCode::kIo, "writing info failed");
  return Status::ok();
}

}  // namespace flare::viewer
