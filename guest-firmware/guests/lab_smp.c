/*
 * lab_smp: the guest of lab 5, vCPU scheduling (docs/labs/05-vcpu-scheduling).
 *
 * The boot vCPU (BSP) starts the others itself, as firmware does: for each
 * APIC ID 1, 2, ... it copies a real-mode trampoline below 1 MiB and sends
 * INIT and STARTUP IPIs through its local APIC (SDM Vol. 3A 10.6.1 and
 * 8.4.4.1). An AP wakes in real mode at the trampoline, switches to
 * protected mode, then long mode on the BSP's page tables, loads its own
 * GDT and TSS and the shared IDT, reports in and halts. The first ID that
 * does not answer within a deadline ends the search: the guest counts its
 * vCPUs. The BSP waits with HLT, woken by the PIT each millisecond, so the
 * search burns no host CPU. Then it wakes the APs with one IPI to all but
 * itself, and every vCPU, the BSP included, runs the same fixed amount of work at
 * CPL 3: a loop that reads the TSC each iteration and counts the gaps
 * longer than GAP_TICKS, time during which the vCPU did not run (its host
 * thread was descheduled, or the host took an interrupt). Every 1/32 of
 * the way it writes its progress to an unclaimed MMIO address: one
 * KVM_EXIT_MMIO per heartbeat, so `--trace=mmio` shows when each vCPU ran.
 * With more vCPUs than host CPUs, the gaps add up to a large share of each
 * vCPU's elapsed time, and the time all vCPUs ran, divided by the time the
 * whole phase took, says how many CPUs the guest really had at once (the
 * TSC is the host's, the same on every vCPU, on kvm_pvm and on KVM with
 * synchronized TSC offsets). Lines start "lab5: " with fixed keys for the test.
 * Success: debug-exit LAB_SMP_OK (status 107); failure: LAB_FAIL.
 */
#include <stddef.h>
#include "io.h"
#include "rt.h"

#define LAB_SMP_OK		0x35
#define LAB_FAIL		0x3c

#define MAX_CPUS		8
#define TRAMP_BASE		0x10000		/* SIPI vector 0x10: CS = 0x1000, IP = 0 */
#define SIPI_VECTOR		(TRAMP_BASE >> 12)
/*
 * How long to wait for an AP to report in, in PIT ticks (ms), shared by the
 * two STARTUP IPIs. Generous because a loaded host (or the nested host, an
 * emulated CPU) may take long to schedule the AP's thread; the price is that
 * the search for the first missing APIC ID takes that long.
 */
#define AP_DEADLINE_MS		1000
#define PIT_HZ			1000
#define GO_VECTOR		0x40	/* the IPI that starts the APs' work */

#define WORK_ITERS		12000000ULL
#define NR_HEARTBEATS		32
#define GAP_TICKS		50000ULL	/* about 20 us at 2.6 GHz */
#define HEARTBEAT_MMIO		0xd0000000ULL	/* in the 3-4 GiB hole: nobody's */

/* Local APIC registers (xAPIC MMIO), SDM Vol. 3A Table 10-1. */
#define LAPIC_BASE		0xfee00000ULL
#define LAPIC_EOI		0x0b0
#define LAPIC_SVR		0x0f0
#define LAPIC_ICR_LO		0x300
#define LAPIC_ICR_HI		0x310
#define LAPIC_SVR_ENABLE	0x100
#define ICR_INIT		0x00000500	/* delivery mode 101 */
#define ICR_STARTUP		0x00000600	/* delivery mode 110 */
#define ICR_LEVEL_ASSERT	0x00004000
#define ICR_TRIGGER_LEVEL	0x00008000
#define ICR_DELIVERY_PENDING	0x00001000
#define ICR_ALL_BUT_SELF	0x000c0000	/* destination shorthand 11b */

/* Syscall this lab adds to the runtime's gate: an AP is done and halts. */
#define LAB_SYS_AP_HALT		0x35

#define TSS_TYPE_AVAIL		0x89ULL
#define KSTACK_SIZE		8192
#define USTACK_SIZE		8192

int main(void);
void lab_ap_main(uint64_t cpu);
void lab_gate_entry(void);
void lab_go_isr(void);
void rt_syscall_entry(void);

/* 64-bit TSS, SDM Vol. 3A 8.7: each AP needs its own (its RSP0 stack, its busy bit). */
struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

struct cpu_result {
	uint64_t start, end;	/* TSC at the loop's start and end */
	uint64_t elapsed;	/* TSC ticks for the whole loop */
	uint64_t gaps;		/* iterations that took longer than GAP_TICKS */
	uint64_t stolen;	/* ticks in those gaps */
	uint64_t longest;
	uint64_t checksum;
};

static struct cpu_result results[MAX_CPUS];
static uint64_t ap_gdt[MAX_CPUS][8] __attribute__((aligned(16)));
static struct tss64 ap_tss[MAX_CPUS] __attribute__((aligned(16)));
static uint8_t ap_kstack[MAX_CPUS][KSTACK_SIZE] __attribute__((aligned(16)));
static uint8_t ap_ustack[MAX_CPUS][USTACK_SIZE] __attribute__((aligned(16)));
static struct desc_ptr bsp_gdtr, bsp_idtr;
static volatile uint32_t nr_alive = 1;	/* the BSP */
static volatile uint32_t nr_done;
static volatile uint32_t go;		/* set by the BSP before the GO_VECTOR IPI */

/*
 * The AP trampoline, copied to TRAMP_BASE. It is position-dependent on that
 * address: every absolute address below is TRAMP_BASE + (label - start).
 * Its GDT has the runtime's layout (0x08 code64, 0x10 code32, 0x18 data) so
 * CS stays valid when the AP loads its own copy of the runtime's GDT.
 * The BSP fills the four quads at lab_tramp_cr3.. before each STARTUP IPI.
 */
__asm__(".section .rodata\n"
	".balign 16\n"
	".globl lab_tramp_start, lab_tramp_end, lab_tramp_cr3, lab_tramp_stack\n"
	".globl lab_tramp_entry, lab_tramp_arg\n"
	".set TB, 0x10000\n"
	".code16\n"
	"lab_tramp_start:\n"
	"	cli\n"
	"	mov %cs, %ax\n"
	"	mov %ax, %ds\n"
	"	lgdtl tramp_gdtr - lab_tramp_start\n"
	"	mov %cr0, %eax\n"
	"	and $0x9fffffff, %eax\n"		/* clear CD, NW */
	"	or $1, %eax\n"				/* PE */
	"	mov %eax, %cr0\n"
	"	ljmpl $0x10, $(TB + tramp_pm - lab_tramp_start)\n"
	".code32\n"
	"tramp_pm:\n"
	"	mov $0x18, %ax\n"
	"	mov %ax, %ds\n"
	"	mov %ax, %es\n"
	"	mov %ax, %ss\n"
	"	mov %cr4, %eax\n"
	"	or $0x20, %eax\n"			/* PAE */
	"	mov %eax, %cr4\n"
	"	mov TB + lab_tramp_cr3 - lab_tramp_start, %eax\n"
	"	mov %eax, %cr3\n"
	"	mov $0xc0000080, %ecx\n"		/* IA32_EFER */
	"	rdmsr\n"
	"	or $0x100, %eax\n"			/* LME */
	"	wrmsr\n"
	"	mov %cr0, %eax\n"
	"	or $0x80010000, %eax\n"			/* PG, WP */
	"	mov %eax, %cr0\n"
	"	ljmp $0x08, $(TB + tramp_lm - lab_tramp_start)\n"
	".code64\n"
	"tramp_lm:\n"
	"	mov TB + lab_tramp_stack - lab_tramp_start, %rsp\n"
	"	mov TB + lab_tramp_arg - lab_tramp_start, %rdi\n"
	"	mov TB + lab_tramp_entry - lab_tramp_start, %rax\n"
	"	call *%rax\n"
	"1:	cli\n"
	"	hlt\n"
	"	jmp 1b\n"
	".balign 8\n"
	"tramp_gdt:\n"
	"	.quad 0, 0x00af9a000000ffff, 0x00cf9a000000ffff, 0x00cf92000000ffff\n"
	"tramp_gdtr:\n"
	"	.word 31\n"
	"	.long TB + tramp_gdt - lab_tramp_start\n"
	".balign 8\n"
	"lab_tramp_cr3:	.quad 0\n"
	"lab_tramp_stack:	.quad 0\n"
	"lab_tramp_entry:	.quad 0\n"
	"lab_tramp_arg:	.quad 0\n"
	"lab_tramp_end:\n"
	".text\n");

extern const uint8_t lab_tramp_start[], lab_tramp_end[];
extern const uint8_t lab_tramp_cr3[], lab_tramp_stack[], lab_tramp_entry[], lab_tramp_arg[];

/*
 * The syscall gate, shared by all vCPUs (one IDT): LAB_SYS_AP_HALT parks
 * the calling AP for good (interrupts off, HLT: its host thread sleeps in
 * KVM); anything else goes on to the runtime's gate.
 */
__asm__(".text\n"
	".globl lab_gate_entry\n"
	"lab_gate_entry:\n"
	"	cmp $0x35, %rax\n"
	"	jne rt_syscall_entry\n"
	"1:	cli\n"
	"	hlt\n"
	"	jmp 1b\n");

/* The GO_VECTOR IPI: only wakes an AP from HLT; EOI to its local APIC. */
__asm__(".text\n"
	".globl lab_go_isr\n"
	"lab_go_isr:\n"
	"	push %rax\n"
	"	mov $0xfee000b0, %eax\n"		/* LAPIC_BASE + LAPIC_EOI */
	"	movl $0, (%rax)\n"
	"	pop %rax\n"
	"	iretq\n");

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline uint32_t lapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg);
}

static inline void lapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg) = v;
}

static void lapic_send_ipi(uint32_t apic_id, uint32_t icr)
{
	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, icr);
	while (lapic_read(LAPIC_ICR_LO) & ICR_DELIVERY_PENDING)
		;
}

/* The same work on every vCPU, at CPL 3. */
static void work(uint64_t cpu)
{
	struct cpu_result r = { 0 };
	uint64_t x = 0x9e3779b97f4a7c15ULL + cpu, i, t, prev, start;
	volatile uint64_t *beat = (volatile uint64_t *)(uintptr_t)(HEARTBEAT_MMIO + 8 * cpu);

	start = prev = rdtsc();
	for (i = 0; i < WORK_ITERS; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		t = rdtsc();
		if (t - prev > GAP_TICKS) {
			r.gaps++;
			r.stolen += t - prev;
			if (t - prev > r.longest)
				r.longest = t - prev;
		}
		prev = t;
		if ((i + 1) % (WORK_ITERS / NR_HEARTBEATS) == 0)
			*beat = i + 1;	/* an MMIO exit: the trace shows this vCPU running */
	}
	r.start = start;
	r.end = rdtsc();
	r.elapsed = r.end - start;
	r.checksum = x;
	results[cpu] = r;
	__atomic_add_fetch(&nr_done, 1, __ATOMIC_SEQ_CST);
}

static uint64_t bsp_work(uint64_t cpu)
{
	work(cpu);
	return 0;
}

static void ap_user(uint64_t cpu)
{
	work(cpu);
	rt_syscall(LAB_SYS_AP_HALT, cpu);
	for (;;)
		;
}

/* Drops this AP to CPL 3 at ap_user(cpu) on its own user stack, IF = 0. */
__attribute__((noreturn)) static void ap_enter_user(uint64_t cpu)
{
	uint64_t rsp = (uint64_t)(uintptr_t)&ap_ustack[cpu][USTACK_SIZE];

	__asm__ volatile("pushq %0\n\t"
			 "pushq %1\n\t"
			 "pushq $0x2\n\t"
			 "pushq %2\n\t"
			 "pushq %3\n\t"
			 "iretq"
			 : : "i"(RT_SEL_UDATA), "r"(rsp), "i"(RT_SEL_UCODE),
			   "r"((uint64_t)(uintptr_t)ap_user), "D"(cpu)
			 : "memory");
	__builtin_unreachable();
}

/* First C code on an AP, in long mode at CPL 0 on its own kernel stack. */
void lab_ap_main(uint64_t cpu)
{
	uint64_t tss = (uint64_t)(uintptr_t)&ap_tss[cpu];
	uint64_t *gdt = ap_gdt[cpu];
	struct desc_ptr gdtr = { sizeof(ap_gdt[cpu]) - 1, (uint64_t)(uintptr_t)gdt };
	const uint64_t *bsp = (const uint64_t *)(uintptr_t)bsp_gdtr.base;
	unsigned int i;

	/* The runtime's GDT with this AP's own TSS descriptor (SDM Vol. 3A 8.2.3). */
	for (i = 0; i < RT_SEL_TSS / 8; i++)
		gdt[i] = bsp[i];
	ap_tss[cpu].rsp[0] = (uint64_t)(uintptr_t)&ap_kstack[cpu][KSTACK_SIZE];
	ap_tss[cpu].iomap_base = sizeof(struct tss64);
	gdt[RT_SEL_TSS / 8] = (sizeof(struct tss64) - 1) | ((tss & 0xffffff) << 16) |
			      (TSS_TYPE_AVAIL << 40) | ((tss >> 24) & 0xff) << 56;
	gdt[RT_SEL_TSS / 8 + 1] = tss >> 32;
	__asm__ volatile("lgdt %0\n\t"
			 "ltr %w1\n\t"
			 "lidt %2"
			 : : "m"(gdtr), "r"(RT_SEL_TSS), "m"(bsp_idtr) : "memory");
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | 0xff);
	__atomic_add_fetch(&nr_alive, 1, __ATOMIC_SEQ_CST);
	/* Halted, not spinning, until the BSP has counted every vCPU. */
	while (!go)
		__asm__ volatile("sti; hlt; cli" : : : "memory");
	ap_enter_user(cpu);
}

/* INIT, then STARTUP (twice if the first is missed); true when the AP reported in. */
static int start_ap(uint32_t id)
{
	uint64_t *cr3 = (uint64_t *)(uintptr_t)(TRAMP_BASE + (lab_tramp_cr3 - lab_tramp_start));
	uint64_t *stack = (uint64_t *)(uintptr_t)(TRAMP_BASE + (lab_tramp_stack - lab_tramp_start));
	uint64_t *entry = (uint64_t *)(uintptr_t)(TRAMP_BASE + (lab_tramp_entry - lab_tramp_start));
	uint64_t *arg = (uint64_t *)(uintptr_t)(TRAMP_BASE + (lab_tramp_arg - lab_tramp_start));
	uint32_t want = nr_alive + 1;
	uint64_t t0;
	int sipi;

	__asm__ volatile("mov %%cr3, %0" : "=r"(*cr3));
	*stack = (uint64_t)(uintptr_t)&ap_kstack[id][KSTACK_SIZE];
	*entry = (uint64_t)(uintptr_t)lab_ap_main;
	*arg = id;

	lapic_send_ipi(id, ICR_INIT | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL);
	lapic_send_ipi(id, ICR_INIT | ICR_TRIGGER_LEVEL);	/* de-assert */
	for (sipi = 0; sipi < 2; sipi++) {
		lapic_send_ipi(id, ICR_STARTUP | SIPI_VECTOR);
		t0 = rt_ticks;
		while (nr_alive < want && rt_ticks - t0 < AP_DEADLINE_MS / 2)
			__asm__ volatile("sti; hlt; cli" : : : "memory");
		if (nr_alive >= want)
			return 1;
	}
	return 0;
}

static void put_kv(const char *key, uint64_t v)
{
	rt_putc(' ');
	rt_puts(key);
	rt_putc('=');
	rt_put_dec(v);
}

static void report(void)
{
	uint64_t first = ~0ULL, last = 0, ran = 0;
	uint32_t i;

	for (i = 0; i < nr_alive; i++) {
		const struct cpu_result *r = &results[i];

		if (r->start < first)
			first = r->start;
		if (r->end > last)
			last = r->end;
		ran += r->elapsed - r->stolen;

		rt_puts("lab5: vcpu");
		rt_put_dec(i);
		put_kv("elapsed", r->elapsed);
		put_kv("gaps", r->gaps);
		put_kv("stolen", r->stolen);
		put_kv("longest", r->longest);
		put_kv("stolen_pct", r->elapsed ? r->stolen * 100 / r->elapsed : 0);
		rt_puts(" checksum=");
		rt_put_hex(r->checksum);
		rt_putc('\n');
	}
	/* CPUs in use on average: the vCPUs' running time over the phase's length. */
	rt_puts("lab5: phase");
	put_kv("wall", last - first);
	put_kv("ran", ran);
	put_kv("concurrency_x100", last > first ? ran * 100 / (last - first) : 0);
	rt_putc('\n');
}

int main(void)
{
	const uint64_t n = lab_tramp_end - lab_tramp_start;
	uint32_t id;

	rt_cpu_init();
	rt_set_gate(RT_SYSCALL_VECTOR, lab_gate_entry, RT_GATE_USER);
	rt_set_gate(GO_VECTOR, lab_go_isr, RT_GATE_KERNEL);
	rt_set_gate(0x20, rt_tick_isr, RT_GATE_KERNEL);
	rt_set_gate(0x27, rt_spurious_isr, RT_GATE_KERNEL);
	rt_pic_init(0x20, 0x28, 0xfffe);	/* only IRQ 0, the PIT */
	rt_pit_start(PIT_HZ);
	__asm__ volatile("sgdt %0\n\tsidt %1" : "=m"(bsp_gdtr), "=m"(bsp_idtr));
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | 0xff);
	memcpy((void *)(uintptr_t)TRAMP_BASE, lab_tramp_start, n);

	rt_puts("lab5: BSP starting APs with INIT/SIPI, trampoline at ");
	rt_put_hex(TRAMP_BASE);
	rt_putc('\n');
	for (id = 1; id < MAX_CPUS; id++) {
		if (!start_ap(id))
			break;
		rt_puts("lab5: AP ");
		rt_put_dec(id);
		rt_puts(" is up\n");
	}
	rt_puts("lab5: vcpus=");
	rt_put_dec(nr_alive);
	rt_puts(" work_iters=");
	rt_put_dec(WORK_ITERS);
	rt_puts(" gap_ticks=");
	rt_put_dec(GAP_TICKS);
	rt_putc('\n');

	go = 1;
	if (nr_alive > 1)
		lapic_send_ipi(0, ICR_ALL_BUT_SELF | GO_VECTOR);
	rt_run_user(bsp_work, 0);

	/* Wait for the APs with the PIT waking this vCPU each millisecond. */
	while (nr_done < nr_alive)
		__asm__ volatile("sti; hlt; cli" : : : "memory");
	rt_pic_mask(0xffff);

	report();
	rt_puts("lab5: done\n");
	rt_debug_exit(LAB_SMP_OK);
}
