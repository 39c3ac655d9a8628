#include "agent/goroutine_tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <utility>

#include "agent/bpf_error.h"
#include "agent/libbpf_owners.h"
#include "agent/ring_reader.h"
#include "agent/ring_size.h"
#include "agent/per_cpu_counters.h"
#include "agent/probe_site.h"
#include "agent/unique_fd.h"
#include "agent/uprobe_multi_link.h"
#include "goroutine_tracer.skel.h"

namespace flare::agent {

namespace {

struct RuntimeFunction {
  const char* name;
  flare_go_probe probe;
};

// Every Go version since 1.17 has these three, not inlined (gopark and
// ready switch stacks; netpollready is marked go:nowritebarrier).
constexpr RuntimeFunction kRuntimeFunctions[] = {
    {"runtime.gopark", FLARE_GO_PROBE_GOPARK},
    {"runtime.ready", FLARE_GO_PROBE_READY},
    {"runtime.netpollready", FLARE_GO_PROBE_NETPOLLREADY},
};

}  // namespace

struct GoroutineTracer::Impl {
  Handler on_event;
  SkeletonPtr<goroutine_tracer_bpf, goroutine_tracer_bpf__destroy> skel;
  std::vector<UniqueFd> links;
  std::unique_ptr<RingReader> ring;
  flare_goroutine_event scratch{};
};

GoroutineTracer::GoroutineTracer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GoroutineTracer::~GoroutineTracer() {
  detach();
  impl_->ring.reset();
  impl_->skel.reset();
}

Result<std::unique_ptr<GoroutineTracer>> GoroutineTracer::load(const GoroutineTracerOptions& options,
                                                               Handler on_event) {
  auto impl = std::make_unique<Impl>();
  impl->on_event = std::move(on_event);
  impl->skel.reset(goroutine_tracer_bpf__open());
  if (!impl->skel) return bpf_error(errno, "opening the BPF goroutine tracer");
  const uint32_t ring_bytes = options.ring_buffer_bytes ? options.ring_buffer_bytes : kMaxRingBytes;
  int err = bpf_map__set_max_entries(impl->skel->maps.flare_go_events, ring_bytes);
  if (err) return bpf_error(-err, "sizing the goroutine ring buffer");
  impl->skel->rodata->wakeup_bytes = ring_bytes / 4;
  bpf_program__set_expected_attach_type(impl->skel->progs.flare_goroutine,
                                        static_cast<bpf_attach_type>(kAttachUprobeMulti));
  err = goroutine_tracer_bpf__load(impl->skel.get());
  if (err) return bpf_error(-err, "loading the BPF goroutine tracer (needs uprobe_multi links, Linux 6.6 or later)");
  std::unique_ptr<GoroutineTracer> tracer(new GoroutineTracer(std::move(impl)));
  const int ring_fd = bpf_map__fd(tracer->impl_->skel->maps.flare_go_events);
  FLARE_ASSIGN_OR_RETURN(tracer->impl_->ring, RingReader::open(ring_fd, &GoroutineTracer::on_record, tracer.get()));
  return tracer;
}

Result<GoroutineTargetReport> GoroutineTracer::add_target(uint32_t pid, const std::string& executable,
                                                          const GoBinary& go) {
  GoroutineTargetReport report;
  std::vector<uint64_t> offsets, cookies;
  for (const RuntimeFunction& rf : kRuntimeFunctions) {
    const ElfFunction* f = go.functions().find(rf.name);
    if (!f) {
      return Status(ErrorCode::kUnsupported, executable + " (" + go.version().text + ") has no " + rf.name +
                                                 " symbol (stripped?): goroutines cannot be traced");
    }
    FLARE_ASSIGN_OR_RETURN(std::vector<uint8_t> code, go.functions().code(f->file_offset, 32));
    code.resize(std::min<size_t>(code.size(), f->size));
    // On the branch of the stack check (emulated in the trap), the BPF
    // program told how to tell a hit that will grow the stack; without a
    // check, the entry: Go's register ABI is not the one choose_probe_site
    // keeps intact.
    const std::optional<GoStackCheck> check = parse_go_stack_check(code);
    ProbeSite site{0, false};
    uint64_t cookie = rf.probe;
    if (check) {
      site = {check->branch, true};
      cookie |= uint64_t{check->compares_r12 ? FLARE_GO_CHECK_R12 : FLARE_GO_CHECK_RSP} << 8;
      cookie |= uint64_t{check->guard_offset} << 16;
    }
    offsets.push_back(f->file_offset + site.offset);
    cookies.push_back(cookie);
    report.probes.push_back({rf.name, site.offset, site.emulated});
  }
  const GoRuntimeLayout& l = go.layout();
  flare_go_target target{};
  target.g_goid = l.g_goid;
  target.g_m = l.g_m;
  target.m_curg = l.m_curg;
  target.pd_rg = l.poll_desc_rg;
  target.pd_wg = l.poll_desc_wg;
  if (bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.flare_go_targets), &pid, &target, BPF_ANY) != 0) {
    return bpf_error(errno, "adding PID " + std::to_string(pid) + " to the goroutine target set");
  }
  FLARE_ASSIGN_OR_RETURN(UniqueFd link, create_uprobe_multi_link(bpf_program__fd(impl_->skel->progs.flare_goroutine),
                                                                 kAttachUprobeMulti, executable, offsets, cookies, pid));
  impl_->links.push_back(std::move(link));
  return report;
}

void GoroutineTracer::detach() { impl_->links.clear(); }

int GoroutineTracer::on_record(void* ctx, void* data, size_t size) {
  auto* self = static_cast<GoroutineTracer*>(ctx);
  constexpr size_t kStackOffset = offsetof(flare_goroutine_event, user_ips);
  const auto* e = static_cast<const flare_goroutine_event*>(data);
  if (size < kStackOffset || size > sizeof(flare_goroutine_event) ||
      (e->user_stack_bytes > 0 && static_cast<size_t>(e->user_stack_bytes) > size - kStackOffset)) {
    ++self->malformed_records_;
    return 0;
  }
  // Records carry only the stack frames filled; a copy makes the array whole.
  std::memcpy(&self->impl_->scratch, data, size);
  self->impl_->on_event(self->impl_->scratch);
  return 0;
}

Result<int> GoroutineTracer::poll(int timeout_ms) {
  int n = impl_->ring->poll(timeout_ms);
  if (n == -EINTR) n = 0;
  if (n < 0) return Status::from_errno(-n, "polling the goroutine ring buffer");
  return n;
}

Result<int> GoroutineTracer::drain() {
  int n = impl_->ring->consume();
  if (n < 0) return Status::from_errno(-n, "draining the goroutine ring buffer");
  return n;
}

Result<std::vector<std::vector<uint64_t>>> GoroutineTracer::read_drops() const {
  return read_per_cpu_counters(bpf_map__fd(impl_->skel->maps.flare_go_drops), FLARE_GO_DROP_MAX,
                               "goroutine drop counters");
}

Result<uint64_t> GoroutineTracer::read_recursion_misses() const {
  return program_recursion_misses(impl_->skel->obj, "goroutine");
}

}  // namespace flare::agent
