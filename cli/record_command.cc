#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <iostream>
#include <memory>
#include <optional>

#include "agent/capture.h"
#include "agent/unwind_mode.h"
#include "cli/capture_args.h"
#include "cli/commands.h"
#include "cli/status_line.h"
#include "common/duration.h"

namespace flare::cli {

namespace {

std::atomic<bool> g_stop{false};

void on_stop_signal(int) { g_stop.store(true); }

// The items of repeatable, comma-separated options ("-p 1,2 -p 3").
std::vector<std::string_view> list_items(const std::vector<std::string>& specs) {
  std::vector<std::string_view> items;
  for (const std::string& spec : specs) {
    std::string_view rest = spec;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      items.push_back(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  return items;
}

}  // namespace

const std::atomic<bool>& stop_requested() { return g_stop; }

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: the poll loop must wake up
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

Result<std::vector<uint32_t>> parse_pids(const std::vector<std::string>& specs) {
  std::vector<uint32_t> pids;
  for (std::string_view item : list_items(specs)) {
    uint32_t pid = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), pid);
    if (ec != std::errc() || end != item.data() + item.size() || pid == 0) {
      return Status(ErrorCode::kInvalidArgument, "invalid PID '" + std::string(item) + "'");
    }
    pids.push_back(pid);
  }
  return pids;
}

Status parse_events(const std::vector<std::string>& specs, bool offcpu_flag, bool alloc_flag,
                    bool goroutine_flag, agent::CaptureOptions& options) {
  options.offcpu = offcpu_flag;
  options.alloc = alloc_flag;
  options.goroutine = goroutine_flag;
  if (specs.empty()) {
    options.cpu = true;
    return Status::ok();
  }
  options.cpu = false;
  for (std::string_view item : list_items(specs)) {
    if (item == "cpu") {
      options.cpu = true;
    } else if (item == "offcpu") {
      options.offcpu = true;
    } else if (item == "alloc") {
      options.alloc = true;
    } else if (item == "goroutine") {
      options.goroutine = true;
    } else {
      return Status(ErrorCode::kInvalidArgument, "unknown event '" + std::string(item) +
                                                     "' in --events; choose from cpu, offcpu, alloc, goroutine");
    }
  }
  if (!options.cpu && !options.offcpu && !options.alloc && !options.goroutine) {
    return Status(ErrorCode::kInvalidArgument, "--events names no event");
  }
  return Status::ok();
}

Result<uint64_t> parse_bytes(const std::string& text, std::string_view option, uint64_t max) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  std::string_view suffix(end, text.data() + text.size() - end);
  uint64_t unit = 0;
  if (suffix.empty() || suffix == "B") unit = 1;
  if (suffix == "KiB" || suffix == "K" || suffix == "k") unit = 1024;
  if (suffix == "MiB" || suffix == "M") unit = 1024 * 1024;
  if (suffix == "GiB" || suffix == "G") unit = 1024 * 1024 * 1024;
  if (ec != std::errc() || end == text.data() || unit == 0 || value == 0 || value > max / unit) {
    return Status(ErrorCode::kInvalidArgument, "invalid " + std::string(option) + " '" + text +
                                                   "': give bytes between 1 and " + std::to_string(max >> 30) +
                                                   "GiB, e.g. 512KiB or 64MiB");
  }
  return value * unit;
}

namespace {

struct RecordArgs {
  std::vector<std::string> pids;
  std::string duration;
  uint32_t frequency = 99;
  std::string output;
  std::vector<std::string> command;
  uint32_t ring_kib = 0;  // 0: each ring sized from its event rate
  std::string flush = "1s";
  std::string chunk = "60s";
  bool verbose = false;
  std::vector<std::string> events;
  bool offcpu = false;
  std::string offcpu_min = "100us";
  uint32_t offcpu_max_rate = 10000;
  std::string unwind = "auto";
  uint32_t stack_copy_kib = 32;
  std::vector<std::string> debug_dirs;
  bool alloc = false;
  bool goroutines = false;
  std::string alloc_rate = "512KiB";
  std::string alloc_seed;  // empty: random
};

int run_record(const RecordArgs& args) {
  agent::CaptureOptions options;
  auto pids = parse_pids(args.pids);
  if (!pids.is_ok()) return report_error(pids.status());
  options.pids = *pids;
  options.command = args.command;
  if (options.pids.empty() == options.command.empty()) {
    return report_error(Status(ErrorCode::kInvalidArgument, "give either -p PID or -- COMMAND [ARGS...]"));
  }
  if (!args.duration.empty()) {
    auto d = parse_duration_ns(args.duration);
    if (!d.is_ok()) return report_error(d.status());
    options.duration_ns = *d;
  }
  for (auto [text, target] : {std::pair{&args.flush, &options.flush_interval_ns},
                              std::pair{&args.chunk, &options.chunk_duration_ns}}) {
    auto d = parse_duration_ns(*text);
    if (!d.is_ok()) return report_error(d.status());
    *target = *d;
  }
  if (Status st = parse_events(args.events, args.offcpu, args.alloc, args.goroutines, options); !st.is_ok()) {
    return report_error(st);
  }
  auto alloc_rate = parse_bytes(args.alloc_rate, "--alloc-rate", uint64_t{1} << 32);
  if (!alloc_rate.is_ok()) return report_error(alloc_rate.status());
  options.alloc_rate = *alloc_rate;
  if (!args.alloc_seed.empty()) {
    uint64_t seed = 0;
    const std::string& text = args.alloc_seed;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seed);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return report_error(Status(ErrorCode::kInvalidArgument, "invalid --alloc-seed '" + text + "': give a number"));
    }
    options.alloc_seed = seed;
  }
  // On a terminal the status line is redrawn in place; every other line
  // clears it first so the two never mix. Elsewhere (a log, a pipe) only the
  // final summary is written.
  auto status = std::make_shared<StatusLine>(std::cerr, isatty(STDERR_FILENO) == 1);
  options.on_warning = [status](std::string_view line) { status->print_line("flare: warning: " + std::string(line)); };
  options.on_detail = [status](std::string_view line) { status->print_line("flare: " + std::string(line)); };
  if (status->enabled()) {
    options.on_progress = [status](const agent::CaptureProgress& p) { status->update(agent::format_capture_progress(p)); };
  }
  auto offcpu_min = parse_duration_ns(args.offcpu_min);
  if (!offcpu_min.is_ok()) return report_error(offcpu_min.status());
  options.offcpu_min_ns = *offcpu_min;
  options.offcpu_max_per_second = args.offcpu_max_rate;
  options.frequency_hz = args.frequency;
  std::optional<agent::UnwindMode> unwind = agent::parse_unwind_mode(args.unwind);
  if (!unwind) {
    return report_error(
        Status(ErrorCode::kInvalidArgument, "unknown --unwind '" + args.unwind + "'; choose from fp, dwarf, auto"));
  }
  options.unwind = *unwind;
  if (args.stack_copy_kib % 4 != 0) {
    return report_error(Status(ErrorCode::kInvalidArgument, "--stack-copy must be a multiple of 4 (KiB)"));
  }
  options.stack_copy_bytes = args.stack_copy_kib * 1024u;
  if (args.ring_kib && (args.ring_kib < 64 || args.ring_kib > (1u << 20) || (args.ring_kib & (args.ring_kib - 1)))) {
    return report_error(
        Status(ErrorCode::kInvalidArgument, "--ring-buffer-kib must be a power of two from 64 to 1048576"));
  }
  options.ring_buffer_bytes = args.ring_kib * 1024u;
  options.output_path = args.output;
  options.verbose = args.verbose;
  for (const std::string& dir : args.debug_dirs) {
    // elfutils takes its search path as one ':'-separated string and only
    // resolves absolute directories reliably.
    if (dir.empty() || dir.front() != '/' || dir.find(':') != std::string::npos) {
      return report_error(Status(ErrorCode::kInvalidArgument,
                                 "--debug-dir needs an absolute directory without ':' (got '" + dir + "')"));
    }
  }
  options.debug_dirs = args.debug_dirs;

  install_stop_handlers();
  auto summary = agent::run_capture(options, g_stop);
  status->clear();
  if (!summary.is_ok()) return report_error(summary.status());
  const agent::CaptureSummary& s = *summary;
  std::cerr << "flare: recorded " << s.samples << " samples in " << format_duration_ns(s.duration_ns) << " ("
            << s.end_reason << "), " << s.lost << " lost, " << s.bytes << " bytes -> " << s.output_path << "\n";
  if (options.offcpu) std::cerr << "flare: recorded " << s.offcpu_intervals << " off-CPU intervals\n";
  if (options.alloc) {
    std::cerr << "flare: recorded " << s.alloc_samples << " sampled allocations and " << s.alloc_frees
              << " frees of them\n";
  }
  if (options.goroutine) std::cerr << "flare: recorded " << s.goroutine_events << " goroutine parks and readies\n";
  if (s.ticks_missed * 100 > s.ticks_due) {
    std::cerr << "flare: warning: the sampler missed " << s.ticks_missed << " of " << s.ticks_due
              << " timer ticks due on busy CPUs; samples are missing in proportion (another BPF program active "
                 "on the CPU, or vCPU steal); see 'flare info'\n";
  }
  if (s.child_exit_status >= 0) return s.child_exit_status;
  return 0;
}

}  // namespace

CommandRunner add_record_command(CLI::App& app) {
  auto args = std::make_shared<RecordArgs>();
  app.footer(
      "The capture ends after -d, on SIGINT/SIGTERM, or when every target has exited; the\n"
      "recording is finalized in each case. With -- CMD, flare exits with CMD's exit status\n"
      "(after -d, recording stops and flare waits for CMD).\n"
      "On a terminal, a status line shows progress (elapsed time, events per type, drops,\n"
      "bytes written) about once a second; otherwise only the final summary is printed.\n"
      "Needs CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (or root);\n"
      "CAP_SYSLOG in addition for kernel function names.");
  app.add_option("-p,--pid", args->pids, "Target process ID; repeatable or comma-separated")->type_name("PID");
  app.add_option("-d,--duration", args->duration, "Capture length, e.g. 500ms, 30s, 2m (default: until stopped)")
      ->type_name("DUR");
  app.add_option("-e,--events", args->events,
                 "Signals to record, comma-separated: cpu (CPU stack samples), offcpu (scheduler\n"
                 "park/unpark: off-CPU intervals with blocked and waker stacks), alloc (sampled\n"
                 "glibc allocations with stacks, tracked until freed), goroutine (Go programs:\n"
                 "goroutines parking with wait reason and stack, and being readied, with the\n"
                 "waker goroutine's stack and the wait). Default: cpu")
      ->type_name("LIST");
  app.add_flag("--offcpu", args->offcpu, "Record offcpu too (same as adding it to --events)");
  app.add_flag("--alloc", args->alloc, "Record alloc too (same as adding it to --events)");
  app.add_flag("--goroutines", args->goroutines, "Record goroutine too (same as adding it to --events)");
  app.add_option("--alloc-rate", args->alloc_rate,
                 "Mean bytes allocated between two allocation samples (Poisson, as Go's heap\n"
                 "profiler); 1 records every allocation. Suffixes KiB, MiB, GiB")
      ->capture_default_str()
      ->type_name("BYTES");
  app.add_option("--alloc-seed", args->alloc_seed,
                 "Seed of the allocation sampler: every thread's sample points then depend only\n"
                 "on its own allocations, so a deterministic program is sampled alike in every\n"
                 "run (default: a random seed, stored in the recording)")
      ->type_name("N");
  app.add_option("--offcpu-min", args->offcpu_min,
                 "Off-CPU intervals shorter than this are only totalled per thread and state,\n"
                 "not recorded one by one with their stacks")
      ->capture_default_str()
      ->type_name("DUR");
  app.add_option("--offcpu-max-rate", args->offcpu_max_rate,
                 "At most this many off-CPU intervals per second are recorded one by one; the\n"
                 "rest are totalled and counted as lost (offcpu_rate_limited). 0: no cap")
      ->capture_default_str();
  app.add_option("--unwind", args->unwind,
                 "How user stacks are taken: auto (copy the stack and unwind it with the code's\n"
                 "CFI, by frame pointers where code has none), dwarf (CFI only), fp (frame\n"
                 "pointers, in the kernel: cheapest, but loses frames of code built without them)")
      ->capture_default_str()
      ->type_name("MODE");
  app.add_option("--stack-copy", args->stack_copy_kib,
                 "KiB of stack copied per sample for auto/dwarf; deeper stacks end in [truncated]")
      ->check(CLI::Range(4u, 64u))
      ->capture_default_str()
      ->type_name("KIB");
  app.add_option("-F,--frequency", args->frequency, "CPU sampling frequency in Hz")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  app.add_option("-o,--output", args->output, "Recording to write (default: flare-<pid>-<time>.flare)")
      ->type_name("FILE");
  app.add_option("--ring-buffer-kib", args->ring_kib,
                 "Size of every BPF ring buffer in KiB (a power of two, 64 or more; default: each ring sized "
                 "for a quarter second of its highest event rate, at most 4096)")
      ->type_name("KIB");
  app.add_option("--flush", args->flush, "Write buffered events to the file at least this often")
      ->capture_default_str()
      ->type_name("DUR");
  app.add_option("--chunk", args->chunk, "Start a new self-contained chunk this often")
      ->capture_default_str()
      ->type_name("DUR");
  app.add_option("--debug-dir", args->debug_dirs,
                 "Also look for separate debug info here (by build-id under DIR/.build-id/, and by "
                 ".gnu_debuglink name); repeatable")
      ->type_name("DIR");
  app.add_flag("-v,--verbose", args->verbose, "Print libbpf diagnostics and where the allocation and goroutine probes sit");
  app.add_option("command", args->command, "Command to spawn and record (after --)")->type_name("CMD ARGS");
  app.positionals_at_end(true);
  return [args] { return run_record(*args); };
}

}  // namespace flare::cli
