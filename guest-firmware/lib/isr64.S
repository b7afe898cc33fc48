/*
 * isr64: interrupt and exception entry points, and the CPL 0 <-> CPL 3
 * switch. Hot paths (timer tick, syscall) are a handful of instructions:
 * at CPL 0 each one costs about 1 us on the kvm_pvm host.
 */
#include "rt.h"

	.code64
	.text

/*
 * Exception stubs: push a zero where the CPU pushes no error code (so every
 * frame has the same shape), then the vector. Error codes: SDM Vol. 3A 6.15.
 */
.macro EXC_NOERR vec
rt_exc_\vec:
	pushq $0
	pushq $\vec
	jmp rt_exc_common
.endm
.macro EXC_ERR vec
rt_exc_\vec:
	pushq $\vec
	jmp rt_exc_common
.endm

.irp v, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
	EXC_NOERR \v
.endr
.irp v, 8,10,11,12,13,14,17,21,29,30
	EXC_ERR \v
.endr

rt_exc_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi
	and $-16, %rsp
	call rt_exception
	ud2

	.section .rodata
	.balign 8
	.globl rt_exception_stubs
rt_exception_stubs:
.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad rt_exc_\v
.endr

	.text
/* Timer tick: count it and send a non-specific EOI (OCW2 0x20) to the master PIC. */
	.globl rt_tick_isr
rt_tick_isr:
	incq rt_ticks(%rip)
	push %rax
	mov $0x20, %al
	outb %al, $0x20
	pop %rax
	iretq

/* A spurious IRQ 7 sets no in-service bit, so it gets no EOI (8259A datasheet). */
	.globl rt_spurious_isr
rt_spurious_isr:
	iretq

/*
 * rt_run_user(fn, arg): saves the callee-saved registers and RSP, then
 * iretq's to rt_user_trampoline at CPL 3 on the user stack, interrupts off.
 * RT_SYS_EXIT from CPL 3 unwinds back here and returns its argument.
 */
	.globl rt_run_user
rt_run_user:
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, rt_kernel_rsp(%rip)
	pushq $RT_SEL_UDATA
	lea rt_user_stack_top(%rip), %rax
	push %rax
	pushq $0x2			/* RFLAGS: reserved bit 1 only, IF = 0, IOPL = 0 */
	pushq $RT_SEL_UCODE
	lea rt_user_trampoline(%rip), %rax
	push %rax
	mov %rdi, %rax
	mov %rsi, %rdi
	iretq

/* Runs at CPL 3: call fn(arg), then leave through the gate with its result. */
rt_user_trampoline:
	call *%rax
	mov %rax, %rdi
	mov $RT_SYS_EXIT, %eax
	int $RT_SYSCALL_VECTOR
	ud2

/*
 * Syscall gate (DPL 3, interrupt gate: IF cleared). RAX = number, RDI =
 * argument; every register but RAX is preserved.
 */
	.globl rt_syscall_entry
rt_syscall_entry:
	test %rax, %rax			/* RT_SYS_EXIT == 0 */
	jz 1f
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %r8
	push %r9
	push %r10
	push %r11
	sub $8, %rsp			/* 5-word CPU frame + 8 pushes: realign to 16 */
	mov %rdi, %rsi
	mov %rax, %rdi
	call rt_syscall_dispatch
	add $8, %rsp
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	iretq
1:	/* Drop the CPL-3 frame and return from rt_run_user at CPL 0. */
	mov rt_kernel_rsp(%rip), %rsp
	mov $RT_SEL_KDATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %rdi, %rax
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret

	.section .bss
	.balign 16
rt_kernel_rsp:
	.skip 8
	.balign 16
	.skip 16384
	.globl rt_intr_stack_top
rt_intr_stack_top:
	.skip 4096
	.globl rt_df_stack_top
rt_df_stack_top:
	.skip 16384
rt_user_stack_top:

	.section .note.GNU-stack, "", @progbits
