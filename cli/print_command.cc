// flare print: the recording's events one by one, like `jfr print`.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/output_file.h"
#include "common/duration.h"
#include "recorder/reader.h"
#include "viewer/event_listing.h"

namespace flare::cli {

namespace {

Result<int64_t> parse_offset(const std::string& option, const std::string& text) {
  auto ns = parse_duration_ns(text);
  if (!ns.is_ok()) return ns.status().with_context(option);
  return static_cast<int64_t>(*ns);
}

}  // namespace

CommandRunner add_print_command(CLI::App& app) {
  struct Args {
    std::string input;
    bool salvage = false;
    std::string events;
    uint32_t tid = 0;
    std::string from, to;
    bool user_only = false;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  app.add_option("recording", args->input, "Recording written by flare record")->required()->type_name("FILE");
  app.add_flag("--salvage", args->salvage,
               "Read an incomplete recording (e.g. FILE.partial of a killed capture) up to its last intact block");
  app.add_option("--events", args->events,
                 "Event types to show, comma-separated (default: all): cpu, offcpu, offcpu_total, wakeup, alloc, "
                 "free, goroutine, thread, lost, stat")
      ->type_name("TYPES");
  app.add_option("--tid", args->tid, "Only events of this thread (offcpu and wakeup: also as the waker)")
      ->type_name("N");
  app.add_option("--from", args->from, "Only events at least this long after the capture start, e.g. 1.5s")
      ->type_name("DUR");
  app.add_option("--to", args->to, "Only events less than this long after the capture start")->type_name("DUR");
  app.add_flag("--user-only", args->user_only, "Drop kernel frames from stacks");
  app.add_flag("--json", args->json, "One JSON object with an \"events\" array (schema: README, flare print)");
  app.footer("Events are printed in time order; lost and stat records (no time, no thread) come last and are\n"
             "left out with --tid.");
  return [args]() -> int {
    viewer::ListingOptions options;
    options.view.user_only = args->user_only;
    options.json = args->json;
    if (!args->events.empty()) {
      auto types = viewer::parse_listing_types(args->events);
      if (!types.is_ok()) return report_error(types.status().with_context("--events"));
      options.types = std::move(*types);
    }
    if (args->tid != 0) options.tid = args->tid;
    if (!args->from.empty()) {
      auto from = parse_offset("--from", args->from);
      if (!from.is_ok()) return report_error(from.status());
      options.from_ns = *from;
    }
    if (!args->to.empty()) {
      auto to = parse_offset("--to", args->to);
      if (!to.is_ok()) return report_error(to.status());
      options.to_ns = *to;
    }
    auto rec = rec::read_recording(args->input, {.salvage = args->salvage});
    if (!rec.is_ok()) return report_error(rec.status());
    if (rec->truncation.truncated) {
      std::cerr << "flare: warning: " << args->input << " is incomplete (" << rec->truncation.reason
                << "); using its intact part\n";
    }
    Status st = write_output("-", [&](std::ostream& out) { return viewer::write_event_listing(*rec, options, out); });
    return st.is_ok() ? 0 : report_error(st);
  };
}

}  // namespace flare::cli
