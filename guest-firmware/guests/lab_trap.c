/*
 * lab_trap: the guest of lab 1, trap and emulate (docs/labs/01-trap-and-emulate).
 *
 * It does three kinds of sensitive work and reports what came back:
 *   - port I/O to devices trapeze emulates in userspace: POST codes on
 *     port 0x80, the CMOS RTC at 0x70/0x71, an unclaimed port;
 *   - port I/O to a device KVM emulates in the kernel: the master 8259A's
 *     interrupt mask register (port 0x21);
 *   - CPUID (at CPL 3, timed) and RDMSR, which KVM answers itself.
 * The lab traces the exits that reach trapeze and compares them with KVM's
 * own exit counter. Every line the guest prints goes through the 16550A's
 * transmit register, one port write per byte, which the lab also counts.
 * Success: debug-exit LAB_TRAP_OK (status 99); a failed check: LAB_FAIL.
 */
#include "io.h"
#include "rt.h"

#define LAB_TRAP_OK		0x31
#define LAB_FAIL		0x3c

#define POST_PORT		0x80	/* PC POST-code port: trapeze drops writes */
#define NR_POST_CODES		4
#define CMOS_INDEX		0x70	/* MC146818: index register */
#define CMOS_DATA		0x71
#define CMOS_REG_SECONDS	0x00
#define CMOS_REG_STATUS_A	0x0a
#define CMOS_STATUS_A_UIP	0x80	/* update in progress */
#define UNCLAIMED_PORT		0x230
#define PIC1_DATA		0x21	/* 8259A master: OCW1, the IRQ mask */

#define NR_CPUID		1000	/* CPUIDs run at CPL 3 */
#define NR_ADD_ROUNDS		5	/* the ADD loop's best of 5: it is short enough to be skewed by one preemption */
#define NR_RDMSR		100	/* RDMSRs run at CPL 0 */
#define MSR_IA32_APIC_BASE	0x1b	/* SDM Vol. 4, Table 2-2 */
#define CPUID_HV_BASE		0x40000000	/* hypervisor leaves (KVM: "KVMKVMKVM") */

int main(void);

/* Filled by the CPL-3 part (the identity map is user-accessible). */
static volatile uint64_t user_cpuid_ticks;
static volatile uint64_t user_add_ticks;
static volatile uint32_t user_hv_sig[3];

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static void check(int ok, const char *what)
{
	if (ok)
		return;
	rt_puts("lab1: FAIL ");
	rt_puts(what);
	rt_putc('\n');
	rt_debug_exit(LAB_FAIL);
}

static void port_io(void)
{
	uint8_t sec, unclaimed, mask;
	unsigned int i;

	for (i = 1; i <= NR_POST_CODES; i++)
		outb(POST_PORT, (uint8_t)i);

	/* Wait out an RTC update so the seconds are stable (MC146818 datasheet). */
	do {
		outb(CMOS_INDEX, CMOS_REG_STATUS_A);
	} while (inb(CMOS_DATA) & CMOS_STATUS_A_UIP);
	outb(CMOS_INDEX, CMOS_REG_SECONDS);
	sec = inb(CMOS_DATA);

	unclaimed = inb(UNCLAIMED_PORT);

	/* The in-kernel PIC: write the mask, read it back; no exit reaches trapeze. */
	outb(PIC1_DATA, 0xa5);
	mask = inb(PIC1_DATA);
	outb(PIC1_DATA, 0xff);

	rt_puts("lab1: port I/O: ");
	rt_put_dec(NR_POST_CODES);
	rt_puts(" POST codes written to port 0x80\n");
	rt_puts("lab1: port I/O: RTC seconds register (BCD) = ");
	rt_put_hex(sec);
	rt_putc('\n');
	rt_puts("lab1: port I/O: unclaimed port 0x230 read ");
	rt_put_hex(unclaimed);
	rt_putc('\n');
	rt_puts("lab1: port I/O: PIC mask written 0xa5, read back ");
	rt_put_hex(mask);
	rt_putc('\n');
	check(unclaimed == 0xff, "an unclaimed port must read all-ones");
	check(mask == 0xa5, "PIC mask round trip");
}

/* Runs at CPL 3: CPUID in a loop, and the same loop with an ADD, timed. */
static uint64_t user_cpuid(uint64_t n)
{
	uint32_t a, b, c, d;
	uint64_t t0, t1, i, r, x = 0;

	cpuid(CPUID_HV_BASE, 0, &a, &b, &c, &d);
	user_hv_sig[0] = b;
	user_hv_sig[1] = c;
	user_hv_sig[2] = d;

	t0 = rdtsc();
	for (i = 0; i < n; i++)
		cpuid(0, 0, &a, &b, &c, &d);
	t1 = rdtsc();
	user_cpuid_ticks = t1 - t0;

	user_add_ticks = ~0ULL;
	for (r = 0; r < NR_ADD_ROUNDS; r++) {
		t0 = rdtsc();
		for (i = 0; i < n; i++)
			__asm__ volatile("add %1, %0" : "+r"(x) : "r"(i));
		t1 = rdtsc();
		if (t1 - t0 < user_add_ticks)
			user_add_ticks = t1 - t0;
	}
	return x;
}

static void cpuid_at_cpl3(void)
{
	char sig[13];
	unsigned int i;

	rt_run_user(user_cpuid, NR_CPUID);
	for (i = 0; i < 12; i++) {
		char ch = (char)(user_hv_sig[i / 4] >> (8 * (i % 4)));

		sig[i] = ch > 0x20 && ch < 0x7f ? ch : '.';
	}
	sig[12] = 0;
	rt_puts("lab1: cpuid: ");
	rt_put_dec(NR_CPUID);
	rt_puts(" CPUIDs at CPL 3 took ");
	rt_put_dec(user_cpuid_ticks);
	rt_puts(" TSC ticks (");
	rt_put_dec(user_cpuid_ticks / NR_CPUID);
	rt_puts(" per CPUID)\n");
	rt_puts("lab1: cpuid: the same loop with an ADD took ");
	rt_put_dec(user_add_ticks);
	rt_puts(" TSC ticks\n");
	rt_puts("lab1: cpuid: hypervisor leaf 0x40000000 signature '");
	rt_puts(sig);
	rt_puts("'\n");
}

static void rdmsr_at_cpl0(void)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < NR_RDMSR; i++)
		v = rdmsr(MSR_IA32_APIC_BASE);
	rt_puts("lab1: rdmsr: ");
	rt_put_dec(NR_RDMSR);
	rt_puts(" RDMSRs of IA32_APIC_BASE = ");
	rt_put_hex(v);
	rt_putc('\n');
	check((v & 0xfffff000) == 0xfee00000, "APIC base at 0xfee00000");
}

int main(void)
{
	rt_cpu_init();
	rt_puts("lab1: start\n");
	port_io();
	cpuid_at_cpl3();
	rdmsr_at_cpl0();
	rt_puts("lab1: done\n");
	rt_debug_exit(LAB_TRAP_OK);
}
