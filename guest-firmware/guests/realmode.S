/*
 * realmode: a 16-bit flat guest for `trapeze run --flat 0x7c00`. trapeze
 * starts it in real mode with CS = DS = ES = 0x7c0, IP = 0, SS:SP = 0:0x7c00
 * (docs/guest-abi.md). It prints a line on COM1 with polled port I/O, then
 * writes 0x10 to the debug-exit port: trapeze exits with status 33.
 */
#define COM1_THR	0x3f8
#define COM1_LSR	0x3fd
#define LSR_THRE	0x20	/* 16550A: transmit holding register empty */
#define DEBUG_EXIT	0xf4
#define REALMODE_OK	0x10

	.code16
	.section .text.entry, "ax"
	.globl _start
_start:
	cld
	mov $msg, %si
next:
	lodsb
	test %al, %al
	jz done
	mov %al, %bl
	mov $COM1_LSR, %dx
wait_thre:
	inb %dx, %al
	test $LSR_THRE, %al
	jz wait_thre
	mov $COM1_THR, %dx
	mov %bl, %al
	outb %al, %dx
	jmp next
done:
	mov $REALMODE_OK, %al
	outb %al, $DEBUG_EXIT
halt:
	cli
	hlt
	jmp halt

msg:
	.asciz "realmode: hello from 16-bit real mode\n"

	.section .note.GNU-stack, "", @progbits
