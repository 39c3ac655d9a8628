/* exit_soon: a process that exits on its own after a short, known time, for
 * "target exits during attach / during capture" and spawn-mode exit status.
 *
 *   exit_soon [--after-ms N] [--status S] [--spin]
 *
 * Exits with status S (default 0) N ms (default 0) after start. With --spin
 * it burns CPU the whole time in main -> exit_soon_work -> exit_soon_leaf
 * (1.0 CPU), otherwise it sleeps. Last, it prints "cpu_ns=N": the CPU time
 * the process used, the truth for a capture that spans its whole run. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "workload_pace.h"

static volatile uint64_t sink;

WORKLOAD_FRAME uint64_t exit_soon_leaf(uint64_t x)
{
	WORKLOAD_KEEP_FRAME();
	for (int i = 0; i < 100000; i++) {
		x = x * 6364136223846793005ULL + 1ULL;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

WORKLOAD_FRAME uint64_t exit_soon_work(int64_t until_ns)
{
	uint64_t x = 7;
	while (pace_clock_ns(CLOCK_MONOTONIC) < until_ns)
		x = exit_soon_leaf(x);
	return x;
}

static long parse_long(const char *flag, const char *v)
{
	char *end = NULL;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || end == v || *end != '\0' || n < 0) {
		fprintf(stderr, "exit_soon: %s: not a non-negative integer: %s\n", flag, v);
		exit(2);
	}
	return n;
}

int main(int argc, char **argv)
{
	const int64_t start = pace_clock_ns(CLOCK_MONOTONIC);
	long after_ms = 0, status = 0;
	int spin = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--spin")) {
			spin = 1;
		} else if (!strcmp(argv[i], "--after-ms") && i + 1 < argc) {
			after_ms = parse_long(argv[i], argv[i + 1]);
			i++;
		} else if (!strcmp(argv[i], "--status") && i + 1 < argc) {
			status = parse_long(argv[i], argv[i + 1]);
			i++;
		} else {
			fputs("usage: exit_soon [--after-ms N] [--status S] [--spin]\n", stderr);
			return 2;
		}
	}
	const int64_t until = start + after_ms * WORKLOAD_NS_PER_MS;
	if (spin) {
		sink = exit_soon_work(until);
	} else {
		struct timespec ts = { until / 1000000000LL, until % 1000000000LL };
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
	}
	printf("cpu_ns=%lld\n", (long long)pace_clock_ns(CLOCK_PROCESS_CPUTIME_ID));
	fflush(stdout);
	return (int)status;
}
