/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Records of the goroutine tracer family, shared by
 * bpf/goroutine_tracer.bpf.c and the agent. Fixed-width fields only; the
 * layout is static-asserted on both sides.
 */
#ifndef FLARE_BPF_GOROUTINE_EVENT_H
#define FLARE_BPF_GOROUTINE_EVENT_H

#include "cpu_sample.h"

/* What a probe site is: the low byte of its uprobe_multi cookie. */
enum flare_go_probe {
	FLARE_GO_PROBE_GOPARK = 1,	 /* runtime.gopark: the current goroutine parks */
	FLARE_GO_PROBE_READY = 2,	 /* runtime.ready(gp): gp becomes runnable */
	FLARE_GO_PROBE_NETPOLLREADY = 3, /* runtime.netpollready(toRun, pd, mode): pd's waiters */
};

/*
 * A probe on the branch of a function's stack-growth check (cmp D(%r14),
 * %rsp or %r12; jbe morestack) fires again when the branch is taken:
 * morestack restarts the function from its entry. The cookie says which
 * register the check compares (bits 8-15) and D (bits 16-23), so the
 * program ignores the hit that will grow the stack.
 */
#define FLARE_GO_COOKIE_PROBE(cookie) ((cookie) & 0xff)
#define FLARE_GO_COOKIE_CHECK(cookie) (((cookie) >> 8) & 0xff)
#define FLARE_GO_COOKIE_GUARD(cookie) (((cookie) >> 16) & 0xff)
enum flare_go_stack_check {
	FLARE_GO_CHECK_NONE = 0, /* probed at the entry: no check there */
	FLARE_GO_CHECK_RSP = 1,
	FLARE_GO_CHECK_R12 = 2, /* the frame's lowest address, for big frames */
};

enum flare_go_event_kind {
	FLARE_GO_PARK = 1,
	FLARE_GO_READY = 2,
};

enum flare_go_event_flags {
	/* Made runnable by the netpoller (a file descriptor became ready). */
	FLARE_GO_FROM_NETPOLL = 1 << 0,
};

/* Why an event was lost or degraded; indexes the per-CPU drop counters. */
enum flare_go_drop_cause {
	FLARE_GO_DROP_RINGBUF = 0,    /* event lost: the ring had no room */
	FLARE_GO_DROP_USER_STACK = 1, /* kept without its stack */
	FLARE_GO_DROP_READ = 2,	      /* event lost: a runtime structure was unreadable */
	FLARE_GO_DROP_MAX = 3,
};

/*
 * Per target process, the value of the target map: where the fields the
 * programs read lie in the runtime's structures of that binary (its own
 * DWARF says), so targets of different Go versions can be traced together.
 */
struct flare_go_target {
	__u32 g_goid;	    /* runtime.g.goid */
	__u32 g_m;	    /* runtime.g.m (*m) */
	__u32 m_curg;	    /* runtime.m.curg (*g): the user goroutine the M runs */
	__u32 pd_rg;	    /* runtime.pollDesc.rg: reader's g, pdReady or pdWait */
	__u32 pd_wg;	    /* runtime.pollDesc.wg */
	__u32 reserved;
};

struct flare_goroutine_event {
	__u32 kind;  /* enum flare_go_event_kind */
	__u32 pid;   /* tgid */
	__u32 tid;
	__u32 flags; /* enum flare_go_event_flags */
	__u64 time_ns;
	__u64 goid;	  /* parked, or made runnable */
	__u64 waker_goid; /* ready: the goroutine running the M that readied it (0: none) */
	__u32 reason;	  /* park: the runtime's waitReason value */
	__s32 user_stack_bytes; /* bytes of user_ips filled, or -errno */
	char comm[FLARE_COMM_LEN];
	/* Park: the parking goroutine's stack; ready: the waker's. Leaf
	 * first: the probed function, its caller (the return address the
	 * probe finds on the stack), then the frame-pointer chain. */
	__u64 user_ips[FLARE_MAX_USER_FRAMES];
};

FLARE_STATIC_ASSERT(sizeof(struct flare_go_target) == 24, "flare_go_target layout changed");
FLARE_STATIC_ASSERT(__builtin_offsetof(struct flare_goroutine_event, user_ips) == 64,
		    "flare_goroutine_event header layout changed");
FLARE_STATIC_ASSERT(sizeof(struct flare_goroutine_event) == 64 + 8 * FLARE_MAX_USER_FRAMES,
		    "flare_goroutine_event layout changed");

#endif /* FLARE_BPF_GOROUTINE_EVENT_H */
