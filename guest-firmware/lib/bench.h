/*
 * bench.h: what the benchmark guests (bench_*.S) share with bench/run.sh.
 *
 * Every bench guest is an ELF32 image with a PVH note (lib/pvh_note.S), so
 * trapeze, QEMU (`-kernel`) and bench/kvm_limit run the very same bytes in
 * flat 32-bit protected mode, paging off, CPL 0.
 *
 * Loop guests (bench_pio, bench_mmio: lib/bench_loop.S) read their exit
 * count N and batch count B from a parameter block in .rodata: the 8-byte
 * magic BENCH_MAGIC, then N and B as little-endian 32-bit words.
 * bench/bench.py patches them into a copy of the image, so one build serves
 * every N. The loop runs B batches of N / B exits and reads the TSC before
 * and after each batch. N / B is rounded down to a multiple of BENCH_UNROLL;
 * a B of 0 or above BENCH_MAX_BATCHES counts as 1.
 */
#ifndef BENCH_H
#define BENCH_H

#define BENCH_MAGIC	"TRZBENCH"
#define BENCH_UNROLL	16		/* exits per loop iteration */
#define BENCH_MAX_BATCHES 64

#define BENCH_OK	0x30		/* debug-exit value: status 97 */
#define BENCH_MARKER	0x21		/* '!', the first byte on COM1: "guest is running" */

#define COM1_THR	0x3f8		/* 16550A transmit holding register */
#define DEBUG_EXIT	0xf4		/* trapeze built-in; QEMU isa-debug-exit */
#define POST_PORT	0x80		/* silent sink in trapeze, QEMU, kvm_limit */
#define BENCH_MMIO_ADDR	0xd0000000	/* unclaimed: trapeze's hole, QEMU unassigned */

#ifdef __ASSEMBLER__
/* The patchable parameter block: `bench_n` exits in `bench_batches` batches. */
.macro BENCH_PARAMS default_n, default_batches
	.section .rodata
	.balign 4
	.ascii BENCH_MAGIC
bench_n:
	.long \default_n
bench_batches:
	.long \default_batches
.endm

/* A private 4 KiB stack (.bss is zero-filled by every loader, not cleared here). */
.macro BENCH_STACK
	.section .bss
	.balign 16
	.skip 4096
bench_stack_top:
.endm
#else
#include <stdint.h>

/*
 * Prints the result of a timed loop on COM1 (lib/bench.c):
 *   "NAME: n=0xN batches=0xB tsc=0xT\n" (T: the whole loop, in TSC ticks)
 *   "NAME: batch 0xT1 0xT2 ...\n"       (each batch)
 * tsc[0..batches] are the TSC readings at the batch boundaries.
 */
void bench_report(const char *name, uint32_t n, uint32_t batches, const uint64_t *tsc);
#endif

#endif
