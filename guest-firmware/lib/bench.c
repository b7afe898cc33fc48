/*
 * bench: the result lines of the benchmark guests' timed loops
 * (lib/bench_loop.S), which bench/bench.py parses; format in bench.h.
 */
#include "bench.h"
#include "rt.h"

void bench_report(const char *name, uint32_t n, uint32_t batches, const uint64_t *tsc)
{
	rt_puts(name);
	rt_puts(": n=");
	rt_put_hex(n);
	rt_puts(" batches=");
	rt_put_hex(batches);
	rt_puts(" tsc=");
	rt_put_hex(tsc[batches] - tsc[0]);
	rt_putc('\n');
	rt_puts(name);
	rt_puts(": batch");
	for (uint32_t i = 0; i < batches; i++) {
		rt_putc(' ');
		rt_put_hex(tsc[i + 1] - tsc[i]);
	}
	rt_putc('\n');
}
