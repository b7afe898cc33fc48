/*
 * lab_sensitive: the guest of lab 2, privileged and sensitive instructions
 * (docs/labs/02-sensitive-instructions), after Popek and Goldberg (1974).
 *
 * At CPL 3 it runs, one at a time, instructions that are
 *   - privileged: they must fault (#GP) outside CPL 0 (HLT, CLI, MOV CR,
 *     LGDT, WRMSR, IN, ...): the fault reaches this guest's own IDT, which
 *     records it and resumes after the instruction;
 *   - sensitive but not privileged on x86 (SGDT, SIDT, SLDT, STR, SMSW,
 *     PUSHF/POPF and IF, MOV from CS, CPUID): they read or try to change
 *     machine state without faulting. Their results are compared with what
 *     the same instructions return at CPL 0, which KVM emulates against the
 *     guest's virtual state.
 * Each probe reports: the fault it raised (or none), its cost in TSC ticks
 * (the cheapest of NR_ROUNDS runs), and the value it produced. Output lines start "lab2: " and have fixed
 * keys so a test can read them (tests/labs/run.sh).
 * Success: debug-exit LAB_SENS_OK (status 101); a failed self-check: LAB_FAIL.
 */
#include <stddef.h>
#include "io.h"
#include "rt.h"

#define LAB_SENS_OK		0x32
#define LAB_FAIL		0x3c

#define VEC_UD			6
#define VEC_GP			13
#define VEC_PF			14
#define NO_FAULT		0xff

#define RFLAGS_IF		(1ULL << 9)	/* SDM Vol. 1, 3.4.3 */
#define RFLAGS_IOPL		(3ULL << 12)
#define MSR_IA32_SYSENTER_CS	0x174
#define CPUID_ECX_HYPERVISOR	(1u << 31)	/* leaf 1 ECX bit 31: "running under a hypervisor" */

int main(void);

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/*
 * The fault hook shared by the probe handlers below and the probes: a probe
 * stores where to resume in lab_probe_fixup before its instruction; a
 * handler that finds it set records the vector and error code, resumes
 * there and clears it. With no probe armed, the handlers hand the fault to
 * the runtime's reporting stub (an unexpected fault still ends the guest).
 */
volatile uint64_t lab_probe_fixup;
volatile uint64_t lab_probe_vector = NO_FAULT;
volatile uint64_t lab_probe_error;

void lab_ud_entry(void);
void lab_gp_entry(void);
void lab_pf_entry(void);

/*
 * Handlers run at CPL 0 (emulated on kvm_pvm: a few instructions only).
 * The CPU pushed [error code,] RIP, CS, RFLAGS, RSP, SS (SDM Vol. 3A 6.14.2).
 */
__asm__(".macro LAB_HANDLER name, vec, has_err\n"
	"	.globl \\name\n"
	"\\name:\n"
	"	cmpq $0, lab_probe_fixup(%rip)\n"
	"	jne 1f\n"
	"	jmp *rt_exception_stubs + \\vec * 8(%rip)\n"
	"1:	.if \\has_err\n"
	"	popq lab_probe_error(%rip)\n"
	"	.else\n"
	"	movq $0, lab_probe_error(%rip)\n"
	"	.endif\n"
	"	movq $\\vec, lab_probe_vector(%rip)\n"
	"	push %rax\n"
	"	mov lab_probe_fixup(%rip), %rax\n"
	"	mov %rax, 8(%rsp)\n"
	"	movq $0, lab_probe_fixup(%rip)\n"
	"	pop %rax\n"
	"	iretq\n"
	".endm\n"
	".text\n"
	"LAB_HANDLER lab_ud_entry, 6, 0\n"
	"LAB_HANDLER lab_gp_entry, 13, 1\n"
	"LAB_HANDLER lab_pf_entry, 14, 1\n");

/* Arms the hook, runs INSN, disarms it; label 1 is where a fault resumes. */
#define PROBE_BEGIN "lea 1f(%%rip), %%r11\n\tmov %%r11, lab_probe_fixup(%%rip)\n\t"
#define PROBE_END "\n1:\tmovq $0, lab_probe_fixup(%%rip)"

enum probe_kind { PRIVILEGED, SENSITIVE };

struct probe_result {
	const char *name;
	enum probe_kind kind;
	uint8_t vector;		/* NO_FAULT or the vector it raised */
	uint64_t error;
	uint64_t ticks;
	uint64_t value;		/* what a sensitive instruction returned at CPL 3 */
	uint64_t value2;
	uint64_t cpl0_value;	/* the same instruction at CPL 0 (or: see label) */
	uint64_t cpl0_value2;
	const char *label;	/* what cpl0_value is, when not "cpl0" */
	int has_value;
};

/*
 * Every probe runs NR_ROUNDS times and keeps its cheapest time: a round in
 * which the host descheduled the vCPU would otherwise look like a trap.
 */
#define NR_ROUNDS 5
#define MAX_PROBES 32
static struct probe_result results[MAX_PROBES];
static unsigned int nr_results;
static unsigned int next_probe;	/* index of the next probe in this round */

/* Guest state read at CPL 0 before dropping to CPL 3; privileged probes write it back unchanged. */
static struct desc_ptr k_gdtr, k_idtr;
static uint64_t k_cr0, k_cr3, k_sysenter_cs, k_rflags;
static uint16_t k_ldtr, k_tr, k_msw;
static uint32_t k_cpuid1_ecx;

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static struct probe_result *probe_new(const char *name, enum probe_kind kind)
{
	struct probe_result *r = &results[next_probe < MAX_PROBES - 1 ? next_probe++ : MAX_PROBES - 1];

	if (next_probe > nr_results) {
		nr_results = next_probe;
		r->ticks = ~0ULL;
	}
	r->name = name;
	r->kind = kind;
	r->label = NULL;
	lab_probe_vector = NO_FAULT;
	lab_probe_error = 0;
	return r;
}

static void probe_done(struct probe_result *r, uint64_t t0)
{
	uint64_t t = rdtsc() - t0;

	if (t < r->ticks)
		r->ticks = t;
	r->vector = (uint8_t)lab_probe_vector;
	r->error = lab_probe_error;
}

/* --- privileged instructions: each should fault at CPL 3 ------------------ */

static void privileged_probes(void)
{
	struct probe_result *r;
	uint64_t t0, v;
	uint32_t lo = (uint32_t)k_sysenter_cs, hi = (uint32_t)(k_sysenter_cs >> 32);

	r = probe_new("HLT", PRIVILEGED);
	t0 = rdtsc();
	__asm__ volatile(PROBE_BEGIN "hlt" PROBE_END : : : "r11", "memory");
	probe_done(r, t0);

	r = probe_new("CLI", PRIVILEGED);
	t0 = rdtsc();
	__asm__ volatile(PROBE_BEGIN "cli" PROBE_END : : : "r11", "memory");
	probe_done(r, t0);

	r = probe_new("STI", PRIVILEGED);
	t0 = rdtsc();
	__asm__ volatile(PROBE_BEGIN "sti" PROBE_END : : : "r11", "memory");
	probe_done(r, t0);

	r = probe_new("MOV_FROM_CR0", PRIVILEGED);
	v = 0;
	t0 = rdtsc();
	__asm__ volatile(PROBE_BEGIN "mov %%cr0, %0" PROBE_END : "+r"(v) : : "r11", "memory");
	probe_done(r, t0);

	/* The guest's own CR3 value: harmless even if it were executed. */
	r = probe_new("MOV_TO_CR3", PRIVILEGED);
	t0 = rdtsc();
	__asm__ volatile(PROBE_BEGIN "mov %0, %%cr3" PROBE_END : : "r"(k_cr3) : "r11", "memory");
	probe_done(r, t0);

	r = probe_new("LGDT", PRIVILEGED);
	t0 = rdtsc();
	__asm__ volatile(PROBE_BEGIN "lgdt %0" PROBE_END : : "m"(k_gdtr) : "r11", "memory");
	probe_done(r, t0);

	r = probe_new("LIDT", PRIVILEGED);
	t0 = rdtsc();
	__asm__ volatile(PROBE_BEGIN "lidt %0" PROBE_END : : "m"(k_idtr) : "r11", "memory");
	probe_done(r, t0);

	r = probe_new("RDMSR", PRIVILEGED);
	t0 = rdtsc();
	__asm__ volatile(PROBE_BEGIN "rdmsr" PROBE_END
			 : : "c"(MSR_IA32_SYSENTER_CS) : "rax", "rdx", "r11", "memory");
	probe_done(r, t0);

	r = probe_new("WRMSR", PRIVILEGED);
	t0 = rdtsc();
	__asm__ volatile(PROBE_BEGIN "wrmsr" PROBE_END
			 : : "c"(MSR_IA32_SYSENTER_CS), "a"(lo), "d"(hi) : "r11", "memory");
	probe_done(r, t0);

	r = probe_new("INVLPG", PRIVILEGED);
	t0 = rdtsc();
	__asm__ volatile(PROBE_BEGIN "invlpg (%0)" PROBE_END : : "r"(results) : "r11", "memory");
	probe_done(r, t0);

	r = probe_new("WBINVD", PRIVILEGED);
	t0 = rdtsc();
	__asm__ volatile(PROBE_BEGIN "wbinvd" PROBE_END : : : "r11", "memory");
	probe_done(r, t0);

	/* Port I/O is privileged only through IOPL (0 here) and the TSS bitmap (none). */
	r = probe_new("OUTB_0x80", PRIVILEGED);
	t0 = rdtsc();
	__asm__ volatile(PROBE_BEGIN "outb %%al, $0x80" PROBE_END : : "a"(0) : "r11", "memory");
	probe_done(r, t0);
}

/* --- sensitive, unprivileged instructions ---------------------------------- */

static void sensitive_probes(void)
{
	struct probe_result *r;
	struct desc_ptr d;
	uint64_t t0, f, asked;
	uint16_t w;
	uint32_t a, b, c, dx;

	r = probe_new("SGDT", SENSITIVE);
	d.limit = 0;
	d.base = 0;
	t0 = rdtsc();
	__asm__ volatile(PROBE_BEGIN "sgdt %0" PROBE_END : "=m"(d) : : "r11", "memory");
	probe_done(r, t0);
	r->value = d.base;
	r->value2 = d.limit;
	r->cpl0_value = k_gdtr.base;
	r->cpl0_value2 = k_gdtr.limit;
	r->has_value = 2;

	r = probe_new("SIDT", SENSITIVE);
	d.limit = 0;
	d.base = 0;
	t0 = rdtsc();
	__asm__ volatile(PROBE_BEGIN "sidt %0" PROBE_END : "=m"(d) : : "r11", "memory");
	probe_done(r, t0);
	r->value = d.base;
	r->value2 = d.limit;
	r->cpl0_value = k_idtr.base;
	r->cpl0_value2 = k_idtr.limit;
	r->has_value = 2;

	r = probe_new("SLDT", SENSITIVE);
	w = 0xdead;
	t0 = rdtsc();
	__asm__ volatile(PROBE_BEGIN "sldt %0" PROBE_END : "+r"(w) : : "r11", "memory");
	probe_done(r, t0);
	r->value = w;
	r->cpl0_value = k_ldtr;
	r->has_value = 1;

	r = probe_new("STR", SENSITIVE);
	w = 0xdead;
	t0 = rdtsc();
	__asm__ volatile(PROBE_BEGIN "str %0" PROBE_END : "+r"(w) : : "r11", "memory");
	probe_done(r, t0);
	r->value = w;
	r->cpl0_value = k_tr;
	r->has_value = 1;

	r = probe_new("SMSW", SENSITIVE);
	w = 0xdead;
	t0 = rdtsc();
	__asm__ volatile(PROBE_BEGIN "smsw %0" PROBE_END : "+r"(w) : : "r11", "memory");
	probe_done(r, t0);
	r->value = w;
	r->cpl0_value = k_msw;
	r->has_value = 1;

	/* rt_run_user entered CPL 3 with RFLAGS = 0x2: IF = 0, IOPL = 0. */
	r = probe_new("PUSHF", SENSITIVE);
	t0 = rdtsc();
	__asm__ volatile(PROBE_BEGIN "pushfq\n\tpopq %0" PROBE_END : "=r"(f) : : "r11", "memory");
	probe_done(r, t0);
	r->value = f & (RFLAGS_IF | RFLAGS_IOPL);
	r->cpl0_value = k_rflags & (RFLAGS_IF | RFLAGS_IOPL);
	r->label = "guest";
	r->has_value = 1;

	/*
	 * POPF asking for IF = 0 and IOPL = 3: at CPL 3 with IOPL 0 the CPU
	 * ignores both changes without a fault (SDM Vol. 2B, POPF). PUSHF
	 * afterwards shows what stuck; "asked" is what POPF was given.
	 */
	r = probe_new("POPF", SENSITIVE);
	t0 = rdtsc();
	__asm__ volatile(PROBE_BEGIN "pushfq\n\t"
			 "andq %2, (%%rsp)\n\t"
			 "orq %3, (%%rsp)\n\t"
			 "movq (%%rsp), %1\n\t"
			 "popfq\n\t"
			 "pushfq\n\t"
			 "popq %0" PROBE_END
			 : "=r"(f), "=r"(asked) : "i"(~RFLAGS_IF), "i"(RFLAGS_IOPL)
			 : "r11", "memory", "cc");
	probe_done(r, t0);
	r->value = f & (RFLAGS_IF | RFLAGS_IOPL);
	r->cpl0_value = asked & (RFLAGS_IF | RFLAGS_IOPL);
	r->label = "asked";
	r->has_value = 1;

	r = probe_new("MOV_FROM_CS", SENSITIVE);
	w = 0;
	t0 = rdtsc();
	__asm__ volatile(PROBE_BEGIN "mov %%cs, %0" PROBE_END : "+r"(w) : : "r11", "memory");
	probe_done(r, t0);
	r->value = w;
	r->cpl0_value = RT_SEL_UCODE;	/* the CS rt_run_user's iretq loaded */
	r->label = "guest";
	r->has_value = 1;

	r = probe_new("CPUID", SENSITIVE);
	c = 0;
	t0 = rdtsc();
	__asm__ volatile(PROBE_BEGIN "cpuid" PROBE_END
			 : "=a"(a), "=b"(b), "+c"(c), "=d"(dx) : "a"(1) : "r11", "memory");
	probe_done(r, t0);
	r->value = c;
	r->cpl0_value = k_cpuid1_ecx;
	r->has_value = 1;
}

static uint64_t user_main(uint64_t arg)
{
	unsigned int round;

	(void)arg;
	for (round = 0; round < NR_ROUNDS; round++) {
		next_probe = 0;
		privileged_probes();
		sensitive_probes();
	}
	return 0;
}

static void read_cpl0_state(void)
{
	uint32_t a, b, d;

	__asm__ volatile("sgdt %0" : "=m"(k_gdtr));
	__asm__ volatile("sidt %0" : "=m"(k_idtr));
	__asm__ volatile("sldt %0" : "=r"(k_ldtr));
	__asm__ volatile("str %0" : "=r"(k_tr));
	__asm__ volatile("smsw %0" : "=r"(k_msw));
	__asm__ volatile("mov %%cr0, %0" : "=r"(k_cr0));
	__asm__ volatile("mov %%cr3, %0" : "=r"(k_cr3));
	k_sysenter_cs = rdmsr(MSR_IA32_SYSENTER_CS);
	k_rflags = 0x2;		/* what rt_run_user gives CPL 3 */
	cpuid(1, 0, &a, &b, &k_cpuid1_ecx, &d);
}

static void put_field(const char *key, uint64_t v)
{
	rt_putc(' ');
	rt_puts(key);
	rt_putc('=');
	rt_put_hex(v);
}

static void report(const struct probe_result *r)
{
	rt_puts("lab2: ");
	rt_puts(r->kind == PRIVILEGED ? "privileged " : "sensitive ");
	rt_puts(r->name);
	if (r->vector == NO_FAULT) {
		rt_puts(" fault=none");
	} else {
		rt_puts(" fault=");
		rt_puts(r->vector == VEC_GP ? "#GP" : r->vector == VEC_UD ? "#UD" :
			r->vector == VEC_PF ? "#PF" : "?");
		put_field("error", r->error);
	}
	rt_puts(" ticks=");
	rt_put_dec(r->ticks);
	if (r->has_value) {
		put_field("cpl3", r->value);
		if (r->has_value == 2)
			put_field("cpl3_limit", r->value2);
		put_field(r->label ? r->label : "cpl0", r->cpl0_value);
		if (r->has_value == 2)
			put_field("cpl0_limit", r->cpl0_value2);
		rt_puts(r->value == r->cpl0_value && r->value2 == r->cpl0_value2 ?
			" same" : " differs");
	}
	rt_putc('\n');
}

int main(void)
{
	unsigned int i, bad = 0;

	rt_cpu_init();
	rt_set_gate(VEC_UD, lab_ud_entry, RT_GATE_KERNEL);
	rt_set_gate(VEC_GP, lab_gp_entry, RT_GATE_KERNEL);
	rt_set_gate(VEC_PF, lab_pf_entry, RT_GATE_KERNEL);
	read_cpl0_state();
	rt_puts("lab2: start: guest GDTR base=");
	rt_put_hex(k_gdtr.base);
	rt_puts(" IDTR base=");
	rt_put_hex(k_idtr.base);
	rt_puts(" CR0=");
	rt_put_hex(k_cr0);
	rt_putc('\n');

	rt_run_user(user_main, 0);

	for (i = 0; i < nr_results; i++) {
		report(&results[i]);
		if (results[i].kind == PRIVILEGED && results[i].vector == NO_FAULT)
			bad++;
	}
	rt_puts("lab2: privileged instructions that did not fault: ");
	rt_put_dec(bad);
	rt_putc('\n');
	if (bad) {
		rt_puts("lab2: FAIL a privileged instruction ran at CPL 3\n");
		rt_debug_exit(LAB_FAIL);
	}
	rt_puts("lab2: done\n");
	rt_debug_exit(LAB_SENS_OK);
}
