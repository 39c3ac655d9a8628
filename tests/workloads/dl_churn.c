/* dl_churn: a target that keeps loading new code and starting new threads,
 * for the flight recorder's bounded-memory test. Each cycle copies
 * libdl_churn.so to a new file, dlopens it, runs THREADS short-lived threads
 * in it (churn_thread_body), and dlcloses and deletes the copy of LAG cycles
 * ago. The address range an unloaded copy had is then reserved (PROT_NONE),
 * so the next copies load at new addresses, as libraries of a long-running
 * process do, rather than exactly where the last one was.
 *
 * Usage: dl_churn LIBRARY WORK_DIR START_FILE SECONDS
 * Waits until START_FILE exists, churns for SECONDS, then prints its truth:
 * "cycles N threads N short_sleeps N short_us N long_waits N long_ms N". */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "workload_pace.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

enum { THREADS = 4, LAG = 3, SPIN_MS = 4, SHORT_COUNT = 10, SHORT_US = 1000, LONG_MS = 30 };

typedef void (*thread_body_fn)(unsigned, unsigned, unsigned, unsigned);

struct loaded {
	void *handle;
	char path[512];
};

static char *read_whole(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *data = malloc((size_t)n);
	if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
		free(data);
		data = NULL;
	}
	fclose(f);
	*size = (size_t)n;
	return data;
}

static int write_copy(const char *path, const char *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (fd < 0)
		return -1;
	int ok = write(fd, data, size) == (ssize_t)size;
	close(fd);
	return ok ? 0 : -1;
}

/* The address range the library at `path` occupies, from /proc/self/maps. */
static int mapped_range(const char *path, uintptr_t *lo, uintptr_t *hi)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[1024];
	*lo = UINTPTR_MAX;
	*hi = 0;
	while (maps && fgets(line, sizeof(line), maps)) {
		if (!strstr(line, path))
			continue;
		unsigned long start, end;
		if (sscanf(line, "%lx-%lx", &start, &end) != 2)
			continue;
		if (start < *lo)
			*lo = start;
		if (end > *hi)
			*hi = end;
	}
	if (maps)
		fclose(maps);
	return *hi > *lo ? 0 : -1;
}

static void unload(struct loaded *l)
{
	uintptr_t lo, hi;
	int have_range = mapped_range(l->path, &lo, &hi) == 0;
	dlclose(l->handle);
	unlink(l->path);
	if (have_range)
		mmap((void *)lo, hi - lo, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	l->handle = NULL;
}

static thread_body_fn current_body;

static void *thread_main(void *arg)
{
	(void)arg;
	current_body(SPIN_MS, SHORT_COUNT, SHORT_US, LONG_MS);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: dl_churn LIBRARY WORK_DIR START_FILE SECONDS\n");
		return 2;
	}
	size_t size = 0;
	char *image = read_whole(argv[1], &size);
	if (!image) {
		perror(argv[1]);
		return 1;
	}
	while (access(argv[3], F_OK) != 0)
		usleep(10000);
	const int64_t end = pace_clock_ns(CLOCK_MONOTONIC) + (int64_t)atoi(argv[4]) * 1000 * WORKLOAD_NS_PER_MS;
	struct loaded ring[LAG] = { 0 };
	long cycles = 0, threads = 0;
	while (pace_clock_ns(CLOCK_MONOTONIC) < end) {
		struct loaded *slot = &ring[cycles % LAG];
		if (slot->handle)
			unload(slot);
		snprintf(slot->path, sizeof(slot->path), "%s/libchurn-%ld.so", argv[2], cycles);
		if (write_copy(slot->path, image, size) != 0) {
			perror(slot->path);
			return 1;
		}
		slot->handle = dlopen(slot->path, RTLD_NOW | RTLD_LOCAL);
		if (!slot->handle) {
			fprintf(stderr, "dlopen: %s\n", dlerror());
			return 1;
		}
		current_body = (thread_body_fn)dlsym(slot->handle, "churn_thread_body");
		if (!current_body) {
			fprintf(stderr, "dlsym: %s\n", dlerror());
			return 1;
		}
		pthread_t tids[THREADS];
		for (int i = 0; i < THREADS; i++) {
			if (pthread_create(&tids[i], NULL, thread_main, NULL) != 0) {
				perror("pthread_create");
				return 1;
			}
		}
		for (int i = 0; i < THREADS; i++)
			pthread_join(tids[i], NULL);
		threads += THREADS;
		cycles++;
	}
	for (int i = 0; i < LAG; i++) {
		if (ring[i].handle)
			unload(&ring[i]);
	}
	printf("cycles %ld threads %ld short_sleeps %ld short_us %d long_waits %ld long_ms %d\n", cycles, threads,
	       threads * SHORT_COUNT, SHORT_US, threads, LONG_MS);
	fflush(stdout);
	free(image);
	return 0;
}
