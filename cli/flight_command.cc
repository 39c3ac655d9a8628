// `flare flight` (continuous recording into a repository of chunk files,
// dumps on SIGUSR1 and triggers, `--status`) and `flare dump`.
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "agent/capture.h"
#include "agent/cpu_use_trigger.h"
#include "cli/capture_args.h"
#include "cli/commands.h"
#include "cli/flight_chunk_sink.h"
#include "common/clock.h"
#include "common/duration.h"
#include "recorder/flight_dump.h"
#include "recorder/flight_repository.h"
#include "viewer/flight_status.h"

namespace flare::cli {

namespace {

std::mutex g_print_mutex;  // the trigger thread and the main thread both print

void print_line(const std::string& line) {
  std::lock_guard<std::mutex> lock(g_print_mutex);
  std::cerr << line << std::endl;
}

// Said with every dump of a flight that has not ended (see docs/FLIGHT.md).
constexpr const char* kDropsUnknown =
    "the dump's drop counts are not known: its chunks come from an older flare, which wrote them when the flight "
    "ended";

std::string describe_dump(const rec::FlightDumpSummary& s) {
  if (!s.last_ns) return std::to_string(s.chunks) + " chunks, no events";
  return std::to_string(s.chunks) + " chunks, " + rec::utc_stamp(s.first_realtime_ns) + " to " +
         rec::utc_stamp(s.last_realtime_ns);
}

// Writes DIR/dump-<time>.flare of the whole retained window and says when,
// why and what.
void dump_now(const std::string& dir, const std::string& why) {
  const uint64_t now = clock_ns(CLOCK_REALTIME);
  const std::string output = dir + "/dump-" + rec::utc_stamp(now) + ".flare";
  auto summary = rec::dump_flight(dir, output);
  if (!summary.is_ok()) {
    print_line("flare: error: dump (" + why + ") failed: " + summary.status().message());
    return;
  }
  print_line("flare: " + rec::utc_stamp(now) + " dump (" + why + ") -> " + output + ": " + describe_dump(*summary));
  for (const std::string& s : summary->skipped) print_line("flare: warning: dump left out " + s);
  if (!summary->drops_known) print_line(std::string("flare: warning: ") + kDropsUnknown);
}

// Runs beside the capture: SIGUSR1 (blocked in every thread, taken here by
// sigtimedwait) and the CPU trigger start dumps.
class DumpTriggers {
 public:
  DumpTriggers(std::string dir, std::string first_chunk, std::string started_message, uint32_t target,
               std::optional<agent::CpuUseTrigger> cpu_trigger, double cpu_percent, uint64_t cpu_for_ns)
      : dir_(std::move(dir)),
        first_chunk_(std::move(first_chunk)),
        started_message_(std::move(started_message)),
        target_(target),
        cpu_trigger_(std::move(cpu_trigger)),
        cpu_percent_(cpu_percent),
        cpu_for_ns_(cpu_for_ns) {}

  void start() { thread_ = std::thread([this] { run(); }); }
  void stop() {
    done_.store(true);
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    // Stop signals are the main thread's (its capture loop polls their flag).
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    uint64_t next_cpu_check = 0;
    while (!done_.load()) {
      timespec wait{0, 200'000'000};
      if (sigtimedwait(&usr1, nullptr, &wait) == SIGUSR1) dump_now(dir_, "SIGUSR1");
      // Loading BPF takes a while: recording has begun (and a CPU episode
      // may count) once the first chunk file exists. Said then, so a flight
      // that fails to start prints only its error.
      if (!recording_) {
        std::error_code ec;
        recording_ = std::filesystem::exists(first_chunk_ + ".partial", ec) || std::filesystem::exists(first_chunk_, ec);
        if (!recording_) continue;
        print_line(started_message_);
      }
      const uint64_t now = clock_ns(CLOCK_MONOTONIC);
      if (!cpu_trigger_ || now < next_cpu_check) continue;
      next_cpu_check = now + 1'000'000'000ull;
      auto cpu = agent::read_process_cpu_ns(target_);
      if (cpu.is_ok() && cpu_trigger_->observe(now, *cpu)) {
        dump_now(dir_, "target CPU above " + std::to_string(static_cast<int>(cpu_percent_)) + "% for " +
                           format_duration_ns(cpu_for_ns_));
      }
    }
  }

  std::string dir_;
  std::string first_chunk_;
  std::string started_message_;
  bool recording_ = false;
  uint32_t target_;
  std::optional<agent::CpuUseTrigger> cpu_trigger_;
  double cpu_percent_;
  uint64_t cpu_for_ns_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

struct FlightArgs {
  std::vector<std::string> pids;
  std::string dir;
  std::string status_dir;
  std::string max_age = "10m";
  std::string max_size = "256MiB";
  std::string chunk = "1m";
  std::string flush = "1s";
  std::vector<std::string> events{"cpu,offcpu"};
  uint32_t frequency = 49;
  std::string offcpu_min = "1ms";
  uint32_t offcpu_max_rate = 1000;
  bool dump_on_exit = false;
  double dump_when_cpu = 0;
  std::string cpu_for = "10s";
  bool verbose = false;
};

Result<uint64_t> parse_duration_option(const std::string& text, const char* option) {
  auto d = parse_duration_ns(text);
  if (!d.is_ok()) return Status(ErrorCode::kInvalidArgument, std::string(option) + ": " + d.status().message());
  if (*d == 0) return Status(ErrorCode::kInvalidArgument, std::string(option) + " must be longer than 0");
  return *d;
}

int run_flight(const FlightArgs& args) {
  if (!args.status_dir.empty()) {
    Status st = viewer::write_flight_status(args.status_dir, std::cout);
    return st.is_ok() ? 0 : report_error(st);
  }
  if (args.dir.empty()) return report_error(Status(ErrorCode::kInvalidArgument, "give --dir DIR (or --status DIR)"));
  auto pids = parse_pids(args.pids);
  if (!pids.is_ok()) return report_error(pids.status());
  if (pids->size() != 1) {
    return report_error(Status(ErrorCode::kInvalidArgument, "flight records one process: give -p PID once"));
  }
  agent::CaptureOptions options;
  options.pids = *pids;
  if (Status st = parse_events(args.events, false, false, false, options); !st.is_ok()) return report_error(st);
  rec::RetentionLimits limits;
  uint64_t cpu_for_ns = 0;
  for (auto [text, option, target] :
       {std::tuple{&args.max_age, "--max-age", &limits.max_age_ns},
        std::tuple{&args.chunk, "--chunk", &options.chunk_duration_ns},
        std::tuple{&args.flush, "--flush", &options.flush_interval_ns},
        std::tuple{&args.offcpu_min, "--offcpu-min", &options.offcpu_min_ns},
        std::tuple{&args.cpu_for, "--for", &cpu_for_ns}}) {
    auto d = parse_duration_option(*text, option);
    if (!d.is_ok()) return report_error(d.status());
    *target = *d;
  }
  auto max_size = parse_bytes(args.max_size, "--max-size", uint64_t{1} << 50);
  if (!max_size.is_ok()) return report_error(max_size.status());
  limits.max_bytes = *max_size;
  options.offcpu_max_per_second = args.offcpu_max_rate;
  options.frequency_hz = args.frequency;
  options.verbose = args.verbose;
  options.on_warning = [](std::string_view line) { print_line("flare: warning: " + std::string(line)); };
  options.on_detail = [](std::string_view line) { print_line("flare: " + std::string(line)); };

  std::error_code ec;
  // Checked before DIR and its lock are made: a mistyped PID leaves nothing behind.
  if (!std::filesystem::exists("/proc/" + std::to_string(options.pids.front()), ec)) {
    return report_error(Status(ErrorCode::kNotFound, "no process with PID " + std::to_string(options.pids.front())));
  }
  std::filesystem::create_directories(args.dir, ec);
  if (ec) return report_error(Status::from_errno(ec.value(), "cannot create flight directory " + args.dir));
  auto lock = rec::FlightLock::acquire(args.dir, options.pids.front());
  if (!lock.is_ok()) return report_error(lock.status());

  FlightChunkSink sink(args.dir, limits, clock_ns(CLOCK_MONOTONIC),
                       [](std::string_view line) { print_line("flare: warning: " + std::string(line)); });
  sink.apply_retention();  // what an earlier flight left beyond the limits
  options.chunk_files = &sink;
  options.output_path = sink.first_chunk_path(clock_ns(CLOCK_REALTIME));

  std::optional<agent::CpuUseTrigger> cpu_trigger;
  if (args.dump_when_cpu > 0) cpu_trigger.emplace(args.dump_when_cpu, cpu_for_ns);
  // Blocked before any thread starts, so every thread inherits the mask and
  // only the trigger thread takes SIGUSR1.
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, nullptr);
  install_stop_handlers();
  const std::string started = "flare: flight recording PID " + std::to_string(options.pids.front()) + " into " +
                              args.dir + " (max age " + format_duration_ns(limits.max_age_ns) + ", max size " +
                              args.max_size + ", chunks of " + format_duration_ns(options.chunk_duration_ns) +
                              "); SIGUSR1 dumps";
  DumpTriggers triggers(args.dir, options.output_path, started, options.pids.front(), std::move(cpu_trigger),
                        args.dump_when_cpu, cpu_for_ns);
  triggers.start();
  auto summary = agent::run_capture(options, stop_requested());
  triggers.stop();
  if (!summary.is_ok()) return report_error(summary.status());
  print_line("flare: flight ended (" + summary->end_reason + ") after " + format_duration_ns(summary->duration_ns) +
             ", " + std::to_string(summary->lost) + " lost; chunks kept in " + args.dir);
  if (args.dump_on_exit && summary->end_reason == "targets exited") dump_now(args.dir, "target exited");
  return 0;
}

}  // namespace

CommandRunner add_flight_command(CLI::App& app) {
  auto args = std::make_shared<FlightArgs>();
  app.footer(
      "Records until SIGINT/SIGTERM or until the target exits, into DIR/chunk-<UTC start>-<seq>.flare files,\n"
      "each a complete recording; the oldest whole chunks are deleted to keep within --max-age and\n"
      "--max-size. SIGUSR1 writes DIR/dump-<UTC time>.flare of the retained window; 'flare dump'\n"
      "does the same from another process, also after the flight process died. Layout: docs/FLIGHT.md.\n"
      "Defaults are meant for always-on use (49 Hz CPU sampling, off-CPU intervals of 1 ms or more\n"
      "with stacks, at most 1000 per second); costs: docs/PERFORMANCE.md.");
  app.add_option("-p,--pid", args->pids, "Target process ID")->type_name("PID");
  app.add_option("--dir", args->dir, "Repository directory (created if missing)")->type_name("DIR");
  app.add_option("--status", args->status_dir,
                 "Instead of recording: show DIR's retained window, size, events, drops, whether its\n"
                 "flight process is alive, and its overhead so far")
      ->type_name("DIR");
  app.add_option("--max-age", args->max_age, "Delete chunks whose newest data is older than this")
      ->capture_default_str()
      ->type_name("DUR");
  app.add_option("--max-size", args->max_size, "Delete the oldest chunks while the chunks take more than this")
      ->capture_default_str()
      ->type_name("BYTES");
  app.add_option("--chunk", args->chunk, "Start a new chunk file this often (retention's granularity)")
      ->capture_default_str()
      ->type_name("DUR");
  app.add_option("--flush", args->flush, "Write buffered events to the chunk file at least this often")
      ->capture_default_str()
      ->type_name("DUR");
  app.add_option("-e,--events", args->events, "Signals to record, as for 'record --events'")
      ->capture_default_str()
      ->type_name("LIST");
  app.add_option("-F,--frequency", args->frequency, "CPU sampling frequency in Hz")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  app.add_option("--offcpu-min", args->offcpu_min, "Shorter off-CPU intervals are only totalled (no stacks)")
      ->capture_default_str()
      ->type_name("DUR");
  app.add_option("--offcpu-max-rate", args->offcpu_max_rate,
                 "At most this many off-CPU intervals per second with stacks; the rest are totalled")
      ->capture_default_str();
  app.add_flag("--dump-on-exit", args->dump_on_exit, "Write a dump when the target exits");
  app.add_option("--dump-when-cpu", args->dump_when_cpu,
                 "Write a dump when the target's CPU use stays above PERCENT (of one CPU) for --for")
      ->check(CLI::Range(1.0, 100000.0))
      ->type_name("PERCENT");
  app.add_option("--for", args->cpu_for, "How long the CPU use must stay above --dump-when-cpu")
      ->capture_default_str()
      ->type_name("DUR");
  app.add_flag("-v,--verbose", args->verbose, "Print libbpf diagnostics");
  return [args] { return run_flight(*args); };
}

CommandRunner add_dump_command(CLI::App& app) {
  struct Args {
    std::string dir, output, last;
  };
  auto args = std::make_shared<Args>();
  app.footer(
      "Joins the repository's chunk files (the one being written up to its last flush, one a killed\n"
      "flight process left unfinished) into one recording, while recording continues. Chunks of an\n"
      "earlier flight of another target PID are left out.");
  app.add_option("--dir", args->dir, "Flight repository")->required()->type_name("DIR");
  app.add_option("-o,--output", args->output, "Recording to write")->required()->type_name("FILE");
  app.add_option("--last", args->last, "Only the last DUR before the newest event (default: the whole window)")
      ->type_name("DUR");
  return [args]() -> int {
    rec::FlightDumpOptions options;
    if (!args->last.empty()) {
      auto last = parse_duration_option(args->last, "--last");
      if (!last.is_ok()) return report_error(last.status());
      options.last_ns = *last;
    }
    auto summary = rec::dump_flight(args->dir, args->output, options);
    if (!summary.is_ok()) return report_error(summary.status());
    for (const std::string& s : summary->skipped) std::cerr << "flare: warning: left out " << s << "\n";
    if (!summary->drops_known) std::cerr << "flare: warning: " << kDropsUnknown << "\n";
    std::cerr << "flare: dumped " << describe_dump(*summary) << " -> " << args->output << "\n";
    return 0;
  };
}

}  // namespace flare::cli
