// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Allocation tracer: sampled allocations of target processes and the frees
 * of the blocks sampled.
 *
 * Cost is the whole design. Every allocator call traps into the kernel
 * (~1 us where the kernel emulates the probed instruction), so the programs
 * do as little as possible and a return probe (another trap) is taken only
 * for the calls that need it: flare_alloc runs as a uprobe *session*, whose
 * entry run returns 1 to tell the kernel not to hijack the return of an
 * unsampled call. Sampling is byte-based and Poisson, decided here: a
 * thread's counter of bytes until the next sample is drawn from an
 * exponential distribution of mean sample_rate, as Go's heap profiler does,
 * so a block of size s is sampled with probability 1 - exp(-s/rate) and the
 * agent weighs it by the inverse.
 *
 * Nested calls count once: a probed function called from inside another
 * (operator new -> malloc, reallocarray -> realloc) is recognized by its
 * return address lying in a probed function; one jumped to by a tail call
 * (realloc(NULL) -> jmp malloc, new[] -> jmp new) by the stack pointer and
 * return address being those of the call just counted on this thread, at
 * another probe site. Both can only happen at the entry right after one of
 * a function that may forward (every one but malloc), and only there is
 * the return address read.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "alloc_event.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the agent before load. */
const volatile __u64 sample_rate = 512 * 1024; /* mean bytes per sample; <= 1: every allocation */
const volatile __u64 seed = 0;
const volatile bool seed_threads_by_tid = true; /* false: every thread's stream starts from seed */
const volatile __u64 wakeup_bytes = 1 << 20;
/* log2(1 + i / FLARE_ALLOC_LOG2_STEPS) in 1/65536 units, i = 0..STEPS. */
const volatile __u32 log2_q16[FLARE_ALLOC_LOG2_STEPS + 1] = {};

/* Written by the agent after load, before any probe is attached. */
struct flare_alloc_site sites[FLARE_ALLOC_MAX_SITES] = {};
struct flare_alloc_lib libs[FLARE_ALLOC_MAX_LIBS] = {};

extern bool bpf_session_is_return(void) __ksym;

/* Target tgids, with where their probed libraries are loaded. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FLARE_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct flare_alloc_target);
} flare_alloc_targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} flare_alloc_events SEC(".maps");

/* Sampled blocks not yet freed. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, FLARE_ALLOC_MAX_LIVE);
	__type(key, struct flare_alloc_key);
	__type(value, __u8);
} flare_alloc_live SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLARE_ALLOC_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} flare_alloc_drops SEC(".maps");

/* Where an allocation record is built before it is copied to the ring. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flare_alloc_event);
} flare_alloc_scratch SEC(".maps");

/* Calls seen (per CPU), by function: the rate at which targets trap. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLARE_ALLOC_FUNC_MAX);
	__type(key, __u32);
	__type(value, __u64);
} flare_alloc_calls SEC(".maps");

struct thread_state {
	__s64 bytes_left; /* until the next sample */
	__u64 rng;
	__u64 last_sp;	/* the last call counted: a tail call from it */
	__u64 last_ret; /* arrives with the same sp and return address */
	__u32 last_site;
	__u16 initialized;
	__u16 outer_pending; /* the last entry may call or jump to a probed function */
	/* The call whose return the session waits for (0 func: none). */
	__u64 pending_size;
	__u64 pending_old;    /* realloc: a tracked block it frees */
	__u64 pending_memptr; /* posix_memalign: where the result goes */
	__u32 pending_func;
	__u32 pending_sampled;
};

/* Task-local: found through the task pointer (no hash of the tid) and freed
 * by the kernel when the thread exits. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_state);
} flare_alloc_threads SEC(".maps");

static __always_inline void count_drop(__u32 cause)
{
	__u64 *count = bpf_map_lookup_elem(&flare_alloc_drops, &cause);

	if (count)
		*count += 1; /* per-CPU slot */
}

static __always_inline void count_call(__u32 func)
{
	__u64 *count = bpf_map_lookup_elem(&flare_alloc_calls, &func);

	if (count)
		*count += 1;
}

static __always_inline __u64 next_random(struct thread_state *st)
{
	/* splitmix64: one add and two multiplies per draw */
	__u64 z = (st->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * Bytes until the next sample: -ln(U) * rate for U uniform in (0, 1], in
 * integer arithmetic: -ln(U) = ln 2 * (32 - log2(u)) for u = U * 2^32, with
 * log2(u) = msb + log2(mantissa) interpolated in a table (error < 3e-6).
 */
static __always_inline __s64 exponential_from(__u64 u)
{
	__u32 msb = 0, idx;
	__u64 x = u, m, rem, lo, hi, frac, neg_log2_q16, ln_q16;

	if (x >> 16) { msb += 16; x >>= 16; }
	if (x >> 8) { msb += 8; x >>= 8; }
	if (x >> 4) { msb += 4; x >>= 4; }
	if (x >> 2) { msb += 2; x >>= 2; }
	if (x >> 1) { msb += 1; }
	m = u << (31 - msb); /* 2^31 .. 2^32 - 1 */
	idx = (m >> 23) & (FLARE_ALLOC_LOG2_STEPS - 1);
	rem = (m >> 7) & 0xffff;
	lo = log2_q16[idx];
	hi = log2_q16[idx + 1];
	frac = lo + (((hi - lo) * rem) >> 16);
	neg_log2_q16 = ((__u64)32 << 16) - (((__u64)msb << 16) + frac);
	ln_q16 = (neg_log2_q16 * 45426) >> 16; /* x ln 2 */
	return (__s64)((ln_q16 * sample_rate) >> 16);
}

static __always_inline __s64 next_sample_distance(struct thread_state *st)
{
	__u64 u = (next_random(st) >> 32) + 1; /* 1 .. 2^32 */

	if (u >> 32)
		return 0;
	return exponential_from(u);
}

static __always_inline struct thread_state *thread_state(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct thread_state *st;

	st = bpf_task_storage_get(&flare_alloc_threads, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st)
		return NULL;
	if (!st->initialized) {
		st->rng = seed;
		if (seed_threads_by_tid)
			st->rng ^= (__u64)(__u32)bpf_get_current_pid_tgid() * 0x2545f4914f6cdd1dULL;
		st->bytes_left = next_sample_distance(st);
		st->initialized = 1;
	}
	return st;
}

/* Whether ret, a return address, lies in a probed allocation function. */
static __always_inline bool in_outer_function(struct flare_alloc_target *target, __u64 ret)
{
	bool in_lib = false;

	/* Most calls come from the program, outside every probed library. */
	for (__u32 i = 0; i < FLARE_ALLOC_MAX_LIBS; i++) {
		__u64 base = target->base[i] - 1;

		if (!libs[i].hi)
			break;
		if (target->base[i] && ret >= base + libs[i].lo && ret < base + libs[i].hi) {
			in_lib = true;
			break;
		}
	}
	if (!in_lib)
		return false;
	for (__u32 i = 0; i < FLARE_ALLOC_MAX_SITES; i++) {
		struct flare_alloc_site *s = &sites[i];
		__u64 base;

		if (!s->func)
			break;
		__u32 lib = s->lib;

		asm volatile("%[lib] &= %[mask]" : [lib] "+r"(lib) : [mask] "i"(FLARE_ALLOC_MAX_LIBS - 1));
		base = target->base[lib] - 1;
		if (target->base[lib] && ret >= base + s->func_start && ret < base + s->func_end)
			return true;
	}
	return false;
}

/*
 * The probe site of a cookie, NULL if out of range. The mask is done in asm:
 * after the range check clang would drop it, and the verifier needs the
 * bound on the register that indexes.
 */
static __always_inline struct flare_alloc_site *site_of(__u64 cookie)
{
	__u64 i = cookie;

	if (cookie >= FLARE_ALLOC_MAX_SITES)
		return NULL;
	asm volatile("%[i] &= %[mask]" : [i] "+r"(i) : [mask] "i"(FLARE_ALLOC_MAX_SITES - 1));
	return &sites[i];
}

/* Learns where the hit probe's library is loaded in this process. */
static __always_inline void learn_base(struct pt_regs *ctx, struct flare_alloc_target *target,
				       struct flare_alloc_site *site)
{
	/* Plus one: a non-PIE executable is loaded at bias 0. */
	__u64 base = bpf_get_func_ip(ctx) - site->vaddr + 1;
	__u32 lib = site->lib;

	asm volatile("%[lib] &= %[mask]" : [lib] "+r"(lib) : [mask] "i"(FLARE_ALLOC_MAX_LIBS - 1));
	if (target->base[lib] != base)
		target->base[lib] = base; /* written once per library and exec */
}

static __always_inline bool is_tracked(__u32 tgid, __u64 address)
{
	struct flare_alloc_key key = { .address = address, .pid = tgid };

	return bpf_map_lookup_elem(&flare_alloc_live, &key) != NULL;
}

static __always_inline void emit_free(__u32 tgid, __u32 tid, __u64 address)
{
	struct flare_free_event *e;

	e = bpf_ringbuf_reserve(&flare_alloc_events, sizeof(*e), 0);
	if (!e) {
		count_drop(FLARE_ALLOC_DROP_RINGBUF_FREE);
		return;
	}
	e->h.type = FLARE_ALLOC_RECORD_FREE;
	e->h.pid = tgid;
	e->h.tid = tid;
	e->h.reserved = 0;
	e->h.time_ns = bpf_ktime_get_ns();
	e->h.address = address;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, bpf_ringbuf_query(&flare_alloc_events, BPF_RB_AVAIL_DATA) >= wakeup_bytes
				      ? BPF_RB_FORCE_WAKEUP
				      : BPF_RB_NO_WAKEUP);
}

/* A tracked block was freed: forget it and tell the agent. */
static __always_inline void untrack(__u32 tgid, __u32 tid, __u64 address)
{
	struct flare_alloc_key key = { .address = address, .pid = tgid };

	/* Almost every free is of an untracked block: a lookup takes no
	 * lock, a delete takes the bucket's. */
	if (!bpf_map_lookup_elem(&flare_alloc_live, &key))
		return;
	if (bpf_map_delete_elem(&flare_alloc_live, &key) == 0)
		emit_free(tgid, tid, address);
}

static __always_inline void emit_alloc(struct pt_regs *ctx, __u32 tgid, __u32 tid, __u64 address, __u64 size,
				       __u32 func, __u32 rate, __u64 stack_flags)
{
	struct flare_alloc_key key = { .address = address, .pid = tgid };
	struct flare_alloc_event *e;
	__u32 zero = 0, flags = 0;
	__u8 one = 1;
	long n;

	e = bpf_map_lookup_elem(&flare_alloc_scratch, &zero);
	if (!e)
		return;
	if (bpf_map_update_elem(&flare_alloc_live, &key, &one, BPF_ANY) != 0) {
		count_drop(FLARE_ALLOC_DROP_LIVE_FULL);
		flags |= FLARE_ALLOC_UNTRACKED;
	}
	e->h.type = FLARE_ALLOC_RECORD_ALLOC;
	e->h.pid = tgid;
	e->h.tid = tid;
	e->h.reserved = 0;
	e->h.time_ns = bpf_ktime_get_ns();
	e->h.address = address;
	e->size = size;
	e->func = func;
	e->flags = flags;
	e->sample_rate = rate;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* At the return the leaf is the caller of the allocator: a frame
	 * pointer walk from the entry would miss it (not pushed yet). */
	n = bpf_get_stack(ctx, e->user_ips, sizeof(e->user_ips), BPF_F_USER_STACK | stack_flags);
	if (n < 0)
		count_drop(FLARE_ALLOC_DROP_USER_STACK);
	e->user_stack_bytes = n;
	/* Only the frames filled go to the ring: a typical stack is a tenth
	 * of the full array, so the ring holds ten times more samples. */
	size = __builtin_offsetof(struct flare_alloc_event, user_ips) + (n > 0 ? n : 0);
	if (size > sizeof(*e))
		size = sizeof(*e);
	if (bpf_ringbuf_output(&flare_alloc_events, e, size,
			       bpf_ringbuf_query(&flare_alloc_events, BPF_RB_AVAIL_DATA) >= wakeup_bytes
				       ? BPF_RB_FORCE_WAKEUP
				       : BPF_RB_NO_WAKEUP) != 0) {
		count_drop(FLARE_ALLOC_DROP_RINGBUF_ALLOC);
		/* Nobody will hear of the block: do not report its free. */
		if (!(flags & FLARE_ALLOC_UNTRACKED))
			bpf_map_delete_elem(&flare_alloc_live, &key);
	}
}

static __always_inline int on_entry(struct pt_regs *ctx, __u32 tgid, struct flare_alloc_target *target)
{
	__u64 site_index = bpf_get_attach_cookie(ctx);
	struct flare_alloc_site *site = site_of(site_index);
	__u32 func;
	__u64 sp = PT_REGS_SP(ctx), ret = 0, size, old = 0, memptr = 0;
	struct thread_state *st;
	bool sampled, check_nesting;

	if (!site)
		return 1;
	func = site->func;
	learn_base(ctx, target, site);
	st = thread_state();
	if (!st) {
		count_drop(FLARE_ALLOC_DROP_NO_THREAD);
		return 1;
	}
	/*
	 * Reading the return address costs more than the rest of the program
	 * (~250 ns here), so it is read only where nesting is possible: at the
	 * entry of a function that may call or jump to another probed one
	 * (everything but malloc), and at the entry right after it, the only
	 * one that can be nested in it. A malloc/free loop never reads it.
	 */
	check_nesting = st->outer_pending;
	st->outer_pending = func != FLARE_ALLOC_FUNC_MALLOC;
	if (check_nesting || st->outer_pending) {
		/* The probe sits where the return address is still at [sp]. */
		if (bpf_probe_read_user(&ret, sizeof(ret), (void *)sp) != 0) {
			count_drop(FLARE_ALLOC_DROP_READ);
			return 1;
		}
	}
	if (check_nesting) {
		if (in_outer_function(target, ret))
			return 1; /* counted by the probed function that called it */
		/* A tail call arrives on the stack of the call just counted,
		 * with its return address, or the return trampoline if that
		 * call waits for its return. */
		if (st->last_sp == sp && st->last_site != site_index && (st->last_ret == ret || st->pending_func))
			return 1;
	}
	st->last_sp = sp;
	st->last_ret = ret;
	st->last_site = site_index;
	count_call(func);

	switch (func) {
	case FLARE_ALLOC_FUNC_CALLOC:
		size = PT_REGS_PARM1(ctx) * PT_REGS_PARM2(ctx);
		break;
	case FLARE_ALLOC_FUNC_REALLOC:
	case FLARE_ALLOC_FUNC_REALLOCARRAY:
		old = PT_REGS_PARM1(ctx);
		size = PT_REGS_PARM2(ctx);
		if (func == FLARE_ALLOC_FUNC_REALLOCARRAY) {
			__u64 n = size, each = PT_REGS_PARM3(ctx), limit = each ? ~0ULL / each : ~0ULL;

			/* The barrier keeps clang from turning the division
			 * into a 128-bit multiply, which BPF lacks. */
			asm volatile("" : "+r"(limit));
			/* An overflowing product fails the call (ENOMEM): a
			 * size that cannot be 0 keeps the old block tracked. */
			size = n > limit ? ~0ULL : n * each;
		}
		if (old && !is_tracked(tgid, old))
			old = 0;
		break;
	case FLARE_ALLOC_FUNC_MEMALIGN:
		size = PT_REGS_PARM2(ctx);
		break;
	case FLARE_ALLOC_FUNC_POSIX_MEMALIGN:
		memptr = PT_REGS_PARM1(ctx);
		size = PT_REGS_PARM3(ctx);
		break;
	default: /* malloc, valloc, pvalloc, operator new */
		size = PT_REGS_PARM1(ctx);
		break;
	}

	if (sample_rate <= 1) {
		sampled = true;
	} else {
		st->bytes_left -= (__s64)size;
		sampled = st->bytes_left < 0;
		if (sampled)
			st->bytes_left = next_sample_distance(st);
	}
	if (!sampled && !old)
		return 1; /* no return probe: the common, cheap case */
	st->pending_size = size;
	st->pending_old = old;
	st->pending_memptr = memptr;
	st->pending_func = func;
	st->pending_sampled = sampled;
	return 0;
}

static __always_inline void on_return(struct pt_regs *ctx, __u32 tgid, __u32 tid)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct thread_state *st;
	__u64 address = PT_REGS_RC(ctx);

	st = bpf_task_storage_get(&flare_alloc_threads, task, 0, 0);
	if (!st || !st->pending_func)
		return;
	if (st->pending_func == FLARE_ALLOC_FUNC_POSIX_MEMALIGN) {
		__u64 result = 0;

		/* Returns 0 and stores the block through memptr. */
		if ((int)address == 0 &&
		    bpf_probe_read_user(&result, sizeof(result), (void *)st->pending_memptr) != 0)
			count_drop(FLARE_ALLOC_DROP_READ);
		address = (int)address == 0 ? result : 0;
	}
	/* realloc freed the old block when it returned a new one, or when it
	 * was asked for 0 bytes; on failure the old block stays. */
	if (st->pending_old && (address || st->pending_size == 0))
		untrack(tgid, tid, st->pending_old);
	if (st->pending_sampled && address)
		emit_alloc(ctx, tgid, tid, address, st->pending_size, st->pending_func, 0, 0);
	st->pending_func = 0;
}

SEC("uprobe")
int flare_alloc(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct flare_alloc_target *target;

	target = bpf_map_lookup_elem(&flare_alloc_targets, &tgid);
	if (!target)
		return 1;
	if (bpf_session_is_return()) {
		on_return(ctx, tgid, (__u32)pid_tgid);
		return 0;
	}
	return on_entry(ctx, tgid, target);
}

SEC("uprobe")
int flare_free(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u64 address;

	/* free calls no probed function: no base to learn, no nesting. */
	if (!bpf_map_lookup_elem(&flare_alloc_targets, &tgid))
		return 0;
	count_call(FLARE_ALLOC_FUNC_FREE);
	address = PT_REGS_PARM1(ctx);
	if (address)
		untrack(tgid, (__u32)pid_tgid, address);
	return 0;
}

/*
 * Go: the runtime samples its own allocations (mallocgc, one sample per
 * runtime.MemProfileRate bytes on average, 512 KiB by default) and calls
 * mProf_Malloc for each, so a probe there costs nothing on the allocations
 * it does not sample. Entry probes only: a return probe breaks Go's movable
 * stacks. The stack is taken at the entry by frame pointers (Go keeps
 * them); the first two entries are mProf_Malloc itself and mallocgc
 * (profilealloc, its caller, has no frame-pointer link yet), skipped as
 * Go's own profiler skips them.
 */
SEC("uprobe")
int flare_go_sample(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct flare_alloc_target *target;
	struct flare_alloc_site *site;
	__u64 rate = 0, base;
	__u32 lib;

	target = bpf_map_lookup_elem(&flare_alloc_targets, &tgid);
	if (!target)
		return 0;
	site = site_of(bpf_get_attach_cookie(ctx));
	if (!site)
		return 0;
	learn_base(ctx, target, site);
	count_call(FLARE_ALLOC_FUNC_GO_SAMPLE);
	lib = site->lib;
	asm volatile("%[lib] &= %[mask]" : [lib] "+r"(lib) : [mask] "i"(FLARE_ALLOC_MAX_LIBS - 1));
	base = target->base[lib] - 1;
	if (bpf_probe_read_user(&rate, sizeof(rate), (void *)(base + target->go_rate_vaddr)) != 0) {
		count_drop(FLARE_ALLOC_DROP_READ);
		rate = 0;
	}
	if (rate > 0xffffffffULL)
		rate = 0xffffffffULL;
	/* Go ABI: p in rax, size in rbx. */
	emit_alloc(ctx, tgid, (__u32)pid_tgid, ctx->ax, ctx->bx, FLARE_ALLOC_FUNC_GO_SAMPLE, (__u32)rate,
		   2 & BPF_F_SKIP_FIELD_MASK);
	return 0;
}

SEC("uprobe")
int flare_go_free(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;

	if (!bpf_map_lookup_elem(&flare_alloc_targets, &tgid))
		return 0;
	count_call(FLARE_ALLOC_FUNC_GO_FREE);
	/* freeSpecial(s, p, size): p in rbx. Only sampled objects carry a
	 * profiling record; an untracked address is ignored. */
	untrack(tgid, (__u32)pid_tgid, ctx->bx);
	return 0;
}
