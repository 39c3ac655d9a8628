/* cpu_bound: fixed CPU work on N threads (default 2) through a known set of
 * call chains. Built twice from this file: bench_cpu_fp keeps frame pointers
 * everywhere, bench_cpu_nofp is -O2 -fomit-frame-pointer (so only DWARF or
 * other frame-pointer-less unwinding recovers its chains).
 *
 * Every unit of work is one leaf call of ~10 us reached through
 *   worker_main -> run_units -> dispatch_unit -> path_{alpha,beta,gamma,delta}
 *     -> descend (recursive, depth 2..13, varies per unit) -> leaf_{mix,float,table}
 * so a profile holds a few dozen distinct stacks of depth ~6 to ~20, like a
 * small real program rather than one hot loop.
 *
 * Usage: bench_cpu_fp [--threads N] [--units N]   (units per thread)
 * Protocol: see bench_workload.h. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>

#include "bench_workload.h"

#define LEAF_ROUNDS 2500

static volatile uint64_t sink;
static uint32_t table[4096];

BENCH_FRAME uint64_t leaf_mix(uint64_t x)
{
	for (int i = 0; i < LEAF_ROUNDS; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		x ^= x >> 29;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

BENCH_FRAME uint64_t leaf_float(uint64_t x)
{
	double a = (double)(x & 0xffff) + 1.0, b = 1.0000001;
	for (int i = 0; i < LEAF_ROUNDS / 2; i++) {
		a = a * b + 0.5;
		b = b * 0.9999999 + 1e-7;
		__asm__ volatile("" : "+x"(a), "+x"(b));
	}
	return x + (uint64_t)a;
}

BENCH_FRAME uint64_t leaf_table(uint64_t x)
{
	for (int i = 0; i < LEAF_ROUNDS; i++) {
		x += table[(x >> 7) & 4095];
		x = (x << 3) ^ (x >> 5) ^ (uint64_t)i;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

BENCH_FRAME uint64_t descend(uint64_t x, int depth)
{
	if (depth <= 0) {
		switch (x % 3) {
		case 0: return leaf_mix(x) + 1;
		case 1: return leaf_float(x) + 1;
		default: return leaf_table(x) + 1;
		}
	}
	/* Not a tail call: the addition after it keeps the frame. */
	return descend(x * 31 + (uint64_t)depth, depth - 1) + 1;
}

BENCH_FRAME uint64_t path_alpha(uint64_t x) { return descend(x, 2 + (int)(x % 4)) + 1; }
BENCH_FRAME uint64_t path_beta(uint64_t x) { return descend(x, 5 + (int)(x % 4)) + 2; }
BENCH_FRAME uint64_t path_gamma(uint64_t x) { return descend(x, 8 + (int)(x % 3)) + 3; }
BENCH_FRAME uint64_t path_delta(uint64_t x) { return descend(x, 11 + (int)(x % 3)) + 4; }

BENCH_FRAME uint64_t dispatch_unit(uint64_t unit, uint64_t x)
{
	switch ((unit * 2654435761u >> 8) & 3) {
	case 0: return path_alpha(x + unit);
	case 1: return path_beta(x + unit);
	case 2: return path_gamma(x + unit);
	default: return path_delta(x + unit);
	}
}

BENCH_FRAME uint64_t run_units(uint64_t units, uint64_t seed)
{
	uint64_t x = seed;
	for (uint64_t u = 0; u < units; u++) x = dispatch_unit(u, x) + 1;
	return x;
}

static uint64_t units_per_thread;
static pthread_barrier_t go;

BENCH_FRAME void *worker_main(void *arg)
{
	uintptr_t index = (uintptr_t)arg;
	char name[16];
	snprintf(name, sizeof name, "cpu_worker%u", (unsigned)index);
	pthread_setname_np(pthread_self(), name);
	pthread_barrier_wait(&go);
	/* Same seed in every thread: the same units, so threads do equal work
	 * and finish together (a profiler then sees both CPUs busy throughout). */
	sink = run_units(units_per_thread, 12345);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = (int)bench_arg_u64(argc, argv, "--threads", 2);
	units_per_thread = bench_arg_u64(argc, argv, "--units", 100000);
	if (threads < 1 || threads > 256) {
		fprintf(stderr, "%s: --threads must be 1..256\n", argv[0]);
		return 2;
	}
	for (int i = 0; i < 4096; i++) table[i] = (uint32_t)(i * 2654435761u);

	pthread_t tids[256];
	pthread_barrier_init(&go, NULL, (unsigned)threads + 1);
	for (int i = 0; i < threads; i++) pthread_create(&tids[i], NULL, worker_main, (void *)(uintptr_t)i);

	bench_wait_start();
	struct bench_phase phase;
	bench_phase_begin(&phase);
	pthread_barrier_wait(&go);
	for (int i = 0; i < threads; i++) pthread_join(tids[i], NULL);
	bench_phase_end(&phase, WORKLOAD_NAME, units_per_thread * (uint64_t)threads, threads);
	return 0;
}
