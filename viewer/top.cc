#include "viewer/top.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/duration.h"
#include "viewer/frame_names.h"
#include "viewer/json_writer.h"
#include "viewer/sample_counts.h"
#include "viewer/sample_weight.h"
#include "viewer/text_format.h"
#include "viewer/view_stack.h"

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
  std::vector<uint64_t> per_stack = count_by_stack(rec);
  for (size_t stack = 0; stack < per_stack.size(); ++stack) {
    uint64_t n = per_stack[stack];
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
  std::sort(table.rows.begin(), table.rows.end(), [](const FunctionRow& a, const FunctionRow& b) {
    if (a.flat != b.flat) return a.flat > b.flat;
    if (a.cum != b.cum) return a.cum > b.cum;
    return a.name < b.name;
  });
  return table;
}

uint64_t lost_events(const rec::Recording& rec) {
  uint64_t lost = 0;
  for (const rec::LostRecord& l : rec.lost) lost += l.count;
  return lost;
}

void write_text(const rec::Recording& rec, const TopOptions& options, const TopTable& table, size_t shown,
                std::ostream& out) {
  uint64_t period = sample_period_ns(rec.header);
  out << "Total: " << table.total << " samples, " << format_seconds(static_cast<int64_t>(table.total * period))
      << " of CPU";
  if (period) out << " (" << format_duration_ns(period) << " per sample";
  if (period && rec.header.sample_frequency_hz) out << ", " << rec.header.sample_frequency_hz << " Hz";
  if (period) out << ')';
  if (options.view.user_only) out << ", user frames only";
  out << '\n';
  if (uint64_t lost = lost_events(rec)) {
    out << "Lost: " << lost << " events were dropped during capture and are not counted (see flare info)\n";
  }
  if (!rec.finalized) out << "Warning: the recording was not finalized; it may end early\n";
  if (shown < table.rows.size()) {
    out << "Showing top " << shown << " of " << table.rows.size() << " functions\n";
  }

  size_t width = 6;
  for (size_t i = 0; i < shown; ++i) {
    width = std::max({width, std::to_string(table.rows[i].flat).size(), std::to_string(table.rows[i].cum).size()});
  }
  char buf[128];
  std::snprintf(buf, sizeof buf, "%*s %7s %7s %*s %7s  %s\n", static_cast<int>(width), "flat", "flat%", "sum%",
                static_cast<int>(width), "cum", "cum%", "function");
  out << buf;
  uint64_t running = 0;
  for (size_t i = 0; i < shown; ++i) {
    const FunctionRow& row = table.rows[i];
    running += row.flat;
    std::snprintf(buf, sizeof buf, "%*" PRIu64 " %7s %7s %*" PRIu64 " %7s  ", static_cast<int>(width), row.flat,
                  format_percent(row.flat, table.total).c_str(), format_percent(running, table.total).c_str(),
                  static_cast<int>(width), row.cum, format_percent(row.cum, table.total).c_str());
    out << buf << row.name << '\n';
  }
}

void write_json(const rec::Recording& rec, const TopTable& table, size_t shown, std::ostream& out) {
  uint64_t period = sample_period_ns(rec.header);
  JsonWriter json(out);
  json.begin_object();
  json.field("total_samples", table.total);
  json.field("period_ns", period);
  json.field("total_ns", table.total * period);
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
  TopTable table = compute(rec, options.view);
  size_t shown = options.limit == 0 ? table.rows.size() : std::min(options.limit, table.rows.size());
  if (options.json) {
    write_json(rec, table, shown, out);
  } else {
    write_text(rec, options, table, shown, out);
  }
  out.flush();
  if (!out) return Status(ErrorCode::kIo, "writing top failed");
  return Status::ok();
}

}  // namespace flare::viewer
