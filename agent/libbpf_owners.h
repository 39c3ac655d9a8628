// RAII owners of libbpf objects, shared by every BPF program family: a
// skeleton and its links are released however their owner goes away (nothing
// is pinned, so the kernel drops what they held). Ring buffers are read by
// agent/ring_reader.h, which owns its own mappings.
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <memory>

#include "common/status.h"

namespace flare::agent {

// A deleter calling `DestroyFn` (bpf_link__destroy, cpu_sampler_bpf__destroy...).
template <auto DestroyFn>
struct LibbpfDestroy {
  template <typename T>
  void operator()(T* object) const {
    DestroyFn(object);
  }
};

template <typename Skeleton, auto DestroyFn>
using SkeletonPtr = std::unique_ptr<Skeleton, LibbpfDestroy<DestroyFn>>;
using BpfLinkPtr = std::unique_ptr<bpf_link, LibbpfDestroy<bpf_link__destroy>>;

// Runs of the object's programs the kernel skipped because another BPF
// program was running on the CPU (bpf_prog_info.recursion_misses), summed.
// `what` names the programs in the error message.
Result<uint64_t> program_recursion_misses(bpf_object* object, const char* what);

}  // namespace flare::agent
