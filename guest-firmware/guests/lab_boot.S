/*
 * lab_boot: the guest of lab 6, booting (docs/labs/06-booting). A flat
 * real-mode image for `trapeze run --flat 0x7c00`, like a boot sector:
 * trapeze starts it with CS = DS = ES = 0x7c0, IP = 0, SS:SP = 0:0x7c00
 * (docs/guest-abi.md). It climbs the x86 modes the way firmware and boot
 * loaders do (SDM Vol. 3A 9.9 and 9.8.5):
 *
 *   stage 1  16-bit real mode: segment:offset addressing, no protection
 *   stage 2  32-bit protected mode: a GDT, CR0.PE = 1, a far jump
 *   stage 3  4-level page tables, CR4.PAE, EFER.LME, CR0.PG: IA-32e
 *            compatibility mode, then a far jump to a 64-bit code segment
 *   stage 4  64-bit long mode
 *
 * At the start of each stage it writes the stage number to the POST-code
 * port 0x80 (one traced exit each, `--trace=io,dev=post-code`) and prints a
 * line with CR0 (and CR4, EFER once they matter) read in that mode.
 * The same print routines are assembled three times, once per code size.
 * Success: debug-exit LAB_BOOT_OK (status 109).
 */
#define LOAD		0x7c00	/* where --flat puts us: CS base in real mode */
#define POST_PORT	0x80
#define DEBUG_EXIT	0xf4
#define LAB_BOOT_OK	0x36
#define COM1_THR	0x3f8
#define COM1_LSR	0x3fd
#define LSR_THRE	0x20	/* 16550A: transmit holding register empty */

#define SEL_CODE32	0x08
#define SEL_DATA	0x10
#define SEL_CODE64	0x18

#define PT_BASE		0x10000	/* PML4, PDPT, PD: three pages */
#define PTE_P_RW	0x3
#define PTE_PS		0x80	/* PD entry maps a 2 MiB page */
#define CR0_PE		0x1
#define CR0_PG		0x80000000
#define CR4_PAE		0x20
#define MSR_EFER	0xc0000080
#define EFER_LME	0x100

/*
 * putc_SFX: AL = byte, polls LSR.THRE then writes THR (clobbers AX, DX).
 * puts_SFX: prints the NUL-terminated string at [SI] / [ESI] / [RSI].
 * puthex_SFX: prints EBX as 8 hex digits (clobbers AX, EBX, ECX, DX).
 * Only instructions valid in all three code sizes; no push or pop.
 */
.macro SERIAL sfx
putc_\sfx:
	mov %al, %ah
1:	mov $COM1_LSR, %dx
	in %dx, %al
	test $LSR_THRE, %al
	jz 1b
	mov $COM1_THR, %dx
	mov %ah, %al
	out %al, %dx
	ret
puts_\sfx:
2:	lodsb
	test %al, %al
	jz 3f
	call putc_\sfx
	jmp 2b
3:	ret
puthex_\sfx:
	mov $8, %ecx
4:	rol $4, %ebx
	mov %bl, %al
	and $0xf, %al
	add $'0', %al
	cmp $'9', %al
	jbe 5f
	add $('a' - '0' - 10), %al
5:	call putc_\sfx
	dec %ecx
	jnz 4b
	ret
.endm

	.section .text.entry, "ax"
	.code16
	.globl _start
_start:
	cli
	cld
	mov $1, %al
	outb %al, $POST_PORT
	mov $msg_real, %si		/* DS = 0x7c0: offsets are DS-relative */
	call puts_16
	mov %cs, %bx
	call puthex_16
	mov $msg_cr0, %si
	call puts_16
	mov %cr0, %ebx
	call puthex_16
	mov $msg_nl, %si
	call puts_16

	/* Stage 2: GDT, CR0.PE, far jump to flat 32-bit code (linear addresses from now on). */
	lgdtl gdtr
	mov %cr0, %eax
	or $CR0_PE, %eax
	mov %eax, %cr0
	ljmpl $SEL_CODE32, $(LOAD + prot32)

	SERIAL 16

	.code32
prot32:
	mov $SEL_DATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $LOAD, %esp
	mov $2, %al
	outb %al, $POST_PORT
	mov $(LOAD + msg_prot), %esi
	call puts_32
	mov %cr0, %ebx
	call puthex_32
	mov $(LOAD + msg_nl), %esi
	call puts_32

	/* Stage 3: identity-map the first 2 MiB with one 2 MiB page (SDM Vol. 3A 4.5). */
	mov $3, %al
	outb %al, $POST_PORT
	mov $PT_BASE, %edi
	xor %eax, %eax
	mov $(3 * 4096 / 4), %ecx
	rep stosl
	movl $(PT_BASE + 0x1000 + PTE_P_RW), PT_BASE		/* PML4[0] -> PDPT */
	movl $(PT_BASE + 0x2000 + PTE_P_RW), PT_BASE + 0x1000	/* PDPT[0] -> PD */
	movl $(PTE_P_RW | PTE_PS), PT_BASE + 0x2000		/* PD[0] -> 0-2 MiB */
	mov %cr4, %eax
	or $CR4_PAE, %eax
	mov %eax, %cr4
	mov $PT_BASE, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	rdmsr
	or $EFER_LME, %eax
	wrmsr
	mov $(LOAD + msg_paging), %esi
	call puts_32
	mov %cr0, %eax
	or $CR0_PG, %eax
	mov %eax, %cr0			/* EFER.LMA = 1: compatibility mode */
	ljmp $SEL_CODE64, $(LOAD + long64)

	SERIAL 32

	.code64
long64:
	mov $4, %al
	outb %al, $POST_PORT
	mov $(LOAD + msg_long), %esi
	call puts_64
	mov %cr0, %rbx
	call puthex_64
	mov $(LOAD + msg_cr4), %esi
	call puts_64
	mov %cr4, %rbx
	call puthex_64
	mov $(LOAD + msg_efer), %esi
	call puts_64
	mov $MSR_EFER, %ecx
	rdmsr
	mov %eax, %ebx
	call puthex_64
	mov $(LOAD + msg_nl), %esi
	call puts_64
	mov $LAB_BOOT_OK, %al
	outb %al, $DEBUG_EXIT
1:	cli
	hlt
	jmp 1b

	SERIAL 64

	.balign 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: code, 32-bit (D), 4 GiB */
	.quad 0x00cf92000000ffff	/* 0x10: data, 4 GiB */
	.quad 0x00af9a000000ffff	/* 0x18: code, 64-bit (L) */
gdtr:
	.word 4 * 8 - 1
	.long LOAD + gdt

msg_real:	.asciz "lab6: stage 1: real mode, CS=0x"
msg_cr0:	.asciz " CR0=0x"
msg_prot:	.asciz "lab6: stage 2: protected mode, CR0=0x"
msg_paging:	.asciz "lab6: stage 3: page tables at 0x10000, PAE and EFER.LME set, enabling paging\n"
msg_long:	.asciz "lab6: stage 4: long mode, CR0=0x"
msg_cr4:	.asciz " CR4=0x"
msg_efer:	.asciz " EFER=0x"
msg_nl:		.asciz "\n"

	.section .note.GNU-stack, "", @progbits
