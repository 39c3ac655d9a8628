/* fp_chains: a CPU workload whose call stacks and CPU shares are known, for
 * checking what a profiler reports against the truth.
 *
 * Threads and their chains (entry function first, leaf last; every function
 * keeps a frame pointer, see CMakeLists.txt):
 *
 *   worker_a     thread_a_entry -> a_level1 -> a_level2 -> a_level3 -> a_spin_leaf
 *                busy 150 ms of CPU in every 200 ms period  (0.75 CPU)
 *   worker_b     thread_b_entry -> b_level1 -> b_level2 -> b_level3 -> b_spin_leaf
 *                busy 50 ms of CPU in every 200 ms period   (0.25 CPU)
 *   worker_late  late_entry -> late_level1 -> late_spin_leaf
 *                (--late-thread-after S) busy 100 ms / 200 ms (0.50 CPU)
 *                from S seconds until the end
 *   worker_dl    dl_thread_entry -> flare_dl_spin -> dl_inner_leaf
 *                (--dlopen-after S --dlopen-lib PATH) the last two live in
 *                the dlopen'ed library; busy 50 ms / 100 ms (0.50 CPU) for
 *                1.5 s, then the library is dlclose'd
 *
 * So worker_a : worker_b CPU time is exactly 3 : 1, and with neither optional
 * thread the process keeps 1.0 CPU busy: a profiler sampling at F Hz for
 * T seconds should collect about T * F * 1.0 samples (T * F * 1.5 while
 * worker_late or worker_dl also runs). Almost all of each thread's time is in
 * its leaf; the level-3 function reads the clocks between leaf calls (< 1 %).
 *
 * --high-priority (tests use it; needs root) keeps those shares true on a
 * machine that is busy with other work: the process moves into its own session
 * (so its own scheduler autogroup, when kernel.sched_autogroup_enabled=1) and
 * sets both that autogroup's and its own nice value to -10 before starting
 * threads. Without it, competing sessions get equal CPU and worker_a, which
 * needs the most, falls short of its 0.75 CPU first. -10, not -20: enough to
 * win against a few busy sessions, not enough to starve kernel workers (two
 * instances at -20 filling both cores stalled a kworker for 30 s here). Do
 * not run several --high-priority instances that together fill every core.
 *
 * Progress lines on stdout (flushed), for tests to wait on:
 *   ready                 worker_a and worker_b are named and running
 *   late_started          worker_late is named and running
 *   dl_opened             the library is loaded and worker_dl is running
 *   dl_closed unmapped=1  dlclose done; 1 if the library left /proc/self/maps
 *   cpu_ns worker_a=N worker_b=N [worker_late=N] [worker_dl=N]
 *                         CPU time each worker thread used (its own
 *                         CLOCK_THREAD_CPUTIME_ID at its end), the truth for
 *                         captures that span the whole run (flare record --)
 *   done                  all threads joined, exiting 0
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "workload_pace.h"

/* Busy slices are many sampling periods long (10.1 ms at 99 Hz): with slices
 * about as long as the sampling period (the first version used 10 ms), any
 * phase relation between the sampling timer and the threads' wake-ups
 * decides whether a slice is sampled at all, and once cost worker_b two
 * thirds of its samples. With 50+ ms slices such an effect is bounded by one
 * sample per slice. */
#define PERIOD_NS (200 * WORKLOAD_NS_PER_MS)
/* One leaf call is ~100 us of pure arithmetic: long against the clock reads
 * between calls (a thread-CPU-time read is a syscall, ~1-2 us in a VM), short
 * against a 50 ms busy slice (the overshoot per period is < 0.3 %). */
#define LEAF_ITERATIONS 100000

static atomic_int stop_flag;
/* Each worker's own CPU time, stored by the worker when it ends. */
static int64_t cpu_ns_a, cpu_ns_b, cpu_ns_late, cpu_ns_dl;
/* Results of the leaves go here so the compiler cannot drop the work. */
static volatile uint64_t sink;

static struct {
	double seconds;
	double late_after; /* < 0: no late thread */
	double dlopen_after; /* < 0: no dlopen */
	const char *dlopen_lib;
	int ready_fd;
	int high_priority;
} opts = { 10.0, -1.0, -1.0, NULL, -1, 0 };

static pthread_mutex_t stdout_lock = PTHREAD_MUTEX_INITIALIZER;

static void announce(const char *line)
{
	pthread_mutex_lock(&stdout_lock);
	fputs(line, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&stdout_lock);
}

static int stopping(void)
{
	return atomic_load_explicit(&stop_flag, memory_order_relaxed);
}

/* ---- worker_a: 0.75 CPU ------------------------------------------------ */

WORKLOAD_FRAME uint64_t a_spin_leaf(uint64_t x)
{
	WORKLOAD_KEEP_FRAME();
	for (int i = 0; i < LEAF_ITERATIONS; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

WORKLOAD_FRAME uint64_t a_level3(uint64_t x)
{
	struct pace p;
	pace_init(&p, PERIOD_NS, 150 * WORKLOAD_NS_PER_MS);
	while (!stopping()) {
		while (pace_busy(&p))
			x = a_spin_leaf(x);
		pace_next(&p);
	}
	return x;
}

WORKLOAD_FRAME uint64_t a_level2(uint64_t x)
{
	return a_level3(x + 1) + 1;
}

WORKLOAD_FRAME uint64_t a_level1(uint64_t x)
{
	return a_level2(x + 1) + 1;
}

/* ---- worker_b: 0.25 CPU ------------------------------------------------ */

WORKLOAD_FRAME uint64_t b_spin_leaf(uint64_t x)
{
	WORKLOAD_KEEP_FRAME();
	for (int i = 0; i < LEAF_ITERATIONS; i++) {
		x = x * 2862933555777941757ULL + 3037000493ULL;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

WORKLOAD_FRAME uint64_t b_level3(uint64_t x)
{
	struct pace p;
	pace_init(&p, PERIOD_NS, 50 * WORKLOAD_NS_PER_MS);
	while (!stopping()) {
		while (pace_busy(&p))
			x = b_spin_leaf(x);
		pace_next(&p);
	}
	return x;
}

WORKLOAD_FRAME uint64_t b_level2(uint64_t x)
{
	return b_level3(x + 2) + 2;
}

WORKLOAD_FRAME uint64_t b_level1(uint64_t x)
{
	return b_level2(x + 2) + 2;
}

/* ---- worker_late: 0.5 CPU, started mid-run ----------------------------- */

WORKLOAD_FRAME uint64_t late_spin_leaf(uint64_t x)
{
	WORKLOAD_KEEP_FRAME();
	for (int i = 0; i < LEAF_ITERATIONS; i++) {
		x = x * 3202034522624059733ULL + 4354685564936845319ULL;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

WORKLOAD_FRAME uint64_t late_level1(uint64_t x)
{
	struct pace p;
	pace_init(&p, PERIOD_NS, 100 * WORKLOAD_NS_PER_MS);
	while (!stopping()) {
		while (pace_busy(&p))
			x = late_spin_leaf(x);
		pace_next(&p);
	}
	return x;
}

/* ---- thread entries ---------------------------------------------------- */

static pthread_barrier_t start_barrier;

WORKLOAD_FRAME void *thread_a_entry(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "worker_a");
	pthread_barrier_wait(&start_barrier);
	sink = a_level1(1);
	cpu_ns_a = pace_clock_ns(CLOCK_THREAD_CPUTIME_ID);
	return NULL;
}

WORKLOAD_FRAME void *thread_b_entry(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "worker_b");
	pthread_barrier_wait(&start_barrier);
	sink = b_level1(2);
	cpu_ns_b = pace_clock_ns(CLOCK_THREAD_CPUTIME_ID);
	return NULL;
}

static pthread_barrier_t late_barrier;

WORKLOAD_FRAME void *late_entry(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "worker_late");
	pthread_barrier_wait(&late_barrier);
	sink = late_level1(3);
	cpu_ns_late = pace_clock_ns(CLOCK_THREAD_CPUTIME_ID);
	return NULL;
}

/* ---- worker_dl: calls into a dlopen'ed library, then dlcloses it ------- */

typedef uint64_t (*dl_spin_fn)(unsigned ms);

static int lib_mapped(const char *path)
{
	char resolved[4096];
	if (!realpath(path, resolved))
		return 0;
	FILE *maps = fopen("/proc/self/maps", "r");
	if (!maps)
		return -1;
	char line[8192];
	int found = 0;
	while (fgets(line, sizeof(line), maps))
		if (strstr(line, resolved))
			found = 1;
	fclose(maps);
	return found;
}

#define DL_RUN_NS (1500 * WORKLOAD_NS_PER_MS)

WORKLOAD_FRAME void *dl_thread_entry(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "worker_dl");
	void *lib = dlopen(opts.dlopen_lib, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "fp_chains: dlopen %s: %s\n", opts.dlopen_lib, dlerror());
		exit(1);
	}
	dl_spin_fn spin = (dl_spin_fn)dlsym(lib, "flare_dl_spin");
	if (!spin) {
		fprintf(stderr, "fp_chains: dlsym flare_dl_spin: %s\n", dlerror());
		exit(1);
	}
	announce("dl_opened");
	int64_t end = pace_clock_ns(CLOCK_MONOTONIC) + DL_RUN_NS;
	uint64_t x = 0;
	while (!stopping() && pace_clock_ns(CLOCK_MONOTONIC) < end) {
		x += spin(50); /* 50 ms of CPU, then 50 ms asleep: 0.5 CPU */
		struct timespec nap = { 0, 50 * WORKLOAD_NS_PER_MS };
		nanosleep(&nap, NULL);
	}
	sink = x;
	if (dlclose(lib) != 0) {
		fprintf(stderr, "fp_chains: dlclose: %s\n", dlerror());
		exit(1);
	}
	cpu_ns_dl = pace_clock_ns(CLOCK_THREAD_CPUTIME_ID);
	char msg[64];
	snprintf(msg, sizeof(msg), "dl_closed unmapped=%d", lib_mapped(opts.dlopen_lib) == 0);
	announce(msg);
	return NULL;
}

/* ---- main ---------------------------------------------------------------- */

static void usage(FILE *out)
{
	fputs("usage: fp_chains [--seconds N] [--late-thread-after S]\n"
	      "                 [--dlopen-after S --dlopen-lib PATH] [--ready-fd FD]\n"
	      "                 [--high-priority]\n"
	      "Runs worker_a (0.75 CPU) and worker_b (0.25 CPU) for N seconds (default 10).\n",
	      out);
}

static double parse_seconds(const char *flag, const char *value)
{
	char *end = NULL;
	errno = 0;
	double v = strtod(value, &end);
	if (errno || end == value || *end != '\0' || v < 0) {
		fprintf(stderr, "fp_chains: %s: not a number of seconds: %s\n", flag, value);
		exit(2);
	}
	return v;
}

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		}
		if (!strcmp(a, "--high-priority")) {
			opts.high_priority = 1;
			continue;
		}
		if (i + 1 >= argc) {
			usage(stderr);
			exit(2);
		}
		const char *v = argv[++i];
		if (!strcmp(a, "--seconds"))
			opts.seconds = parse_seconds(a, v);
		else if (!strcmp(a, "--late-thread-after"))
			opts.late_after = parse_seconds(a, v);
		else if (!strcmp(a, "--dlopen-after"))
			opts.dlopen_after = parse_seconds(a, v);
		else if (!strcmp(a, "--dlopen-lib"))
			opts.dlopen_lib = v;
		else if (!strcmp(a, "--ready-fd"))
			opts.ready_fd = (int)parse_seconds(a, v);
		else {
			usage(stderr);
			exit(2);
		}
	}
	if (opts.dlopen_after >= 0 && !opts.dlopen_lib) {
		fputs("fp_chains: --dlopen-after needs --dlopen-lib PATH\n", stderr);
		exit(2);
	}
}

static void raise_priority(void)
{
	/* A new session gets a new autogroup; fails harmlessly if we already
	 * lead a process group. */
	setsid();
	FILE *ag = fopen("/proc/self/autogroup", "w");
	if (ag) {
		fputs("-10", ag);
		if (fclose(ag) != 0)
			perror("fp_chains: /proc/self/autogroup");
	}
	/* Threads created later inherit the nice value of the creating thread. */
	if (setpriority(PRIO_PROCESS, 0, -10) != 0)
		perror("fp_chains: setpriority");
}

static void start_thread(pthread_t *t, void *(*fn)(void *))
{
	int err = pthread_create(t, NULL, fn, NULL);
	if (err) {
		fprintf(stderr, "fp_chains: pthread_create: %s\n", strerror(err));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	if (opts.high_priority)
		raise_priority();

	pthread_t a, b, late, dl;
	pthread_barrier_init(&start_barrier, NULL, 3);
	start_thread(&a, thread_a_entry);
	start_thread(&b, thread_b_entry);
	pthread_barrier_wait(&start_barrier);
	announce("ready");
	if (opts.ready_fd >= 0) {
		if (write(opts.ready_fd, "ready\n", 6) != 6)
			perror("fp_chains: --ready-fd");
		close(opts.ready_fd);
	}

	const int64_t start = pace_clock_ns(CLOCK_MONOTONIC);
	const int64_t end = start + (int64_t)(opts.seconds * 1e9);
	int late_started = 0, dl_started = 0;
	for (;;) {
		int64_t now = pace_clock_ns(CLOCK_MONOTONIC);
		if (now >= end)
			break;
		double elapsed = (double)(now - start) / 1e9;
		if (!late_started && opts.late_after >= 0 && elapsed >= opts.late_after) {
			pthread_barrier_init(&late_barrier, NULL, 2);
			start_thread(&late, late_entry);
			pthread_barrier_wait(&late_barrier);
			announce("late_started");
			late_started = 1;
		}
		if (!dl_started && opts.dlopen_after >= 0 && elapsed >= opts.dlopen_after) {
			start_thread(&dl, dl_thread_entry);
			dl_started = 1;
		}
		int64_t nap_ns = end - now < 5 * WORKLOAD_NS_PER_MS ? end - now : 5 * WORKLOAD_NS_PER_MS;
		struct timespec nap = { 0, nap_ns };
		nanosleep(&nap, NULL);
	}

	atomic_store(&stop_flag, 1);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	if (late_started)
		pthread_join(late, NULL);
	if (dl_started)
		pthread_join(dl, NULL);
	char cpu[256];
	int n = snprintf(cpu, sizeof(cpu), "cpu_ns worker_a=%lld worker_b=%lld", (long long)cpu_ns_a,
			 (long long)cpu_ns_b);
	if (late_started)
		n += snprintf(cpu + n, sizeof(cpu) - (size_t)n, " worker_late=%lld", (long long)cpu_ns_late);
	if (dl_started)
		snprintf(cpu + n, sizeof(cpu) - (size_t)n, " worker_dl=%lld", (long long)cpu_ns_dl);
	announce(cpu);
	announce("done");
	return 0;
}
