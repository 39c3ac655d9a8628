/* alloc_probe_cost: what one uprobe hit costs the probed thread, per probe
 * site flare uses or avoids, measured on this process's own allocator.
 *
 * For each site it attaches a bare uprobe (a perf event of the kernel's
 * uprobe PMU on this process, no BPF program: the trap and the kernel's
 * uprobe machinery only), runs a tight loop of allocator calls, and prints
 * the time per call over the same loop without the probe. Sites:
 *
 *   malloc+0           push %r12: emulated in the trap
 *   malloc return      a uretprobe: a second trap at the return
 *   free+0             test %rdi,%rdi: single-stepped
 *   free+N             the jcc after it: emulated (flare's choice)
 *   memalign+0 / +N    cmpb $0,x(%rip): single-stepped / the jcc after it
 *   _Znwm+0 / +N       endbr64 / push %rbx after test and mov (libstdc++)
 *
 * N is found as flare finds it (the same x86 rule, reimplemented minimally
 * here for the three known shapes). Usage: alloc_probe_cost [--calls N]
 * [--loop-only SECONDS]: with --loop-only it just runs malloc(64)/free
 * pairs for that long and prints ns per pair, for running under a profiler.
 * Output: one line per site, "site NAME ns_per_hit=X baseline_ns=Y". Needs
 * root (perf_event_open of uprobes). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void *volatile sink;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The file and file offset of a function's address, from /proc/self/maps. */
static int file_offset_of(void *fn, char *path, size_t path_len, uint64_t *offset)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	uint64_t addr = (uint64_t)(uintptr_t)fn;
	int found = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		unsigned long long start, end, off;
		char perms[8], file[4000] = "";

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %3999s", &start, &end, perms, &off, file) < 4)
			continue;
		if (addr >= start && addr < end && file[0] == '/') {
			snprintf(path, path_len, "%s", file);
			*offset = addr - start + off;
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

static int read_int_file(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* A bare uprobe (or uretprobe) on this process; -1 on failure. */
static int open_uprobe(const char *path, uint64_t offset, int retprobe)
{
	struct perf_event_attr attr;
	int type = read_int_file("/sys/bus/event_source/devices/uprobe/type");
	int ret_bit = read_int_file("/sys/bus/event_source/devices/uprobe/format/retprobe");

	if (type < 0)
		return -1;
	memset(&attr, 0, sizeof attr);
	attr.size = sizeof attr;
	attr.type = (uint32_t)type;
	attr.config1 = (uint64_t)(uintptr_t)path;
	attr.config2 = offset;
	attr.sample_period = 1;
	if (retprobe) {
		/* format/retprobe reads "config:0": the bit number after the colon */
		FILE *f = fopen("/sys/bus/event_source/devices/uprobe/format/retprobe", "r");
		int bit = 0;

		if (f) {
			if (fscanf(f, "config:%d", &bit) != 1)
				bit = 0;
			fclose(f);
		}
		(void)ret_bit;
		attr.config |= 1ull << bit;
	}
	return (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
}

/* Instructions an x86 uprobe can skip to reach an emulated one, for the
 * shapes glibc and libstdc++ have here (see agent/probe_site.cc). */
static uint64_t emulated_offset(const uint8_t *c)
{
	uint64_t off = 0;

	for (int i = 0; i < 4; i++) {
		const uint8_t *p = c + off;

		if ((p[0] >= 0x50 && p[0] <= 0x57) || (p[0] == 0x41 && p[1] >= 0x50 && p[1] <= 0x57) ||
		    (p[0] >= 0x70 && p[0] <= 0x7f) || (p[0] == 0x0f && p[1] >= 0x80 && p[1] <= 0x8f))
			return off;
		if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa)
			off += 4;
		else if ((p[0] & 0xf0) == 0x40 && p[1] == 0x85 && (p[2] & 0xc0) == 0xc0)
			off += 3;
		else if (p[0] == 0x80 && p[1] == 0x3d)
			off += 7;
		else if (p[0] == 0xb8)
			off += 5;
		else
			return 0;
	}
	return 0;
}

typedef void *(*new_fn)(size_t);
typedef void (*delete_fn)(void *);
static new_fn cxx_new;
static delete_fn cxx_delete;

enum op { OP_MALLOC, OP_MEMALIGN, OP_NEW };

static double loop_ns(enum op op, long calls)
{
	uint64_t t0 = now_ns();

	for (long i = 0; i < calls; i++) {
		void *p = op == OP_MALLOC ? malloc(64) : op == OP_MEMALIGN ? memalign(64, 64) : cxx_new(64);

		sink = p;
		if (op == OP_NEW)
			cxx_delete(p);
		else
			free(p);
	}
	return (double)(now_ns() - t0) / (double)calls;
}

/* The best of a few runs: the machine is shared, the minimum is the cost. */
static double best_ns(enum op op, long calls)
{
	double best = 1e18;

	for (int r = 0; r < 5; r++) {
		double v = loop_ns(op, calls);
		if (v < best)
			best = v;
	}
	return best;
}

static void measure(const char *name, enum op op, void *fn, uint64_t extra, int retprobe, long calls)
{
	char path[4096];
	uint64_t offset;
	double base, probed;
	int fd;

	if (!fn || file_offset_of(fn, path, sizeof path, &offset) != 0) {
		printf("site %s unavailable\n", name);
		return;
	}
	base = best_ns(op, calls);
	fd = open_uprobe(path, offset + extra, retprobe);
	if (fd < 0) {
		printf("site %s error=%s\n", name, strerror(errno));
		return;
	}
	probed = best_ns(op, calls);
	close(fd);
	printf("site %s offset=%llu ns_per_hit=%.0f baseline_ns=%.0f\n", name, (unsigned long long)extra,
	       probed - base, base);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	long calls = 20000;
	double loop_seconds = 0;
	void *libstdcxx;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--calls") && i + 1 < argc)
			calls = atol(argv[++i]);
		else if (!strcmp(argv[i], "--loop-only") && i + 1 < argc)
			loop_seconds = atof(argv[++i]);
	}
	if (loop_seconds > 0) {
		uint64_t end = now_ns() + (uint64_t)(loop_seconds * 1e9), pairs = 0, t0 = now_ns();

		while (now_ns() < end) {
			for (int i = 0; i < 1000; i++) {
				void *p = malloc(64);
				sink = p;
				free(p);
			}
			pairs += 1000;
		}
		printf("loop ns_per_pair=%.1f\n", (double)(now_ns() - t0) / (double)pairs);
		return 0;
	}

	libstdcxx = dlopen("libstdc++.so.6", RTLD_NOW);
	if (libstdcxx) {
		cxx_new = (new_fn)dlsym(libstdcxx, "_Znwm");
		cxx_delete = (delete_fn)dlsym(libstdcxx, "_ZdlPv");
	}
	measure("malloc+0", OP_MALLOC, (void *)malloc, 0, 0, calls);
	measure("malloc:return", OP_MALLOC, (void *)malloc, 0, 1, calls);
	measure("free+0", OP_MALLOC, (void *)free, 0, 0, calls);
	measure("free+emulated", OP_MALLOC, (void *)free, emulated_offset((const uint8_t *)free), 0, calls);
	measure("memalign+0", OP_MEMALIGN, (void *)memalign, 0, 0, calls);
	measure("memalign+emulated", OP_MEMALIGN, (void *)memalign, emulated_offset((const uint8_t *)memalign), 0,
		calls);
	if (cxx_new) {
		measure("_Znwm+0", OP_NEW, (void *)cxx_new, 0, 0, calls);
		measure("_Znwm+emulated", OP_NEW, (void *)cxx_new, emulated_offset((const uint8_t *)cxx_new), 0,
			calls);
	}
	return 0;
}
