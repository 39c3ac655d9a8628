// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * CPU sampler: attached to one cpu-clock perf event per CPU. Samples of any
 * task outside the target set are discarded first, before any other work;
 * per-CPU events with this filter cost a target ~1 %, where per-task events
 * (perf record -p) cost a switch-heavy target far more.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "cpu_sample.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Target tgids; threads created later share their tgid and are covered. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FLARE_MAX_TARGETS);
	__type(key, __u32);
	__type(value, __u8);
} flare_targets SEC(".maps");

/*
 * The agent drains the ring on a timer, so a submit wakes it only once the
 * ring holds this many bytes (set before load): one wakeup per sample would
 * put the agent on the sampled CPU 99 times a second per busy CPU.
 */
const volatile __u64 wakeup_bytes = 1 << 20;

/*
 * How user stacks are taken (set before load): return addresses by frame
 * pointers, or a copy of the registers and of up to stack_copy_bytes of stack
 * memory above the stack pointer, unwound by the agent with the binaries' CFI.
 */
const volatile __u32 user_stack_kind = FLARE_USER_STACK_FP;
const volatile __u32 stack_copy_bytes = 32768;

/*
 * Where a copy sample is assembled before it goes into the ring at its real
 * length: a ring reservation has a fixed size, and most stacks are far
 * shallower than the window. One slot per possible CPU (max_entries set
 * before load); a per-CPU array cannot hold values this large.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flare_cpu_sample_copy);
} flare_copy_scratch SEC(".maps");

/* Size set by the agent before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} flare_samples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLARE_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} flare_drops SEC(".maps");

/*
 * Runs of the program that interrupted a task other than the idle task,
 * target or not. The kernel skips a perf_event program without a trace when
 * another BPF program is active on the CPU, and a descheduled vCPU skips
 * timer ticks; comparing these runs with the ticks due while the CPU was busy
 * is how flare sees and reports such losses. (Idle ticks do not count: an
 * idle vCPU may not get its timer at all, and no target runs there.)
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} flare_runs SEC(".maps");

static __always_inline void count_drop(__u32 cause)
{
	__u64 *count = bpf_map_lookup_elem(&flare_drops, &cause);

	if (count)
		*count += 1; /* per-CPU slot: no atomics needed */
}

static __always_inline __u64 ring_flags(void)
{
	return bpf_ringbuf_query(&flare_samples, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP
										     : BPF_RB_NO_WAKEUP;
}

/*
 * Copies the user stack from sp upwards: the rest of sp's page, then whole
 * pages until the window is full or a page cannot be read (the end of the
 * stack mapping, or memory not present: this context cannot fault pages in).
 * Returns the bytes copied, or -EFAULT (-14) when not even sp's page was readable.
 */
static __always_inline long copy_user_stack(struct flare_cpu_sample_copy *s, __u64 sp)
{
	__u32 window = stack_copy_bytes;
	__u32 head = (__u32)(-sp) & (FLARE_STACK_PAGE - 1);
	__u32 len;
	int i;

	if (head > window)
		head = window;
	if (bpf_probe_read_user(s->stack, head, (const void *)sp))
		return -14; /* -EFAULT */
	len = head;
	for (i = 0; i < FLARE_MAX_STACK_COPY / FLARE_STACK_PAGE; i++) {
		if (len + FLARE_STACK_PAGE > window || len > FLARE_MAX_STACK_COPY - FLARE_STACK_PAGE)
			break;
		if (bpf_probe_read_user(s->stack + len, FLARE_STACK_PAGE, (const void *)(sp + len)))
			break;
		len += FLARE_STACK_PAGE;
	}
	return len;
}

static __always_inline void fill_user_regs(__u64 *out, struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	out[0] = regs->ax;
	out[1] = regs->dx;
	out[2] = regs->cx;
	out[3] = regs->bx;
	out[4] = regs->si;
	out[5] = regs->di;
	out[6] = regs->bp;
	out[7] = regs->sp;
	out[8] = regs->r8;
	out[9] = regs->r9;
	out[10] = regs->r10;
	out[11] = regs->r11;
	out[12] = regs->r12;
	out[13] = regs->r13;
	out[14] = regs->r14;
	out[15] = regs->r15;
	out[16] = regs->ip;
#endif
}

/* A copy sample: registers and raw stack, written at its real length. */
static __always_inline int sample_with_stack_copy(struct bpf_perf_event_data *ctx, __u64 pid_tgid)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct flare_cpu_sample_copy *s;
	struct pt_regs *regs;
	long n;

	s = bpf_map_lookup_elem(&flare_copy_scratch, &cpu);
	if (!s) {
		count_drop(FLARE_DROP_RINGBUF_FULL);
		return 0;
	}
	s->time_ns = bpf_ktime_get_ns();
	s->pid = pid_tgid >> 32;
	s->tid = (__u32)pid_tgid;
	s->cpu = cpu;
	s->user_stack_kind = FLARE_USER_STACK_COPY;
	s->reserved = 0;
	bpf_get_current_comm(s->comm, sizeof(s->comm));

	n = bpf_get_stack(ctx, s->kernel_ips, sizeof(s->kernel_ips), 0);
	if (n < 0)
		count_drop(FLARE_DROP_KERNEL_STACK);
	s->kernel_stack_bytes = n;

	/* The user registers saved at kernel entry, whichever mode was interrupted. */
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	fill_user_regs(s->user_regs, regs);
	n = copy_user_stack(s, s->user_regs[FLARE_USER_REG_SP]);
	if (n < 0) {
		count_drop(FLARE_DROP_USER_STACK);
		s->user_stack_bytes = n;
		n = 0;
	} else {
		s->user_stack_bytes = n;
	}
	if (n > FLARE_MAX_STACK_COPY)
		n = FLARE_MAX_STACK_COPY;
	if (bpf_ringbuf_output(&flare_samples, s, __builtin_offsetof(struct flare_cpu_sample_copy, stack) + n,
			       ring_flags()))
		count_drop(FLARE_DROP_RINGBUF_FULL);
	return 0;
}

SEC("perf_event")
int flare_sample(struct bpf_perf_event_data *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct flare_cpu_sample *sample;
	__u32 zero = 0;
	__u64 *runs;
	long n;

	/* The one thing done before the target filter: a per-CPU increment. */
	if ((__u32)pid_tgid != 0) {
		runs = bpf_map_lookup_elem(&flare_runs, &zero);
		if (runs)
			*runs += 1;
	}

	if (!bpf_map_lookup_elem(&flare_targets, &tgid))
		return 0;

	if (user_stack_kind == FLARE_USER_STACK_COPY)
		return sample_with_stack_copy(ctx, pid_tgid);

	sample = bpf_ringbuf_reserve(&flare_samples, sizeof(*sample), 0);
	if (!sample) {
		count_drop(FLARE_DROP_RINGBUF_FULL);
		return 0;
	}

	sample->time_ns = bpf_ktime_get_ns();
	sample->pid = tgid;
	sample->tid = (__u32)pid_tgid;
	sample->cpu = bpf_get_smp_processor_id();
	sample->user_stack_kind = FLARE_USER_STACK_FP;
	bpf_get_current_comm(sample->comm, sizeof(sample->comm));

	/* Empty (0 bytes) when the CPU was interrupted in user mode. */
	n = bpf_get_stack(ctx, sample->kernel_ips, sizeof(sample->kernel_ips), 0);
	if (n < 0)
		count_drop(FLARE_DROP_KERNEL_STACK);
	sample->kernel_stack_bytes = n;

	n = bpf_get_stack(ctx, sample->user_ips, sizeof(sample->user_ips), BPF_F_USER_STACK);
	if (n < 0)
		count_drop(FLARE_DROP_USER_STACK);
	sample->user_stack_bytes = n;

	bpf_ringbuf_submit(sample, ring_flags());
	return 0;
}
