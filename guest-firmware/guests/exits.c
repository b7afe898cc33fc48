/*
 * exits: drives each kind of exit a tiny guest can cause and checks what
 * comes back: port I/O of every width, string port I/O both ways, MMIO in
 * the 32-bit hole, CPUID, RDMSR/WRMSR, and HLT woken by a timer interrupt.
 * All checks passed: debug-exit 0x21 (status 67). A failed check prints
 * "exits: FAIL <what>" and debug-exits 0x22 (status 69).
 */
#include "io.h"
#include "rt.h"

#define EXITS_OK		0x21
#define EXITS_FAIL		0x22

#define UNCLAIMED_PORT		0x230		/* nothing decodes it under trapeze */
#define UNCLAIMED_MMIO		0xd0000000UL	/* in the 3-4 GiB hole, no device */
#define COM1_THR		0x3f8

#define MSR_IA32_SYSENTER_CS	0x174		/* SDM Vol. 4, Table 2-2 */
#define MSR_IA32_TSC_AUX	0xc0000103
#define CPUID_EXT_RDTSCP	(1u << 27)	/* CPUID 0x80000001 EDX */

int main(void);

static void check(int ok, const char *what)
{
	if (ok)
		return;
	rt_puts("exits: FAIL ");
	rt_puts(what);
	rt_putc('\n');
	rt_debug_exit(EXITS_FAIL);
}

static void check_pio(void)
{
	uint8_t b;
	uint16_t w;
	uint32_t l;

	outb(UNCLAIMED_PORT, 0x5a);
	outw(UNCLAIMED_PORT, 0x5a5a);
	outl(UNCLAIMED_PORT, 0x5a5a5a5a);
	b = inb(UNCLAIMED_PORT);
	w = inw(UNCLAIMED_PORT);
	l = inl(UNCLAIMED_PORT);
	rt_puts("exits: pio inb=");
	rt_put_hex(b);
	rt_puts(" inw=");
	rt_put_hex(w);
	rt_puts(" inl=");
	rt_put_hex(l);
	rt_putc('\n');
	check(b == 0xff && w == 0xffff && l == 0xffffffff, "pio reads of an unclaimed port");
}

static void check_string_pio(void)
{
	static const char line[] = "exits: rep outsb to COM1\n";
	uint8_t buf[16];
	const void *src = line;
	void *dst = buf;
	unsigned long n = sizeof(line) - 1;
	unsigned int i;

	/* The emulated UART takes a byte whenever it comes: no THRE polling. */
	__asm__ volatile("rep outsb"
			 : "+S"(src), "+c"(n)
			 : "d"((uint16_t)COM1_THR)
			 : "memory");
	check(n == 0 && src == line + sizeof(line) - 1, "rep outsb registers");

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = 0;
	n = sizeof(buf);
	__asm__ volatile("rep insb"
			 : "+D"(dst), "+c"(n)
			 : "d"((uint16_t)UNCLAIMED_PORT)
			 : "memory");
	check(n == 0 && dst == buf + sizeof(buf), "rep insb registers");
	for (i = 0; i < sizeof(buf); i++)
		check(buf[i] == 0xff, "rep insb data from an unclaimed port");
	rt_puts("exits: rep insb 16 bytes of 0xff\n");
}

static void check_mmio(void)
{
	volatile uint8_t *p8 = (volatile uint8_t *)UNCLAIMED_MMIO;
	volatile uint16_t *p16 = (volatile uint16_t *)UNCLAIMED_MMIO;
	volatile uint32_t *p32 = (volatile uint32_t *)UNCLAIMED_MMIO;
	volatile uint64_t *p64 = (volatile uint64_t *)UNCLAIMED_MMIO;
	uint64_t q;
	uint32_t l;
	uint16_t w;
	uint8_t b;

	*p32 = 0x12345678;
	*p8 = 0x12;
	b = *p8;
	w = *p16;
	l = *p32;
	q = *p64;
	rt_puts("exits: mmio read32=");
	rt_put_hex(l);
	rt_putc('\n');
	check(b == 0xff && w == 0xffff && l == 0xffffffff && q == ~0ULL,
	      "mmio reads of an unclaimed address");
}

static void check_cpuid(void)
{
	uint32_t max, r[3], a, b, c, d;
	char vendor[13];
	unsigned int i;

	cpuid(0, 0, &max, &r[0], &r[2], &r[1]);	/* vendor is EBX, EDX, ECX */
	for (i = 0; i < 12; i++) {
		vendor[i] = (char)(r[i / 4] >> (8 * (i % 4)));
		check(vendor[i] > 0x20 && vendor[i] < 0x7f, "cpuid vendor string");
	}
	vendor[12] = 0;
	rt_puts("exits: cpuid vendor ");
	rt_puts(vendor);
	rt_putc('\n');
	check(max >= 1, "cpuid max basic leaf");
	cpuid(1, 0, &a, &b, &c, &d);
	check(a != 0, "cpuid leaf 1 signature");
}

static void check_msr(void)
{
	uint32_t max, b, c, d;
	uint64_t old, v;

	old = rdmsr(MSR_IA32_SYSENTER_CS);
	wrmsr(MSR_IA32_SYSENTER_CS, 0x10);
	v = rdmsr(MSR_IA32_SYSENTER_CS);
	wrmsr(MSR_IA32_SYSENTER_CS, old);
	check(v == 0x10, "msr SYSENTER_CS round trip");
	rt_puts("exits: msr SYSENTER_CS round trip ok\n");

	cpuid(0x80000000, 0, &max, &b, &c, &d);
	if (max < 0x80000001)
		return;
	cpuid(0x80000001, 0, &max, &b, &c, &d);
	if (!(d & CPUID_EXT_RDTSCP))
		return;
	wrmsr(MSR_IA32_TSC_AUX, 0x2a);
	v = rdmsr(MSR_IA32_TSC_AUX);
	check(v == 0x2a, "msr TSC_AUX round trip");
	rt_puts("exits: msr TSC_AUX round trip ok\n");
}

static void check_hlt(void)
{
	rt_set_gate(0x20, rt_tick_isr, RT_GATE_KERNEL);
	rt_set_gate(0x27, rt_spurious_isr, RT_GATE_KERNEL);
	rt_pic_init(0x20, 0x28, 0xfffe);	/* only IRQ 0 (PIT) unmasked */
	rt_pit_start(1000);
	__asm__ volatile("sti; hlt; cli" : : : "memory");
	rt_pic_mask(0xffff);
	check(rt_ticks >= 1, "hlt woken by the timer interrupt");
	rt_puts("exits: hlt woke on timer interrupt\n");
}

int main(void)
{
	rt_cpu_init();
	rt_puts("exits: start\n");
	check_pio();
	check_string_pio();
	check_mmio();
	check_cpuid();
	check_msr();
	check_hlt();
	rt_puts("exits: all checks passed\n");
	rt_debug_exit(EXITS_OK);
}
