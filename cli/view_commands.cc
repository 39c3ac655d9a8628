// Subcommands that read a recording: convert, top, info, leaks. None needs
// privileges.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/output_file.h"
#include "common/duration.h"
#include "recorder/reader.h"
#include "viewer/alloc_profile.h"
#include "viewer/folded.h"
#include "viewer/info.h"
#include "viewer/jfr_writer.h"
#include "viewer/leaks.h"
#include "viewer/pprof.h"
#include "viewer/signal.h"
#include "viewer/top.h"

namespace flare::cli {

namespace {

struct InputArgs {
  std::string input;
  bool salvage = false;
};

void add_input_options(CLI::App& app, InputArgs& args) {
  app.add_option("recording", args.input, "Recording written by flare record")->required()->type_name("FILE");
  app.add_flag("--salvage", args.salvage,
               "Read an incomplete recording (e.g. FILE.partial of a killed capture) up to its last intact block");
}

// --type, the same on every view command.
void add_type_option(CLI::App& app, std::string& type) {
  app.add_option("--type", type,
                 "What the stacks weigh: cpu (CPU samples), offcpu (time off CPU: blocked + run-queue wait, "
                 "needs a recording made with --events cpu,offcpu), wall (both: wall-clock time), alloc "
                 "(bytes allocated) or inuse (bytes still in use at the end); alloc and inuse need a "
                 "recording made with --alloc, and pprof output then has Go's heap profile layout; "
                 "goroutine (time Go goroutines waited parked, park to ready, by parking stack, with a "
                 "reason label; needs a recording made with --events goroutine)")
      ->capture_default_str()
      ->check(CLI::IsMember({"cpu", "offcpu", "wall", "alloc", "inuse", "goroutine"}));
}

viewer::Signal signal_of(const std::string& type) { return viewer::parse_signal(type).value_or(viewer::Signal::kCpu); }

Result<rec::Recording> load(const InputArgs& args) {
  rec::ReadOptions options;
  options.salvage = args.salvage;
  auto rec = rec::read_recording(args.input, options);
  if (rec.is_ok() && rec->truncation.truncated) {
    std::cerr << "flare: warning: " << args.input << " is incomplete (" << rec->truncation.reason
              << "); using its intact part\n";
  }
  return rec;
}

}  // namespace

CommandRunner add_convert_command(CLI::App& app) {
  struct Args {
    InputArgs in;
    std::string to;
    std::string type = "cpu";
    std::string output;
    bool user_only = false;
  };
  auto args = std::make_shared<Args>();
  add_input_options(app, args->in);
  app.add_option("--to", args->to,
                 "Output format: pprof (gzip'd profile.proto), folded (collapsed stacks; offcpu and wall in "
                 "microseconds) or jfr (JDK Flight Recorder file with every event type; --type does not apply)")
      ->required()
      ->check(CLI::IsMember({"pprof", "folded", "jfr"}));
  app.add_option("-o,--output", args->output, "Output file ('-' = stdout; folded defaults to stdout)")
      ->type_name("FILE");
  add_type_option(app, args->type);
  app.add_flag("--user-only", args->user_only, "Drop kernel frames");
  return [args]() -> int {
    if (args->to != "folded" && (args->output.empty() || args->output == "-")) {
      return report_error(Status(ErrorCode::kInvalidArgument, "--to " + args->to + " needs -o FILE"));
    }
    Status writable = check_writable(args->output);
    if (!writable.is_ok()) return report_error(writable);
    auto rec = load(args->in);
    if (!rec.is_ok()) return report_error(rec.status());
    viewer::ViewOptions view;
    view.user_only = args->user_only;
    view.signal = signal_of(args->type);
    // Checked before the output is opened, so a refused view leaves no file.
    Status recorded = viewer::check_signal_recorded(*rec, view.signal);
    if (!recorded.is_ok()) return report_error(recorded.with_context(args->in.input));
    Status st = write_output(args->output, [&](std::ostream& out) {
      if (args->to == "jfr") return viewer::write_jfr(*rec, {.view = view, .source_name = args->in.input}, out);
      return args->to == "pprof" ? viewer::write_pprof(*rec, view, out) : viewer::write_folded(*rec, view, out);
    });
    return st.is_ok() ? 0 : report_error(st);
  };
}

CommandRunner add_top_command(CLI::App& app) {
  struct Args {
    InputArgs in;
    size_t limit = 20;
    std::string type = "cpu";
    bool user_only = false;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  add_input_options(app, args->in);
  app.add_option("-n,--limit", args->limit, "Rows to show (0 = all)")->capture_default_str();
  add_type_option(app, args->type);
  app.add_flag("--user-only", args->user_only, "Drop kernel frames");
  app.add_flag("--json", args->json, "Machine-readable output");
  return [args]() -> int {
    auto rec = load(args->in);
    if (!rec.is_ok()) return report_error(rec.status());
    viewer::TopOptions options;
    options.view.user_only = args->user_only;
    options.view.signal = signal_of(args->type);
    Status recorded = viewer::check_signal_recorded(*rec, options.view.signal);
    if (!recorded.is_ok()) return report_error(recorded.with_context(args->in.input));
    options.limit = args->limit;
    options.json = args->json;
    Status st = write_output("-", [&](std::ostream& out) { return viewer::write_top(*rec, options, out); });
    return st.is_ok() ? 0 : report_error(st);
  };
}

CommandRunner add_info_command(CLI::App& app) {
  struct Args {
    InputArgs in;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  add_input_options(app, args->in);
  app.add_flag("--json", args->json, "Machine-readable output");
  return [args]() -> int {
    // info always shows what an incomplete file holds, and says where it
    // ends; it still fails (exit 1) unless --salvage accepts the truncation.
    auto rec = rec::read_recording(args->in.input, {.salvage = true});
    if (!rec.is_ok()) return report_error(rec.status());
    Status st = write_output("-", [&](std::ostream& out) { return viewer::write_info(*rec, args->json, out); });
    if (!st.is_ok()) return report_error(st);
    if (rec->truncation.truncated && !args->in.salvage) {
      return report_error(Status(ErrorCode::kCorruptData, args->in.input + " is incomplete (" +
                                                              rec->truncation.reason +
                                                              "); the summary above covers its intact part"));
    }
    return 0;
  };
}

CommandRunner add_leaks_command(CLI::App& app) {
  struct Args {
    InputArgs in;
    std::string min_age;  // empty: every block in use
    size_t limit = 10;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  add_input_options(app, args->in);
  app.add_option("--min-age", args->min_age,
                 "Only blocks allocated at least this long before the recording ended, e.g. 10s\n"
                 "(default: every block still in use)")
      ->type_name("DUR");
  app.add_option("-n,--limit", args->limit, "Stacks to show, largest first (0 = all)")->capture_default_str();
  app.add_flag("--json", args->json, "Machine-readable output");
  app.footer("Needs a recording made with --alloc. Sizes are estimates scaled from the samples unless it was\n"
             "recorded with --alloc-rate 1.");
  return [args]() -> int {
    uint64_t min_age_ns = 0;
    if (!args->min_age.empty()) {
      auto min_age = parse_duration_ns(args->min_age);
      if (!min_age.is_ok()) return report_error(min_age.status());
      min_age_ns = *min_age;
    }
    auto rec = load(args->in);
    if (!rec.is_ok()) return report_error(rec.status());
    if (!viewer::has_alloc(*rec)) {
      return report_error(Status(ErrorCode::kNotFound, args->in.input + " has no allocation data (events: " +
                                                           (rec->header.events.empty() ? "none listed" : rec->header.events) +
                                                           "); record with --alloc"));
    }
    viewer::LeaksOptions options;
    options.min_age_ns = min_age_ns;
    options.limit = args->limit;
    options.json = args->json;
    Status st = write_output("-", [&](std::ostream& out) { return viewer::write_leaks(*rec, options, out); });
    return st.is_ok() ? 0 : report_error(st);
  };
}

}  // namespace flare::cli
