/*
 * rt: the small runtime trapeze's tiny guests share.
 *
 * Console and exits (32- and 64-bit, CPL 0): rt_putc/rt_puts/rt_put_hex/
 * rt_put_dec write to the COM1 UART by polling; rt_debug_exit and
 * rt_poweroff end the VM (docs/guest-abi.md has the ports and statuses).
 *
 * 64-bit only: rt_cpu_init installs the runtime's GDT (kernel and user
 * segments, a TSS), its IDT (exception handlers that report and exit, a
 * DPL-3 syscall gate at RT_SYSCALL_VECTOR); rt_run_user runs a function at
 * CPL 3 and returns its result at CPL 0; rt_sys_* are the calls CPL-3 code
 * makes through the gate. rt_pic_init/rt_pit_start drive the legacy timer.
 */
#ifndef RT_H
#define RT_H

/* Values the runtime itself writes to the debug-exit port (status V<<1|1). */
#define RT_EXIT_EXCEPTION_BASE	0x40	/* + vector: an unexpected exception */
#define RT_EXIT_POWEROFF_FAILED	0x3e	/* the PM1a write did not end the VM */

/* GDT selectors (64-bit). 0x08/0x10/0x18 keep the layout trapeze boots with. */
#define RT_SEL_KCODE		0x08
#define RT_SEL_KCODE32		0x10
#define RT_SEL_KDATA		0x18
#define RT_SEL_UDATA		(0x20 | 3)
#define RT_SEL_UCODE		(0x28 | 3)
#define RT_SEL_TSS		0x30

/*
 * The syscall gate's vector. It is 3 (`int $3`, which gas assembles as the
 * one-byte int3), not the customary 0x80: on the kvm_pvm host (PLATFORM.md) an
 * `int n` from CPL 3 raises #UD in the guest for every n tried (0x30, 0x80,
 * 0x81, 0xf0) except 3, whose DPL-3 gate is delivered normally; and under the
 * nested test host (QEMU TCG with SVM, no NRIPS) `int $0x80` from CPL 3 hung
 * the L1 kernel in KVM_RUN while int3 works. int3 works on both and on any
 * hardware KVM. The cost: a CPL-3 `int3` breakpoint is a syscall.
 */
#define RT_SYSCALL_VECTOR	3

/* Syscall numbers: RAX = number, RDI = argument, RAX = result. */
#define RT_SYS_EXIT		0	/* leave CPL 3: rt_run_user returns RDI */
#define RT_SYS_PUTC		1
#define RT_SYS_PUTS		2
#define RT_SYS_PUT_HEX		3
#define RT_SYS_PUT_DEC		4

/* IDT gate attribute bytes (SDM Vol. 3A 6.14.1): present, DPL, type 0xE. */
#define RT_GATE_KERNEL		0x8e
#define RT_GATE_USER		0xee

#ifndef __ASSEMBLER__
#include <stdint.h>

void rt_putc(char c);
void rt_puts(const char *s);
void rt_put_hex(uint64_t v);		/* "0x" and the digits, no padding */
void rt_put_dec(unsigned long v);
__attribute__((noreturn)) void rt_debug_exit(uint8_t v);
__attribute__((noreturn)) void rt_poweroff(void);

void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);

#ifdef __x86_64__
void rt_cpu_init(void);
void rt_set_gate(uint8_t vector, void (*handler)(void), uint8_t attr);
uint64_t rt_run_user(uint64_t (*fn)(uint64_t), uint64_t arg);

/* Legacy PIC and PIT (8259A, 8254). */
void rt_pic_init(uint8_t master_base, uint8_t slave_base, uint16_t mask);
void rt_pic_mask(uint16_t mask);
void rt_pit_start(uint32_t hz);

/* Timer interrupt handler: increments rt_ticks, EOIs the master PIC. */
void rt_tick_isr(void);
/* Spurious-IRQ handler (IRQ 7/15 with nothing in service): plain iretq. */
void rt_spurious_isr(void);
extern volatile uint64_t rt_ticks;

/* Sleeps with interrupts on until rt_ticks reaches n; returns with IF=0. */
void rt_wait_ticks(uint64_t n);

static inline uint64_t rt_syscall(uint64_t nr, uint64_t arg)
{
	uint64_t ret;

	__asm__ volatile("int %[vec]"
			 : "=a"(ret)
			 : "a"(nr), "D"(arg), [vec] "i"(RT_SYSCALL_VECTOR)
			 : "memory");
	return ret;
}

static inline void rt_sys_putc(char c)
{
	rt_syscall(RT_SYS_PUTC, (uint8_t)c);
}

static inline void rt_sys_puts(const char *s)
{
	rt_syscall(RT_SYS_PUTS, (uint64_t)(uintptr_t)s);
}

static inline void rt_sys_put_hex(uint64_t v)
{
	rt_syscall(RT_SYS_PUT_HEX, v);
}

static inline void rt_sys_put_dec(uint64_t v)
{
	rt_syscall(RT_SYS_PUT_DEC, v);
}

#endif /* __x86_64__ */
#endif /* __ASSEMBLER__ */

#endif
