/* libflare_dl_workload.so: loaded by fp_chains --dlopen-after, used from the
 * worker_dl thread and dlclose'd again, so a profiler has to symbolize code
 * whose mapping is gone by the time the capture ends.
 *
 * Chain: flare_dl_spin (exported) -> dl_inner_leaf (file-local symbol, only in
 * .symtab, so symbolization must read the library's own symbol table). */
#include <stdint.h>

#include "workload_pace.h"

static volatile uint64_t dl_sink;

WORKLOAD_FRAME static uint64_t dl_inner_leaf(uint64_t x)
{
	WORKLOAD_KEEP_FRAME();
	for (int i = 0; i < 100000; i++) {
		x = x * 1103515245ULL + 12345ULL + (x >> 17);
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

/* Burns `ms` milliseconds of this thread's CPU time in dl_inner_leaf. */
__attribute__((visibility("default"))) WORKLOAD_FRAME uint64_t flare_dl_spin(unsigned ms)
{
	const int64_t budget = (int64_t)ms * WORKLOAD_NS_PER_MS;
	const int64_t start = pace_clock_ns(CLOCK_THREAD_CPUTIME_ID);
	uint64_t x = (uint64_t)start;
	while (pace_clock_ns(CLOCK_THREAD_CPUTIME_ID) - start < budget)
		x = dl_inner_leaf(x);
	dl_sink = x;
	return x;
}
