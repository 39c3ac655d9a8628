#include "agent/offcpu_tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <unistd.h>

#include <cerrno>

#include "agent/bpf_error.h"
#include "agent/libbpf_owners.h"
#include "agent/ring_reader.h"
#include "agent/ring_size.h"
#include "offcpu_tracer.skel.h"

namespace flare::agent {

struct OffCpuTracer::Impl {
  OffCpuTracerOptions options;
  EventHandler handler;
  SkeletonPtr<offcpu_tracer_bpf, offcpu_tracer_bpf__destroy> skel;
  std::vector<BpfLinkPtr> links;
  std::unique_ptr<RingReader> ring;
};

OffCpuTracer::OffCpuTracer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

OffCpuTracer::~OffCpuTracer() {
  detach();
  impl_->ring.reset();
  impl_->skel.reset();
}

Result<std::unique_ptr<OffCpuTracer>> OffCpuTracer::load(const OffCpuTracerOptions& options, EventHandler handler) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->handler = std::move(handler);
  impl->skel.reset(offcpu_tracer_bpf__open());
  if (!impl->skel) return bpf_error(errno, "opening the BPF off-CPU tracer");
  // Intervals reach the ring at most max_per_second (beyond that they are
  // totalled); shorter ones are only totalled, in a map.
  const uint32_t ring_bytes = options.ring_buffer_bytes
                                  ? options.ring_buffer_bytes
                                  : ring_bytes_for_rate(options.max_per_second, sizeof(flare_offcpu_event));
  int err = bpf_map__set_max_entries(impl->skel->maps.flare_offcpu_events, ring_bytes);
  if (err) return bpf_error(-err, "sizing the off-CPU ring buffer");
  impl->skel->rodata->min_ns = options.min_ns;
  impl->skel->rodata->max_per_second = options.max_per_second;
  // As in the CPU sampler: the agent drains on a timer, submits wake it only
  // when the ring is a quarter full.
  impl->skel->rodata->wakeup_bytes = ring_bytes / 4;
  err = offcpu_tracer_bpf__load(impl->skel.get());
  if (err) return bpf_error(-err, "loading the BPF off-CPU tracer");

  std::unique_ptr<OffCpuTracer> tracer(new OffCpuTracer(std::move(impl)));
  const int ring_fd = bpf_map__fd(tracer->impl_->skel->maps.flare_offcpu_events);
  FLARE_ASSIGN_OR_RETURN(tracer->impl_->ring, RingReader::open(ring_fd, &OffCpuTracer::on_record, tracer.get()));
  return tracer;
}

Status OffCpuTracer::add_target(uint32_t pid) {
  uint8_t one = 1;
  if (bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.flare_targets), &pid, &one, BPF_ANY) != 0) {
    return bpf_error(errno, "adding PID " + std::to_string(pid) + " to the off-CPU target set");
  }
  return Status::ok();
}

Status OffCpuTracer::attach(uint64_t capture_start_ns) {
  impl_->skel->bss->capture_start_ns = capture_start_ns;
  bpf_program* programs[] = {impl_->skel->progs.flare_sched_switch, impl_->skel->progs.flare_sched_waking,
                             impl_->skel->progs.flare_sched_wakeup, impl_->skel->progs.flare_sched_process_exit};
  for (bpf_program* program : programs) {
    bpf_link* link = bpf_program__attach(program);
    if (!link) {
      return bpf_error(errno, std::string("attaching the off-CPU tracer to ") + bpf_program__section_name(program));
    }
    impl_->links.emplace_back(link);
  }
  return scan_parked_threads();
}

// Runs the flare_parked_threads task iterator once. After attach it opens an
// interval, with stacks, for every target thread parked right now (run after
// the tracepoints are attached, so no thread can park unseen in between).
Status OffCpuTracer::scan_parked_threads() {
  BpfLinkPtr link(
      bpf_program__attach_iter(impl_->skel->progs.flare_parked_threads, nullptr));
  if (!link) return bpf_error(errno, "attaching the parked-threads iterator");
  int fd = bpf_iter_create(bpf_link__fd(link.get()));
  if (fd < 0) return bpf_error(errno, "starting the parked-threads iterator");
  char buf[64];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) {
  }
  int err = n < 0 ? errno : 0;
  ::close(fd);
  if (err) return Status::from_errno(err, "running the parked-threads iterator");
  return Status::ok();
}

void OffCpuTracer::detach() { impl_->links.clear(); }

int OffCpuTracer::on_record(void* ctx, void* data, size_t size) {
  auto* self = static_cast<OffCpuTracer*>(ctx);
  if (size < sizeof(flare_offcpu_event)) {
    ++self->malformed_records_;
    return 0;
  }
  self->impl_->handler(*static_cast<const flare_offcpu_event*>(data));
  return 0;
}

uint32_t OffCpuTracer::ring_buffer_bytes() const { return static_cast<uint32_t>(impl_->ring->data_bytes()); }

Result<int> OffCpuTracer::drain() {
  int n = impl_->ring->consume();
  if (n < 0) return Status::from_errno(-n, "draining the off-CPU ring buffer");
  return n;
}

Result<std::vector<OffCpuTotalEntry>> OffCpuTracer::read_totals() const {
  int fd = bpf_map__fd(impl_->skel->maps.flare_offcpu_totals);
  std::vector<OffCpuTotalEntry> entries;
  flare_offcpu_total_key key{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    OffCpuTotalEntry e{next, {}};
    if (bpf_map_lookup_elem(fd, &next, &e.total) == 0) entries.push_back(e);
    key = next;
    prev = &key;
  }
  if (errno != ENOENT) return Status::from_errno(errno, "reading the off-CPU totals");
  return entries;
}

Status OffCpuTracer::forget_totals(const std::vector<flare_offcpu_total_key>& keys) {
  int fd = bpf_map__fd(impl_->skel->maps.flare_offcpu_totals);
  for (const flare_offcpu_total_key& key : keys) {
    if (bpf_map_delete_elem(fd, &key) != 0 && errno != ENOENT) {
      return Status::from_errno(errno, "deleting an ended thread's off-CPU totals");
    }
  }
  return Status::ok();
}

Result<std::vector<flare_offcpu_event>> OffCpuTracer::read_open_intervals() const {
  int fd = bpf_map__fd(impl_->skel->maps.flare_threads);
  std::vector<flare_offcpu_event> open;
  uint32_t key = 0, next = 0;
  const void* prev = nullptr;
  auto event = std::make_unique<flare_offcpu_event>();
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    if (bpf_map_lookup_elem(fd, &next, event.get()) == 0 && event->switch_in_ns == 0 && event->switch_out_ns != 0) {
      open.push_back(*event);
    }
    key = next;
    prev = &key;
  }
  if (errno != ENOENT) return Status::from_errno(errno, "reading the off-CPU thread table");
  return open;
}

Result<uint64_t> OffCpuTracer::read_recursion_misses() const {
  return program_recursion_misses(impl_->skel->obj, "off-CPU");
}

Result<std::array<std::vector<uint64_t>, FLARE_OFFCPU_DROP_MAX>> OffCpuTracer::read_drops() const {
  int ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) return Status::from_errno(-ncpus, "counting possible CPUs");
  std::array<std::vector<uint64_t>, FLARE_OFFCPU_DROP_MAX> drops;
  int fd = bpf_map__fd(impl_->skel->maps.flare_offcpu_drops);
  for (uint32_t cause = 0; cause < FLARE_OFFCPU_DROP_MAX; ++cause) {
    drops[cause].resize(static_cast<size_t>(ncpus));
    if (bpf_map_lookup_elem(fd, &cause, drops[cause].data()) != 0) {
      return Status::from_errno(errno, "reading the off-CPU drop counters");
    }
  }
  return drops;
}

}  // namespace flare::agent
