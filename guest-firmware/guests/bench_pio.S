/*
 * bench_pio: the port-I/O exit round trip. N `outb` to the POST port 0x80,
 * which trapeze, QEMU and bench/kvm_limit all drop silently, timed with
 * rdtsc in batches (lib/bench_loop.S); prints "bench_pio: n=0xN ..." and
 * debug-exits BENCH_OK (status 97). N comes from the parameter block
 * (bench.h).
 */
#include "bench.h"

#define BENCH_NAME	"bench_pio"
#define BENCH_DEFAULT_N	65536

.macro bench_op
	outb %al, $POST_PORT
.endm

#include "bench_loop.S"
