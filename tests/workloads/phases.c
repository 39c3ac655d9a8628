/* phases: one thread that runs phase f1, then phase f2, for checking that a
 * time range of a recording shows only what ran in it (flare view's
 * timeline selection).
 *
 *   0 .. P ms      phase_f1 -> f1_spin_leaf   on CPU the whole time
 *   P .. 2P ms     phase_f2 -> f2_spin_leaf   10 ms on CPU, 10 ms asleep
 *                  (nanosleep), so the phase also has off-CPU intervals
 *
 * P is --phase-ms (default 1000), measured from the start of main. The
 * process prints "done" and exits 0 after both phases.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "workload_pace.h"

#define LEAF_ITERATIONS 100000

static volatile uint64_t sink;

/* Two leaves with their own symbols (and constants, so no folding). */
#define SPIN_LEAF(name, mul, add)                              \
	WORKLOAD_FRAME uint64_t name(uint64_t x)                   \
	{                                                          \
		WORKLOAD_KEEP_FRAME();                                 \
		for (int i = 0; i < LEAF_ITERATIONS; i++) {            \
			x = x * (mul) + (add);                         \
			__asm__ volatile("" : "+r"(x));                \
		}                                                      \
		return x;                                              \
	}

SPIN_LEAF(f1_spin_leaf, 6364136223846793005ULL, 1442695040888963407ULL)
SPIN_LEAF(f2_spin_leaf, 2862933555777941757ULL, 3037000493ULL)

WORKLOAD_FRAME void phase_f1(int64_t until_ns)
{
	uint64_t x = sink;
	while (pace_clock_ns(CLOCK_MONOTONIC) < until_ns)
		x = f1_spin_leaf(x);
	sink = x;
}

WORKLOAD_FRAME void phase_f2(int64_t until_ns)
{
	uint64_t x = sink;
	const struct timespec nap = { 0, 10 * WORKLOAD_NS_PER_MS };
	while (pace_clock_ns(CLOCK_MONOTONIC) < until_ns) {
		int64_t busy_until = pace_clock_ns(CLOCK_MONOTONIC) + 10 * WORKLOAD_NS_PER_MS;
		while (pace_clock_ns(CLOCK_MONOTONIC) < busy_until)
			x = f2_spin_leaf(x);
		nanosleep(&nap, NULL);
	}
	sink = x;
}

int main(int argc, char **argv)
{
	long phase_ms = 1000;
	if (argc == 3 && !strcmp(argv[1], "--phase-ms")) {
		phase_ms = strtol(argv[2], NULL, 10);
	} else if (argc != 1) {
		fputs("usage: phases [--phase-ms N]\n", stderr);
		return 2;
	}
	const int64_t start = pace_clock_ns(CLOCK_MONOTONIC);
	phase_f1(start + phase_ms * WORKLOAD_NS_PER_MS);
	phase_f2(start + 2 * phase_ms * WORKLOAD_NS_PER_MS);
	puts("done");
	return 0;
}
