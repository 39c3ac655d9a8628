/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Records of the allocation tracer family, shared by bpf/alloc_tracer.bpf.c
 * and the agent. Fixed-width fields only; the layout is static-asserted on
 * both sides.
 */
#ifndef FLARE_BPF_ALLOC_EVENT_H
#define FLARE_BPF_ALLOC_EVENT_H

#include "cpu_sample.h"

/*
 * Sampled allocations tracked until freed, all targets together. A hash
 * entry costs about 100 bytes of kernel memory: 256 Ki entries are ~25 MiB
 * at most (the map is not preallocated). At the default rate (one sample per
 * 512 KiB) it tracks 128 GiB of live heap before it overflows.
 */
#define FLARE_ALLOC_MAX_LIVE (256 * 1024)
/* Probe sites of all targets (aliases deduplicated by address), and the
 * distinct library files they lie in. A replacement allocator (jemalloc,
 * tcmalloc) brings about 35 entry points of its own, next to glibc's and
 * libstdc++'s 16. Both are powers of two: indexes are masked with them. */
#define FLARE_ALLOC_MAX_SITES 128
#define FLARE_ALLOC_MAX_LIBS 8
/* Entries of the log2 table the exponential draw interpolates in. */
#define FLARE_ALLOC_LOG2_STEPS 256

/* What a probe site is; its uprobe_multi cookie. Decides which argument is
 * the size and how the result is returned. */
enum flare_alloc_func {
	FLARE_ALLOC_FUNC_MALLOC = 1,	     /* size = arg1 (also mallocx) */
	FLARE_ALLOC_FUNC_CALLOC = 2,	     /* size = arg1 * arg2 */
	FLARE_ALLOC_FUNC_REALLOC = 3,	     /* ptr = arg1, size = arg2 (also rallocx) */
	FLARE_ALLOC_FUNC_MEMALIGN = 4,	     /* size = arg2 (aligned_alloc too) */
	FLARE_ALLOC_FUNC_POSIX_MEMALIGN = 5, /* *arg1 = result, size = arg3 */
	FLARE_ALLOC_FUNC_NEW = 6,	     /* C++ operator new/new[]: size = arg1 */
	FLARE_ALLOC_FUNC_VALLOC = 7,	     /* size = arg1 */
	FLARE_ALLOC_FUNC_FREE = 8,	     /* ptr = arg1 (also operator delete, dallocx, sdallocx) */
	FLARE_ALLOC_FUNC_REALLOCARRAY = 9,   /* ptr = arg1, size = arg2 * arg3 */
	/* Go's runtime.mProf_Malloc(p, size), which the runtime calls for the
	 * allocations it samples itself (Go ABI: p in rax, size in rbx). */
	FLARE_ALLOC_FUNC_GO_SAMPLE = 10,
	/* Go's runtime.freeSpecial(s, p, size): the sweeper frees a sampled
	 * object's profiling record (p in rbx). */
	FLARE_ALLOC_FUNC_GO_FREE = 11,
	FLARE_ALLOC_FUNC_MAX = 12,
};

/* Why an event was lost or degraded; indexes the per-CPU drop counters. */
enum flare_alloc_drop_cause {
	FLARE_ALLOC_DROP_RINGBUF_ALLOC = 0, /* a sampled allocation lost */
	FLARE_ALLOC_DROP_RINGBUF_FREE = 1,  /* a tracked block's free lost */
	FLARE_ALLOC_DROP_LIVE_FULL = 2,	    /* sampled, but not tracked: its free is not seen */
	FLARE_ALLOC_DROP_USER_STACK = 3,    /* kept without its stack */
	FLARE_ALLOC_DROP_NO_THREAD = 4,	    /* no per-thread state: call not seen */
	FLARE_ALLOC_DROP_READ = 5,	    /* return address or result unreadable */
	FLARE_ALLOC_DROP_MAX = 6,
};

enum flare_alloc_record_type {
	FLARE_ALLOC_RECORD_ALLOC = 1,
	FLARE_ALLOC_RECORD_FREE = 2,
};

enum flare_alloc_flags {
	/* The live table was full: the block is not tracked, its free will
	 * not be seen, so it must not count as in use. */
	FLARE_ALLOC_UNTRACKED = 1 << 0,
};

/*
 * A probe site; its index is the probe's uprobe_multi cookie. Addresses are
 * the library's ELF virtual addresses: where the library is loaded in a
 * process is learned from the first hit of one of its probes (so probes can
 * be attached before the target has even loaded the library).
 */
struct flare_alloc_site {
	__u64 vaddr;	  /* of the probed instruction */
	__u64 func_start; /* [func_start, func_end): the function around it */
	__u64 func_end;
	__u32 lib;  /* index into flare_alloc_target.base */
	__u32 func; /* enum flare_alloc_func; 0: unused slot */
};

/* The span of a library's probed functions (ELF vaddrs): a return address
 * outside every span is in none of them, the common case, decided without
 * looking at each site. */
struct flare_alloc_lib {
	__u64 lo, hi; /* hi 0: unused slot */
};

/* Per target process, the value of the target map. */
struct flare_alloc_target {
	/* load bias of each library (runtime address - ELF vaddr) plus one;
	 * 0: no probe of that library hit yet */
	__u64 base[FLARE_ALLOC_MAX_LIBS];
	/* Go: ELF vaddr of runtime.MemProfileRate in the library (executable)
	 * of the GO_SAMPLE site; 0: not a Go target */
	__u64 go_rate_vaddr;
};

/* A tracked block, keyed by process and address. */
struct flare_alloc_key {
	__u64 address;
	__u32 pid;
	__u32 reserved;
};

/* Both ring records start with this. */
struct flare_alloc_header {
	__u32 type; /* enum flare_alloc_record_type */
	__u32 pid;  /* tgid */
	__u32 tid;
	__u32 reserved;
	__u64 time_ns;
	__u64 address;
};

struct flare_free_event {
	struct flare_alloc_header h;
	char comm[FLARE_COMM_LEN]; /* the freeing thread may have allocated nothing sampled */
};

struct flare_alloc_event {
	struct flare_alloc_header h;
	__u64 size;	   /* bytes requested */
	__u32 func;	   /* enum flare_alloc_func */
	__u32 flags;	   /* enum flare_alloc_flags */
	__s32 user_stack_bytes; /* bytes of user_ips filled, or -errno */
	/* Mean bytes between samples of the sampler that chose this one: 0 for
	 * flare's own (the agent's rate), the Go runtime's MemProfileRate (at
	 * most 2^32 - 1) for GO_SAMPLE. */
	__u32 sample_rate;
	char comm[FLARE_COMM_LEN];
	__u64 user_ips[FLARE_MAX_USER_FRAMES];
};

FLARE_STATIC_ASSERT(sizeof(struct flare_alloc_header) == 32, "flare_alloc_header layout changed");
FLARE_STATIC_ASSERT(sizeof(struct flare_free_event) == 48, "flare_free_event layout changed");
FLARE_STATIC_ASSERT(__builtin_offsetof(struct flare_alloc_event, user_ips) == 72,
		    "flare_alloc_event header layout changed");
FLARE_STATIC_ASSERT(sizeof(struct flare_alloc_event) == 72 + 8 * FLARE_MAX_USER_FRAMES,
		    "flare_alloc_event layout changed");
FLARE_STATIC_ASSERT(sizeof(struct flare_alloc_site) == 32, "flare_alloc_site layout changed");
FLARE_STATIC_ASSERT(sizeof(struct flare_alloc_lib) == 16, "flare_alloc_lib layout changed");
FLARE_STATIC_ASSERT(sizeof(struct flare_alloc_target) == 8 * FLARE_ALLOC_MAX_LIBS + 8,
		    "flare_alloc_target layout changed");

#endif /* FLARE_BPF_ALLOC_EVENT_H */
