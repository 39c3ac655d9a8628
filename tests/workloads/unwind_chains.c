/* unwind_chains: call chains that frame-pointer unwinding gets wrong, for
 * checking flare's CFI unwinder against the truth. Built twice from this
 * source (tests/workloads/CMakeLists.txt):
 *
 *   unwind_nofp  -O2 -fomit-frame-pointer: no function keeps a frame pointer,
 *                as in most distribution binaries
 *   unwind_fp    -O2 -fno-omit-frame-pointer -momit-leaf-frame-pointer: every
 *                function keeps a frame pointer except leaf functions, as gcc
 *                builds them at -O1+ unless told otherwise
 *
 * Threads and their chains (entry first, leaf last), each paced to a fixed
 * CPU share (workload_pace.h) so a capture gets enough samples of each:
 *
 *   chain_a  ca_entry -> ca_level1 -> ca_level2 -> ca_level3 -> ca_leaf   (0.25 CPU)
 *   chain_b  cb_entry -> cb_level1 -> cb_level2 -> cb_level3 -> cb_leaf   (0.15 CPU)
 *   leaf     lf_entry -> lf_level1 -> lf_caller -> lf_leaf                (0.15 CPU)
 *            lf_leaf calls nothing and uses no stack: no frame of its own
 *            in unwind_fp, so a frame-pointer walk from it skips lf_caller
 *   sorter   so_entry -> so_sort_caller -> qsort (libc) -> ... -> so_compare  (0.15 CPU)
 *            the comparator does the work, so samples land in it below libc
 *   deep     dp_entry -> dp_recurse x DEEP_FRAMES -> dp_leaf                (0.15 CPU)
 *   jit      jt_entry -> jt_level1 -> [JIT stub] -> jt_inner -> jt_leaf     (0.15 CPU)
 *            the stub is machine code written at run time into anonymous
 *            memory: no symbol, no CFI, but a frame-pointer frame, as JIT
 *            compilers emit
 *
 * Every non-leaf function does work after its call returns, so no call is a
 * tail call (the caller's frame is really on the stack when the leaf runs).
 *
 * Usage: unwind_chains [--seconds S]   (default 20)
 * Prints "ready" (flushed) once every thread is named and running, "done"
 * at the end.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "workload_pace.h"

#define PERIOD_NS (200 * WORKLOAD_NS_PER_MS)
#define LEAF_ITERATIONS 100000
#define DEEP_FRAMES 300
#define SORT_ELEMENTS 64
#define COMPARE_ITERATIONS 2000

static atomic_int stop_flag;
static atomic_int threads_ready;
static volatile uint64_t sink;

/* Keeps a value alive and the call before it a real call, not a jump. */
#define AFTER_CALL(v) (sink += (uint64_t)(v))

#define LEAF_WORK(seed)                                          \
	uint64_t x = (seed);                                     \
	for (int i = 0; i < LEAF_ITERATIONS; i++)                \
		x = x * 6364136223846793005ull + 1442695040888963407ull; \
	return x

/* ---- chain_a / chain_b: five-deep chains ---- */

WORKLOAD_FRAME uint64_t ca_leaf(uint64_t seed) { LEAF_WORK(seed); }
WORKLOAD_FRAME uint64_t ca_level3(struct pace *p)
{
	uint64_t r = 0;
	while (pace_busy(p))
		r += ca_leaf(r);
	AFTER_CALL(r);
	return r;
}
WORKLOAD_FRAME uint64_t ca_level2(struct pace *p) { uint64_t r = ca_level3(p); AFTER_CALL(r); return r + 1; }
WORKLOAD_FRAME uint64_t ca_level1(struct pace *p) { uint64_t r = ca_level2(p); AFTER_CALL(r); return r + 1; }

WORKLOAD_FRAME uint64_t cb_leaf(uint64_t seed) { LEAF_WORK(seed ^ 0x5bd1e995); }
WORKLOAD_FRAME uint64_t cb_level3(struct pace *p)
{
	uint64_t r = 0;
	while (pace_busy(p))
		r += cb_leaf(r);
	AFTER_CALL(r);
	return r;
}
WORKLOAD_FRAME uint64_t cb_level2(struct pace *p) { uint64_t r = cb_level3(p); AFTER_CALL(r); return r + 1; }
WORKLOAD_FRAME uint64_t cb_level1(struct pace *p) { uint64_t r = cb_level2(p); AFTER_CALL(r); return r + 1; }

/* ---- leaf: a frameless hot leaf ---- */

WORKLOAD_FRAME uint64_t lf_leaf(uint64_t seed) { LEAF_WORK(seed ^ 0x9e3779b9); }
WORKLOAD_FRAME uint64_t lf_caller(struct pace *p)
{
	uint64_t r = 0;
	while (pace_busy(p))
		r += lf_leaf(r);
	AFTER_CALL(r);
	return r;
}
WORKLOAD_FRAME uint64_t lf_level1(struct pace *p) { uint64_t r = lf_caller(p); AFTER_CALL(r); return r + 1; }

/* ---- sorter: the work happens in a comparator that libc's qsort calls ---- */

WORKLOAD_FRAME int so_compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a ^ *(const uint64_t *)b;
	for (int i = 0; i < COMPARE_ITERATIONS; i++)
		x = x * 6364136223846793005ull + 1;
	sink += x;
	return (*(const uint64_t *)a > *(const uint64_t *)b) - (*(const uint64_t *)a < *(const uint64_t *)b);
}
WORKLOAD_FRAME uint64_t so_sort_caller(struct pace *p)
{
	uint64_t values[SORT_ELEMENTS];
	uint64_t r = 0;
	while (pace_busy(p)) {
		for (int i = 0; i < SORT_ELEMENTS; i++)
			values[i] = (uint64_t)rand();
		qsort(values, SORT_ELEMENTS, sizeof(values[0]), so_compare);
		r += values[0];
	}
	AFTER_CALL(r);
	return r;
}

/* ---- deep: a DEEP_FRAMES-deep recursion ---- */

WORKLOAD_FRAME uint64_t dp_leaf(uint64_t seed) { LEAF_WORK(seed ^ 0x85ebca6b); }
WORKLOAD_FRAME uint64_t dp_recurse(struct pace *p, int depth)
{
	uint64_t r = 0;
	if (depth == 0) {
		while (pace_busy(p))
			r += dp_leaf(r);
	} else {
		r = dp_recurse(p, depth - 1);
	}
	AFTER_CALL(r);
	return r + 1;
}

/* ---- jit: a frame-pointer stub without CFI between two C functions ---- */

WORKLOAD_FRAME uint64_t jt_leaf(uint64_t seed) { LEAF_WORK(seed ^ 0xc2b2ae35); }
WORKLOAD_FRAME uint64_t jt_inner(struct pace *p)
{
	uint64_t r = 0;
	while (pace_busy(p))
		r += jt_leaf(r);
	AFTER_CALL(r);
	return r;
}

typedef uint64_t (*jit_fn)(struct pace *);
static jit_fn jit_stub;

/* push %rbp; mov %rsp,%rbp; movabs $jt_inner,%rax; call *%rax; pop %rbp; ret
 * (rdi, the argument, passes through untouched). */
static jit_fn make_jit_stub(void)
{
	unsigned char code[] = { 0x55, 0x48, 0x89, 0xe5, 0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xd0, 0x5d, 0xc3 };
	uint64_t target = (uint64_t)(uintptr_t)jt_inner;
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (page == MAP_FAILED)
		return NULL;
	memcpy(code + 6, &target, sizeof(target));
	memcpy(page, code, sizeof(code));
	if (mprotect(page, 4096, PROT_READ | PROT_EXEC) != 0)
		return NULL;
	return (jit_fn)page;
}

WORKLOAD_FRAME uint64_t jt_level1(struct pace *p) { uint64_t r = jit_stub(p); AFTER_CALL(r); return r + 1; }

/* ---- threads ---- */

struct worker {
	const char *name;
	int64_t busy_ns; /* per PERIOD_NS */
	uint64_t (*level1)(struct pace *);
};

WORKLOAD_FRAME uint64_t dp_level1(struct pace *p) { return dp_recurse(p, DEEP_FRAMES - 1); }

static void *run_worker(const struct worker *w)
{
	struct pace p;
	pthread_setname_np(pthread_self(), w->name);
	atomic_fetch_add(&threads_ready, 1);
	pace_init(&p, PERIOD_NS, w->busy_ns);
	while (!atomic_load(&stop_flag)) {
		AFTER_CALL(w->level1(&p));
		pace_next(&p);
	}
	return NULL;
}

static const struct worker workers[] = {
	{ "chain_a", 50 * WORKLOAD_NS_PER_MS, ca_level1 },
	{ "chain_b", 30 * WORKLOAD_NS_PER_MS, cb_level1 },
	{ "leaf", 30 * WORKLOAD_NS_PER_MS, lf_level1 },
	{ "sorter", 30 * WORKLOAD_NS_PER_MS, so_sort_caller },
	{ "deep", 30 * WORKLOAD_NS_PER_MS, dp_level1 },
	{ "jit", 30 * WORKLOAD_NS_PER_MS, jt_level1 },
};

WORKLOAD_FRAME void *ca_entry(void *arg) { void *r = run_worker(arg); AFTER_CALL(r); return r; }
WORKLOAD_FRAME void *cb_entry(void *arg) { void *r = run_worker(arg); AFTER_CALL(r); return r; }
WORKLOAD_FRAME void *lf_entry(void *arg) { void *r = run_worker(arg); AFTER_CALL(r); return r; }
WORKLOAD_FRAME void *so_entry(void *arg) { void *r = run_worker(arg); AFTER_CALL(r); return r; }
WORKLOAD_FRAME void *dp_entry(void *arg) { void *r = run_worker(arg); AFTER_CALL(r); return r; }
WORKLOAD_FRAME void *jt_entry(void *arg) { void *r = run_worker(arg); AFTER_CALL(r); return r; }

int main(int argc, char **argv)
{
	void *(*entries[])(void *) = { ca_entry, cb_entry, lf_entry, so_entry, dp_entry, jt_entry };
	const size_t n = sizeof(workers) / sizeof(workers[0]);
	pthread_t threads[sizeof(workers) / sizeof(workers[0])];
	double seconds = 20;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			seconds = atof(argv[++i]);
		} else {
			fprintf(stderr, "usage: %s [--seconds S]\n", argv[0]);
			return 2;
		}
	}
	jit_stub = make_jit_stub();
	if (!jit_stub) {
		perror("mapping the JIT stub");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (pthread_create(&threads[i], NULL, entries[i], (void *)&workers[i]) != 0) {
			perror("pthread_create");
			return 1;
		}
	}
	while (atomic_load(&threads_ready) < (int)n)
		usleep(1000);
	printf("ready\n");
	fflush(stdout);
	usleep((useconds_t)(seconds * 1e6));
	atomic_store(&stop_flag, 1);
	for (size_t i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
	printf("done\n");
	return 0;
}
