#include "agent/alloc_tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <algorithm>
#include <map>
#include <utility>

#include "agent/allocator_libraries.h"
#include "agent/bpf_error.h"
#include "agent/elf_functions.h"
#include "agent/libbpf_owners.h"
#include "agent/probe_site.h"
#include "agent/unique_fd.h"
#include "agent/uprobe_multi_link.h"
#include "alloc_tracer.skel.h"

namespace flare::agent {

namespace {

struct AllocFunctionName {
  const char* name;
  flare_alloc_func func;
};

// reallocarray is not probed: glibc's checks for overflow and tail-calls
// realloc (jmp realloc@plt), whose probe then counts the call with the
// caller's stack; probing it too would single-step its first instruction
// (a mov) on every call.
constexpr AllocFunctionName kLibcFunctions[] = {
    {"malloc", FLARE_ALLOC_FUNC_MALLOC},          {"calloc", FLARE_ALLOC_FUNC_CALLOC},
    {"realloc", FLARE_ALLOC_FUNC_REALLOC},        {"posix_memalign", FLARE_ALLOC_FUNC_POSIX_MEMALIGN},
    {"aligned_alloc", FLARE_ALLOC_FUNC_MEMALIGN}, {"memalign", FLARE_ALLOC_FUNC_MEMALIGN},
    {"valloc", FLARE_ALLOC_FUNC_VALLOC},          {"pvalloc", FLARE_ALLOC_FUNC_VALLOC},
    {"free", FLARE_ALLOC_FUNC_FREE},
};

// operator new and new[], plain, nothrow, aligned and both. operator
// delete needs no probe: it calls free.
constexpr AllocFunctionName kLibstdcxxFunctions[] = {
    {"_Znwm", FLARE_ALLOC_FUNC_NEW},
    {"_Znam", FLARE_ALLOC_FUNC_NEW},
    {"_ZnwmRKSt9nothrow_t", FLARE_ALLOC_FUNC_NEW},
    {"_ZnamRKSt9nothrow_t", FLARE_ALLOC_FUNC_NEW},
    {"_ZnwmSt11align_val_t", FLARE_ALLOC_FUNC_NEW},
    {"_ZnamSt11align_val_t", FLARE_ALLOC_FUNC_NEW},
    {"_ZnwmSt11align_val_tRKSt9nothrow_t", FLARE_ALLOC_FUNC_NEW},
    {"_ZnamSt11align_val_tRKSt9nothrow_t", FLARE_ALLOC_FUNC_NEW},
};

}  // namespace

struct AllocTracer::Impl {
  AllocTracerOptions options;
  AllocHandler on_alloc;
  FreeHandler on_free;
  SkeletonPtr<alloc_tracer_bpf, alloc_tracer_bpf__destroy> skel;
  std::vector<UniqueFd> links;
  RingBufferPtr ring;
  // Distinct library files (device, inode) -> lib index in the BPF sites.
  std::map<std::tuple<uint32_t, uint32_t, uint64_t>, uint32_t> libs;
  // (lib index, function entry vaddr) -> site index: aliases share a site.
  std::map<std::pair<uint32_t, uint64_t>, uint32_t> sites;
  uint32_t n_sites = 0;
  std::vector<AllocProbe> probes;  // by site index
  flare_alloc_event scratch{};

  // Adds the probes of one library of `pid` and attaches them.
  Status attach_library(uint32_t pid, const MappedLibrary& lib, std::span<const AllocFunctionName> names,
                        AllocTargetReport& report);
};

AllocTracer::AllocTracer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AllocTracer::~AllocTracer() {
  detach();
  impl_->ring.reset();
  impl_->skel.reset();
}

Result<std::unique_ptr<AllocTracer>> AllocTracer::load(const AllocTracerOptions& options, AllocHandler on_alloc,
                                                       FreeHandler on_free) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->on_alloc = std::move(on_alloc);
  impl->on_free = std::move(on_free);
  impl->skel.reset(alloc_tracer_bpf__open());
  if (!impl->skel) return bpf_error(errno, "opening the BPF allocation tracer");
  int err = bpf_map__set_max_entries(impl->skel->maps.flare_alloc_events, options.ring_buffer_bytes);
  if (err) return bpf_error(-err, "sizing the allocation ring buffer");
  auto* rodata = impl->skel->rodata;
  rodata->sample_rate = options.sample_rate;
  rodata->seed = options.seed;
  rodata->seed_threads_by_tid = options.seed_threads_by_tid;
  rodata->wakeup_bytes = options.ring_buffer_bytes / 4;
  for (int i = 0; i <= FLARE_ALLOC_LOG2_STEPS; ++i) {
    rodata->log2_q16[i] = static_cast<uint32_t>(std::lround(std::log2(1.0 + i / double(FLARE_ALLOC_LOG2_STEPS)) * 65536));
  }
  bpf_program__set_expected_attach_type(impl->skel->progs.flare_alloc,
                                        static_cast<bpf_attach_type>(kAttachUprobeSession));
  bpf_program__set_expected_attach_type(impl->skel->progs.flare_free, static_cast<bpf_attach_type>(kAttachUprobeMulti));
  err = alloc_tracer_bpf__load(impl->skel.get());
  if (err) {
    return bpf_error(-err, "loading the BPF allocation tracer (needs uprobe sessions, Linux 6.13 or later)");
  }
  std::unique_ptr<AllocTracer> tracer(new AllocTracer(std::move(impl)));
  tracer->impl_->ring.reset(ring_buffer__new(bpf_map__fd(tracer->impl_->skel->maps.flare_alloc_events),
                                             &AllocTracer::on_record, tracer.get(), nullptr));
  if (!tracer->impl_->ring) return bpf_error(errno, "opening the allocation ring buffer");
  return tracer;
}

Status AllocTracer::Impl::attach_library(uint32_t pid, const MappedLibrary& lib,
                                         std::span<const AllocFunctionName> names, AllocTargetReport& report) {
  std::string path;
  Result<ElfFunctions> functions = Status(ErrorCode::kNotFound, "no path");
  for (const std::string& candidate : library_open_paths(pid, lib)) {
    functions = ElfFunctions::read(candidate);
    if (functions.is_ok()) {
      path = candidate;
      break;
    }
  }
  if (!functions.is_ok()) return functions.status().with_context("reading the symbols of " + lib.path);

  auto [lib_it, new_lib] = libs.try_emplace({lib.dev_major, lib.dev_minor, lib.inode}, static_cast<uint32_t>(libs.size()));
  const uint32_t lib_index = lib_it->second;
  if (lib_index >= FLARE_ALLOC_MAX_LIBS) {
    return Status(ErrorCode::kUnsupported, "too many distinct allocator libraries across targets");
  }
  std::vector<uint64_t> alloc_offsets, alloc_cookies, free_offsets, free_cookies;
  std::map<uint64_t, bool> attached;  // entry vaddr: aliases are probed once per link
  for (const AllocFunctionName& name : names) {
    const ElfFunction* f = functions.value().find(name.name);
    if (!f || attached.count(f->vaddr)) continue;
    attached[f->vaddr] = true;
    FLARE_ASSIGN_OR_RETURN(std::vector<uint8_t> code, functions.value().code(f->file_offset, 32));
    code.resize(std::min<size_t>(code.size(), f->size));
    const ProbeSite site = choose_probe_site(code);
    auto [it, new_site] = sites.try_emplace({lib_index, f->vaddr}, n_sites);
    if (new_site) {
      if (n_sites >= FLARE_ALLOC_MAX_SITES) return Status(ErrorCode::kUnsupported, "too many allocation probe sites");
      // Written before any link exists: the programs read it on every hit.
      flare_alloc_site& s = skel->bss->sites[n_sites];
      s.vaddr = f->vaddr + site.offset;
      s.func_start = f->vaddr;
      s.func_end = f->vaddr + f->size;
      s.lib = lib_index;
      s.func = name.func;
      flare_alloc_lib& span = skel->bss->libs[lib_index];
      span.lo = span.hi == 0 ? s.func_start : std::min(span.lo, s.func_start);
      span.hi = std::max(span.hi, s.func_end);
      probes.push_back({name.name, lib.path, site.offset, site.emulated});
      ++n_sites;
    }
    report.probes.push_back(probes[it->second]);
    auto& offsets = name.func == FLARE_ALLOC_FUNC_FREE ? free_offsets : alloc_offsets;
    auto& cookies = name.func == FLARE_ALLOC_FUNC_FREE ? free_cookies : alloc_cookies;
    offsets.push_back(f->file_offset + site.offset);
    cookies.push_back(it->second);
  }
  if (!alloc_offsets.empty()) {
    FLARE_ASSIGN_OR_RETURN(UniqueFd link, create_uprobe_multi_link(bpf_program__fd(skel->progs.flare_alloc),
                                                                   kAttachUprobeSession, path, alloc_offsets,
                                                                   alloc_cookies, pid));
    links.push_back(std::move(link));
  }
  if (!free_offsets.empty()) {
    FLARE_ASSIGN_OR_RETURN(UniqueFd link, create_uprobe_multi_link(bpf_program__fd(skel->progs.flare_free),
                                                                   kAttachUprobeMulti, path, free_offsets,
                                                                   free_cookies, pid));
    links.push_back(std::move(link));
  }
  return Status::ok();
}

Result<AllocTargetReport> AllocTracer::add_target(uint32_t pid) {
  FLARE_ASSIGN_OR_RETURN(std::vector<MapEntry> maps, read_proc_maps(pid));
  const AllocatorLibraries libraries = find_allocator_libraries(maps);
  AllocTargetReport report;
  for (const std::string& other : libraries.other_allocators) {
    report.warnings.push_back("process " + std::to_string(pid) + " maps " + other +
                              ": allocations served by it are not seen (flare hooks glibc's allocator)");
  }
  for (std::string& w : executable_allocator_warnings(pid)) report.warnings.push_back(std::move(w));
  if (!libraries.libc) {
    return Status(ErrorCode::kUnsupported,
                  "process " + std::to_string(pid) + " maps no glibc libc" +
                      (report.warnings.empty() ? std::string(" (static binary?)") : " (" + report.warnings.back() + ")") +
                      ": --alloc needs glibc's malloc");
  }
  flare_alloc_target target{};
  if (bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.flare_alloc_targets), &pid, &target, BPF_ANY) != 0) {
    return bpf_error(errno, "adding PID " + std::to_string(pid) + " to the allocation target set");
  }
  FLARE_RETURN_IF_ERROR(impl_->attach_library(pid, *libraries.libc, kLibcFunctions, report));
  if (libraries.libstdcxx) {
    FLARE_RETURN_IF_ERROR(impl_->attach_library(pid, *libraries.libstdcxx, kLibstdcxxFunctions, report));
  }
  return report;
}

void AllocTracer::detach() { impl_->links.clear(); }

int AllocTracer::on_record(void* ctx, void* data, size_t size) {
  auto* self = static_cast<AllocTracer*>(ctx);
  if (size < sizeof(flare_alloc_header)) {
    ++self->malformed_records_;
    return 0;
  }
  const auto* header = static_cast<const flare_alloc_header*>(data);
  constexpr size_t kStackOffset = offsetof(flare_alloc_event, user_ips);
  const auto* alloc = static_cast<const flare_alloc_event*>(data);
  if (header->type == FLARE_ALLOC_RECORD_ALLOC && size >= kStackOffset &&
      alloc->user_stack_bytes <= static_cast<int64_t>(size - kStackOffset)) {
    // Records carry only the stack frames filled; a copy makes the array whole.
    std::memcpy(&self->impl_->scratch, data, std::min(size, sizeof(flare_alloc_event)));
    self->impl_->on_alloc(self->impl_->scratch);
  } else if (header->type == FLARE_ALLOC_RECORD_FREE && size >= sizeof(flare_free_event)) {
    self->impl_->on_free(*static_cast<const flare_free_event*>(data));
  } else {
    ++self->malformed_records_;
  }
  return 0;
}

Result<int> AllocTracer::poll(int timeout_ms) {
  int n = ring_buffer__poll(impl_->ring.get(), timeout_ms);
  if (n == -EINTR) n = 0;
  if (n < 0) return Status::from_errno(-n, "polling the allocation ring buffer");
  // Most submits do not wake us: what arrived while we slept is read here.
  FLARE_ASSIGN_OR_RETURN(int drained, drain());
  return n + drained;
}

Result<int> AllocTracer::drain() {
  int n = ring_buffer__consume(impl_->ring.get());
  if (n < 0) return Status::from_errno(-n, "draining the allocation ring buffer");
  return n;
}

Result<std::array<std::vector<uint64_t>, FLARE_ALLOC_DROP_MAX>> AllocTracer::read_drops() const {
  int ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) return Status::from_errno(-ncpus, "counting possible CPUs");
  std::array<std::vector<uint64_t>, FLARE_ALLOC_DROP_MAX> drops;
  int fd = bpf_map__fd(impl_->skel->maps.flare_alloc_drops);
  for (uint32_t cause = 0; cause < FLARE_ALLOC_DROP_MAX; ++cause) {
    drops[cause].resize(static_cast<size_t>(ncpus));
    if (bpf_map_lookup_elem(fd, &cause, drops[cause].data()) != 0) {
      return Status::from_errno(errno, "reading the allocation drop counters");
    }
  }
  return drops;
}

Result<std::array<uint64_t, FLARE_ALLOC_FUNC_MAX>> AllocTracer::read_calls() const {
  int ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) return Status::from_errno(-ncpus, "counting possible CPUs");
  std::array<uint64_t, FLARE_ALLOC_FUNC_MAX> calls{};
  std::vector<uint64_t> per_cpu(static_cast<size_t>(ncpus));
  int fd = bpf_map__fd(impl_->skel->maps.flare_alloc_calls);
  for (uint32_t func = 0; func < FLARE_ALLOC_FUNC_MAX; ++func) {
    if (bpf_map_lookup_elem(fd, &func, per_cpu.data()) != 0) {
      return Status::from_errno(errno, "reading the allocation call counters");
    }
    for (uint64_t v : per_cpu) calls[func] += v;
  }
  return calls;
}

Result<uint64_t> AllocTracer::live_entries() const {
  int fd = bpf_map__fd(impl_->skel->maps.flare_alloc_live);
  uint64_t n = 0;
  flare_alloc_key key{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    ++n;
    key = next;
    prev = &key;
  }
  if (errno != ENOENT) return Status::from_errno(errno, "reading the live allocation table");
  return n;
}

Result<uint64_t> AllocTracer::read_recursion_misses() const {
  return program_recursion_misses(impl_->skel->obj, "allocation");
}

}  // namespace flare::agent
