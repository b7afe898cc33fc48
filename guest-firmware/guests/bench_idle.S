/*
 * bench_idle: memory at idle. Sends BENCH_MARKER to COM1 like bench_exit,
 * then halts with interrupts off for good: the VM stays alive, doing
 * nothing, until bench/spawn has read the VMM's /proc/PID/smaps and kills
 * it. The guest touches two pages of RAM (its text and the note), so what
 * the VMM holds beyond that is its own.
 */
#include "bench.h"

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	mov $COM1_THR, %dx
	mov $BENCH_MARKER, %al
	outb %al, %dx
1:	cli
	hlt
	jmp 1b

	.section .note.GNU-stack, "", @progbits
