#include "agent/cpu_sampler.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "agent/bpf_error.h"
#include "agent/libbpf_owners.h"
#include "agent/ring_reader.h"
#include "agent/ring_size.h"
#include "agent/online_cpus.h"
#include "agent/unique_fd.h"
#include "cpu_sampler.skel.h"

namespace flare::agent {

namespace {

Result<UniqueFd> open_cpu_clock(int cpu, uint32_t frequency_hz) {
  perf_event_attr attr{};
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  // Frequency mode: for the cpu-clock hrtimer the kernel turns it into an
  // exact period of 1e9/freq ns, so each sample weighs the same.
  attr.freq = 1;
  attr.sample_freq = frequency_hz;
  int fd = static_cast<int>(syscall(SYS_perf_event_open, &attr, -1 /* any task */, cpu, -1, PERF_FLAG_FD_CLOEXEC));
  if (fd < 0) {
    int err = errno;
    if (err == EACCES || err == EPERM) {
      return Status(ErrorCode::kPermissionDenied,
                    "opening the cpu-clock perf event on CPU " + std::to_string(cpu) +
                        ": permission denied; flare needs CAP_PERFMON (or root)");
    }
    return Status::from_errno(err, "opening the cpu-clock perf event on CPU " + std::to_string(cpu));
  }
  return UniqueFd(fd);
}

}  // namespace

struct CpuSampler::Impl {
  CpuSamplerOptions options;
  SampleHandler handler;
  CopySampleHandler copy_handler;
  SkeletonPtr<cpu_sampler_bpf, cpu_sampler_bpf__destroy> skel;
  std::vector<BpfLinkPtr> links;  // destroyed before perf_fds
  std::vector<UniqueFd> perf_fds;
  std::vector<int> perf_cpus;  // the CPU of each perf_fds entry
  std::unique_ptr<RingReader> ring;
};

CpuSampler::CpuSampler(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CpuSampler::~CpuSampler() {
  detach();
  impl_->ring.reset();
  impl_->skel.reset();
}

Result<std::unique_ptr<CpuSampler>> CpuSampler::load(const CpuSamplerOptions& options, SampleHandler handler,
                                                     CopySampleHandler copy_handler) {
  const bool copy = options.user_stack_kind == FLARE_USER_STACK_COPY;
  if (copy && (options.stack_copy_bytes == 0 || options.stack_copy_bytes % FLARE_STACK_PAGE != 0 ||
               options.stack_copy_bytes > FLARE_MAX_STACK_COPY || !copy_handler)) {
    return Status(ErrorCode::kInvalidArgument, "the stack copy size must be a multiple of 4 KiB up to 64 KiB");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->handler = std::move(handler);
  impl->copy_handler = std::move(copy_handler);
  impl->skel.reset(cpu_sampler_bpf__open());
  if (!impl->skel) return bpf_error(errno, "opening the BPF CPU sampler");
  uint32_t ring_bytes = options.ring_buffer_bytes;
  if (!ring_bytes) {
    // Every online CPU may run a target thread at every tick; a copy sample
    // may carry the whole window.
    FLARE_ASSIGN_OR_RETURN(std::vector<int> cpus, online_cpus());
    const uint32_t record_bytes = copy ? static_cast<uint32_t>(offsetof(flare_cpu_sample_copy, stack)) +
                                             options.stack_copy_bytes
                                       : static_cast<uint32_t>(sizeof(flare_cpu_sample));
    ring_bytes = ring_bytes_for_rate(double(options.frequency_hz) * double(cpus.size()), record_bytes);
  }
  int err = bpf_map__set_max_entries(impl->skel->maps.flare_samples, ring_bytes);
  if (err) return bpf_error(-err, "sizing the BPF ring buffer");
  impl->skel->rodata->user_stack_kind = options.user_stack_kind;
  impl->skel->rodata->stack_copy_bytes = options.stack_copy_bytes;
  if (copy) {
    // One assembly slot per possible CPU; frame-pointer sampling needs none.
    int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) return bpf_error(-cpus, "counting the possible CPUs");
    err = bpf_map__set_max_entries(impl->skel->maps.flare_copy_scratch, static_cast<uint32_t>(cpus));
    if (err) return bpf_error(-err, "sizing the BPF stack copy buffers");
  }
  // A quarter of the ring: room for three more quarters of samples while the
  // woken agent gets scheduled.
  impl->skel->rodata->wakeup_bytes = ring_bytes / 4;
  err = cpu_sampler_bpf__load(impl->skel.get());
  if (err) return bpf_error(-err, "loading the BPF CPU sampler");

  std::unique_ptr<CpuSampler> sampler(new CpuSampler(std::move(impl)));
  const int ring_fd = bpf_map__fd(sampler->impl_->skel->maps.flare_samples);
  FLARE_ASSIGN_OR_RETURN(sampler->impl_->ring, RingReader::open(ring_fd, &CpuSampler::on_record, sampler.get()));
  return sampler;
}

Status CpuSampler::add_target(uint32_t pid) {
  uint8_t one = 1;
  if (bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.flare_targets), &pid, &one, BPF_ANY) != 0) {
    return bpf_error(errno, "adding PID " + std::to_string(pid) + " to the target set");
  }
  return Status::ok();
}

Status CpuSampler::attach() {
  FLARE_ASSIGN_OR_RETURN(std::vector<int> cpus, online_cpus());
  for (int cpu : cpus) {
    FLARE_ASSIGN_OR_RETURN(UniqueFd fd, open_cpu_clock(cpu, impl_->options.frequency_hz));
    bpf_link* link = bpf_program__attach_perf_event(impl_->skel->progs.flare_sample, fd.get());
    if (!link) return bpf_error(errno, "attaching the BPF CPU sampler on CPU " + std::to_string(cpu));
    impl_->perf_fds.push_back(std::move(fd));
    impl_->perf_cpus.push_back(cpu);
    impl_->links.emplace_back(link);
  }
  return Status::ok();
}

void CpuSampler::detach() {
  impl_->links.clear();
  impl_->perf_fds.clear();
  impl_->perf_cpus.clear();
}

int CpuSampler::on_record(void* ctx, void* data, size_t size) {
  auto* self = static_cast<CpuSampler*>(ctx);
  constexpr size_t kCopyHeader = offsetof(flare_cpu_sample_copy, stack);
  if (size >= kCopyHeader && static_cast<const flare_cpu_sample*>(data)->user_stack_kind == FLARE_USER_STACK_COPY) {
    const auto* copy = static_cast<const flare_cpu_sample_copy*>(data);
    size_t stack_bytes = copy->user_stack_bytes > 0 ? static_cast<size_t>(copy->user_stack_bytes) : 0;
    if (!self->impl_->copy_handler || stack_bytes > size - kCopyHeader) {
      ++self->malformed_records_;
      return 0;
    }
    // The record ends after the copied bytes: nothing past them is read.
    self->impl_->copy_handler(*copy, stack_bytes);
    return 0;
  }
  if (size < sizeof(flare_cpu_sample)) {
    ++self->malformed_records_;
    return 0;
  }
  self->impl_->handler(*static_cast<const flare_cpu_sample*>(data));
  return 0;
}

Result<int> CpuSampler::poll(int timeout_ms) {
  int n = impl_->ring->poll(timeout_ms);
  if (n == -EINTR) n = 0;
  if (n < 0) return Status::from_errno(-n, "reading the BPF ring buffer");
  // Most submits do not wake us (see wakeup_bytes in the BPF program): what
  // arrived while we slept is read here.
  FLARE_ASSIGN_OR_RETURN(int drained, drain());
  return n + drained;
}

uint32_t CpuSampler::ring_buffer_bytes() const { return static_cast<uint32_t>(impl_->ring->data_bytes()); }

Result<int> CpuSampler::drain() {
  int n = impl_->ring->consume();
  if (n < 0) return Status::from_errno(-n, "draining the BPF ring buffer");
  return n;
}

Result<SamplerDrops> CpuSampler::read_drops() const {
  int ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) return Status::from_errno(-ncpus, "counting possible CPUs");
  SamplerDrops drops;
  std::vector<uint64_t> values(static_cast<size_t>(ncpus));
  int fd = bpf_map__fd(impl_->skel->maps.flare_drops);
  for (uint32_t cause = 0; cause < FLARE_DROP_MAX; ++cause) {
    if (bpf_map_lookup_elem(fd, &cause, values.data()) != 0) {
      return Status::from_errno(errno, "reading the BPF drop counters");
    }
    drops.per_cpu[cause] = values;
  }
  return drops;
}

Result<std::vector<SamplerTicks>> CpuSampler::read_ticks() const {
  int ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) return Status::from_errno(-ncpus, "counting possible CPUs");
  std::vector<uint64_t> runs(static_cast<size_t>(ncpus));
  uint32_t zero = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(impl_->skel->maps.flare_runs), &zero, runs.data()) != 0) {
    return Status::from_errno(errno, "reading the BPF run counters");
  }
  std::vector<SamplerTicks> ticks;
  for (size_t i = 0; i < impl_->perf_fds.size(); ++i) {
    // A cpu-clock event counts the nanoseconds it was enabled on its CPU.
    uint64_t clock_ns = 0;
    if (::read(impl_->perf_fds[i].get(), &clock_ns, sizeof clock_ns) != sizeof clock_ns) {
      return Status::from_errno(errno, "reading the cpu-clock perf event");
    }
    int cpu = impl_->perf_cpus[i];
    ticks.push_back({cpu, clock_ns, cpu < ncpus ? runs[static_cast<size_t>(cpu)] : 0});
  }
  return ticks;
}

}  // namespace flare::agent
