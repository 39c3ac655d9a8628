#include "viewer/top.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/duration.h"
#include "viewer/frame_names.h"
#include "viewer/goroutine_waits.h"
#include "viewer/json_writer.h"
#include "viewer/sample_weight.h"
#include "viewer/text_format.h"
#include "viewer/thread_times.h"
#include "viewer/view_stack.h"
#include "viewer/weighted_stacks.h"

namespace flare::viewer {

namespace {

struct FunctionRow {
  std::string name;
  uint64_t flat = 0;
  uint64_t cum = 0;
};

struct TopTable {
  std::vector<FunctionRow> rows;  // sorted, all functions
  uint64_t total = 0;
};

// Per stack id, the view's weight of every entry on it; stackless totals
// (off-CPU time only totalled by the recorder) apart, under their frame.
struct StackWeights {
  std::vector<uint64_t> per_stack;
  uint64_t untraced = 0;
};

StackWeights weights_by_stack(const rec::Recording& rec, Signal signal) {
  StackWeights w;
  w.per_stack.assign(rec.stacks.empty() ? 1 : rec.stacks.size(), 0);
  for (const WeightedStack& e : weighted_stacks(rec, signal)) {
    uint64_t v = view_weight(e, signal);
    if (e.totals_only) {
      w.untraced += v;
    } else {
      // A stack id the recording does not have is the empty stack, as
      // Recording::stack() returns it.
      w.per_stack[e.stack < w.per_stack.size() ? e.stack : 0] += v;
    }
  }
  return w;
}

// Functions are identified by display name: two frames of the same function
// at different addresses (or in two processes) are one row.
TopTable compute(const rec::Recording& rec, const ViewOptions& options) {
  TopTable table;
  std::unordered_map<std::string, uint32_t> function_index;
  std::vector<int64_t> function_of_frame(rec.frames.size(), -1);
  auto intern = [&](std::string name) {
    auto [it, inserted] = function_index.try_emplace(std::move(name), static_cast<uint32_t>(table.rows.size()));
    if (inserted) table.rows.push_back(FunctionRow{it->first, 0, 0});
    return it->second;
  };

  // Per function, the last stack that counted it: recursion shows a function
  // several times in one stack, and cum must count the sample once.
  std::vector<uint64_t> counted_in_stack;
  std::vector<uint32_t> frames;
  StackWeights weights = weights_by_stack(rec, options.signal);
  for (size_t stack = 0; stack < weights.per_stack.size(); ++stack) {
    uint64_t n = weights.per_stack[stack];
    if (n == 0) continue;
    table.total += n;
    std::string_view placeholder = view_stack(rec, static_cast<uint32_t>(stack), options, frames);
    auto count = [&](uint32_t fn, bool leaf) {
      if (counted_in_stack.size() <= fn) counted_in_stack.resize(fn + 1, 0);
      if (leaf) table.rows[fn].flat += n;
      if (counted_in_stack[fn] != stack + 1) {
        counted_in_stack[fn] = stack + 1;
        table.rows[fn].cum += n;
      }
    };
    if (!placeholder.empty()) {
      count(intern(std::string(placeholder)), true);
      continue;
    }
    for (size_t i = 0; i < frames.size(); ++i) {
      uint32_t id = frames[i];
      if (function_of_frame[id] < 0) function_of_frame[id] = intern(frame_display_name(rec, rec.frames[id]));
      count(static_cast<uint32_t>(function_of_frame[id]), i == 0);
    }
  }
  if (weights.untraced != 0) {
    table.total += weights.untraced;
    FunctionRow& row = table.rows[intern(std::string(kUntracedOffCpuFrame))];
    row.flat += weights.untraced;
    row.cum += weights.untraced;
  }
  std::sort(table.rows.begin(), table.rows.end(), [](const FunctionRow& a, const FunctionRow& b) {
    if (a.flat != b.flat) return a.flat > b.flat;
    if (a.cum != b.cum) return a.cum > b.cum;
    return a.name < b.name;
  });
  return table;
}

// Events whose weight is missing from the totals. Rate-limited off-CPU
// intervals are not: the recorder still totals their time (OffCpuTotal).
uint64_t lost_events(const rec::Recording& rec) {
  uint64_t lost = 0;
  for (const rec::LostRecord& l : rec.lost) {
    if (l.cause != rec::LostCause::kOffCpuRateLimited) lost += l.count;
  }
  return lost;
}

// The "Total:" line: what 100 % stands for.
std::string describe_total(const rec::Recording& rec, const TopOptions& options, const TopTable& table) {
  uint64_t period = sample_period_ns(rec.header);
  std::string out = "Total: ";
  if (is_alloc_signal(options.view.signal)) {
    const bool alloc = options.view.signal == Signal::kAlloc;
    const uint64_t rate = rec.header.alloc_sample_rate;
    out += format_bytes(table.total) + (alloc ? " allocated" : " in use at the end");
    out += " (" + std::to_string(rec.allocations.size()) + " allocation samples, ";
    out += rate <= 1 ? std::string("every allocation recorded)") : "one per " + format_bytes(rate) + " on average)";
    return out;
  }
  if (options.view.signal == Signal::kCpu) {
    out += std::to_string(table.total) + " samples, " + format_seconds(static_cast<int64_t>(table.total * period)) +
           " of CPU";
    if (period) out += " (" + format_duration_ns(period) + " per sample";
    if (period && rec.header.sample_frequency_hz) out += ", " + std::to_string(rec.header.sample_frequency_hz) + " Hz";
    if (period) out += ')';
    return out;
  }
  if (options.view.signal == Signal::kGoroutine) {
    const GoroutineWaits waits = goroutine_waits(rec);
    return out + format_seconds(static_cast<int64_t>(table.total)) + " goroutines waited parked in " +
           std::to_string(waits.waits.size()) + " waits (park to ready; " + std::to_string(waits.open_parks) +
           " still parked at the end)";
  }
  ThreadTimes all = sum_thread_times(thread_times(rec));
  std::string offcpu = format_seconds(static_cast<int64_t>(all.offcpu_ns())) + " off CPU in " +
                       std::to_string(all.offcpu_intervals()) + " intervals";
  if (options.view.signal == Signal::kOffCpu) {
    return out + offcpu + " (blocked " + format_seconds(static_cast<int64_t>(all.blocked_ns)) + ", run queue " +
           format_seconds(static_cast<int64_t>(all.runq_ns)) + ")";
  }
  return out + format_seconds(static_cast<int64_t>(table.total)) + " of wall-clock time (" +
         format_seconds(static_cast<int64_t>(all.cpu_samples * period)) + " on CPU in " +
         std::to_string(all.cpu_samples) + " samples, " + offcpu + ")";
}

void write_text(const rec::Recording& rec, const TopOptions& options, const TopTable& table, size_t shown,
                std::ostream& out) {
  out << describe_total(rec, options, table);
  if (options.view.user_only) out << ", user frames only";
  out << '\n';
  if (uint64_t lost = lost_events(rec)) {
    out << "Lost: " << lost << " events were dropped during capture and are not counted (see flare info)\n";
  }
  if (!rec.finalized) out << "Warning: the recording was not finalized; it may end early\n";
  if (shown < table.rows.size()) {
    out << "Showing top " << shown << " of " << table.rows.size() << " functions\n";
  }

  // CPU rows are sample counts, as always; the other signals are times.
  auto value = [&](uint64_t v) {
    if (is_alloc_signal(options.view.signal)) return format_bytes(v);
    return options.view.signal == Signal::kCpu ? std::to_string(v) : format_time_ns(v);
  };
  size_t width = 6;
  for (size_t i = 0; i < shown; ++i) {
    width = std::max({width, value(table.rows[i].flat).size(), value(table.rows[i].cum).size()});
  }
  char buf[128];
  std::snprintf(buf, sizeof buf, "%*s %7s %7s %*s %7s  %s\n", static_cast<int>(width), "flat", "flat%", "sum%",
                static_cast<int>(width), "cum", "cum%", "function");
  out << buf;
  uint64_t running = 0;
  for (size_t i = 0; i < shown; ++i) {
    const FunctionRow& row = table.rows[i];
    running += row.flat;
    std::snprintf(buf, sizeof buf, "%*s %7s %7s %*s %7s  ", static_cast<int>(width), value(row.flat).c_str(),
                  format_percent(row.flat, table.total).c_str(), format_percent(running, table.total).c_str(),
                  static_cast<int>(width), value(row.cum).c_str(), format_percent(row.cum, table.total).c_str());
    out << buf << row.name << '\n';
  }
}

void write_json(const rec::Recording& rec, const TopOptions& options, const TopTable& table, size_t shown,
                std::ostream& out) {
  const Signal signal = options.view.signal;
  uint64_t period = sample_period_ns(rec.header);
  JsonWriter json(out);
  json.begin_object();
  json.field("type", signal_name(signal));
  // flat and cum below are in this unit.
  json.field("unit", signal == Signal::kCpu ? "samples" : is_alloc_signal(signal) ? "bytes" : "nanoseconds");
  if (is_alloc_signal(signal)) {
    json.field("total_bytes", table.total);
    json.field("alloc_samples", static_cast<uint64_t>(rec.allocations.size()));
    json.field("alloc_sample_rate", rec.header.alloc_sample_rate);
  } else if (signal == Signal::kGoroutine) {
    const GoroutineWaits waits = goroutine_waits(rec);
    json.field("total_ns", table.total);
    json.field("goroutine_waits", static_cast<uint64_t>(waits.waits.size()));
    json.field("goroutine_parks_open_at_end", waits.open_parks);
  } else if (signal == Signal::kCpu) {
    json.field("total_samples", table.total);
    json.field("period_ns", period);
    json.field("total_ns", table.total * period);
  } else {
    ThreadTimes all = sum_thread_times(thread_times(rec));
    json.field("total_ns", table.total);
    json.field("period_ns", period);
    json.field("cpu_samples", signal == Signal::kWall ? all.cpu_samples : 0);
    json.field("offcpu_intervals", all.offcpu_intervals());
    json.field("blocked_ns", all.blocked_ns);
    json.field("runq_ns", all.runq_ns);
  }
  json.field("lost_events", lost_events(rec));
  json.field("finalized", rec.finalized);
  json.key("functions");
  json.begin_array();
  for (size_t i = 0; i < shown; ++i) {
    json.begin_object();
    json.field("name", table.rows[i].name);
    json.field("flat", table.rows[i].flat);
    json.field("cum", table.rows[i].cum);
    json.end_object();
  }
  json.end_array();
  json.end_object();
}

}  // namespace

Status write_top(const rec::Recording& rec, const TopOptions& options, std::ostream& out) {
  FLARE_RETURN_IF_ERROR(check_signal_recorded(rec, options.view.signal));
  TopTable table = compute(rec, options.view);
  size_t shown = options.limit == 0 ? table.rows.size() : std::min(options.limit, table.rows.size());
  if (options.json) {
    write_json(rec, options, table, shown, out);
  } else {
    write_text(rec, options, table, shown, out);
  }
  out.flush();
  if (!out) return Status(ErrorCode::kIo, "writing top failed");
  return Status::ok();
}

}  // namespace flare::viewer
