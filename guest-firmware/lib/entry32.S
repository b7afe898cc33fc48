/*
 * entry32: first instructions of a 32-bit guest. trapeze enters at CPL 0 in
 * flat protected mode, paging off (docs/guest-abi.md); the guest moves to
 * its own stack, runs main, and debug-exits with main's return value.
 */
	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	mov $rt_stack_top, %esp
	xor %ebp, %ebp
	call main
	movzbl %al, %eax
	push %eax
	call rt_debug_exit

	.section .bss
	.balign 16
	.skip 16384
rt_stack_top:

	.section .note.GNU-stack, "", @progbits
