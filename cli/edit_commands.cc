// Subcommands that write recordings from recordings: slice and cat.
#include <algorithm>
#include <iostream>
#include <memory>
#include <set>

#include "cli/commands.h"
#include "common/duration.h"
#include "recorder/event_copier.h"
#include "recorder/reader.h"

namespace flare::cli {

namespace {

std::set<uint32_t> target_pids(const rec::FileHeader& h) {
  std::set<uint32_t> pids;
  for (const rec::TargetInfo& t : h.targets) pids.insert(t.pid);
  return pids;
}

}  // namespace

CommandRunner add_slice_command(CLI::App& app) {
  struct Args {
    std::string input, output, from, to;
    bool salvage = false;
  };
  auto args = std::make_shared<Args>();
  app.add_option("recording", args->input, "Recording to cut")->required()->type_name("FILE");
  app.add_option("--from", args->from, "Start, as an offset from the capture start (e.g. 10s; default: 0)")
      ->type_name("DUR");
  app.add_option("--to", args->to, "End (exclusive), as an offset from the capture start (default: the end)")
      ->type_name("DUR");
  app.add_option("-o,--output", args->output, "Recording to write")->required()->type_name("FILE");
  app.add_flag("--salvage", args->salvage, "Accept an incomplete input and slice its intact part");
  return [args]() -> int {
    auto rec = rec::read_recording(args->input, {.salvage = args->salvage});
    if (!rec.is_ok()) return report_error(rec.status());
    rec::TimeRange range;
    const uint64_t start = rec->header.clock_monotonic_ns;
    if (!args->from.empty()) {
      auto from = parse_duration_ns(args->from);
      if (!from.is_ok()) return report_error(from.status());
      range.from_ns = start + *from;
    }
    if (!args->to.empty()) {
      auto to = parse_duration_ns(args->to);
      if (!to.is_ok()) return report_error(to.status());
      range.to_ns = start + *to;
    }
    if (range.to_ns <= range.from_ns) {
      return report_error(Status(ErrorCode::kInvalidArgument, "--to must be later than --from"));
    }
    const rec::Recording* input = &*rec;
    Status st = rec::write_events_copy(args->output, rec->header, {&input, 1}, range);
    return st.is_ok() ? 0 : report_error(st);
  };
}

CommandRunner add_cat_command(CLI::App& app) {
  struct Args {
    std::vector<std::string> inputs;
    std::string output;
  };
  auto args = std::make_shared<Args>();
  app.footer("Events of all inputs are merged in time order; statistics are the first input's.");
  app.add_option("recordings", args->inputs, "Recordings of one target, e.g. consecutive slices")
      ->required()
      ->expected(1, -1)
      ->type_name("FILE...");
  app.add_option("-o,--output", args->output, "Recording to write")->required()->type_name("FILE");
  return [args]() -> int {
    std::vector<rec::Recording> recs;
    for (const std::string& path : args->inputs) {
      auto rec = rec::read_recording(path);
      if (!rec.is_ok()) return report_error(rec.status());
      if (!recs.empty() && target_pids(rec->header) != target_pids(recs.front().header)) {
        return report_error(Status(ErrorCode::kInvalidArgument,
                                   path + " records other processes than " + args->inputs.front() +
                                       "; cat joins recordings of one target"));
      }
      if (!recs.empty() && rec->header.sample_period_ns != recs.front().header.sample_period_ns) {
        return report_error(Status(ErrorCode::kInvalidArgument,
                                   path + " was sampled at another frequency than " + args->inputs.front()));
      }
      recs.push_back(std::move(rec).value());
    }
    // The earliest capture's header: its clock pair anchors all event times
    // (they share one CLOCK_MONOTONIC as long as the host did not reboot).
    const rec::Recording* first = &recs.front();
    std::vector<const rec::Recording*> inputs;
    for (const rec::Recording& r : recs) {
      inputs.push_back(&r);
      if (r.header.clock_monotonic_ns < first->header.clock_monotonic_ns) first = &r;
    }
    Status st = rec::write_events_copy(args->output, first->header, inputs, rec::TimeRange{});
    return st.is_ok() ? 0 : report_error(st);
  };
}

}  // namespace flare::cli
