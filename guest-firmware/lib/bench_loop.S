/*
 * bench_loop: the timed exit loop of bench_pio and bench_mmio, included by
 * them after they define BENCH_NAME, BENCH_DEFAULT_N and the macro
 * `bench_op` (the one instruction that exits). Parameters and output
 * format: bench.h.
 *
 * Each batch runs bench_op BENCH_UNROLL (16) times per iteration, so the
 * loop's own dec/jnz (emulated at ~1 us each at CPL 0 on the kvm_pvm
 * host) adds 2/16 of an instruction per exit, the same for every VMM. The
 * TSC is read between batches only.
 */
	BENCH_PARAMS BENCH_DEFAULT_N, 16
	BENCH_STACK

	.section .rodata
name:	.asciz BENCH_NAME

	.section .bss
	.balign 8
tsc:	.skip 8 * (BENCH_MAX_BATCHES + 1)

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	mov $bench_stack_top, %esp
	mov bench_batches, %ebx
	cmp $BENCH_MAX_BATCHES, %ebx
	jbe 1f
	xor %ebx, %ebx
1:	test %ebx, %ebx
	jnz 2f
	inc %ebx			/* B: 1..BENCH_MAX_BATCHES */
2:	mov bench_n, %eax
	xor %edx, %edx
	div %ebx
	shr $4, %eax			/* iterations per batch: N / B / 16 */
	mov %eax, %ebp
	mov $tsc, %edi
	mov %ebx, %esi			/* batches left */
	rdtsc
	mov %eax, (%edi)
	mov %edx, 4(%edi)
batch:
	mov %ebp, %ecx
	test %ecx, %ecx
	jz 4f
	.balign 16
3:	.rept BENCH_UNROLL
	bench_op
	.endr
	dec %ecx
	jnz 3b
4:	rdtsc
	add $8, %edi
	mov %eax, (%edi)
	mov %edx, 4(%edi)
	dec %esi
	jnz batch

	push $tsc			/* bench_report(name, n, batches, tsc) */
	push %ebx
	pushl bench_n
	push $name
	call bench_report
	push $BENCH_OK
	call rt_debug_exit

	.section .note.GNU-stack, "", @progbits
