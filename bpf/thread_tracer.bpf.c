// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Thread lifecycle of the targets: a thread created in a target process
 * (sched_process_fork with the child in the parent's thread group) and a
 * target thread ending (sched_process_exit). Both fire once per thread, far
 * from any hot path; the target filter still comes first.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "thread_event.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FLARE_THREAD_MAX_TARGETS);
	__type(key, __u32);
	__type(value, __u8);
} flare_targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 10);
} flare_thread_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLARE_THREAD_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} flare_thread_drops SEC(".maps");

static __always_inline void emit(__u32 kind, struct task_struct *task)
{
	struct flare_thread_event *e;
	__u32 cause = FLARE_THREAD_DROP_RINGBUF_FULL;
	__u64 *count;

	e = bpf_ringbuf_reserve(&flare_thread_events, sizeof(*e), 0);
	if (!e) {
		count = bpf_map_lookup_elem(&flare_thread_drops, &cause);
		if (count)
			*count += 1;
		return;
	}
	e->time_ns = bpf_ktime_get_ns();
	e->kind = kind;
	e->pid = BPF_CORE_READ(task, tgid);
	e->tid = BPF_CORE_READ(task, pid);
	e->reserved = 0;
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	/* Rare events: wake the agent for none of them; it drains on a timer. */
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(flare_thread_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 tgid = BPF_CORE_READ(child, tgid);

	/* A new thread of a target; a new process (another tgid) is not one. */
	if (!bpf_map_lookup_elem(&flare_targets, &tgid) || BPF_CORE_READ(child, pid) == tgid)
		return 0;
	emit(FLARE_THREAD_START, child);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(flare_thread_exit, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);

	if (!bpf_map_lookup_elem(&flare_targets, &tgid))
		return 0;
	emit(FLARE_THREAD_END, p);
	return 0;
}
