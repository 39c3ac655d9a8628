/* pingpong: two threads pinned to the same CPU hand a byte back and forth
 * through two pipes, a fixed number of round trips: two context switches
 * per round trip, on the order of 100 k switches/s here. Pinned because
 * unpinned the pair's speed is bimodal on a 2-vCPU VM (same-CPU wakeups vs
 * cross-CPU IPIs), which would drown any profiler's cost.
 *
 * Usage: bench_pingpong [--round-trips N] [--cpu C]   (default: the last CPU)
 * Protocol: see bench_workload.h. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include "bench_workload.h"

static int ping_pipe[2], pong_pipe[2];
static uint64_t round_trips;
static int cpu;
static pthread_barrier_t go;

static void pin_self(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	int err = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
	if (err) {
		fprintf(stderr, "pingpong: cannot pin to CPU %d: %s\n", cpu, strerror(err));
		exit(1);
	}
}

BENCH_FRAME void transfer(int from_fd, int to_fd)
{
	char c;
	if (read(from_fd, &c, 1) != 1) abort();
	if (write(to_fd, &c, 1) != 1) abort();
}

BENCH_FRAME void *ponger(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "ponger");
	pin_self();
	pthread_barrier_wait(&go);
	for (uint64_t i = 0; i < round_trips; i++) transfer(ping_pipe[0], pong_pipe[1]);
	return NULL;
}

BENCH_FRAME void pinger(void)
{
	char c = 'x';
	for (uint64_t i = 0; i < round_trips; i++) {
		if (write(ping_pipe[1], &c, 1) != 1) abort();
		if (read(pong_pipe[0], &c, 1) != 1) abort();
	}
}

int main(int argc, char **argv)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	round_trips = bench_arg_u64(argc, argv, "--round-trips", 200000);
	cpu = (int)bench_arg_u64(argc, argv, "--cpu", (uint64_t)(ncpu > 0 ? ncpu - 1 : 0));
	if (pipe(ping_pipe) || pipe(pong_pipe)) {
		perror("pipe");
		return 1;
	}
	pthread_t t;
	pthread_barrier_init(&go, NULL, 2);
	pthread_create(&t, NULL, ponger, NULL);
	pthread_setname_np(pthread_self(), "pinger");
	pin_self();

	bench_wait_start();
	struct bench_phase phase;
	bench_phase_begin(&phase);
	pthread_barrier_wait(&go);
	pinger();
	pthread_join(t, NULL);
	bench_phase_end(&phase, "pingpong", round_trips, 2);
	return 0;
}
