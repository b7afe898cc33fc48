/*
 * bench_mmio: the MMIO exit round trip. N byte writes to BENCH_MMIO_ADDR,
 * which nobody claims (trapeze drops the write and logs it once; QEMU drops
 * it as unassigned memory; bench/kvm_limit ignores it), timed with rdtsc in
 * batches (lib/bench_loop.S); prints "bench_mmio: n=0xN ..." and
 * debug-exits BENCH_OK (status 97). N comes from the parameter block
 * (bench.h).
 */
#include "bench.h"

#define BENCH_NAME	"bench_mmio"
#define BENCH_DEFAULT_N	32768

.macro bench_op
	movb %al, BENCH_MMIO_ADDR
.endm

#include "bench_loop.S"
