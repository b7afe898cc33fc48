/*
 * bench_exit: start-up. Its first instruction sends BENCH_MARKER to COM1
 * (bench/spawn timestamps the first byte on the VMM's stdout: "the guest
 * runs"), its next ones debug-exit BENCH_OK (status 97): the VMM's exit
 * then measures the whole life of a VM that does nothing.
 */
#include "bench.h"

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	mov $COM1_THR, %dx
	mov $BENCH_MARKER, %al
	outb %al, %dx			/* a fresh 16550A's THR is empty: no LSR poll */
	mov $BENCH_OK, %al
	outb %al, $DEBUG_EXIT
1:	cli
	hlt
	jmp 1b

	.section .note.GNU-stack, "", @progbits
