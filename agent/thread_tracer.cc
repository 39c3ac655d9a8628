#include "agent/thread_tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <string>

#include "agent/bpf_error.h"
#include "agent/libbpf_owners.h"
#include "agent/ring_reader.h"
#include "thread_tracer.skel.h"

namespace flare::agent {

struct ThreadTracer::Impl {
  EventHandler handler;
  SkeletonPtr<thread_tracer_bpf, thread_tracer_bpf__destroy> skel;
  std::vector<BpfLinkPtr> links;
  std::unique_ptr<RingReader> ring;
};

ThreadTracer::ThreadTracer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ThreadTracer::~ThreadTracer() {
  detach();
  impl_->ring.reset();
  impl_->skel.reset();
}

Result<std::unique_ptr<ThreadTracer>> ThreadTracer::load(EventHandler handler) {
  auto impl = std::make_unique<Impl>();
  impl->handler = std::move(handler);
  impl->skel.reset(thread_tracer_bpf__open());
  if (!impl->skel) return bpf_error(errno, "opening the BPF thread tracer");
  int err = thread_tracer_bpf__load(impl->skel.get());
  if (err) return bpf_error(-err, "loading the BPF thread tracer");
  std::unique_ptr<ThreadTracer> tracer(new ThreadTracer(std::move(impl)));
  const int ring_fd = bpf_map__fd(tracer->impl_->skel->maps.flare_thread_events);
  FLARE_ASSIGN_OR_RETURN(tracer->impl_->ring, RingReader::open(ring_fd, &ThreadTracer::on_record, tracer.get()));
  return tracer;
}

Status ThreadTracer::add_target(uint32_t pid) {
  uint8_t one = 1;
  if (bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.flare_targets), &pid, &one, BPF_ANY) != 0) {
    return bpf_error(errno, "adding PID " + std::to_string(pid) + " to the thread tracer's targets");
  }
  return Status::ok();
}

Status ThreadTracer::attach() {
  for (bpf_program* program : {impl_->skel->progs.flare_thread_fork, impl_->skel->progs.flare_thread_exit}) {
    bpf_link* link = bpf_program__attach(program);
    if (!link) {
      return bpf_error(errno, std::string("attaching the thread tracer to ") + bpf_program__section_name(program));
    }
    impl_->links.emplace_back(link);
  }
  return Status::ok();
}

void ThreadTracer::detach() { impl_->links.clear(); }

int ThreadTracer::on_record(void* ctx, void* data, size_t size) {
  auto* self = static_cast<ThreadTracer*>(ctx);
  if (size < sizeof(flare_thread_event)) {
    ++self->malformed_records_;
    return 0;
  }
  self->impl_->handler(*static_cast<const flare_thread_event*>(data));
  return 0;
}

Result<int> ThreadTracer::drain() {
  int n = impl_->ring->consume();
  if (n < 0) return Status::from_errno(-n, "draining the thread-event ring buffer");
  return n;
}

Result<uint64_t> ThreadTracer::read_drops() const {
  int ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) return Status::from_errno(-ncpus, "counting possible CPUs");
  std::vector<uint64_t> per_cpu(static_cast<size_t>(ncpus));
  uint32_t cause = FLARE_THREAD_DROP_RINGBUF_FULL;
  if (bpf_map_lookup_elem(bpf_map__fd(impl_->skel->maps.flare_thread_drops), &cause, per_cpu.data()) != 0) {
    return Status::from_errno(errno, "reading the thread tracer's drop counters");
  }
  uint64_t total = 0;
  for (uint64_t n : per_cpu) total += n;
  return total;
}

}  // namespace flare::agent
