/* alloc_chains: an allocation workload whose byte totals are known, for
 * checking what an allocation profiler reports against the truth.
 *
 * Functions (each keeps its frame, see CMakeLists.txt), split over two
 * threads, alloc_t0 and alloc_t1, each doing half of A and B:
 *
 *   alloc_a  200 MiB in 1 KiB blocks (malloc), each batch of 1024 freed
 *            right away: nothing of it is in use at the end
 *   alloc_b  600 MiB in 64 KiB blocks (malloc), every other block freed
 *            at once: 300 MiB in use at the end (never freed)
 *   alloc_c  (thread alloc_t0 only) grows one buffer by realloc from 4 KiB to
 *            4 MiB in 4 KiB steps, starting with realloc(NULL): every call is
 *            an allocation of its new size (the old block is freed); the
 *            final 4 MiB stay in use
 *
 * Blocks are written to (so neither the compiler nor the allocator can drop
 * them) and kept in a global array until the end; nothing is freed at exit.
 *
 * Output (stdout): one line per function with its truth,
 *   truth func=alloc_a count=N bytes=N inuse=N
 * and "done" last. Exit status 0. */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workload_pace.h"

#define KIB 1024ULL
#define MIB (1024ULL * KIB)

#define A_BLOCK (1 * KIB)
#define A_TOTAL (200 * MIB)
#define A_BATCH 1024
#define B_BLOCK (64 * KIB)
#define B_TOTAL (600 * MIB)
#define C_STEP (4 * KIB)
#define C_MAX (4 * MIB)

#define B_BLOCKS (B_TOTAL / B_BLOCK)

static void *b_kept[B_BLOCKS / 2 + 2];
static volatile size_t b_kept_n;
static pthread_mutex_t b_lock = PTHREAD_MUTEX_INITIALIZER;
static void *volatile c_buffer;

WORKLOAD_FRAME void alloc_a(uint64_t blocks)
{
	void *batch[A_BATCH];

	for (uint64_t done = 0; done < blocks; done += A_BATCH) {
		for (int i = 0; i < A_BATCH; i++) {
			batch[i] = malloc(A_BLOCK);
			memset(batch[i], 0xa, 16);
		}
		for (int i = 0; i < A_BATCH; i++)
			free(batch[i]);
	}
}

WORKLOAD_FRAME void alloc_b(uint64_t blocks)
{
	for (uint64_t i = 0; i < blocks; i++) {
		char *p = malloc(B_BLOCK);

		memset(p, 0xb, 16);
		if (i % 2) {
			free(p);
			continue;
		}
		pthread_mutex_lock(&b_lock);
		b_kept[b_kept_n++] = p;
		pthread_mutex_unlock(&b_lock);
	}
}

WORKLOAD_FRAME void alloc_c(void)
{
	char *buf = NULL;

	for (uint64_t size = C_STEP; size <= C_MAX; size += C_STEP) {
		buf = realloc(buf, size);
		buf[size - 1] = 1;
	}
	c_buffer = buf;
}

WORKLOAD_FRAME void *thread_t0(void *arg)
{
	(void)arg;
	alloc_a(A_TOTAL / A_BLOCK / 2);
	alloc_b(B_BLOCKS / 2);
	alloc_c();
	return NULL;
}

WORKLOAD_FRAME void *thread_t1(void *arg)
{
	(void)arg;
	alloc_b(B_BLOCKS / 2);
	alloc_a(A_TOTAL / A_BLOCK / 2);
	return NULL;
}

int main(void)
{
	pthread_t t0, t1;
	uint64_t c_count = C_MAX / C_STEP, c_bytes = 0;

	pthread_create(&t0, NULL, thread_t0, NULL);
	pthread_setname_np(t0, "alloc_t0");
	pthread_create(&t1, NULL, thread_t1, NULL);
	pthread_setname_np(t1, "alloc_t1");
	pthread_join(t0, NULL);
	pthread_join(t1, NULL);

	for (uint64_t size = C_STEP; size <= C_MAX; size += C_STEP)
		c_bytes += size;
	printf("truth func=alloc_a count=%llu bytes=%llu inuse=0\n", (unsigned long long)(A_TOTAL / A_BLOCK),
	       (unsigned long long)A_TOTAL);
	printf("truth func=alloc_b count=%llu bytes=%llu inuse=%llu\n", (unsigned long long)B_BLOCKS,
	       (unsigned long long)B_TOTAL, (unsigned long long)(b_kept_n * B_BLOCK));
	printf("truth func=alloc_c count=%llu bytes=%llu inuse=%llu\n", (unsigned long long)c_count,
	       (unsigned long long)c_bytes, (unsigned long long)C_MAX);
	printf("done\n");
	fflush(stdout);
	return 0;
}
