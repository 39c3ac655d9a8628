// flare view: the recording as one self-contained HTML page (flame graphs
// per view, thread timeline), or two recordings as a differential flame graph.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/output_file.h"
#include "recorder/reader.h"
#include "viewer/html_page.h"

namespace flare::cli {

namespace {

Result<rec::Recording> load_for_view(const std::string& path, bool salvage) {
  auto rec = rec::read_recording(path, rec::ReadOptions{.salvage = salvage});
  if (rec.is_ok() && rec->truncation.truncated) {
    std::cerr << "flare: warning: " << path << " is incomplete (" << rec->truncation.reason
              << "); using its intact part\n";
  }
  if (!rec.is_ok()) return rec.status().with_context(path);
  return rec;
}

std::string file_name(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

CommandRunner add_view_command(CLI::App& app) {
  struct Args {
    std::string input;
    std::vector<std::string> diff;
    std::string type = "cpu";
    std::string output;
    bool salvage = false;
  };
  auto args = std::make_shared<Args>();
  app.add_option("recording", args->input, "Recording written by flare record")->type_name("FILE");
  app.add_option("--diff", args->diff,
                 "Differential flame graph of two recordings instead: frames are as wide as in NEW and coloured "
                 "by how much their share grew (red) or shrank (blue) from BASE")
      ->expected(2)
      ->type_name("FILE");
  app.add_option("--type", args->type, "With --diff: the view to compare (cpu, offcpu, wall, alloc, inuse)")
      ->capture_default_str()
      ->check(CLI::IsMember({"cpu", "offcpu", "wall", "alloc", "inuse"}));
  app.add_option("-o,--output", args->output, "The HTML file to write")->required()->type_name("FILE");
  app.add_flag("--salvage", args->salvage,
               "Read an incomplete recording (e.g. FILE.partial of a killed capture) up to its last intact block");
  app.footer("The page works offline (no network): a flame graph per view the recording has (cpu, offcpu,\n"
             "wall, alloc, inuse) with zoom, search, callers mode and a thread filter, and a per-thread\n"
             "timeline whose time ranges redraw the flame graph. Open it in any browser.");
  return [args]() -> int {
    const bool diff = !args->diff.empty();
    if (diff == !args->input.empty()) {
      return report_error(Status(ErrorCode::kInvalidArgument, diff ? "give either FILE or --diff BASE NEW, not both"
                                                                   : "view needs a recording FILE (or --diff BASE NEW)"));
    }
    if (args->output == "-") return report_error(Status(ErrorCode::kInvalidArgument, "view needs -o FILE.html"));
    Status writable = check_writable(args->output);
    if (!writable.is_ok()) return report_error(writable);

    Result<viewer::HtmlPage> page = Status(ErrorCode::kInternal, "no page built");
    if (diff) {
      auto base = load_for_view(args->diff[0], args->salvage);
      if (!base.is_ok()) return report_error(base.status());
      auto next = load_for_view(args->diff[1], args->salvage);
      if (!next.is_ok()) return report_error(next.status());
      viewer::Signal signal = viewer::parse_signal(args->type).value_or(viewer::Signal::kCpu);
      page = viewer::build_diff_page(*base, *next, signal,
                                     file_name(args->diff[0]) + " → " + file_name(args->diff[1]) + " (" +
                                         args->type + ")");
    } else {
      auto rec = load_for_view(args->input, args->salvage);
      if (!rec.is_ok()) return report_error(rec.status());
      page = viewer::build_html_page(*rec, file_name(args->input));
    }
    if (!page.is_ok()) return report_error(page.status());
    Status st = write_output(args->output, [&](std::ostream& out) { return viewer::write_html_page(*page, out); });
    return st.is_ok() ? 0 : report_error(st);
  };
}

}  // namespace flare::cli
