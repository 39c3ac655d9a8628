/* many_stacks: CPU work on N threads (default 4) spread over a few hundred
 * distinct call stacks, for as many seconds as asked: the "realistic
 * workload" of the recording-size budget (docs/PERFORMANCE.md), where a
 * profile holds hundreds of stacks, not the handful of cpu_bound.c.
 *
 * Sixteen functions f0..f15 call each other along fixed paths. The paths
 * are drawn once from a seeded PRNG (the same seed gives the same paths, so
 * runs are comparable) and grown like a real call tree: each new path
 * shares a prefix of random length with an earlier one and continues with a
 * random suffix, depth 5..20. Every unit of work walks one path, picked with
 * a triangular skew (some paths hot, all of them sampled over a minute), and
 * spins ~20 us in the path's last function, so each path is one leaf stack.
 *
 * Usage: bench_many_stacks [--threads N] [--seconds S] [--paths P] [--seed X]
 * Protocol: see bench_workload.h; ops = units of work done. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>

#include "bench_workload.h"

#define NFUNCS 16
#define MIN_DEPTH 5
#define MAX_DEPTH 20
#define MAX_PATHS 4096
#define SPIN_ROUNDS 5000

struct path {
	uint8_t len;
	uint8_t fn[MAX_DEPTH];
};

static struct path paths[MAX_PATHS];
static unsigned npaths;
static int64_t deadline_ns;
static volatile uint64_t sink;
static pthread_barrier_t go;

typedef uint64_t (*step_fn)(const struct path *p, int at, uint64_t x);
static step_fn steps[NFUNCS];

static inline uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Every f<n> is the same code with its own symbol: the last function of the
 * path spins (so the sampled pc is in it), the others call the next one.
 * The "+ n" after the call keeps it from being a tail call, so each caller
 * keeps its frame. */
#define DEFINE_STEP(n)                                                           \
	BENCH_FRAME uint64_t f##n(const struct path *p, int at, uint64_t x)      \
	{                                                                        \
		if (at + 1 >= p->len) {                                          \
			for (int i = 0; i < SPIN_ROUNDS; i++) {                  \
				x = x * 6364136223846793005ULL + (uint64_t)n;    \
				x ^= x >> 29;                                    \
				__asm__ volatile("" : "+r"(x));                  \
			}                                                        \
			return x;                                                \
		}                                                                \
		return steps[p->fn[at + 1]](p, at + 1, x) + n;                   \
	}

DEFINE_STEP(0) DEFINE_STEP(1) DEFINE_STEP(2) DEFINE_STEP(3)
DEFINE_STEP(4) DEFINE_STEP(5) DEFINE_STEP(6) DEFINE_STEP(7)
DEFINE_STEP(8) DEFINE_STEP(9) DEFINE_STEP(10) DEFINE_STEP(11)
DEFINE_STEP(12) DEFINE_STEP(13) DEFINE_STEP(14) DEFINE_STEP(15)

static void make_paths(uint64_t seed)
{
	step_fn all[NFUNCS] = {f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15};
	memcpy(steps, all, sizeof all);
	uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 1;
	for (unsigned i = 0; i < npaths; i++) {
		struct path *p = &paths[i];
		p->len = (uint8_t)(MIN_DEPTH + xorshift(&s) % (MAX_DEPTH - MIN_DEPTH + 1));
		unsigned shared = 0;
		if (i > 0) {
			/* Like a real call tree: most paths branch off an earlier one. */
			const struct path *base = &paths[xorshift(&s) % i];
			shared = (unsigned)(xorshift(&s) % base->len);
			if (shared >= p->len) shared = p->len - 1;
			memcpy(p->fn, base->fn, shared);
		}
		for (unsigned d = shared; d < p->len; d++) p->fn[d] = (uint8_t)(xorshift(&s) % NFUNCS);
	}
}

BENCH_FRAME uint64_t run_until_deadline(uint64_t seed, uint64_t *units)
{
	uint64_t s = seed, x = seed, n = 0;
	do {
		for (int k = 0; k < 64; k++, n++) {
			uint64_t a = xorshift(&s) % npaths, b = xorshift(&s) % npaths;
			const struct path *p = &paths[a < b ? a : b];
			x = steps[p->fn[0]](p, 0, x) + 1;
		}
	} while (bench_clock_ns(CLOCK_MONOTONIC) < deadline_ns);
	*units = n;
	return x;
}

static uint64_t thread_units[256];

BENCH_FRAME void *worker_main(void *arg)
{
	uintptr_t index = (uintptr_t)arg;
	char name[16];
	snprintf(name, sizeof name, "stacks_worker%u", (unsigned)index);
	pthread_setname_np(pthread_self(), name);
	pthread_barrier_wait(&go);
	sink = run_until_deadline(0x5eed0000 + index, &thread_units[index]);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = (int)bench_arg_u64(argc, argv, "--threads", 4);
	uint64_t seconds = bench_arg_u64(argc, argv, "--seconds", 10);
	npaths = (unsigned)bench_arg_u64(argc, argv, "--paths", 400);
	uint64_t seed = bench_arg_u64(argc, argv, "--seed", 1);
	if (threads < 1 || threads > 256 || npaths < 1 || npaths > MAX_PATHS || seconds < 1) {
		fprintf(stderr, "%s: need --threads 1..256, --paths 1..%d, --seconds >= 1\n", argv[0], MAX_PATHS);
		return 2;
	}
	make_paths(seed);

	pthread_t tids[256];
	pthread_barrier_init(&go, NULL, (unsigned)threads + 1);
	for (int i = 0; i < threads; i++) pthread_create(&tids[i], NULL, worker_main, (void *)(uintptr_t)i);

	bench_wait_start();
	struct bench_phase phase;
	bench_phase_begin(&phase);
	deadline_ns = phase.start_ns + (int64_t)seconds * 1000000000LL;
	pthread_barrier_wait(&go);
	uint64_t units = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(tids[i], NULL);
		units += thread_units[i];
	}
	bench_phase_end(&phase, "many_stacks", units, threads);
	return 0;
}
