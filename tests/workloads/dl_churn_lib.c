/* libdl_churn.so: the code dl_churn loads, runs on short-lived threads and
 * unloads again, over and over, each time from a fresh copy of this file (a
 * new file, so a profiler that never forgets a library keeps one more open
 * per load). Built without a build-id, so copies are not one build to it.
 *
 * Chain of every long wait: churn_thread_body (exported) -> churn_long_wait
 * -> nanosleep. The short sleeps (churn_short_sleeps) are shorter than the
 * tests' --offcpu-min, so they are only totalled. */
#include <stdint.h>
#include <time.h>

#include "workload_pace.h"

static volatile uint64_t churn_sink;

WORKLOAD_FRAME static void churn_sleep_us(unsigned us)
{
	WORKLOAD_KEEP_FRAME();
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) != 0) {
	}
}

WORKLOAD_FRAME static void churn_short_sleeps(unsigned count, unsigned us)
{
	WORKLOAD_KEEP_FRAME();
	for (unsigned i = 0; i < count; i++)
		churn_sleep_us(us);
}

WORKLOAD_FRAME static void churn_long_wait(unsigned ms)
{
	WORKLOAD_KEEP_FRAME();
	churn_sleep_us(ms * 1000);
}

WORKLOAD_FRAME static void churn_spin(unsigned ms)
{
	WORKLOAD_KEEP_FRAME();
	const int64_t start = pace_clock_ns(CLOCK_THREAD_CPUTIME_ID);
	uint64_t x = (uint64_t)start;
	while (pace_clock_ns(CLOCK_THREAD_CPUTIME_ID) - start < (int64_t)ms * WORKLOAD_NS_PER_MS) {
		for (int i = 0; i < 1000; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			__asm__ volatile("" : "+r"(x));
		}
	}
	churn_sink = x;
}

/* One thread's work: a little CPU, `short_count` sleeps of `short_us`, then
 * one wait of `long_ms`. */
__attribute__((visibility("default"))) WORKLOAD_FRAME void churn_thread_body(unsigned spin_ms, unsigned short_count,
									       unsigned short_us, unsigned long_ms)
{
	churn_spin(spin_ms);
	churn_short_sleeps(short_count, short_us);
	churn_long_wait(long_ms);
}
