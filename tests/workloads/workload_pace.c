#include "workload_pace.h"

#include <errno.h>

int64_t pace_clock_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void pace_start_period(struct pace *p, int64_t start_ns)
{
	p->cpu_start_ns = pace_clock_ns(CLOCK_THREAD_CPUTIME_ID);
	p->period_start_ns = pace_clock_ns(CLOCK_MONOTONIC);
	p->period_end_ns = start_ns + p->period_ns;
}

void pace_init(struct pace *p, int64_t period_ns, int64_t busy_ns)
{
	p->period_ns = period_ns;
	p->busy_ns = busy_ns;
	pace_start_period(p, pace_clock_ns(CLOCK_MONOTONIC));
}

int pace_busy(const struct pace *p)
{
	const int64_t now = pace_clock_ns(CLOCK_MONOTONIC);
	/* Stop at the period end even if starved, so a preempted thread does
	 * not build up debt and later burst above its share. */
	if (now >= p->period_end_ns)
		return 0;
	/* A thread cannot have used more CPU than wall time has passed, so the
	 * thread clock (a syscall, not vDSO, and costly in a VM) is only read
	 * once the wall-clock budget is used up: about once per period unless
	 * the thread was preempted. */
	if (now - p->period_start_ns < p->busy_ns)
		return 1;
	return pace_clock_ns(CLOCK_THREAD_CPUTIME_ID) - p->cpu_start_ns < p->busy_ns;
}

void pace_next(struct pace *p)
{
	struct timespec ts = {
		.tv_sec = p->period_end_ns / 1000000000LL,
		.tv_nsec = p->period_end_ns % 1000000000LL,
	};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
	int64_t now = pace_clock_ns(CLOCK_MONOTONIC);
	/* Fell more than a period behind (e.g. stopped under a debugger):
	 * restart from now instead of catching up. */
	int64_t start = now - p->period_end_ns > p->period_ns ? now : p->period_end_ns;
	pace_start_period(p, start);
}
