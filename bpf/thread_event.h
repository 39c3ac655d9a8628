/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Records of the thread-lifecycle family, shared by bpf/thread_tracer.bpf.c
 * and the agent: a target thread was created or ended. Fixed-width fields,
 * static-asserted on both sides.
 */
#ifndef FLARE_BPF_THREAD_EVENT_H
#define FLARE_BPF_THREAD_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#ifdef __cplusplus
#define FLARE_THREAD_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define FLARE_THREAD_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#define FLARE_THREAD_MAX_TARGETS 1024
#define FLARE_THREAD_COMM_LEN 16

enum flare_thread_event_kind {
	FLARE_THREAD_START = 1, /* the same values as the recording's thread_event kinds */
	FLARE_THREAD_END = 2,
};

enum flare_thread_drop_cause {
	FLARE_THREAD_DROP_RINGBUF_FULL = 0,
	FLARE_THREAD_DROP_MAX = 1,
};

struct flare_thread_event {
	__u64 time_ns; /* bpf_ktime_get_ns() */
	__u32 kind;    /* enum flare_thread_event_kind */
	__u32 pid;     /* tgid */
	__u32 tid;
	__u32 reserved;
	char comm[FLARE_THREAD_COMM_LEN]; /* the creator's name at start (a new thread inherits it), its own at end */
};

FLARE_THREAD_STATIC_ASSERT(sizeof(struct flare_thread_event) == 40, "flare_thread_event layout changed");

#endif /* FLARE_BPF_THREAD_EVENT_H */
