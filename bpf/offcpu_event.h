/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Records of the off-CPU tracer family, shared by bpf/offcpu_tracer.bpf.c and
 * the agent. One flare_offcpu_event is both the per-thread state the BPF side
 * keeps while a target thread is off-CPU and the ring record it emits when
 * the thread runs again, so emitting is one copy. Fixed-width fields only;
 * the layout is static-asserted on both sides.
 */
#ifndef FLARE_BPF_OFFCPU_EVENT_H
#define FLARE_BPF_OFFCPU_EVENT_H

#include "cpu_sample.h"

#define FLARE_OFFCPU_MAX_THREADS 8192
#define FLARE_OFFCPU_MAX_TOTALS 16384

enum flare_offcpu_state {
	FLARE_OFFCPU_SLEEPING = 1,	  /* TASK_INTERRUPTIBLE */
	FLARE_OFFCPU_UNINTERRUPTIBLE = 2, /* TASK_UNINTERRUPTIBLE (D) */
	FLARE_OFFCPU_PREEMPTED = 3,	  /* switched out (or found) runnable */
};

enum flare_offcpu_flags {
	FLARE_OFFCPU_CLIPPED_START = 1 << 0, /* off-CPU when the capture started */
};

/* Why an interval was lost or degraded; indexes the per-CPU drop counters. */
enum flare_offcpu_drop_cause {
	FLARE_OFFCPU_DROP_RINGBUF_FULL = 0, /* totalled, not recorded one by one */
	FLARE_OFFCPU_DROP_RATE_LIMITED = 1, /* totalled, over max_per_second */
	FLARE_OFFCPU_DROP_NO_THREAD_SLOT = 2, /* thread table full: untracked */
	FLARE_OFFCPU_DROP_NO_TOTAL_SLOT = 3,  /* totals table full: untracked */
	FLARE_OFFCPU_DROP_USER_STACK = 4,
	FLARE_OFFCPU_DROP_KERNEL_STACK = 5,
	/* A known thread switched in with no open interval: its switch-out
	 * was not seen (e.g. the kernel skipped the program), time is lost. */
	FLARE_OFFCPU_DROP_UNPAIRED_SWITCH_IN = 6,
	/* A thread switched out again while its last interval was open: its
	 * switch-in was not seen, that interval is lost. */
	FLARE_OFFCPU_DROP_UNPAIRED_SWITCH_OUT = 7,
	FLARE_OFFCPU_DROP_MAX = 8,
};

struct flare_stack_trace {
	__s32 user_bytes;   /* bytes of user_ips filled, 0 if not captured, or -errno */
	__s32 kernel_bytes; /* likewise for kernel_ips */
	__u64 kernel_ips[FLARE_MAX_KERNEL_FRAMES];
	__u64 user_ips[FLARE_MAX_USER_FRAMES];
};

struct flare_offcpu_event {
	__u64 switch_out_ns; /* capture start when the thread was already off-CPU */
	__u64 wakeup_ns;     /* put on a run queue (sched_wakeup); 0: no wakeup
			      * seen (it was runnable all along) */
	__u64 switch_in_ns;  /* 0: still off-CPU */
	__u32 pid;	     /* tgid */
	__u32 tid;
	__u32 waker_pid; /* 0: no user waker (timer, interrupt) */
	__u32 waker_tid;
	__u8 state; /* enum flare_offcpu_state */
	__u8 flags; /* enum flare_offcpu_flags */
	__u16 reserved;
	__u32 reserved2;
	char comm[FLARE_COMM_LEN];
	char waker_comm[FLARE_COMM_LEN];
	struct flare_stack_trace blocked; /* where it went off-CPU */
	struct flare_stack_trace waker;	  /* captured only when blocked >= min */
};

struct flare_offcpu_total_key {
	__u32 tid;
	__u32 state;
};

struct flare_offcpu_total {
	__u64 count;
	__u64 blocked_ns;
	__u64 runq_ns;
};

FLARE_STATIC_ASSERT(sizeof(struct flare_stack_trace) ==
			    8 + 8 * (FLARE_MAX_KERNEL_FRAMES + FLARE_MAX_USER_FRAMES),
		    "flare_stack_trace layout changed");
FLARE_STATIC_ASSERT(__builtin_offsetof(struct flare_offcpu_event, blocked) == 80,
		    "flare_offcpu_event header layout changed");
FLARE_STATIC_ASSERT(sizeof(struct flare_offcpu_event) == 80 + 2 * sizeof(struct flare_stack_trace),
		    "flare_offcpu_event layout changed");

#endif /* FLARE_BPF_OFFCPU_EVENT_H */
