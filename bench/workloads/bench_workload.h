/* The protocol every benchmark workload follows, so scripts/bench-overhead
 * can treat them alike:
 *
 *   1. set up (threads created, memory touched), then print
 *        ready pid=<pid>
 *      on stdout and block reading one byte from stdin: the start barrier.
 *      The harness attaches a profiler meanwhile and releases the barrier
 *      only once it is attached, so a profiler's start-up (bcc compiling its
 *      BPF program, perf opening its events) is not part of the timed phase.
 *   2. do a fixed amount of work, timed with CLOCK_MONOTONIC, then print
 *        result workload=<name> work_ns=<wall ns> cpu_ns=<process CPU ns>
 *               ops=<units of work> threads=<n> ctx_switches=<n>
 *      (one line; ctx_switches counts voluntary + involuntary switches of
 *      the whole process during the work phase).
 *   3. block on stdin again (a byte or EOF) before exiting, so a profiler
 *      that symbolizes at the end still finds the process alive.
 *
 * EOF at the start barrier means "no harness": the work starts at once,
 * e.g. `bench_cpu_fp </dev/null`. */
#ifndef FLARE_BENCH_WORKLOAD_H
#define FLARE_BENCH_WORKLOAD_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_attribute)
#if __has_attribute(noipa)
/* Keeps every function a real frame with its own symbol: no inlining, no
 * cloning, no identical-code folding. */
#define BENCH_FRAME __attribute__((noinline, noipa, used))
#endif
#endif
#ifndef BENCH_FRAME
#define BENCH_FRAME __attribute__((noinline, used))
#endif

struct bench_phase {
	int64_t start_ns;
	int64_t cpu_start_ns;
	long switches_start;
};

static inline int64_t bench_clock_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline long bench_switches(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_nvcsw + ru.ru_nivcsw;
}

/* Prints "ready" and blocks until the harness releases the barrier. */
static inline void bench_wait_start(void)
{
	printf("ready pid=%d\n", (int)getpid());
	fflush(stdout);
	char c;
	ssize_t n;
	do {
		n = read(STDIN_FILENO, &c, 1);
	} while (n < 0);
}

static inline void bench_phase_begin(struct bench_phase *p)
{
	p->switches_start = bench_switches();
	p->cpu_start_ns = bench_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	p->start_ns = bench_clock_ns(CLOCK_MONOTONIC);
}

/* Prints the result line, then holds the process until stdin says so. */
static inline void bench_phase_end(const struct bench_phase *p, const char *name, uint64_t ops, int threads)
{
	int64_t work_ns = bench_clock_ns(CLOCK_MONOTONIC) - p->start_ns;
	int64_t cpu_ns = bench_clock_ns(CLOCK_PROCESS_CPUTIME_ID) - p->cpu_start_ns;
	long switches = bench_switches() - p->switches_start;
	printf("result workload=%s work_ns=%lld cpu_ns=%lld ops=%llu threads=%d ctx_switches=%ld\n", name,
	       (long long)work_ns, (long long)cpu_ns, (unsigned long long)ops, threads, switches);
	fflush(stdout);
	char c;
	ssize_t n;
	do {
		n = read(STDIN_FILENO, &c, 1);
	} while (n < 0);
}

/* "--name VALUE" as an unsigned number; exits with usage status 2 on junk. */
static inline uint64_t bench_arg_u64(int argc, char **argv, const char *name, uint64_t fallback)
{
	for (int i = 1; i + 1 < argc; i++) {
		if (strcmp(argv[i], name) == 0) {
			char *end = NULL;
			unsigned long long v = strtoull(argv[i + 1], &end, 10);
			if (!end || *end) {
				fprintf(stderr, "%s: bad value for %s: %s\n", argv[0], name, argv[i + 1]);
				exit(2);
			}
			return v;
		}
	}
	return fallback;
}

#endif
