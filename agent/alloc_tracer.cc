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
#include <optional>
#include <utility>

#include "agent/allocator_libraries.h"
#include "agent/bpf_error.h"
#include "agent/elf_functions.h"
#include "agent/libbpf_owners.h"
#include "agent/ring_reader.h"
#include "agent/ring_size.h"
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

// operator new and new[], plain, nothrow, aligned and both. libstdc++'s
// operator delete needs no probe: it calls free.
constexpr AllocFunctionName kOperatorNew[] = {
    {"_Znwm", FLARE_ALLOC_FUNC_NEW},
    {"_Znam", FLARE_ALLOC_FUNC_NEW},
    {"_ZnwmRKSt9nothrow_t", FLARE_ALLOC_FUNC_NEW},
    {"_ZnamRKSt9nothrow_t", FLARE_ALLOC_FUNC_NEW},
    {"_ZnwmSt11align_val_t", FLARE_ALLOC_FUNC_NEW},
    {"_ZnamSt11align_val_t", FLARE_ALLOC_FUNC_NEW},
    {"_ZnwmSt11align_val_tRKSt9nothrow_t", FLARE_ALLOC_FUNC_NEW},
    {"_ZnamSt11align_val_tRKSt9nothrow_t", FLARE_ALLOC_FUNC_NEW},
};

// An allocator that replaces glibc's (jemalloc, tcmalloc, mimalloc, or an
// executable's own malloc) is probed on glibc's names, on reallocarray
// (mimalloc's is its own; glibc's forwards to realloc), on jemalloc's
// *allocx API, and on operator new and delete, which these libraries define
// without going through malloc and free (jemalloc's sized delete frees
// internally, tcmalloc's every delete). A delete that does call a probed
// free is seen twice, harmlessly: the second finds nothing tracked.
constexpr AllocFunctionName kReplacementExtras[] = {
    {"reallocarray", FLARE_ALLOC_FUNC_REALLOCARRAY},
    {"mallocx", FLARE_ALLOC_FUNC_MALLOC},
    {"rallocx", FLARE_ALLOC_FUNC_REALLOC},
    {"dallocx", FLARE_ALLOC_FUNC_FREE},
    {"sdallocx", FLARE_ALLOC_FUNC_FREE},
};

constexpr AllocFunctionName kOperatorDelete[] = {
    {"_ZdlPv", FLARE_ALLOC_FUNC_FREE},
    {"_ZdaPv", FLARE_ALLOC_FUNC_FREE},
    {"_ZdlPvm", FLARE_ALLOC_FUNC_FREE},
    {"_ZdaPvm", FLARE_ALLOC_FUNC_FREE},
    {"_ZdlPvRKSt9nothrow_t", FLARE_ALLOC_FUNC_FREE},
    {"_ZdaPvRKSt9nothrow_t", FLARE_ALLOC_FUNC_FREE},
    {"_ZdlPvSt11align_val_t", FLARE_ALLOC_FUNC_FREE},
    {"_ZdaPvSt11align_val_t", FLARE_ALLOC_FUNC_FREE},
    {"_ZdlPvmSt11align_val_t", FLARE_ALLOC_FUNC_FREE},
    {"_ZdaPvmSt11align_val_t", FLARE_ALLOC_FUNC_FREE},
    {"_ZdlPvSt11align_val_tRKSt9nothrow_t", FLARE_ALLOC_FUNC_FREE},
    {"_ZdaPvSt11align_val_tRKSt9nothrow_t", FLARE_ALLOC_FUNC_FREE},
};

using FunctionLists = std::initializer_list<std::span<const AllocFunctionName>>;

// Past a Go function's stack check, where a probe fires once per call.
size_t go_stack_body(std::span<const uint8_t> code) {
  const std::optional<GoStackCheck> check = parse_go_stack_check(code);
  return check ? check->body : 0;
}

// The integer arguments the programs read at a probe of this kind (the
// probe may sit past instructions that overwrite the others).
unsigned arguments_read(flare_alloc_func func) {
  switch (func) {
    case FLARE_ALLOC_FUNC_CALLOC:
    case FLARE_ALLOC_FUNC_REALLOC:
    case FLARE_ALLOC_FUNC_MEMALIGN:
      return 2;
    case FLARE_ALLOC_FUNC_POSIX_MEMALIGN:
    case FLARE_ALLOC_FUNC_REALLOCARRAY:
      return 3;
    case FLARE_ALLOC_FUNC_MALLOC:
    case FLARE_ALLOC_FUNC_NEW:
    case FLARE_ALLOC_FUNC_VALLOC:
    case FLARE_ALLOC_FUNC_FREE:
      return 1;
    case FLARE_ALLOC_FUNC_GO_SAMPLE:  // Go's ABI passes rax, rbx, ...: probed at the entry
    case FLARE_ALLOC_FUNC_GO_FREE:
    case FLARE_ALLOC_FUNC_MAX:
      break;
  }
  return 6;
}

// Go's allocation sampling path (see bpf/alloc_tracer.bpf.c).
constexpr AllocFunctionName kGoRuntimeFunctions[] = {
    {"runtime.mProf_Malloc", FLARE_ALLOC_FUNC_GO_SAMPLE},
    {"runtime.freeSpecial", FLARE_ALLOC_FUNC_GO_FREE},
};

struct OpenedLibrary {
  std::string path;  // through which it was read and is probed
  ElfFunctions functions;
};

// The text of a Go executable's runtime.* functions (ELF vaddrs, merged
// where adjacent), and the executable's load bias once a probe has hit.
struct GoRuntimeText {
  uint32_t lib = 0;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // sorted [start, end)
  std::optional<uint64_t> bias;

  bool contains(uint64_t vaddr) const {
    auto it = std::upper_bound(ranges.begin(), ranges.end(), std::make_pair(vaddr, ~uint64_t{0}));
    return it != ranges.begin() && vaddr < std::prev(it)->second;
  }
};

GoRuntimeText go_runtime_text(const ElfFunctions& functions) {
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [name, f] : functions.functions()) {
    if (name.starts_with("runtime.")) ranges.emplace_back(f.vaddr, f.vaddr + f.size);
  }
  std::sort(ranges.begin(), ranges.end());
  GoRuntimeText text;
  for (const auto& r : ranges) {
    // Go pads functions to 32 bytes: runtime functions laid out together
    // merge into a few ranges.
    if (!text.ranges.empty() && r.first <= text.ranges.back().second + 32) {
      text.ranges.back().second = std::max(text.ranges.back().second, r.second);
    } else {
      text.ranges.push_back(r);
    }
  }
  return text;
}

}  // namespace

struct AllocTracer::Impl {
  AllocTracerOptions options;
  AllocHandler on_alloc;
  FreeHandler on_free;
  SkeletonPtr<alloc_tracer_bpf, alloc_tracer_bpf__destroy> skel;
  std::vector<UniqueFd> links;
  std::unique_ptr<RingReader> ring;
  // Distinct library files (device, inode) -> lib index in the BPF sites.
  std::map<std::tuple<uint32_t, uint32_t, uint64_t>, uint32_t> libs;
  // (lib index, function entry vaddr) -> site index: aliases share a site.
  std::map<std::pair<uint32_t, uint64_t>, uint32_t> sites;
  uint32_t n_sites = 0;
  std::vector<AllocProbe> probes;  // by site index
  flare_alloc_event scratch{};

  // Go targets by pid: where the runtime's functions lie, hidden from the
  // leaf end of their allocation stacks as Go's own heap profile hides them.
  std::map<uint32_t, GoRuntimeText> go_targets;

  // Adds the probes of one library of `pid` and attaches them.
  Status attach_library(uint32_t pid, const MappedLibrary& lib, FunctionLists lists, AllocTargetReport& report);
  // The same for a library already read; answers its lib index.
  Result<uint32_t> attach_functions(uint32_t pid, const MappedLibrary& lib, const OpenedLibrary& opened,
                                    FunctionLists lists, AllocTargetReport& report);
  // The program (and attach type) that serves a kind of probe site.
  std::pair<bpf_program*, uint32_t> program_of(uint32_t func) const;
  // Drops the Go runtime's frames from the leaf end of a Go sample's stack.
  void hide_go_runtime_frames(flare_alloc_event& e);
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
  const uint32_t ring_bytes = options.ring_buffer_bytes ? options.ring_buffer_bytes : kMaxRingBytes;
  int err = bpf_map__set_max_entries(impl->skel->maps.flare_alloc_events, ring_bytes);
  if (err) return bpf_error(-err, "sizing the allocation ring buffer");
  auto* rodata = impl->skel->rodata;
  rodata->sample_rate = options.sample_rate;
  rodata->seed = options.seed;
  rodata->seed_threads_by_tid = options.seed_threads_by_tid;
  rodata->wakeup_bytes = ring_bytes / 4;
  for (int i = 0; i <= FLARE_ALLOC_LOG2_STEPS; ++i) {
    rodata->log2_q16[i] = static_cast<uint32_t>(std::lround(std::log2(1.0 + i / double(FLARE_ALLOC_LOG2_STEPS)) * 65536));
  }
  bpf_program__set_expected_attach_type(impl->skel->progs.flare_alloc,
                                        static_cast<bpf_attach_type>(kAttachUprobeSession));
  for (bpf_program* prog : {impl->skel->progs.flare_free, impl->skel->progs.flare_go_sample,
                            impl->skel->progs.flare_go_free}) {
    bpf_program__set_expected_attach_type(prog, static_cast<bpf_attach_type>(kAttachUprobeMulti));
  }
  err = alloc_tracer_bpf__load(impl->skel.get());
  if (err) {
    return bpf_error(-err, "loading the BPF allocation tracer (needs uprobe sessions, Linux 6.13 or later)");
  }
  std::unique_ptr<AllocTracer> tracer(new AllocTracer(std::move(impl)));
  const int ring_fd = bpf_map__fd(tracer->impl_->skel->maps.flare_alloc_events);
  FLARE_ASSIGN_OR_RETURN(tracer->impl_->ring, RingReader::open(ring_fd, &AllocTracer::on_record, tracer.get()));
  return tracer;
}

Result<OpenedLibrary> open_library(uint32_t pid, const MappedLibrary& lib) {
  Status last(ErrorCode::kNotFound, "no path");
  for (const std::string& candidate : library_open_paths(pid, lib)) {
    Result<ElfFunctions> functions = ElfFunctions::read(candidate);
    if (functions.is_ok()) return OpenedLibrary{candidate, std::move(functions).value()};
    last = functions.status();
  }
  return last.with_context("reading the symbols of " + lib.path);
}

Status AllocTracer::Impl::attach_library(uint32_t pid, const MappedLibrary& lib, FunctionLists lists,
                                         AllocTargetReport& report) {
  FLARE_ASSIGN_OR_RETURN(OpenedLibrary opened, open_library(pid, lib));
  return attach_functions(pid, lib, opened, lists, report).status();
}

Result<uint32_t> AllocTracer::Impl::attach_functions(uint32_t pid, const MappedLibrary& lib,
                                                     const OpenedLibrary& opened, FunctionLists lists,
                                                     AllocTargetReport& report) {
  const std::string& path = opened.path;
  const ElfFunctions* functions = &opened.functions;
  auto [lib_it, new_lib] = libs.try_emplace({lib.dev_major, lib.dev_minor, lib.inode}, static_cast<uint32_t>(libs.size()));
  const uint32_t lib_index = lib_it->second;
  if (lib_index >= FLARE_ALLOC_MAX_LIBS) {
    return Status(ErrorCode::kUnsupported, "too many distinct allocator libraries across targets");
  }
  struct LinkRequest {
    std::vector<uint64_t> offsets, cookies;
  };
  std::map<std::pair<bpf_program*, uint32_t>, LinkRequest> requests;  // by program and attach type
  std::map<uint64_t, bool> attached;  // entry vaddr: aliases are probed once per link
  std::vector<AllocFunctionName> names;
  for (std::span<const AllocFunctionName> list : lists) names.insert(names.end(), list.begin(), list.end());
  for (const AllocFunctionName& name : names) {
    const ElfFunction* f = functions->find(name.name);
    if (!f || attached.count(f->vaddr)) continue;
    attached[f->vaddr] = true;
    FLARE_ASSIGN_OR_RETURN(std::vector<uint8_t> code, functions->code(f->file_offset, 32));
    code.resize(std::min<size_t>(code.size(), f->size));
    // Go's register ABI is not the one choose_probe_site protects, and a
    // Go function may restart from its entry (stack growth): its probe goes
    // past the stack check. Go's probes fire only for sampled allocations,
    // so a single-stepped trap is cheap enough there.
    const bool go_abi = name.func == FLARE_ALLOC_FUNC_GO_SAMPLE || name.func == FLARE_ALLOC_FUNC_GO_FREE;
    const ProbeSite site =
        go_abi ? ProbeSite{go_stack_body(code), false} : choose_probe_site(code, arguments_read(name.func));
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
    LinkRequest& request = requests[program_of(name.func)];
    request.offsets.push_back(f->file_offset + site.offset);
    request.cookies.push_back(it->second);
  }
  for (auto& [program, request] : requests) {
    FLARE_ASSIGN_OR_RETURN(UniqueFd link, create_uprobe_multi_link(bpf_program__fd(program.first), program.second,
                                                                   path, request.offsets, request.cookies, pid));
    links.push_back(std::move(link));
  }
  return lib_index;
}

std::pair<bpf_program*, uint32_t> AllocTracer::Impl::program_of(uint32_t func) const {
  switch (func) {
    case FLARE_ALLOC_FUNC_FREE:
      return {skel->progs.flare_free, kAttachUprobeMulti};
    case FLARE_ALLOC_FUNC_GO_SAMPLE:
      return {skel->progs.flare_go_sample, kAttachUprobeMulti};
    case FLARE_ALLOC_FUNC_GO_FREE:
      return {skel->progs.flare_go_free, kAttachUprobeMulti};
    default:
      return {skel->progs.flare_alloc, kAttachUprobeSession};
  }
}

Result<AllocTargetReport> AllocTracer::add_target(uint32_t pid) {
  FLARE_ASSIGN_OR_RETURN(std::vector<MapEntry> maps, read_proc_maps(pid));
  const AllocatorLibraries libraries = find_allocator_libraries(maps);
  const ExecutableAllocator exe = classify_executable(pid, maps);
  AllocTargetReport report;
  if (std::string w = executable_allocator_warning(exe); !w.empty()) report.warnings.push_back(std::move(w));
  if (!libraries.libc && libraries.replacements.empty() && exe.kind != ExecutableAllocator::Kind::kOwnMalloc &&
      exe.kind != ExecutableAllocator::Kind::kGo) {
    return Status(ErrorCode::kUnsupported,
                  "process " + std::to_string(pid) + " maps no allocator flare can probe" +
                      (report.warnings.empty() ? std::string(" (static binary?)") : " (" + report.warnings.back() + ")") +
                      ": --alloc needs glibc's malloc, jemalloc, tcmalloc, mimalloc or an executable with symbols");
  }
  flare_alloc_target target{};
  if (bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.flare_alloc_targets), &pid, &target, BPF_ANY) != 0) {
    return bpf_error(errno, "adding PID " + std::to_string(pid) + " to the allocation target set");
  }
  if (libraries.libc) FLARE_RETURN_IF_ERROR(impl_->attach_library(pid, *libraries.libc, {kLibcFunctions}, report));
  if (libraries.libstdcxx) {
    FLARE_RETURN_IF_ERROR(impl_->attach_library(pid, *libraries.libstdcxx, {kOperatorNew}, report));
  }
  FLARE_RETURN_IF_ERROR(attach_replacements(pid, libraries.replacements, report));
  if (exe.kind == ExecutableAllocator::Kind::kOwnMalloc) {
    FLARE_RETURN_IF_ERROR(attach_replacements(pid, {*exe.mapping}, report));
  }
  if (exe.kind == ExecutableAllocator::Kind::kGo && exe.mapping) {
    FLARE_RETURN_IF_ERROR(attach_go_runtime(pid, *exe.mapping, report));
  }
  return report;
}

Status AllocTracer::attach_go_runtime(uint32_t pid, const MappedLibrary& executable, AllocTargetReport& report) {
  FLARE_ASSIGN_OR_RETURN(OpenedLibrary opened, open_library(pid, executable));
  const ElfFunctions& functions = opened.functions;
  const std::optional<uint64_t> rate = functions.find_variable("runtime.MemProfileRate");
  if (!functions.find("runtime.mProf_Malloc") || !functions.find("runtime.freeSpecial") || !rate) {
    // A stripped binary (no .symtab), or a runtime whose sampling path
    // flare does not know: said, not guessed.
    report.warnings.push_back(executable.path +
                              " is a Go program without the runtime symbols flare hooks (runtime.mProf_Malloc, "
                              "runtime.freeSpecial, runtime.MemProfileRate; stripped?): its Go heap allocations "
                              "are not seen");
    return Status::ok();
  }
  if (!functions.find("runtime.MemProfile")) {
    // The linker turns memory profiling off when nothing can read it.
    report.warnings.push_back(executable.path +
                              " was built without memory-profiling support (runtime.MemProfile is not linked in, "
                              "so the Go runtime samples no allocations): its Go heap allocations are not seen");
  }
  const int targets = bpf_map__fd(impl_->skel->maps.flare_alloc_targets);
  flare_alloc_target target{};
  if (bpf_map_lookup_elem(targets, &pid, &target) != 0) {
    return bpf_error(errno, "reading the allocation target entry of PID " + std::to_string(pid));
  }
  target.go_rate_vaddr = *rate;
  if (bpf_map_update_elem(targets, &pid, &target, BPF_EXIST) != 0) {
    return bpf_error(errno, "writing the allocation target entry of PID " + std::to_string(pid));
  }
  GoRuntimeText text = go_runtime_text(functions);
  FLARE_ASSIGN_OR_RETURN(text.lib, impl_->attach_functions(pid, executable, opened, {kGoRuntimeFunctions}, report));
  impl_->go_targets[pid] = std::move(text);
  return Status::ok();
}

void AllocTracer::Impl::hide_go_runtime_frames(flare_alloc_event& e) {
  auto it = go_targets.find(e.h.pid);
  if (it == go_targets.end() || e.user_stack_bytes <= 0) return;
  GoRuntimeText& text = it->second;
  if (!text.bias) {
    // The probe that sent this sample learned where the executable lies.
    flare_alloc_target target{};
    if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.flare_alloc_targets), &e.h.pid, &target) != 0 ||
        target.base[text.lib] == 0) {
      return;
    }
    text.bias = target.base[text.lib] - 1;
  }
  const size_t n = static_cast<size_t>(e.user_stack_bytes) / sizeof(__u64);
  size_t hidden = 0;
  while (hidden + 1 < n && text.contains(e.user_ips[hidden] - *text.bias)) ++hidden;
  if (hidden == 0) return;
  std::memmove(e.user_ips, e.user_ips + hidden, (n - hidden) * sizeof(__u64));
  e.user_stack_bytes = static_cast<int32_t>((n - hidden) * sizeof(__u64));
}

Status AllocTracer::attach_replacements(uint32_t pid, const std::vector<MappedLibrary>& libraries,
                                        AllocTargetReport& report) {
  for (const MappedLibrary& lib : libraries) {
    FLARE_RETURN_IF_ERROR(impl_->attach_library(
        pid, lib, {kLibcFunctions, kReplacementExtras, kOperatorNew, kOperatorDelete}, report));
  }
  return Status::ok();
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
    if (self->impl_->scratch.func == FLARE_ALLOC_FUNC_GO_SAMPLE) self->impl_->hide_go_runtime_frames(self->impl_->scratch);
    self->impl_->on_alloc(self->impl_->scratch);
  } else if (header->type == FLARE_ALLOC_RECORD_FREE && size >= sizeof(flare_free_event)) {
    self->impl_->on_free(*static_cast<const flare_free_event*>(data));
  } else {
    ++self->malformed_records_;
  }
  return 0;
}

Result<int> AllocTracer::poll(int timeout_ms) {
  int n = impl_->ring->poll(timeout_ms);
  if (n == -EINTR) n = 0;
  if (n < 0) return Status::from_errno(-n, "polling the allocation ring buffer");
  // Most submits do not wake us: what arrived while we slept is read here.
  FLARE_ASSIGN_OR_RETURN(int drained, drain());
  return n + drained;
}

Result<int> AllocTracer::drain() {
  int n = impl_->ring->consume();
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
