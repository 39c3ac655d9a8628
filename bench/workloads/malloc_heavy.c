/* malloc_heavy: a fixed number of malloc/free (and some calloc/realloc)
 * operations on a working set of live blocks, with a little work on each
 * block, on N threads (default 1). Sizes are skewed small, like a typical
 * C/C++ heap: 16..256 bytes mostly, up to 16 KiB rarely.
 *
 * Usage: bench_malloc [--threads N] [--ops N]   (operations per thread)
 * Protocol: see bench_workload.h. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>

#include "bench_workload.h"

#define LIVE_SLOTS 4096

static volatile uint64_t sink;
static uint64_t ops_per_thread;
static pthread_barrier_t go;

static inline uint64_t next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t pick_size(uint64_t r)
{
	unsigned bucket = (unsigned)(r & 63);
	if (bucket < 48) return 16 + (r >> 8) % 240;   /* 75 %: 16..255 B */
	if (bucket < 62) return 256 + (r >> 8) % 3840; /* 22 %: 256 B..4 KiB */
	return 4096 + (r >> 8) % 12288;                /*  3 %: 4..16 KiB */
}

BENCH_FRAME void *make_block(uint64_t r)
{
	size_t size = pick_size(r);
	unsigned char *p = (r >> 40) % 8 == 0 ? calloc(1, size) : malloc(size);
	if (!p) abort();
	p[0] = (unsigned char)r;
	p[size - 1] = (unsigned char)(r >> 8);
	return p;
}

BENCH_FRAME void *grow_block(void *p, uint64_t r)
{
	size_t size = pick_size(r) + 64;
	unsigned char *q = realloc(p, size);
	if (!q) abort();
	q[size - 1] = 1;
	return q;
}

/* The live set of each thread stays allocated after the work phase (until
 * exit), so an allocation profiler's final report has known outstanding
 * blocks: LIVE_SLOTS per thread. */
static void *live_sets[256][LIVE_SLOTS];

BENCH_FRAME uint64_t churn(void **live, uint64_t ops, uint64_t seed)
{
	uint64_t s = seed | 1, acc = 0;
	for (uint64_t i = 0; i < ops; i++) {
		uint64_t r = next_random(&s);
		unsigned slot = (unsigned)(r >> 20) % LIVE_SLOTS;
		if (live[slot] && (r >> 50) % 16 == 0) {
			live[slot] = grow_block(live[slot], r);
		} else {
			free(live[slot]);
			live[slot] = make_block(r);
		}
		acc += *(unsigned char *)live[slot];
	}
	return acc;
}

BENCH_FRAME void *worker_main(void *arg)
{
	uintptr_t index = (uintptr_t)arg;
	char name[16];
	snprintf(name, sizeof name, "malloc_worker%u", (unsigned)index);
	pthread_setname_np(pthread_self(), name);
	pthread_barrier_wait(&go);
	sink = churn(live_sets[index], ops_per_thread, 0x9e3779b97f4a7c15ULL + index);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = (int)bench_arg_u64(argc, argv, "--threads", 1);
	ops_per_thread = bench_arg_u64(argc, argv, "--ops", 1000000);
	if (threads < 1 || threads > 256) {
		fprintf(stderr, "%s: --threads must be 1..256\n", argv[0]);
		return 2;
	}
	pthread_t tids[256];
	pthread_barrier_init(&go, NULL, (unsigned)threads + 1);
	for (int i = 0; i < threads; i++) pthread_create(&tids[i], NULL, worker_main, (void *)(uintptr_t)i);

	bench_wait_start();
	struct bench_phase phase;
	bench_phase_begin(&phase);
	pthread_barrier_wait(&go);
	for (int i = 0; i < threads; i++) pthread_join(tids[i], NULL);
	bench_phase_end(&phase, "malloc", ops_per_thread * (uint64_t)threads, threads);
	return 0;
}
