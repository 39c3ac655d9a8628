/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Records of the CPU sampler family, shared by bpf/cpu_sampler.bpf.c and the
 * agent. Fixed-width fields only; the layout is static-asserted on both
 * sides so a change to one side cannot silently misread the other.
 */
#ifndef FLARE_BPF_CPU_SAMPLE_H
#define FLARE_BPF_CPU_SAMPLE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#ifdef __cplusplus
#define FLARE_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define FLARE_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* bpf_get_stack() is capped by kernel.perf_event_max_stack (127 by default). */
#define FLARE_MAX_USER_FRAMES 127
#define FLARE_MAX_KERNEL_FRAMES 64
#define FLARE_MAX_TARGETS 1024
#define FLARE_COMM_LEN 16

/* Why a sample was lost or degraded; indexes the per-CPU flare_drops map. */
enum flare_drop_cause {
	FLARE_DROP_RINGBUF_FULL = 0,
	FLARE_DROP_USER_STACK = 1,
	FLARE_DROP_KERNEL_STACK = 2,
	FLARE_DROP_MAX = 3,
};

/*
 * How a sample carries its user stack (flare_cpu_sample.user_stack_kind).
 * Frame-pointer samples hold return addresses from bpf_get_stack(); copy
 * samples hold the user registers and a window of raw stack memory, which the
 * agent unwinds with the binaries' CFI and then discards.
 */
enum flare_user_stack_kind {
	FLARE_USER_STACK_FP = 0,
	FLARE_USER_STACK_COPY = 1,
};

/* x86-64 DWARF register numbering: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip. */
#define FLARE_USER_REGS 17
#define FLARE_USER_REG_BP 6
#define FLARE_USER_REG_SP 7
#define FLARE_USER_REG_IP 16
/* The largest stack window a copy sample may carry (perf's limit is ~64 KiB). */
#define FLARE_MAX_STACK_COPY 65536
#define FLARE_STACK_PAGE 4096

struct flare_cpu_sample {
	__u64 time_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 pid;     /* tgid */
	__u32 tid;
	__u32 cpu;
	__s32 user_stack_bytes;   /* bytes of user_ips filled, or -errno */
	__s32 kernel_stack_bytes; /* bytes of kernel_ips filled, or -errno */
	__u32 user_stack_kind;    /* enum flare_user_stack_kind: FP here */
	char comm[FLARE_COMM_LEN];
	__u64 kernel_ips[FLARE_MAX_KERNEL_FRAMES];
	__u64 user_ips[FLARE_MAX_USER_FRAMES];
};

/*
 * A sample whose user stack is a copy of stack memory. The first fields are
 * those of flare_cpu_sample, so the agent reads the header and kernel stack
 * the same way; the record is only as long as the bytes copied
 * (offsetof(stack) + user_stack_bytes).
 */
struct flare_cpu_sample_copy {
	__u64 time_ns;
	__u32 pid;
	__u32 tid;
	__u32 cpu;
	__s32 user_stack_bytes;   /* bytes of stack copied from user_regs[SP], or -errno */
	__s32 kernel_stack_bytes;
	__u32 user_stack_kind;    /* FLARE_USER_STACK_COPY */
	char comm[FLARE_COMM_LEN];
	__u64 kernel_ips[FLARE_MAX_KERNEL_FRAMES];
	__u64 user_regs[FLARE_USER_REGS];
	__u64 reserved;
	__u8 stack[FLARE_MAX_STACK_COPY];
};

FLARE_STATIC_ASSERT(sizeof(struct flare_cpu_sample) ==
			    48 + 8 * (FLARE_MAX_KERNEL_FRAMES + FLARE_MAX_USER_FRAMES),
		    "flare_cpu_sample layout changed");
FLARE_STATIC_ASSERT(__builtin_offsetof(struct flare_cpu_sample, kernel_ips) == 48,
		    "flare_cpu_sample header layout changed");
FLARE_STATIC_ASSERT(__builtin_offsetof(struct flare_cpu_sample_copy, kernel_ips) == 48,
		    "flare_cpu_sample_copy header must match flare_cpu_sample");
FLARE_STATIC_ASSERT(__builtin_offsetof(struct flare_cpu_sample_copy, user_stack_kind) ==
			    __builtin_offsetof(struct flare_cpu_sample, user_stack_kind),
		    "user_stack_kind must sit at the same offset in both records");
FLARE_STATIC_ASSERT(__builtin_offsetof(struct flare_cpu_sample_copy, stack) ==
			    48 + 8 * (FLARE_MAX_KERNEL_FRAMES + FLARE_USER_REGS + 1),
		    "flare_cpu_sample_copy layout changed");

#endif /* FLARE_BPF_CPU_SAMPLE_H */
