/* offcpu_chains: a workload whose off-CPU time, wakers and run-queue waits
 * are known, for checking what an off-CPU profiler reports against the truth.
 *
 * Threads and where they wait (entry function first; every function keeps a
 * frame pointer, see CMakeLists.txt). Blocking system calls are issued from
 * the named function itself (raw `syscall` on x86-64), so a frame-pointer
 * unwind from the kernel entry starts in that function rather than in a
 * frameless libc wrapper that would hide it:
 *
 *   sleeper   sleeper_entry -> sleeper_loop -> sleeper_wait
 *             nanosleep(20 ms) in a loop; --migrate moves it between CPUs
 *             (sched_setaffinity from the main thread) while it sleeps
 *   reader    reader_entry -> reader_loop -> reader_wait
 *             read() on a pipe, blocked until writer writes
 *   writer    writer_entry -> writer_loop -> writer_notify
 *             every 30 ms (writer_pause: nanosleep) writes one byte to the
 *             pipe from writer_notify: the reader's waker
 *   busy_N    busy_entry -> busy_spin  (--busy N threads spinning for the
 *             whole run: with more busy threads than CPUs they wait in the
 *             run queue)
 *   stuck     stuck_entry -> stuck_wait: read() on a pipe nobody writes to,
 *             blocked for the whole run (--stuck)
 *
 * Progress lines on stdout (flushed):
 *   ready                      every thread is named and running
 *   sleeper slept_ns=N sleeps=K        wall time spent in nanosleep
 *   reader blocked_ns=N reads=K        wall time spent in read()
 *   sched name=X tid=T run_ns=R wait_ns=W life_ns=L
 *        per thread at its end: /proc/self/task/T/schedstat (on-CPU time
 *        and run-queue wait) and the thread's lifetime; blocked time is
 *        L - R - W
 *   done
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "workload_pace.h"

#define SLEEP_NS (20 * WORKLOAD_NS_PER_MS)
#define WRITE_EVERY_NS (30 * WORKLOAD_NS_PER_MS)
#define MAX_BUSY 16

static atomic_int stop_flag;
static volatile uint64_t sink;
static int data_pipe[2], stuck_pipe[2];
static pthread_mutex_t stdout_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int started;
static atomic_int sleeper_tid;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static void say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&stdout_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&stdout_lock);
}

static int stopping(void)
{
	return atomic_load_explicit(&stop_flag, memory_order_relaxed);
}

/* The system call instruction sits in the calling function (see above). */
static inline __attribute__((always_inline)) long raw_syscall3(long nr, long a, long b, long c)
{
#if defined(__x86_64__)
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return ret;
#else
	return syscall(nr, a, b, c);
#endif
}

static void report_schedstat(const char *name, int64_t born_ns)
{
	char path[64], buf[128];
	long long run = -1, wait = -1;
	int fd;
	ssize_t n;

	snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", (int)gettid());
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		n = read(fd, buf, sizeof buf - 1);
		if (n > 0) {
			buf[n] = 0;
			sscanf(buf, "%lld %lld", &run, &wait);
		}
		close(fd);
	}
	say("sched name=%s tid=%d run_ns=%lld wait_ns=%lld life_ns=%lld", name, (int)gettid(), run, wait,
	    (long long)(pace_clock_ns(CLOCK_MONOTONIC) - born_ns));
}

/* ---- sleeper ------------------------------------------------------------ */

WORKLOAD_FRAME int64_t sleeper_wait(void)
{
	WORKLOAD_KEEP_FRAME();
	struct timespec ts = { 0, SLEEP_NS };
	int64_t t0 = pace_clock_ns(CLOCK_MONOTONIC);

	raw_syscall3(SYS_nanosleep, (long)&ts, 0, 0);
	return pace_clock_ns(CLOCK_MONOTONIC) - t0;
}

WORKLOAD_FRAME void sleeper_loop(void)
{
	int64_t slept = 0;
	long sleeps = 0;

	while (!stopping()) {
		slept += sleeper_wait();
		sleeps++;
	}
	say("sleeper slept_ns=%lld sleeps=%ld", (long long)slept, sleeps);
}

WORKLOAD_FRAME void *sleeper_entry(void *arg)
{
	int64_t born = pace_clock_ns(CLOCK_MONOTONIC);

	(void)arg;
	pthread_setname_np(pthread_self(), "sleeper");
	atomic_store(&sleeper_tid, (int)gettid());
	atomic_fetch_add(&started, 1);
	sleeper_loop();
	report_schedstat("sleeper", born);
	return NULL;
}

/* ---- reader and writer --------------------------------------------------- */

WORKLOAD_FRAME long reader_wait(char *byte)
{
	WORKLOAD_KEEP_FRAME();
	return raw_syscall3(SYS_read, data_pipe[0], (long)byte, 1);
}

WORKLOAD_FRAME void reader_loop(void)
{
	int64_t blocked = 0;
	long reads = 0;
	char byte;

	for (;;) {
		int64_t t0 = pace_clock_ns(CLOCK_MONOTONIC);
		long n = reader_wait(&byte);

		blocked += pace_clock_ns(CLOCK_MONOTONIC) - t0;
		if (n <= 0 || byte == 'q')
			break;
		reads++;
	}
	say("reader blocked_ns=%lld reads=%ld", (long long)blocked, reads);
}

WORKLOAD_FRAME void *reader_entry(void *arg)
{
	int64_t born = pace_clock_ns(CLOCK_MONOTONIC);

	(void)arg;
	pthread_setname_np(pthread_self(), "reader");
	atomic_fetch_add(&started, 1);
	reader_loop();
	report_schedstat("reader", born);
	return NULL;
}

WORKLOAD_FRAME void writer_pause(void)
{
	WORKLOAD_KEEP_FRAME();
	struct timespec ts = { 0, WRITE_EVERY_NS };

	raw_syscall3(SYS_nanosleep, (long)&ts, 0, 0);
}

WORKLOAD_FRAME void writer_notify(char byte)
{
	WORKLOAD_KEEP_FRAME();
	raw_syscall3(SYS_write, data_pipe[1], (long)&byte, 1);
}

WORKLOAD_FRAME void writer_loop(void)
{
	while (!stopping()) {
		writer_pause();
		writer_notify('x');
	}
	writer_notify('q');
}

WORKLOAD_FRAME void *writer_entry(void *arg)
{
	int64_t born = pace_clock_ns(CLOCK_MONOTONIC);

	(void)arg;
	pthread_setname_np(pthread_self(), "writer");
	atomic_fetch_add(&started, 1);
	writer_loop();
	report_schedstat("writer", born);
	return NULL;
}

/* ---- busy threads -------------------------------------------------------- */

WORKLOAD_FRAME uint64_t busy_spin(uint64_t x)
{
	WORKLOAD_KEEP_FRAME();
	while (!stopping()) {
		for (int i = 0; i < 10000; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			__asm__ volatile("" : "+r"(x));
		}
	}
	return x;
}

WORKLOAD_FRAME void *busy_entry(void *arg)
{
	int64_t born = pace_clock_ns(CLOCK_MONOTONIC);
	char name[16];

	snprintf(name, sizeof name, "busy_%d", (int)(intptr_t)arg);
	pthread_setname_np(pthread_self(), name);
	atomic_fetch_add(&started, 1);
	sink = busy_spin((uint64_t)(intptr_t)arg);
	report_schedstat(name, born);
	return NULL;
}

/* ---- stuck ----------------------------------------------------------------- */

WORKLOAD_FRAME long stuck_wait(char *byte)
{
	WORKLOAD_KEEP_FRAME();
	return raw_syscall3(SYS_read, stuck_pipe[0], (long)byte, 1);
}

WORKLOAD_FRAME void *stuck_entry(void *arg)
{
	int64_t born = pace_clock_ns(CLOCK_MONOTONIC);
	char byte;

	(void)arg;
	pthread_setname_np(pthread_self(), "stuck");
	atomic_fetch_add(&started, 1);
	stuck_wait(&byte);
	report_schedstat("stuck", born);
	return NULL;
}

/* ---- main ------------------------------------------------------------------ */

static void usage(FILE *out)
{
	fputs("usage: offcpu_chains [--seconds N] [--busy N] [--stuck] [--migrate]\n"
	      "Runs sleeper, reader and writer (and busy and stuck threads) for N seconds (default 5).\n",
	      out);
}

int main(int argc, char **argv)
{
	double seconds = 5;
	int busy = 0, stuck = 0, migrate = 0, threads = 0;
	pthread_t tids[MAX_BUSY + 4];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			seconds = strtod(argv[++i], NULL);
		} else if (!strcmp(argv[i], "--busy") && i + 1 < argc) {
			busy = atoi(argv[++i]);
			if (busy < 0 || busy > MAX_BUSY) {
				fprintf(stderr, "offcpu_chains: --busy takes 0..%d\n", MAX_BUSY);
				return 2;
			}
		} else if (!strcmp(argv[i], "--stuck")) {
			stuck = 1;
		} else if (!strcmp(argv[i], "--migrate")) {
			migrate = 1;
		} else if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (pipe(data_pipe) != 0 || pipe(stuck_pipe) != 0) {
		perror("offcpu_chains: pipe");
		return 1;
	}
	pthread_create(&tids[threads++], NULL, sleeper_entry, NULL);
	pthread_create(&tids[threads++], NULL, reader_entry, NULL);
	pthread_create(&tids[threads++], NULL, writer_entry, NULL);
	for (int i = 0; i < busy; i++)
		pthread_create(&tids[threads++], NULL, busy_entry, (void *)(intptr_t)i);
	pthread_t stuck_thread;
	if (stuck)
		pthread_create(&stuck_thread, NULL, stuck_entry, NULL);
	while (atomic_load(&started) < threads + stuck)
		usleep(1000);
	say("ready");

	int64_t end = pace_clock_ns(CLOCK_MONOTONIC) + (int64_t)(seconds * 1e9);
	int cpu = 0;
	while (pace_clock_ns(CLOCK_MONOTONIC) < end) {
		struct timespec ts = { 0, 7 * WORKLOAD_NS_PER_MS };

		nanosleep(&ts, NULL);
		if (migrate && sysconf(_SC_NPROCESSORS_ONLN) > 1) {
			/* Moves the sleeper while it most likely sleeps (it sleeps
			 * 20 ms at a time), so it wakes on another CPU than it left. */
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(cpu, &set);
			cpu = !cpu;
			sched_setaffinity(atomic_load(&sleeper_tid), sizeof set, &set);
		}
	}
	atomic_store(&stop_flag, 1);
	for (int i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	if (stuck) {
		if (write(stuck_pipe[1], "q", 1) != 1)
			return 1;
		pthread_join(stuck_thread, NULL);
	}
	say("done");
	return 0;
}
