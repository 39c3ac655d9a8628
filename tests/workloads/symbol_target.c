/* symbol_target: one thread busy in a function the compiler inlines, for the
 * symbolization tests (inline frames with their lines, split debug info,
 * mount namespaces, files deleted during the capture).
 *
 *   main -> symbol_target_outer -> symbol_target_inlined (always_inline)
 *
 * Almost all CPU time is spent in the loop of symbol_target_inlined, which
 * lives inside symbol_target_outer's machine code: a profiler shows it as an
 * inlined frame only if it reads DWARF's inlined subroutines.
 *
 * Usage: symbol_target [SECONDS]   (default 5; 1.0 CPU for that long)
 * Stdout (flushed), for tests to wait on and to compare with:
 *   lines inlined=N call=M   the source line of the inlined loop, and of the
 *                            call that was inlined (the truth for file:line)
 *   ready                    the busy loop is running
 *   done                     exiting 0
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "workload_pace.h"

static volatile unsigned long sink;
static volatile int inlined_line, call_line;

/* The loop and the line marker share one line, so "the inlined code's line"
 * has one true value. */
static inline __attribute__((always_inline)) void symbol_target_inlined(unsigned long n) {
	inlined_line = __LINE__; for (unsigned long i = 0; i < n; ++i) sink = sink * 31 + i;
}

WORKLOAD_FRAME void symbol_target_outer(unsigned long n)
{
	WORKLOAD_KEEP_FRAME();
	call_line = __LINE__; symbol_target_inlined(n);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 5.0;
	symbol_target_outer(1);
	printf("lines inlined=%d call=%d\n", inlined_line, call_line);
	printf("ready\n");
	fflush(stdout);
	double end = now_s() + seconds;
	while (now_s() < end)
		symbol_target_outer(2000000);
	printf("done\n");
	fflush(stdout);
	return 0;
}
