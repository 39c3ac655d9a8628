/* Duty-cycle pacing shared by the bundled workloads.
 *
 * A paced thread works in fixed wall-clock periods: in each period it burns a
 * fixed amount of its own CPU time (CLOCK_THREAD_CPUTIME_ID), then sleeps to
 * the period's end. Measuring CPU time rather than wall time keeps the CPU
 * share exact even when the thread is preempted (it simply keeps working
 * later in the period), which is what the tests compare sample counts with.
 *
 * These helpers are called by a chain's innermost "level" function between
 * calls to its leaf; they return before the leaf runs again, so they only
 * show up on the (rare) stacks sampled while the clock is being read. */
#ifndef FLARE_WORKLOAD_PACE_H
#define FLARE_WORKLOAD_PACE_H

#include <stdint.h>
#include <time.h>

#if defined(__has_attribute)
#if __has_attribute(noipa)
/* noipa: no inlining, no cloning (.constprop/.isra names), no identical-code
 * folding, so each function keeps its own symbol and its own frame. */
#define WORKLOAD_FRAME __attribute__((noinline, noipa, used))
#endif
#endif
#ifndef WORKLOAD_FRAME
#define WORKLOAD_FRAME __attribute__((noinline, used))
#endif

/* gcc 12 on x86-64 omits the frame of a leaf function that needs no stack,
 * even with -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer (checked with
 * objdump). Frame-pointer unwinding from such a leaf skips its caller, so
 * every leaf starts with this: a volatile stack slot makes the function need a
 * frame, and with -fno-omit-frame-pointer that frame is built on %rbp. */
#define WORKLOAD_KEEP_FRAME()                  \
	volatile unsigned char frame_anchor_ = 0; \
	(void)frame_anchor_

#define WORKLOAD_NS_PER_MS 1000000LL

/* One period of a paced thread. */
struct pace {
	int64_t period_ns;
	int64_t busy_ns;       /* CPU time to burn per period */
	int64_t period_start_ns; /* CLOCK_MONOTONIC */
	int64_t period_end_ns;   /* CLOCK_MONOTONIC */
	int64_t cpu_start_ns;    /* CLOCK_THREAD_CPUTIME_ID at period start */
};

int64_t pace_clock_ns(clockid_t clock);
void pace_init(struct pace *p, int64_t period_ns, int64_t busy_ns);
/* Nonzero while the current period still owes CPU work. */
int pace_busy(const struct pace *p);
/* Sleeps to the end of the period and starts the next one. */
void pace_next(struct pace *p);

#endif
