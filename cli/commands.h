// Each subcommand registers its options on the CLI11 app and returns the
// function that runs it once parsing succeeded. The runner returns the
// process exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

#include "common/status.h"

namespace flare::cli {

using CommandRunner = std::function<int()>;

CommandRunner add_record_command(CLI::App& app);
CommandRunner add_convert_command(CLI::App& app);
CommandRunner add_top_command(CLI::App& app);
CommandRunner add_info_command(CLI::App& app);
CommandRunner add_print_command(CLI::App& app);
CommandRunner add_leaks_command(CLI::App& app);
CommandRunner add_view_command(CLI::App& app);
CommandRunner add_slice_command(CLI::App& app);
CommandRunner add_cat_command(CLI::App& app);
CommandRunner add_flight_command(CLI::App& app);
CommandRunner add_dump_command(CLI::App& app);

// Prints "flare: error: <message>" and returns the exit code for the status:
// 2 for invalid usage, 1 for everything else.
int report_error(const Status& status);

}  // namespace flare::cli
