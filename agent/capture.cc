#include "agent/capture.h"

#include <poll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <unordered_set>

#include "agent/alloc_processor.h"
#include "agent/alloc_tracer.h"
#include "agent/allocator_libraries.h"
#include "agent/command_allocators.h"
#include "agent/cpu_idle_time.h"
#include "agent/cpu_sampler.h"
#include "agent/goroutine_capture.h"
#include "agent/kernel_symbolizer.h"
#include "agent/libbpf_log.h"
#include "agent/loss_ledger.h"
#include "agent/offcpu_processor.h"
#include "agent/offcpu_tracer.h"
#include "agent/task_list.h"
#include "agent/thread_tracer.h"
#include "agent/missed_ticks.h"
#include "agent/sample_processor.h"
#include "agent/spawned_process.h"
#include "agent/unique_fd.h"
#include "recorder/writer.h"

namespace flare::agent {

namespace {

uint64_t clock_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string read_command_line(uint32_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  while (!s.empty() && s.back() == '\0') s.pop_back();
  for (char& c : s) {
    if (c == '\0') c = ' ';
  }
  return s;
}

// A pidfd becomes readable when its process exits: exit detection without
// polling /proc and without PID-reuse races.
Result<UniqueFd> open_pidfd(uint32_t pid) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0));
  if (fd < 0) {
    if (errno == ESRCH) return Status(ErrorCode::kNotFound, "no process with PID " + std::to_string(pid));
    return Status::from_errno(errno, "watching PID " + std::to_string(pid));
  }
  return UniqueFd(fd);
}

bool has_exited(const UniqueFd& pidfd) {
  pollfd p{pidfd.get(), POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

rec::FileHeader make_header(const CaptureOptions& options, const std::vector<uint32_t>& pids, uint64_t seed) {
  rec::FileHeader h;
  h.flare_version = FLARE_VERSION_STRING;
  utsname u{};
  if (uname(&u) == 0) {
    h.hostname = u.nodename;
    h.kernel_release = u.release;
  }
  for (uint32_t pid : pids) h.targets.push_back({pid, read_command_line(pid)});
  // A spawned command is still held before exec: /proc shows flare's argv.
  if (!options.command.empty()) {
    std::string command_line;
    for (const std::string& arg : options.command) command_line += (command_line.empty() ? "" : " ") + arg;
    h.targets.back().command_line = command_line;
  }
  h.events = options.cpu ? "cpu" : "";
  if (options.cpu) {
    h.sample_frequency_hz = options.frequency_hz;
    h.sample_period_ns = 1000000000ull / options.frequency_hz;
    h.user_stacks = unwind_mode_name(options.unwind);
    if (options.unwind != UnwindMode::kFramePointers) h.stack_copy_bytes = options.stack_copy_bytes;
  }
  if (options.offcpu) {
    h.events += h.events.empty() ? "offcpu" : ",offcpu";
    h.offcpu_min_ns = options.offcpu_min_ns;
    h.offcpu_max_per_second = options.offcpu_max_per_second;
  }
  if (options.alloc) {
    h.events += h.events.empty() ? "alloc" : ",alloc";
    h.alloc_sample_rate = std::max<uint64_t>(1, options.alloc_rate);
    h.alloc_seed = seed;
  }
  if (options.goroutine) h.events += h.events.empty() ? "goroutine" : ",goroutine";
  h.losses_at_flush = true;  // see LossLedger
  h.clock_monotonic_ns = clock_ns(CLOCK_MONOTONIC);
  h.clock_realtime_ns = clock_ns(CLOCK_REALTIME);
  return h;
}

uint64_t timeval_ns(const timeval& tv) {
  return static_cast<uint64_t>(tv.tv_sec) * 1000000000ull + static_cast<uint64_t>(tv.tv_usec) * 1000ull;
}

// elfutils would fetch missing debug info over the network when
// DEBUGINFOD_URLS is set (Debian sets it for login shells), blocking the drain
// loop inside a file open; flare symbolizes from local files only. Every
// cached ELF file holds a descriptor, so the soft fd limit is raised to the
// hard one.
void prepare_process_environment() {
  unsetenv("DEBUGINFOD_URLS");
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
}

// Everything one capture owns. Members are declared so that destruction
// detaches the sampler before anything else goes away.
class Capture {
 public:
  Capture(const CaptureOptions& options, const std::atomic<bool>& stop) : options_(options), stop_(stop) {}

  Result<CaptureSummary> run() {
    Status st = setup();
    if (!st.is_ok()) {
      fail_cleanup();
      return st;
    }
    st = record();
    // The last tick account needs the perf events: before detach.
    if (st.is_ok() && sampler_) st = write_tick_losses();
    if (sampler_) sampler_->detach();
    if (offcpu_) offcpu_->detach();
    if (threads_) threads_->detach();
    if (alloc_) alloc_->detach();
    if (goroutines_) goroutines_->detach();
    if (st.is_ok()) st = finalize();
    if (!st.is_ok()) {
      fail_cleanup();
      return st;
    }
    if (child_) summary_.child_exit_status = child_->wait_for_exit();
    return summary_;
  }

 private:
  Status setup() {
    install_libbpf_logger(options_.verbose);
    prepare_process_environment();
    pids_ = options_.pids;
    if (!options_.command.empty()) {
      FLARE_ASSIGN_OR_RETURN(SpawnedProcess child, SpawnedProcess::fork_held(options_.command));
      child_.emplace(std::move(child));
      pids_.push_back(static_cast<uint32_t>(child_->pid()));
    }
    if (pids_.empty()) return Status(ErrorCode::kInvalidArgument, "no target: give -p PID or -- COMMAND");
    for (uint32_t pid : pids_) {
      FLARE_ASSIGN_OR_RETURN(UniqueFd fd, open_pidfd(pid));
      pidfds_.push_back(std::move(fd));
    }
    summary_.output_path = options_.output_path.empty() ? default_output_path(pids_.front()) : options_.output_path;

    if (options_.cpu) {
      CpuSamplerOptions sampler_options;
      sampler_options.frequency_hz = options_.frequency_hz;
      sampler_options.ring_buffer_bytes = options_.ring_buffer_bytes;
      if (options_.unwind != UnwindMode::kFramePointers) {
        sampler_options.user_stack_kind = FLARE_USER_STACK_COPY;
        sampler_options.stack_copy_bytes = options_.stack_copy_bytes;
      }
      FLARE_ASSIGN_OR_RETURN(
          sampler_, CpuSampler::load(
                        sampler_options, [this](const flare_cpu_sample& s) { processor_->process(s); },
                        [this](const flare_cpu_sample_copy& s, size_t stack_bytes) {
                          processor_->process(s, stack_bytes);
                        }));
    }
    if (options_.offcpu) {
      OffCpuTracerOptions tracer_options;
      tracer_options.min_ns = options_.offcpu_min_ns;
      tracer_options.max_per_second = options_.offcpu_max_per_second;
      tracer_options.ring_buffer_bytes = options_.ring_buffer_bytes;
      FLARE_ASSIGN_OR_RETURN(offcpu_, OffCpuTracer::load(tracer_options, [this](const flare_offcpu_event& e) {
                               offcpu_processor_->process(e);
                             }));
    }

    if (options_.goroutine) {
      std::vector<GoroutineTarget> targets;
      for (uint32_t pid : pids_) targets.push_back({pid, "/proc/" + std::to_string(pid) + "/exe"});
      // A held child still runs flare: its program is the one it will exec.
      if (child_) {
        const std::string resolved = resolve_command_path(options_.command.front());
        targets.back().executable = resolved.empty() ? options_.command.front() : resolved;
      }
      FLARE_ASSIGN_OR_RETURN(goroutines_, GoroutineCapture::load(std::move(targets), options_.ring_buffer_bytes));
    }

    FLARE_ASSIGN_OR_RETURN(threads_, ThreadTracer::load([this](const flare_thread_event& e) { on_thread_event(e); }));
    if (options_.alloc) {
      alloc_seed_ = options_.alloc_seed ? *options_.alloc_seed : std::random_device{}();
      AllocTracerOptions tracer_options;
      tracer_options.sample_rate = std::max<uint64_t>(1, options_.alloc_rate);
      tracer_options.seed = alloc_seed_;
      tracer_options.seed_threads_by_tid = !options_.alloc_seed.has_value();
      tracer_options.ring_buffer_bytes = options_.ring_buffer_bytes;
      FLARE_ASSIGN_OR_RETURN(alloc_, AllocTracer::load(
                                         tracer_options, [this](const flare_alloc_event& e) { alloc_processor_->process(e); },
                                         [this](const flare_free_event& e) { alloc_processor_->process(e); }));
    }

    // After the BPF objects: loading them parses the kernel's BTF (tens of
    // MiB, freed again), and the kernel symbols should not add to that peak.
    auto kernel = KernelSymbolizer::load();
    std::optional<KernelSymbolizer> kernel_symbols;
    if (kernel.is_ok()) kernel_symbols.emplace(std::move(kernel).value());

    // The output is created after the slow loading (so the header's clock
    // pair marks the start of sampling) but before anything is attached: an
    // unwritable path fails with the target untouched.
    rec::WriterOptions writer_options;
    writer_options.flush_interval_ns = options_.flush_interval_ns;
    writer_options.chunk_duration_ns = options_.chunk_duration_ns;
    writer_options.chunk_files = options_.chunk_files;
    const rec::FileHeader header = make_header(options_, pids_, alloc_seed_);
    FLARE_ASSIGN_OR_RETURN(writer_, rec::RecordingWriter::create(summary_.output_path, header, writer_options));
    SampleProcessorOptions processor_options;
    processor_options.unwind = options_.unwind;
    processor_options.stack_copy_bytes = options_.stack_copy_bytes;
    SymbolizerOptions symbolizer_options;
    symbolizer_options.debug_dirs = options_.debug_dirs;
    processor_.emplace(*writer_, std::move(kernel_symbols), std::make_shared<SymbolFileCache>(symbolizer_options),
                       processor_options);
    offcpu_processor_.emplace(*writer_, *processor_, header.clock_monotonic_ns);
    alloc_processor_.emplace(*writer_, *processor_, header.alloc_sample_rate);

    if (sampler_) {
      for (uint32_t pid : pids_) FLARE_RETURN_IF_ERROR(sampler_->add_target(pid));
      FLARE_RETURN_IF_ERROR(sampler_->attach());
      FLARE_ASSIGN_OR_RETURN(idle_at_attach_, read_cpu_idle_ns());
    }
    if (offcpu_) {
      for (uint32_t pid : pids_) FLARE_RETURN_IF_ERROR(offcpu_->add_target(pid));
      FLARE_RETURN_IF_ERROR(offcpu_->attach(header.clock_monotonic_ns));
    }
    for (uint32_t pid : pids_) FLARE_RETURN_IF_ERROR(threads_->add_target(pid));
    FLARE_RETURN_IF_ERROR(threads_->attach());
    if (alloc_) {
      // A held child has not exec'd yet: its mappings are flare's own, whose
      // libc is (normally) the one the command will map; record() checks
      // that after the exec. Probes are placed by file, so they attach now.
      for (uint32_t pid : pids_) {
        FLARE_ASSIGN_OR_RETURN(AllocTargetReport report, alloc_->add_target(pid));
        if (child_ && pid == static_cast<uint32_t>(child_->pid())) {
          // Its own allocator and those it will load are probed by file
          // before it runs, so its first allocations are seen too.
          const CommandAllocators predicted = predict_command_allocators(options_.command);
          FLARE_RETURN_IF_ERROR(alloc_->attach_replacements(pid, predicted.replacements, report));
          if (predicted.go_executable) FLARE_RETURN_IF_ERROR(alloc_->attach_go_runtime(pid, *predicted.go_executable, report));
          child_allocators_.emplace(pid, predicted);
        }
        report_alloc_probes(report);
      }
    }
    if (goroutines_) {
      FLARE_RETURN_IF_ERROR(goroutines_->attach(*writer_, *processor_, options_.verbose ? options_.on_detail : nullptr));
    }
    if (child_) FLARE_RETURN_IF_ERROR(child_->release());

    for (size_t i = 0; i < pids_.size(); ++i) {
      if (!child_ && has_exited(pidfds_[i])) {
        return Status(ErrorCode::kNotFound, "process " + std::to_string(pids_[i]) + " exited during attach");
      }
    }
    return Status::ok();
  }

  bool all_targets_exited() {
    if (child_ && !child_->has_exited()) return false;
    for (size_t i = 0; i < pidfds_.size(); ++i) {
      if (child_ && pids_[i] == static_cast<uint32_t>(child_->pid())) continue;
      if (!has_exited(pidfds_[i])) return false;
    }
    return true;
  }

  Status record() {
    start_ns_ = clock_ns(CLOCK_MONOTONIC);
    const uint64_t deadline = options_.duration_ns ? start_ns_ + options_.duration_ns : 0;
    while (true) {
      uint64_t now = clock_ns(CLOCK_MONOTONIC);
      if (stop_.load()) {
        summary_.end_reason = "signal";
        break;
      }
      if (deadline && now >= deadline) {
        summary_.end_reason = "duration";
        break;
      }
      if (all_targets_exited()) {
        summary_.end_reason = "targets exited";
        break;
      }
      int timeout_ms = 100;
      if (deadline) timeout_ms = static_cast<int>(std::min<uint64_t>(100, (deadline - now) / 1000000 + 1));
      if (alloc_) {
        // Allocation events come fastest: their ring is the one waited on
        // (it wakes the agent when a quarter full); the others are drained.
        FLARE_ASSIGN_OR_RETURN(int n, alloc_->poll(timeout_ms));
        (void)n;
        if (sampler_) {
          FLARE_ASSIGN_OR_RETURN(int drained, sampler_->drain());
          (void)drained;
        }
        if (child_allocators_ && !child_allocators_->done()) FLARE_RETURN_IF_ERROR(check_child_allocator());
      } else if (sampler_) {
        FLARE_ASSIGN_OR_RETURN(int n, sampler_->poll(timeout_ms));
        (void)n;
      } else if (goroutines_) {
        FLARE_RETURN_IF_ERROR(goroutines_->poll(timeout_ms).status());
      } else {
        ::poll(nullptr, 0, timeout_ms);
      }
      if (goroutines_) FLARE_RETURN_IF_ERROR(goroutines_->drain());
      if (offcpu_) FLARE_RETURN_IF_ERROR(drain_offcpu(false));
      FLARE_RETURN_IF_ERROR(threads_->drain().status());
      const uint64_t flush_check_ns = clock_ns(CLOCK_MONOTONIC);
      if (writer_->flush_due(flush_check_ns)) {
        // The block about to be written carries the losses up to now.
        if (sampler_) FLARE_RETURN_IF_ERROR(write_tick_losses());
        FLARE_RETURN_IF_ERROR(write_losses());
      }
      FLARE_RETURN_IF_ERROR(writer_->maybe_flush(flush_check_ns));
      if (writer_->generation() != chunk_generation_) FLARE_RETURN_IF_ERROR(on_chunk_rotation());
      report_progress(now);
    }
    summary_.duration_ns = clock_ns(CLOCK_MONOTONIC) - start_ns_;
    return Status::ok();
  }

  // A new chunk started. The symbolizers trim themselves at the same point
  // (SampleProcessor, on the writer's generation); the off-CPU state kept
  // per thread is trimmed to the target's threads alive: ended threads'
  // last totals are written, then freed here and in the BPF table
  // (docs/FLIGHT.md, Bounded memory).
  Status on_chunk_rotation() {
    chunk_generation_ = writer_->generation();
    if (!offcpu_) return Status::ok();
    std::unordered_set<uint32_t> alive;
    for (uint32_t pid : pids_) {
      for (const TaskState& task : list_task_states(pid)) alive.insert(task.tid);
    }
    FLARE_ASSIGN_OR_RETURN(auto totals, offcpu_->read_totals());
    offcpu_processor_->add_totals(totals, clock_ns(CLOCK_MONOTONIC));
    return offcpu_->forget_totals(offcpu_processor_->forget_ended_threads(alive));
  }

  void report_progress(uint64_t now) {
    if (!options_.on_progress || now < next_progress_ns_) return;
    next_progress_ns_ = now + 1'000'000'000;
    CaptureProgress p;
    p.elapsed_ns = now - start_ns_;
    p.duration_ns = options_.duration_ns;
    p.cpu = sampler_ != nullptr;
    p.offcpu = offcpu_ != nullptr;
    p.alloc = alloc_ != nullptr;
    p.samples = processor_->stats().samples;
    if (offcpu_processor_) p.offcpu_intervals = offcpu_processor_->stats().intervals;
    if (alloc_processor_) {
      p.alloc_samples = alloc_processor_->stats().samples;
      p.alloc_frees = alloc_processor_->stats().frees;
    }
    p.thread_events = thread_events_;
    // As of the last flush (write_losses): a display need not read the
    // counters again.
    p.ring_drops = 0;
    for (const char* ring_full : {"sampler_ring_full", "offcpu_ring_full", "alloc_ring_full", "alloc_free_ring_full",
                                  "thread_events_lost"}) {
      if (auto it = drop_counts_.find(ring_full); it != drop_counts_.end()) p.ring_drops += it->second;
    }
    p.bytes = writer_->bytes_written();
    options_.on_progress(p);
  }

  // Ticks that were due while a CPU was busy but never reached the program
  // are losses we can only see from outside it. The account covers the
  // capture so far; its growth is written (see LossLedger).
  Status write_tick_losses() {
    FLARE_ASSIGN_OR_RETURN(std::vector<SamplerTicks> ticks, sampler_->read_ticks());
    FLARE_ASSIGN_OR_RETURN(auto idle_now, read_cpu_idle_ns());
    const uint64_t period_ns = 1'000'000'000ull / options_.frequency_hz;
    std::vector<uint64_t> missed_per_cpu;
    uint64_t due = 0, ran = 0;
    for (const SamplerTicks& t : ticks) {
      uint64_t idle_ns = 0;
      auto before = idle_at_attach_.find(t.cpu), after = idle_now.find(t.cpu);
      if (before != idle_at_attach_.end() && after != idle_now.end() && after->second > before->second) {
        idle_ns = after->second - before->second;
      }
      TickAccount account = account_busy_ticks(t.enabled_ns, idle_ns, t.busy_runs, period_ns);
      due += account.due;
      ran += t.busy_runs;
      const size_t cpu = static_cast<size_t>(t.cpu);
      if (missed_per_cpu.size() <= cpu) missed_per_cpu.resize(cpu + 1);
      missed_per_cpu[cpu] = account.missed;
    }
    summary_.ticks_due = due;
    busy_ticks_run_ = ran;
    summary_.ticks_missed =
        losses_.write_growth(*writer_, "sampler_ticks_missed", rec::LostCause::kSamplerTicksMissed, missed_per_cpu);
    return Status::ok();
  }

  // Every drop counter of the tracers, as lost records of its growth since
  // the last call: at every flush and at the end. Their totals become
  // statistics at the end (drop_counts_).
  Status write_losses() {
    if (sampler_) {
      FLARE_ASSIGN_OR_RETURN(SamplerDrops drops, sampler_->read_drops());
      static constexpr rec::LostCause kCauses[FLARE_DROP_MAX] = {
          rec::LostCause::kRingBufferFull, rec::LostCause::kUserStackFailed, rec::LostCause::kKernelStackFailed};
      static constexpr const char* kDropStats[FLARE_DROP_MAX] = {"sampler_ring_full", "sampler_user_stack_failed",
                                                                 "sampler_kernel_stack_failed"};
      for (int cause = 0; cause < FLARE_DROP_MAX; ++cause) {
        drop_counts_[kDropStats[cause]] =
            losses_.write_growth(*writer_, kDropStats[cause], kCauses[cause], drops.per_cpu[cause]);
      }
    }
    if (offcpu_) {
      FLARE_ASSIGN_OR_RETURN(auto drops, offcpu_->read_drops());
      static constexpr rec::LostCause kCauses[FLARE_OFFCPU_DROP_MAX] = {
          rec::LostCause::kRingBufferFull, rec::LostCause::kOffCpuRateLimited, rec::LostCause::kOffCpuUntracked,
          rec::LostCause::kOffCpuUntracked, rec::LostCause::kUserStackFailed,  rec::LostCause::kKernelStackFailed,
          rec::LostCause::kOffCpuUntracked,   rec::LostCause::kOffCpuUntracked};
      // The finer BPF-side causes behind each lost cause.
      static constexpr const char* kDropStats[FLARE_OFFCPU_DROP_MAX] = {
          "offcpu_ring_full",         "offcpu_rate_limited",     "offcpu_no_thread_slot",
          "offcpu_no_total_slot",     "offcpu_user_stack_failed", "offcpu_kernel_stack_failed",
          "offcpu_unpaired_switch_in", "offcpu_unpaired_switch_out"};
      for (int cause = 0; cause < FLARE_OFFCPU_DROP_MAX; ++cause) {
        drop_counts_[kDropStats[cause]] =
            losses_.write_growth(*writer_, kDropStats[cause], kCauses[cause], drops[cause]);
      }
      FLARE_ASSIGN_OR_RETURN(uint64_t misses, offcpu_->read_recursion_misses());
      drop_counts_["offcpu_program_recursion_misses"] = losses_.write_growth_all_cpus(
          *writer_, "offcpu_program_recursion_misses", rec::LostCause::kOffCpuUntracked, misses);
    }
    if (alloc_) {
      FLARE_ASSIGN_OR_RETURN(auto drops, alloc_->read_drops());
      static constexpr rec::LostCause kCauses[FLARE_ALLOC_DROP_MAX] = {
          rec::LostCause::kRingBufferFull, rec::LostCause::kAllocUntracked,  rec::LostCause::kAllocUntracked,
          rec::LostCause::kUserStackFailed, rec::LostCause::kAllocUnseen,    rec::LostCause::kAllocUnseen};
      static constexpr const char* kDropStats[FLARE_ALLOC_DROP_MAX] = {
          "alloc_ring_full", "alloc_free_ring_full", "alloc_live_table_full",
          "alloc_user_stack_failed", "alloc_no_thread_state", "alloc_read_failed"};
      for (int cause = 0; cause < FLARE_ALLOC_DROP_MAX; ++cause) {
        drop_counts_[kDropStats[cause]] =
            losses_.write_growth(*writer_, kDropStats[cause], kCauses[cause], drops[cause]);
      }
      FLARE_ASSIGN_OR_RETURN(uint64_t misses, alloc_->read_recursion_misses());
      drop_counts_["alloc_program_recursion_misses"] =
          losses_.write_growth_all_cpus(*writer_, "alloc_program_recursion_misses", rec::LostCause::kAllocUnseen, misses);
    }
    if (goroutines_) FLARE_RETURN_IF_ERROR(goroutines_->write_losses(*writer_, losses_));
    FLARE_ASSIGN_OR_RETURN(uint64_t thread_drops, threads_->read_drops());
    drop_counts_["thread_events_lost"] =
        losses_.write_growth_all_cpus(*writer_, "thread_events_lost", rec::LostCause::kRingBufferFull, thread_drops);
    return Status::ok();
  }

  // Intervals in the ring, and every second (and at the end) the totals
  // the gates kept.
  Status drain_offcpu(bool final) {
    FLARE_ASSIGN_OR_RETURN(int n, offcpu_->drain());
    (void)n;
    const uint64_t now = clock_ns(CLOCK_MONOTONIC);
    if (final || now >= last_totals_ns_ + options_.flush_interval_ns) {
      FLARE_ASSIGN_OR_RETURN(auto totals, offcpu_->read_totals());
      offcpu_processor_->add_totals(totals, now);
      last_totals_ns_ = now;
    }
    return Status::ok();
  }

  // After detach: what is still open is clipped at the end; target threads
  // the tracer never saw and that sleep now slept throughout.
  Status close_offcpu_intervals() {
    FLARE_RETURN_IF_ERROR(drain_offcpu(true));
    const uint64_t end_ns = clock_ns(CLOCK_MONOTONIC);
    FLARE_RETURN_IF_ERROR(offcpu_->scan_parked_threads());  // kernel stacks of what is still open
    FLARE_ASSIGN_OR_RETURN(auto open, offcpu_->read_open_intervals());
    for (const flare_offcpu_event& e : open) offcpu_processor_->process_open(e, end_ns);
    for (uint32_t pid : pids_) {
      for (const TaskState& task : list_task_states(pid)) {
        if (offcpu_processor_->seen(task.tid)) continue;
        if (auto state = offcpu_state_from_proc(task.state)) {
          offcpu_processor_->add_blocked_throughout(pid, task.tid, task.comm, *state, end_ns);
        }
      }
    }
    return Status::ok();
  }

  void write_offcpu_stats() {
    const OffCpuStats& os = offcpu_processor_->stats();
    writer_->add_stat("offcpu_intervals", os.intervals);
    writer_->add_stat("offcpu_intervals_clipped_start", os.clipped_start);
    writer_->add_stat("offcpu_intervals_clipped_end", os.clipped_end);
    writer_->add_stat("offcpu_intervals_whole_capture", os.whole_capture);
    writer_->add_stat("offcpu_intervals_totalled", os.totalled);
    writer_->add_stat("offcpu_threads_forgotten", os.threads_forgotten);
    writer_->add_stat("offcpu_malformed_ring_records", offcpu_->malformed_records());
    writer_->add_stat("offcpu_ring_bytes", offcpu_->ring_buffer_bytes());
    summary_.offcpu_intervals = os.intervals;
  }

  void warn(const std::string& line) {
    if (options_.on_warning) options_.on_warning(line);
  }

  // After the spawned command's exec: what it really maps, against what
  // was probed before it ran.
  Status check_child_allocator() {
    CommandAllocatorCheck::Outcome outcome = child_allocators_->check();
    for (const std::string& w : outcome.warnings) warn(w);
    const uint32_t pid = static_cast<uint32_t>(child_->pid());
    AllocTargetReport report;
    FLARE_RETURN_IF_ERROR(alloc_->attach_replacements(pid, outcome.attach_late, report));
    if (outcome.attach_go_late) FLARE_RETURN_IF_ERROR(alloc_->attach_go_runtime(pid, *outcome.attach_go_late, report));
    report_alloc_probes(report);
    return Status::ok();
  }

  void report_alloc_probes(const AllocTargetReport& report) {
    for (const std::string& w : report.warnings) warn(w);
    if (!options_.verbose || !options_.on_detail) return;
    for (const AllocProbe& p : report.probes) {
      options_.on_detail("probe " + p.function + "+" + std::to_string(p.offset) + " in " + p.library +
                         (p.emulated ? " (emulated in the trap)" : " (single-stepped)"));
    }
  }

  Status write_alloc_stats() {
    FLARE_ASSIGN_OR_RETURN(auto calls, alloc_->read_calls());
    static constexpr const char* kCallStats[FLARE_ALLOC_FUNC_MAX] = {
        nullptr, "alloc_calls_malloc", "alloc_calls_calloc", "alloc_calls_realloc", "alloc_calls_memalign",
        "alloc_calls_posix_memalign", "alloc_calls_new", "alloc_calls_valloc", "alloc_calls_free",
        "alloc_calls_reallocarray", "alloc_calls_go_sample", "alloc_calls_go_free"};
    for (int func = 1; func < FLARE_ALLOC_FUNC_MAX; ++func) writer_->add_stat(kCallStats[func], calls[func]);
    FLARE_ASSIGN_OR_RETURN(uint64_t live, alloc_->live_entries());
    writer_->add_stat("alloc_live_table_capacity", FLARE_ALLOC_MAX_LIVE);
    writer_->add_stat("alloc_live_table_used", live);
    const AllocStats& as = alloc_processor_->stats();
    writer_->add_stat("alloc_samples", as.samples);
    writer_->add_stat("alloc_frees", as.frees);
    writer_->add_stat("alloc_malformed_ring_records", alloc_->malformed_records());
    summary_.alloc_samples = as.samples;
    summary_.alloc_frees = as.frees;
    return Status::ok();
  }

  Status finalize() {
    // What is still in the rings belongs to the capture, and so do the
    // losses counted up to the end.
    if (alloc_) FLARE_RETURN_IF_ERROR(alloc_->drain().status());
    if (goroutines_) FLARE_RETURN_IF_ERROR(goroutines_->drain());
    if (sampler_) FLARE_RETURN_IF_ERROR(sampler_->drain().status());
    FLARE_RETURN_IF_ERROR(threads_->drain().status());
    if (offcpu_) FLARE_RETURN_IF_ERROR(close_offcpu_intervals());
    FLARE_RETURN_IF_ERROR(write_losses());
    for (const auto& [name, count] : drop_counts_) writer_->add_stat(name, count);
    summary_.lost = losses_.events_lost();

    if (alloc_) FLARE_RETURN_IF_ERROR(write_alloc_stats());
    if (goroutines_) {
      goroutines_->write_stats(*writer_);
      summary_.goroutine_events = goroutines_->events();
    }
    if (offcpu_) write_offcpu_stats();
    if (sampler_) {
      writer_->add_stat("sampler_busy_ticks_due", summary_.ticks_due);
      writer_->add_stat("sampler_busy_ticks_run", busy_ticks_run_);
      writer_->add_stat("malformed_ring_records", sampler_->malformed_records());
      writer_->add_stat("cpu_ring_bytes", sampler_->ring_buffer_bytes());
    }
    writer_->add_stat("thread_events", thread_events_);
    writer_->add_stat("thread_malformed_ring_records", threads_->malformed_records());
    const ProcessorStats& ps = processor_->stats();
    ProcessSymbolizer::Stats ss = processor_->symbolizer_stats();
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    writer_->add_stat("capture_duration_ns", summary_.duration_ns);
    writer_->add_stat("samples_received", ps.samples);
    writer_->add_stat("user_stacks_truncated", ps.user_stacks_truncated);
    if (options_.cpu && options_.unwind != UnwindMode::kFramePointers) {
      for (size_t i = 0; i < kUnwindStatusCount; ++i) {
        writer_->add_stat("unwind_" + std::string(unwind_status_name(static_cast<UnwindStatus>(i))),
                          ps.unwind_status[i]);
      }
      writer_->add_stat("unwind_frames", ps.unwind_frames);
      writer_->add_stat("unwind_frame_pointer_steps", ps.unwind_frame_pointer_steps);
    }
    writer_->add_stat("frames_unresolved", ps.frames_unresolved);
    writer_->add_stat("frames_unknown_mapping", ps.frames_unknown_mapping);
    writer_->add_stat("maps_refreshes", ss.refreshes);
    writer_->add_stat("maps_refresh_errors", ss.refresh_errors);
    writer_->add_stat("file_open_errors", ss.open_errors);
    writer_->add_stat("perf_maps_opened", ss.perf_maps_opened);
    writer_->add_stat("jit_frames_resolved", ss.jit_resolved);
    writer_->add_stat("mappings_forgotten", ss.mappings_forgotten);
    writer_->add_stat("symbol_files_forgotten", processor_->symbol_files().forgotten());
    writer_->add_stat("symbol_cache_resets", processor_->symbol_files().cache_resets());
    writer_->add_stat("agent_cpu_user_ns", timeval_ns(usage.ru_utime));
    writer_->add_stat("agent_cpu_system_ns", timeval_ns(usage.ru_stime));
    writer_->add_stat("agent_peak_rss_kib", static_cast<uint64_t>(usage.ru_maxrss));
    summary_.samples = writer_->samples_written();
    FLARE_RETURN_IF_ERROR(writer_->finish());
    summary_.bytes = writer_->bytes_written();
    return Status::ok();
  }

  // A thread's start carries no name (a new thread has its creator's until it
  // names itself); its end names it as it was last.
  void on_thread_event(const flare_thread_event& e) {
    if (e.kind == FLARE_THREAD_END) {
      writer_->set_thread(e.pid, e.tid, std::string_view(e.comm, strnlen(e.comm, FLARE_THREAD_COMM_LEN)));
    }
    rec::ThreadEvent out;
    out.time_ns = e.time_ns;
    out.kind = e.kind == FLARE_THREAD_START ? rec::ThreadEventKind::kStart : rec::ThreadEventKind::kEnd;
    out.pid = e.pid;
    out.tid = e.tid;
    writer_->add_thread_event(out);
    ++thread_events_;
  }

  void fail_cleanup() {
    if (sampler_) sampler_->detach();
    if (offcpu_) offcpu_->detach();
    if (threads_) threads_->detach();
    if (alloc_) alloc_->detach();
    if (goroutines_) goroutines_->detach();
    if (writer_) writer_->abandon();
    if (child_) child_->abort();
  }

  const CaptureOptions& options_;
  const std::atomic<bool>& stop_;
  std::vector<uint32_t> pids_;
  std::vector<UniqueFd> pidfds_;
  std::optional<SpawnedProcess> child_;
  std::unique_ptr<rec::RecordingWriter> writer_;
  std::optional<SampleProcessor> processor_;
  std::optional<OffCpuProcessor> offcpu_processor_;
  std::unique_ptr<ThreadTracer> threads_;
  std::optional<AllocProcessor> alloc_processor_;
  std::unique_ptr<AllocTracer> alloc_;
  std::unique_ptr<GoroutineCapture> goroutines_;
  uint64_t alloc_seed_ = 0;
  std::optional<CommandAllocatorCheck> child_allocators_;  // spawn mode with --alloc
  std::unique_ptr<OffCpuTracer> offcpu_;
  std::unique_ptr<CpuSampler> sampler_;  // last: destroyed (detached) first
  uint64_t thread_events_ = 0;
  uint64_t chunk_generation_ = 0;  // the writer's, as on_chunk_rotation() last saw it
  uint64_t last_totals_ns_ = 0;
  uint64_t start_ns_ = 0;
  uint64_t next_progress_ns_ = 0;
  LossLedger losses_;
  std::map<std::string, uint64_t, std::less<>> drop_counts_;  // the tracers' drop counters, by statistic name
  uint64_t busy_ticks_run_ = 0;
  std::map<int, uint64_t> idle_at_attach_;  // per CPU, see account_ticks()
  CaptureSummary summary_;
};

}  // namespace

Result<CaptureSummary> run_capture(const CaptureOptions& options, const std::atomic<bool>& stop) {
  Capture capture(options, stop);
  return capture.run();
}

std::string default_output_path(uint32_t pid) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  return "flare-" + std::to_string(pid) + "-" + stamp + ".flare";
}

}  // namespace flare::agent
