// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Off-CPU tracer: scheduler park/unpark of target threads. At switch-out a
 * thread's state, time and stack are kept per thread; sched_waking (run in
 * the waker's context) adds the waker and, for long enough blocks, its
 * stack; at switch-in the interval is closed and split into blocked time
 * (until the wakeup) and run-queue wait (wakeup until on-CPU). Keyed by
 * thread, so a migration between switch-out and switch-in changes nothing.
 * Intervals shorter than min_ns, or over max_per_second, are only totalled
 * per thread and state, so time stays complete while events stay few.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "offcpu_event.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the agent before load. */
const volatile __u64 min_ns = 100000;
const volatile __u64 max_per_second = 0; /* 0: no cap */
const volatile __u64 wakeup_bytes = 1 << 20;

/* Set by the agent right before attaching: CLOCK_MONOTONIC ns. */
__u64 capture_start_ns = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FLARE_MAX_TARGETS);
	__type(key, __u32);
	__type(value, __u8);
} flare_targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} flare_offcpu_events SEC(".maps");

/* Per target thread: the open interval (switch_in_ns == 0) or the last one. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, FLARE_OFFCPU_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct flare_offcpu_event);
} flare_threads SEC(".maps");

/* All zeroes: the initial value of a new flare_threads entry. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flare_offcpu_event);
} flare_zero_event SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FLARE_OFFCPU_MAX_TOTALS);
	__type(key, struct flare_offcpu_total_key);
	__type(value, struct flare_offcpu_total);
} flare_offcpu_totals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLARE_OFFCPU_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} flare_offcpu_drops SEC(".maps");

struct rate_window {
	__u64 second;
	__u64 count;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rate_window);
} flare_rate SEC(".maps");

#define TASK_RUNNING_STATE 0
#define TASK_UNINTERRUPTIBLE_BIT 0x2
#define PF_EXITING_FLAG 0x00000004

static __always_inline void count_drop(__u32 cause)
{
	__u64 *count = bpf_map_lookup_elem(&flare_offcpu_drops, &cause);

	if (count)
		*count += 1; /* per-CPU slot */
}

static __always_inline bool is_target(struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);

	return bpf_map_lookup_elem(&flare_targets, &tgid) != NULL;
}

static __always_inline unsigned int task_state(struct task_struct *task)
{
	struct task_struct___pre_5_14 {
		long state;
	} *old = (void *)task;

	if (bpf_core_field_exists(task->__state))
		return BPF_CORE_READ(task, __state);
	return BPF_CORE_READ(old, state);
}

static __always_inline struct flare_offcpu_event *thread_slot(__u32 tid)
{
	struct flare_offcpu_event *st = bpf_map_lookup_elem(&flare_threads, &tid);
	__u32 zero = 0;
	void *init;

	if (st)
		return st;
	init = bpf_map_lookup_elem(&flare_zero_event, &zero);
	if (!init)
		return NULL;
	/* Fails when another CPU just created it (fine) or the table is full. */
	bpf_map_update_elem(&flare_threads, &tid, init, BPF_NOEXIST);
	st = bpf_map_lookup_elem(&flare_threads, &tid);
	if (!st)
		count_drop(FLARE_OFFCPU_DROP_NO_THREAD_SLOT);
	return st;
}

static __always_inline void add_total(__u32 tid, __u32 state, __u64 blocked_ns, __u64 runq_ns)
{
	struct flare_offcpu_total_key key = { .tid = tid, .state = state };
	struct flare_offcpu_total *total = bpf_map_lookup_elem(&flare_offcpu_totals, &key);

	if (!total) {
		struct flare_offcpu_total init = {};

		bpf_map_update_elem(&flare_offcpu_totals, &key, &init, BPF_NOEXIST);
		total = bpf_map_lookup_elem(&flare_offcpu_totals, &key);
		if (!total) {
			count_drop(FLARE_OFFCPU_DROP_NO_TOTAL_SLOT);
			return;
		}
	}
	__sync_fetch_and_add(&total->count, 1);
	__sync_fetch_and_add(&total->blocked_ns, blocked_ns);
	__sync_fetch_and_add(&total->runq_ns, runq_ns);
}

static __always_inline bool over_rate(__u64 now)
{
	struct rate_window *w;
	__u32 zero = 0;
	__u64 second;

	if (!max_per_second)
		return false;
	w = bpf_map_lookup_elem(&flare_rate, &zero);
	if (!w)
		return false;
	second = now / 1000000000ull;
	if (w->second != second) { /* racy reset: at worst a few extra events */
		w->second = second;
		w->count = 0;
	}
	return __sync_fetch_and_add(&w->count, 1) >= max_per_second;
}

/* Starts a thread's interval; its stacks are filled in by the caller. */
static __always_inline void open_interval(struct flare_offcpu_event *st, struct task_struct *task, __u32 tid,
					  __u64 out_ns, __u8 state, __u8 flags)
{
	st->switch_out_ns = out_ns;
	st->wakeup_ns = 0;
	st->switch_in_ns = 0;
	st->pid = BPF_CORE_READ(task, tgid);
	st->tid = tid;
	st->waker_pid = 0;
	st->waker_tid = 0;
	st->state = state;
	st->flags = flags;
	BPF_CORE_READ_STR_INTO(&st->comm, task, comm);
	st->blocked.user_bytes = 0;
	st->waker.kernel_bytes = 0;
	st->waker.user_bytes = 0;
}

static __always_inline void switch_out(void *ctx, struct task_struct *prev, bool preempt, __u64 now)
{
	__u32 tid = BPF_CORE_READ(prev, pid);
	struct flare_offcpu_event *st;
	unsigned int state;
	long n;

	/* An exiting thread's last switch-out is no wait: it never returns. */
	if (BPF_CORE_READ(prev, flags) & PF_EXITING_FLAG) {
		bpf_map_delete_elem(&flare_threads, &tid);
		return;
	}
	st = thread_slot(tid);
	if (!st)
		return;
	if (st->switch_out_ns && !st->switch_in_ns)
		count_drop(FLARE_OFFCPU_DROP_UNPAIRED_SWITCH_OUT);
	state = task_state(prev);
	open_interval(st, prev, tid, now,
		      preempt || state == TASK_RUNNING_STATE ? FLARE_OFFCPU_PREEMPTED
		      : state & TASK_UNINTERRUPTIBLE_BIT     ? FLARE_OFFCPU_UNINTERRUPTIBLE
							     : FLARE_OFFCPU_SLEEPING,
		      0);
	/*
	 * prev is current here: its user stack is where it parks, and only now
	 * can it be read. Its kernel stack stays as it is while it is off-CPU,
	 * so that one is read at switch-in, and only for intervals recorded
	 * one by one: most switches are shorter than min_ns.
	 */
	st->blocked.kernel_bytes = 0;
	n = bpf_get_stack(ctx, st->blocked.user_ips, sizeof(st->blocked.user_ips), BPF_F_USER_STACK);
	if (n < 0)
		count_drop(FLARE_OFFCPU_DROP_USER_STACK);
	st->blocked.user_bytes = n;
}

/* A thread first seen off-CPU: its interval started before the capture. */
static __always_inline struct flare_offcpu_event *open_clipped(struct task_struct *task, __u32 tid, __u8 state)
{
	struct flare_offcpu_event *st = thread_slot(tid);
	long n;

	if (!st)
		return NULL;
	open_interval(st, task, tid, capture_start_ns, state, FLARE_OFFCPU_CLIPPED_START);
	/* Not current: only its kernel stack can be read. */
	n = bpf_get_task_stack(task, st->blocked.kernel_ips, sizeof(st->blocked.kernel_ips), 0);
	st->blocked.kernel_bytes = n;
	return st;
}

static __always_inline void switch_in(struct task_struct *next, __u64 now)
{
	__u32 tid = BPF_CORE_READ(next, pid);
	struct flare_offcpu_event *st = bpf_map_lookup_elem(&flare_threads, &tid);
	struct flare_offcpu_event *event;
	__u64 total_ns, blocked_ns, runq_ns;
	bool clipped;
	long n;

	if (!st) {
		/* Never seen going off-CPU. A thread started during the capture
		 * is simply running now; any other was runnable at the start. */
		if (BPF_CORE_READ(next, start_time) >= capture_start_ns)
			return;
		st = open_clipped(next, tid, FLARE_OFFCPU_PREEMPTED);
		if (!st)
			return;
	}
	if (st->switch_in_ns) {
		/* On-CPU by our account: a switch-out went unseen. */
		count_drop(FLARE_OFFCPU_DROP_UNPAIRED_SWITCH_IN);
		return;
	}
	if (st->switch_out_ns == 0 || now < st->switch_out_ns)
		return; /* not reached: an open interval has its switch-out time */
	st->switch_in_ns = now;
	total_ns = now - st->switch_out_ns;
	if (st->wakeup_ns && st->wakeup_ns <= now && st->wakeup_ns >= st->switch_out_ns) {
		blocked_ns = st->wakeup_ns - st->switch_out_ns;
		runq_ns = now - st->wakeup_ns;
	} else if (st->state == FLARE_OFFCPU_PREEMPTED) {
		blocked_ns = 0;
		runq_ns = total_ns;
	} else {
		blocked_ns = total_ns;
		runq_ns = 0;
	}
	clipped = st->flags & FLARE_OFFCPU_CLIPPED_START;
	if (!clipped && total_ns < min_ns) {
		add_total(tid, st->state, blocked_ns, runq_ns);
		return;
	}
	if (!clipped && over_rate(now)) {
		count_drop(FLARE_OFFCPU_DROP_RATE_LIMITED);
		add_total(tid, st->state, blocked_ns, runq_ns);
		return;
	}
	/* next has not run yet: its kernel stack is still where it parked. */
	if (!clipped) {
		n = bpf_get_task_stack(next, st->blocked.kernel_ips, sizeof(st->blocked.kernel_ips), 0);
		if (n < 0)
			count_drop(FLARE_OFFCPU_DROP_KERNEL_STACK);
		st->blocked.kernel_bytes = n;
	}
	event = bpf_ringbuf_reserve(&flare_offcpu_events, sizeof(*event), 0);
	if (!event) {
		count_drop(FLARE_OFFCPU_DROP_RINGBUF_FULL);
		add_total(tid, st->state, blocked_ns, runq_ns);
		return;
	}
	bpf_probe_read_kernel(event, sizeof(*event), st);
	bpf_ringbuf_submit(event, bpf_ringbuf_query(&flare_offcpu_events, BPF_RB_AVAIL_DATA) >= wakeup_bytes
					  ? BPF_RB_FORCE_WAKEUP
					  : BPF_RB_NO_WAKEUP);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(flare_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 now = 0;

	if (is_target(prev)) {
		now = bpf_ktime_get_ns();
		switch_out(ctx, prev, preempt, now);
	}
	if (is_target(next)) {
		if (!now)
			now = bpf_ktime_get_ns();
		switch_in(next, now);
	}
	return 0;
}

/* Runs in the waker's context (sched_wakeup may run on the wakee's CPU). */
SEC("tp_btf/sched_waking")
int BPF_PROG(flare_sched_waking, struct task_struct *p)
{
	struct flare_offcpu_event *st;
	__u64 pid_tgid, now;
	__u32 tid;
	long n;

	if (!is_target(p))
		return 0;
	tid = BPF_CORE_READ(p, pid);
	st = bpf_map_lookup_elem(&flare_threads, &tid);
	/*
	 * A thread on its way to sleep can be woken before it leaves the CPU
	 * (its state is already set, it is still running): that is no
	 * off-CPU interval. Only a thread never seen, and not on a CPU now,
	 * was parked since before the capture.
	 */
	if (st && st->switch_in_ns)
		return 0;
	if (!st) {
		unsigned int state = task_state(p);

		if (state == TASK_RUNNING_STATE || BPF_CORE_READ(p, on_cpu))
			return 0;
		st = open_clipped(p, tid,
				  state & TASK_UNINTERRUPTIBLE_BIT ? FLARE_OFFCPU_UNINTERRUPTIBLE
								   : FLARE_OFFCPU_SLEEPING);
		if (!st)
			return 0;
	}
	if (st->wakeup_ns)
		return 0;
	now = bpf_ktime_get_ns();
	st->wakeup_ns = now;
	/*
	 * The idle task is no waker. A wakeup from an interrupt or softirq
	 * runs on top of whatever task it interrupted; the preempt count
	 * that would tell is not reachable here (a per-CPU variable kallsyms
	 * may not list), so the agent tells it from the waker's kernel stack.
	 */
	pid_tgid = bpf_get_current_pid_tgid();
	if ((__u32)pid_tgid == 0)
		return 0;
	st->waker_pid = pid_tgid >> 32;
	st->waker_tid = (__u32)pid_tgid;
	bpf_get_current_comm(st->waker_comm, sizeof(st->waker_comm));
	if (now - st->switch_out_ns < min_ns)
		return 0; /* most likely totalled: its waker's stack is not worth a walk */
	/* Always the kernel stack: it is how the agent recognizes interrupts. */
	n = bpf_get_stack(ctx, st->waker.kernel_ips, sizeof(st->waker.kernel_ips), 0);
	st->waker.kernel_bytes = n;
	n = bpf_get_stack(ctx, st->waker.user_ips, sizeof(st->waker.user_ips), BPF_F_USER_STACK);
	st->waker.user_bytes = n;
	return 0;
}

/*
 * Runs when the woken thread is put on a run queue, which can be later than
 * sched_waking (a remote wakeup waits for an IPI): run-queue wait starts
 * here, as the kernel's own schedstat run_delay does.
 */
SEC("tp_btf/sched_wakeup")
int BPF_PROG(flare_sched_wakeup, struct task_struct *p)
{
	struct flare_offcpu_event *st;
	__u32 tid;

	if (!is_target(p))
		return 0;
	tid = BPF_CORE_READ(p, pid);
	st = bpf_map_lookup_elem(&flare_threads, &tid);
	if (!st || st->switch_in_ns || !st->wakeup_ns)
		return 0; /* on-CPU, or no sched_waking seen for this wakeup */
	st->wakeup_ns = bpf_ktime_get_ns();
	return 0;
}

/*
 * Run by the agent right after attaching: opens an interval for every target
 * thread that is parked now, with both its stacks, so a thread that never
 * runs during the capture (deadlocked, say) still shows where it waits. Run
 * again at the end: intervals still open get the kernel stack that a
 * switch-in would have read. Sleepable, to read another task's user memory.
 */
SEC("iter.s/task")
int flare_parked_threads(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct flare_offcpu_event *st;
	unsigned long fp, pc;
	struct pt_regs *regs;
	unsigned int state;
	__u32 tid;
	int i;

	if (!task || !is_target(task))
		return 0;
	tid = task->pid;
	st = bpf_map_lookup_elem(&flare_threads, &tid);
	if (st) {
		long n;

		if (st->switch_out_ns && !st->switch_in_ns && st->blocked.kernel_bytes <= 0 && !task->on_cpu) {
			n = bpf_get_task_stack(task, st->blocked.kernel_ips, sizeof(st->blocked.kernel_ips), 0);
			st->blocked.kernel_bytes = n;
		}
		return 0; /* already seen by the tracepoints */
	}
	state = task_state(task);
	if (state == TASK_RUNNING_STATE || task->on_cpu || (task->flags & PF_EXITING_FLAG))
		return 0;
	st = open_clipped(task, tid,
			  state & TASK_UNINTERRUPTIBLE_BIT ? FLARE_OFFCPU_UNINTERRUPTIBLE : FLARE_OFFCPU_SLEEPING);
	if (!st)
		return 0;
	/* Its user registers as saved on kernel entry: walk frame pointers. */
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return 0;
	pc = PT_REGS_IP_CORE(regs);
	fp = PT_REGS_FP_CORE(regs);
	for (i = 0; i < FLARE_MAX_USER_FRAMES; i++) {
		unsigned long frame[2];

		if (!pc)
			break;
		st->blocked.user_ips[i] = pc;
		st->blocked.user_bytes = (i + 1) * 8;
		if (!fp || bpf_copy_from_user_task(frame, sizeof(frame), (void *)fp, task, 0))
			break;
		/* The return address is good even where the saved frame pointer
		 * ends the chain (frames go up the stack; anything else is not a
		 * frame chain): it is taken, then the walk stops. */
		pc = frame[1];
		fp = frame[0] > fp ? frame[0] : 0;
	}
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(flare_sched_process_exit, struct task_struct *p)
{
	__u32 tid;

	if (!is_target(p))
		return 0;
	tid = BPF_CORE_READ(p, pid);
	bpf_map_delete_elem(&flare_threads, &tid);
	return 0;
}
