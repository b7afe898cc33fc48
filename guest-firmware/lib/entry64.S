/*
 * entry64: first instructions of a 64-bit guest. trapeze enters at CPL 0 in
 * long mode with RSP = 0x80000 (docs/guest-abi.md); the guest moves to its
 * own stack, runs main, and debug-exits with main's return value.
 */
	.section .text.entry, "ax"
	.code64
	.globl _start
_start:
	lea rt_stack_top(%rip), %rsp
	xor %ebp, %ebp
	call main
	movzbl %al, %edi
	call rt_debug_exit

	.section .bss
	.balign 16
rt_stack:
	.skip 16384
	.globl rt_stack_top
rt_stack_top:

	.section .note.GNU-stack, "", @progbits
