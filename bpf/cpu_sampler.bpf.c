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

	sample = bpf_ringbuf_reserve(&flare_samples, sizeof(*sample), 0);
	if (!sample) {
		count_drop(FLARE_DROP_RINGBUF_FULL);
		return 0;
	}

	sample->time_ns = bpf_ktime_get_ns();
	sample->pid = tgid;
	sample->tid = (__u32)pid_tgid;
	sample->cpu = bpf_get_smp_processor_id();
	sample->reserved = 0;
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

	bpf_ringbuf_submit(sample, bpf_ringbuf_query(&flare_samples, BPF_RB_AVAIL_DATA) >= wakeup_bytes
					   ? BPF_RB_FORCE_WAKEUP
					   : BPF_RB_NO_WAKEUP);
	return 0;
}
