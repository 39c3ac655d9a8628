// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Goroutine tracer: Go goroutines parking (runtime.gopark) and being made
 * runnable (runtime.ready, runtime.netpollready) in target processes.
 *
 * Entry probes only: a return probe replaces the return address on the
 * stack, which Go's stack copying and traceback do not expect. Go 1.17+ on
 * amd64 passes arguments in registers (RAX, RBX, RCX, ...) and keeps the
 * current g in R14; runtime.ready runs on the system stack (g0), so the
 * goroutine that readied another is g0.m.curg. Where the fields lie in
 * runtime.g, runtime.m and runtime.pollDesc comes per target from the
 * binary's DWARF (struct flare_go_target).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "goroutine_event.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* runtime's pollDesc.rg/wg hold a *g, or one of these. */
#define GO_PD_READY 1
#define GO_PD_WAIT 2
#define GO_MODE_READ 'r'
#define GO_MODE_WRITE 'w'

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FLARE_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct flare_go_target);
} flare_go_targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} flare_go_events SEC(".maps");

/* Set by the agent before load: ring bytes waiting that wake the agent. */
const volatile __u64 wakeup_bytes = 1 << 20;

/* Where a record is built before the filled part is copied to the ring:
 * Go stacks are mostly shallow, so records are mostly short. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flare_goroutine_event);
} flare_go_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLARE_GO_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} flare_go_drops SEC(".maps");

static __always_inline void count_drop(__u32 cause)
{
	__u64 *count = bpf_map_lookup_elem(&flare_go_drops, &cause);

	if (count)
		*count += 1; /* per-CPU slot */
}

static __always_inline int read_u64(__u64 *out, __u64 address)
{
	return bpf_probe_read_user(out, sizeof(*out), (const void *)address);
}

/* The goroutine the current M runs for user code (0: none, e.g. the
 * scheduler looking for work). */
static __always_inline __u64 current_user_goid(struct pt_regs *ctx, const struct flare_go_target *t)
{
	__u64 m = 0, curg = 0, goid = 0;

	if (read_u64(&m, ctx->r14 + t->g_m) || !m)
		return 0;
	if (read_u64(&curg, m + t->m_curg) || !curg)
		return 0;
	if (read_u64(&goid, curg + t->g_goid))
		return 0;
	return goid;
}

/*
 * The user stack, leaf first: the probed function (the instruction
 * pointer), its caller (the return address at the stack pointer: at a
 * function's entry its frame pointer is not pushed yet, so the chain skips
 * it), then the callers the frame-pointer chain gives.
 */
static __always_inline void take_stack(struct pt_regs *ctx, struct flare_goroutine_event *e)
{
	__u64 ret = 0;
	long n;

	n = bpf_get_stack(ctx, &e->user_ips[1], sizeof(e->user_ips) - sizeof(e->user_ips[0]), BPF_F_USER_STACK);
	if (n <= 0 || read_u64(&ret, ctx->sp)) {
		e->user_stack_bytes = n < 0 ? (__s32)n : -14 /* EFAULT */;
		count_drop(FLARE_GO_DROP_USER_STACK);
		return;
	}
	e->user_ips[0] = e->user_ips[1];
	e->user_ips[1] = ret;
	e->user_stack_bytes = (__s32)n + sizeof(e->user_ips[0]);
}

static __always_inline void emit(struct pt_regs *ctx, __u64 pid_tgid, __u32 kind, __u64 goid, __u64 waker_goid,
				 __u32 reason, __u32 flags)
{
	const __u32 zero = 0;
	struct flare_goroutine_event *e;
	__u64 size, wakeup;

	e = bpf_map_lookup_elem(&flare_go_scratch, &zero);
	if (!e)
		return;
	e->kind = kind;
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->flags = flags;
	e->time_ns = bpf_ktime_get_ns();
	e->goid = goid;
	e->waker_goid = waker_goid;
	e->reason = reason;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	take_stack(ctx, e);
	size = __builtin_offsetof(struct flare_goroutine_event, user_ips);
	if (e->user_stack_bytes > 0)
		size += e->user_stack_bytes;
	if (size > sizeof(*e))
		size = sizeof(*e);
	wakeup = bpf_ringbuf_query(&flare_go_events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP
										: BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&flare_go_events, e, size, wakeup))
		count_drop(FLARE_GO_DROP_RINGBUF);
}

/* A pollDesc waiter slot at entry of netpollready: a *g means a goroutine
 * is parked on it and is about to be made runnable. */
static __always_inline void netpoll_waiter(struct pt_regs *ctx, __u64 pid_tgid, const struct flare_go_target *t,
					   __u64 slot, __u64 waker_goid)
{
	__u64 g = 0, goid = 0;

	if (read_u64(&g, slot)) {
		count_drop(FLARE_GO_DROP_READ);
		return;
	}
	if (g <= GO_PD_WAIT)
		return;
	if (read_u64(&goid, g + t->g_goid)) {
		count_drop(FLARE_GO_DROP_READ);
		return;
	}
	emit(ctx, pid_tgid, FLARE_GO_READY, goid, waker_goid, 0, FLARE_GO_FROM_NETPOLL);
}

/* Whether this hit is on a stack check's branch that goes to morestack:
 * the function restarts once the stack has grown and is seen then. */
static __always_inline bool will_grow_stack(struct pt_regs *ctx, __u64 cookie)
{
	__u32 check = FLARE_GO_COOKIE_CHECK(cookie);
	__u64 guard, sp = ctx->sp, r12 = ctx->r12;

	if (check == FLARE_GO_CHECK_NONE)
		return false;
	if (bpf_probe_read_user(&guard, sizeof(guard), (void *)(ctx->r14 + FLARE_GO_COOKIE_GUARD(cookie))) != 0)
		return false;
	/* Both context fields are loaded above, each at a constant offset: a
	 * load at a computed offset into the context is refused. */
	asm volatile("" : "+r"(sp), "+r"(r12));
	if (check == FLARE_GO_CHECK_R12)
		sp = r12;
	return sp <= guard; /* jbe: unsigned below or equal */
}

SEC("uprobe")
int flare_goroutine(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	const struct flare_go_target *t;
	__u64 goid = 0, pd, mode, cookie;

	t = bpf_map_lookup_elem(&flare_go_targets, &tgid);
	if (!t)
		return 0;
	cookie = bpf_get_attach_cookie(ctx);
	if (will_grow_stack(ctx, cookie))
		return 0;
	switch (FLARE_GO_COOKIE_PROBE(cookie)) {
	case FLARE_GO_PROBE_GOPARK:
		/* gopark(unlockf, lock, reason waitReason (uint8), ...) */
		if (read_u64(&goid, ctx->r14 + t->g_goid)) {
			count_drop(FLARE_GO_DROP_READ);
			return 0;
		}
		emit(ctx, pid_tgid, FLARE_GO_PARK, goid, 0, ctx->cx & 0xff, 0);
		break;
	case FLARE_GO_PROBE_READY:
		/* ready(gp *g, traceskip int, next bool) */
		if (read_u64(&goid, ctx->ax + t->g_goid)) {
			count_drop(FLARE_GO_DROP_READ);
			return 0;
		}
		emit(ctx, pid_tgid, FLARE_GO_READY, goid, current_user_goid(ctx, t), 0, 0);
		break;
	case FLARE_GO_PROBE_NETPOLLREADY:
		/* netpollready(toRun *gList, pd *pollDesc, mode int32) */
		pd = ctx->bx;
		mode = (__u32)ctx->cx;
		if (mode == GO_MODE_READ || mode == GO_MODE_READ + GO_MODE_WRITE)
			netpoll_waiter(ctx, pid_tgid, t, pd + t->pd_rg, current_user_goid(ctx, t));
		if (mode == GO_MODE_WRITE || mode == GO_MODE_READ + GO_MODE_WRITE)
			netpoll_waiter(ctx, pid_tgid, t, pd + t->pd_wg, current_user_goid(ctx, t));
		break;
	}
	return 0;
}
