// flare: one binary, one subcommand per job.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"flare: an eBPF profiler and flight recorder for Linux.\n"
               "Records CPU stacks, off-CPU time, allocations and goroutine waits of running processes\n"
               "into a compact recording (or continuously into a bounded flight-recorder repository)\n"
               "and converts it to pprof, folded stacks, JFR, text views and an offline HTML page\n"
               "(flame graphs, thread timeline).",
               "flare"};
  app.require_subcommand(1);
  app.set_version_flag("--version", FLARE_VERSION);
  app.footer("Run 'flare SUBCOMMAND --help' for a subcommand's options.\n"
             "Exit codes: 0 success, 1 runtime failure, 2 usage error; record -- CMD exits with CMD's status.");

  std::vector<std::pair<CLI::App*, flare::cli::CommandRunner>> commands;
  auto add = [&](flare::cli::CommandRunner (*make)(CLI::App&), const char* name, const char* about) {
    CLI::App* sub = app.add_subcommand(name, about);
    commands.emplace_back(sub, make(*sub));
  };
  add(flare::cli::add_record_command, "record",
      "Record CPU stacks, off-CPU time, allocations or goroutine waits of a running process (-p) or a command (--)");
  add(flare::cli::add_flight_command, "flight",
      "Record a process continuously into a bounded repository of chunk files (flight recorder)");
  add(flare::cli::add_dump_command, "dump", "Write one recording of a flight repository's retained window");
  add(flare::cli::add_convert_command, "convert", "Convert a recording to pprof, folded stacks or JFR");
  add(flare::cli::add_view_command, "view",
      "Write an HTML page (works offline): flame graphs, thread timeline, or --diff of two recordings");
  add(flare::cli::add_top_command, "top",
      "Show the functions where CPU, off-CPU or wall-clock time, allocated memory or goroutine waits went");
  add(flare::cli::add_info_command, "info", "Summarize a recording: time range, threads, events, chunks, drops");
  add(flare::cli::add_print_command, "print",
      "List the events of a recording one by one (time, thread, type, fields, stack), like jfr print");
  add(flare::cli::add_leaks_command, "leaks", "Show sampled allocations still in use at the end of a recording, by stack");
  add(flare::cli::add_slice_command, "slice", "Cut a time range out of a recording into a new recording");
  add(flare::cli::add_cat_command, "cat", "Join recordings of one target into one recording");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, usage exit code; the subcommand's --help has the details.
    std::cerr << "flare: error: " << e.what() << " (see --help)\n";
    return 2;
  }
  for (auto& [sub, run] : commands) {
    if (sub->parsed()) return run();
  }
  return 2;
}
