/*
 * cpu64: the runtime's GDT, TSS and IDT for 64-bit guests.
 *
 * The GDT keeps trapeze's boot selectors (0x08 code64, 0x10 code32, 0x18
 * data), so loading it needs no far jump, and adds user data and code
 * (DPL 3) and a 64-bit TSS whose RSP0 is the stack CPL-3 traps land on.
 * The IDT sends the 32 exception vectors to rt_exception, which reports and
 * exits, and has a DPL-3 interrupt gate at RT_SYSCALL_VECTOR.
 * Everything here runs at CPL 0, so it is kept to a few hundred instructions.
 */
#include <stddef.h>
#include "io.h"
#include "rt.h"

/* 64-bit TSS, SDM Vol. 3A 8.7 (Figure 8-11). */
struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

/* 64-bit IDT gate descriptor, SDM Vol. 3A 6.14.1 (Figure 6-8). */
struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __attribute__((packed));

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/*
 * Segment descriptors, SDM Vol. 3A 3.4.5: limit 0xfffff with G=1; access
 * byte P|DPL|S|type; flags L (64-bit code) or D/B (32-bit).
 */
#define GDT_CODE64_K	0x00af9a000000ffffULL	/* P, DPL0, code exec/read, L, G */
#define GDT_CODE32_K	0x00cf9a000000ffffULL	/* P, DPL0, code exec/read, D, G */
#define GDT_DATA_K	0x00cf92000000ffffULL	/* P, DPL0, data read/write, B, G */
#define GDT_DATA_U	0x00cff2000000ffffULL	/* P, DPL3, data read/write, B, G */
#define GDT_CODE64_U	0x00affa000000ffffULL	/* P, DPL3, code exec/read, L, G */
#define TSS_TYPE_AVAIL	0x89ULL			/* P, system type 9: available 64-bit TSS */

#define IST_DOUBLE_FAULT	1

extern void *const rt_exception_stubs[32];
extern void rt_syscall_entry(void);
extern uint8_t rt_intr_stack_top[];
extern uint8_t rt_df_stack_top[];

static uint64_t gdt[8] __attribute__((aligned(16))) = {
	0, GDT_CODE64_K, GDT_CODE32_K, GDT_DATA_K, GDT_DATA_U, GDT_CODE64_U,
	0, 0,	/* TSS descriptor, 16 bytes, filled in by rt_cpu_init */
};

static struct tss64 tss __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));

void rt_set_gate(uint8_t vector, void (*handler)(void), uint8_t attr)
{
	uint64_t addr = (uint64_t)(uintptr_t)handler;
	struct idt_gate *g = &idt[vector];

	g->offset_lo = (uint16_t)addr;
	g->selector = RT_SEL_KCODE;
	g->ist = 0;
	g->attr = attr;
	g->offset_mid = (uint16_t)(addr >> 16);
	g->offset_hi = (uint32_t)(addr >> 32);
}

void rt_cpu_init(void)
{
	uint64_t base = (uint64_t)(uintptr_t)&tss;
	struct desc_ptr gdtr = { sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt };
	struct desc_ptr idtr = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
	unsigned int v;

	tss.rsp[0] = (uint64_t)(uintptr_t)rt_intr_stack_top;
	tss.ist[IST_DOUBLE_FAULT - 1] = (uint64_t)(uintptr_t)rt_df_stack_top;
	tss.iomap_base = sizeof(tss);	/* no I/O permission bitmap */

	/* System-segment descriptor, SDM Vol. 3A 8.2.3 (Figure 8-4). */
	gdt[RT_SEL_TSS / 8] = (sizeof(tss) - 1) | ((base & 0xffffff) << 16) |
			      (TSS_TYPE_AVAIL << 40) |
			      ((base >> 24) & 0xff) << 56;
	gdt[RT_SEL_TSS / 8 + 1] = base >> 32;

	for (v = 0; v < 32; v++)
		rt_set_gate((uint8_t)v, (void (*)(void))rt_exception_stubs[v],
			    RT_GATE_KERNEL);
	idt[8].ist = IST_DOUBLE_FAULT;
	rt_set_gate(RT_SYSCALL_VECTOR, rt_syscall_entry, RT_GATE_USER);

	__asm__ volatile("lgdt %0\n\t"
			 "mov %1, %%ds\n\t"
			 "mov %1, %%es\n\t"
			 "mov %1, %%ss\n\t"
			 "ltr %w2\n\t"
			 "lidt %3"
			 : : "m"(gdtr), "r"(RT_SEL_KDATA), "r"(RT_SEL_TSS), "m"(idtr)
			 : "memory");
}
