/*
 * lab_memory: the guest of lab 3, memory virtualization
 * (docs/labs/03-memory-virtualization).
 *
 * At CPL 0 it builds its own 4-level page tables (SDM Vol. 3A 4.5): the
 * identity map trapeze booted it with stays at PML4[0], and three windows
 * of virtual addresses map the same 16 MiB of guest-physical memory at
 * 64 MiB with 4 KiB pages:
 *   A at 512 GiB through its own page directory and page tables,
 *   B at 513 GiB through a second, separate set of tables with the same
 *     entries,
 *   C at 514 GiB through A's page directory (the PDPT points to it twice).
 * It walks its tables in software for one address and prints every level,
 * then at CPL 3 writes one word to each of the 4096 pages, window by
 * window, timing each pass and each page with the TSC:
 *   pass 1  A, pages never touched before
 *   pass 2  A again
 *   pass 3  B: new virtual addresses and new page tables, same pages
 *   pass 4  B again
 *   pass 5  C: new virtual addresses, A's page tables
 * Under shadow paging (kvm_pvm) the hypervisor builds a shadow page table
 * for each guest page table it meets and fills its entries on first use:
 * passes 1 and 3 are dear, pass 5 reuses A's shadow tables. Under nested
 * paging (EPT/NPT) the second-level entry is per guest-physical page: only
 * pass 1 is dear. After the passes it writes POST code 3 (port 0x80), a
 * place for `--step=io,dev=post-code` to stop with the guest's own tables
 * loaded. Lines start "lab3: " with fixed keys for the test
 * (tests/labs/run.sh). Success: debug-exit LAB_MEM_OK (status 103).
 */
#include "io.h"
#include "rt.h"

#define LAB_MEM_OK		0x33
#define LAB_FAIL		0x3c

#define PAGE_SIZE		4096ULL
#define REGION_GPA		0x4000000ULL		/* 64 MiB */
#define REGION_SIZE		(16ULL << 20)
#define NR_PAGES		(REGION_SIZE / PAGE_SIZE)	/* 4096 */
#define NR_PTS			(NR_PAGES / 512)		/* 8 page tables */
#define WINDOW_A		(1ULL << 39)		/* PML4 index 1: 512 GiB */
#define WINDOW_B		(WINDOW_A + (1ULL << 30))	/* PDPT index 1: 513 GiB */
#define WINDOW_C		(WINDOW_A + (2ULL << 30))	/* PDPT index 2: 514 GiB */
#define NR_PASSES		5

/* Page-table entry bits, SDM Vol. 3A 4.5 (Tables 4-15 to 4-20). */
#define PTE_P			(1ULL << 0)
#define PTE_RW			(1ULL << 1)
#define PTE_US			(1ULL << 2)
#define PTE_A			(1ULL << 5)
#define PTE_D			(1ULL << 6)
#define PTE_PS			(1ULL << 7)
#define PTE_ADDR		0x000ffffffffff000ULL
#define PTE_TABLE		(PTE_P | PTE_RW | PTE_US)

#define MARKER			0x5ca1ab1e0ddba11ULL
#define POST_PORT		0x80	/* trapeze's post-code device: one traced exit */
#define POST_PASSES_DONE	0x03	/* a stop for --step=io,dev=post-code */

int main(void);

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd_a[512] __attribute__((aligned(4096)));
static uint64_t pt_a[NR_PTS][512] __attribute__((aligned(4096)));
static uint64_t pd_b[512] __attribute__((aligned(4096)));
static uint64_t pt_b[NR_PTS][512] __attribute__((aligned(4096)));

static volatile uint64_t pass_ticks[NR_PASSES];
static volatile uint64_t pass_median[NR_PASSES];
static uint64_t page_ticks[NR_PAGES];	/* one pass's per-page times, at CPL 3 */
static volatile uint64_t alias_seen;

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t read_cr3(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

/* The tables are in .bss, identity-mapped: their virtual address is their guest-physical one. */
static uint64_t table_gpa(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* A page directory and its page tables mapping the region, 4 KiB pages. */
static void build_window(uint64_t *pd, uint64_t (*pt)[512])
{
	uint64_t i, gpa = REGION_GPA;

	for (i = 0; i < NR_PTS; i++)
		pd[i] = table_gpa(pt[i]) | PTE_TABLE;
	for (i = 0; i < NR_PAGES; i++, gpa += PAGE_SIZE)
		pt[i / 512][i % 512] = gpa | PTE_P | PTE_RW | PTE_US;
}

static void build_tables(void)
{
	const uint64_t *boot_pml4 = (const uint64_t *)(uintptr_t)(read_cr3() & PTE_ADDR);

	pml4[0] = boot_pml4[0];				/* trapeze's identity map of 0-4 GiB */
	pml4[(WINDOW_A >> 39) & 511] = table_gpa(pdpt) | PTE_TABLE;
	build_window(pd_a, pt_a);
	build_window(pd_b, pt_b);
	pdpt[(WINDOW_A >> 30) & 511] = table_gpa(pd_a) | PTE_TABLE;
	pdpt[(WINDOW_B >> 30) & 511] = table_gpa(pd_b) | PTE_TABLE;
	pdpt[(WINDOW_C >> 30) & 511] = table_gpa(pd_a) | PTE_TABLE;	/* C shares A's tables */
	__asm__ volatile("mov %0, %%cr3" : : "r"(table_gpa(pml4)) : "memory");
}

static void put_entry(const char *level, uint64_t index, uint64_t entry)
{
	rt_puts("lab3: walk   ");
	rt_puts(level);
	rt_putc('[');
	rt_put_dec(index);
	rt_puts("] = ");
	rt_put_hex(entry);
	rt_putc('\n');
}

/*
 * The walk the MMU does for va, in software, over the guest's own tables
 * (all identity-mapped, so an entry's address is usable as a pointer).
 * Returns the guest-physical address, or ~0 when a level is not present.
 */
static uint64_t walk(uint64_t va)
{
	static const char *const names[4] = { "PML4", "PDPT", "PD  ", "PT  " };
	uint64_t table = read_cr3() & PTE_ADDR, e = 0;
	int level, shift = 39;

	rt_puts("lab3: walk va=");
	rt_put_hex(va);
	rt_puts(" CR3=");
	rt_put_hex(table);
	rt_putc('\n');
	for (level = 0; level < 4; level++, shift -= 9) {
		uint64_t index = (va >> shift) & 511;

		e = ((const uint64_t *)(uintptr_t)table)[index];
		put_entry(names[level], index, e);
		if (!(e & PTE_P))
			return ~0ULL;
		if (level > 0 && level < 3 && (e & PTE_PS))
			return (e & PTE_ADDR & ~((1ULL << shift) - 1)) | (va & ((1ULL << shift) - 1));
		table = e & PTE_ADDR;
	}
	return (e & PTE_ADDR) | (va & (PAGE_SIZE - 1));
}

/* Shell sort (gaps 3k+1): a few milliseconds at CPL 3 for 4096 values. */
static void sort(uint64_t *v, uint64_t n)
{
	uint64_t gap = 1, i, j, x;

	while (gap < n / 3)
		gap = 3 * gap + 1;
	for (; gap > 0; gap /= 3)
		for (i = gap; i < n; i++) {
			x = v[i];
			for (j = i; j >= gap && v[j - gap] > x; j -= gap)
				v[j] = v[j - gap];
			v[j] = x;
		}
}

/*
 * Writes one word to each page from base, timing each write. Returns the
 * whole pass's ticks and stores the median per-page time: a median is not
 * moved by the few pages during which the host happened to deschedule us.
 */
static uint64_t touch(uint64_t base, volatile uint64_t *median)
{
	uint64_t start = rdtsc(), t0, t1, i;

	t0 = start;
	for (i = 0; i < NR_PAGES; i++) {
		*(volatile uint64_t *)(uintptr_t)(base + i * PAGE_SIZE) = i;
		t1 = rdtsc();
		page_ticks[i] = t1 - t0;
		t0 = t1;
	}
	sort(page_ticks, NR_PAGES);
	*median = page_ticks[NR_PAGES / 2];
	return t0 - start;
}

/* Runs at CPL 3: the five passes, then a marker written through A and read through B. */
static uint64_t user_touch(uint64_t arg)
{
	uint64_t i;

	(void)arg;
	for (i = 0; i < NR_PAGES; i += PAGE_SIZE / sizeof(page_ticks[0]))
		page_ticks[i] = 0;	/* fault the timing array in before timing anything */
	pass_ticks[0] = touch(WINDOW_A, &pass_median[0]);
	pass_ticks[1] = touch(WINDOW_A, &pass_median[1]);
	pass_ticks[2] = touch(WINDOW_B, &pass_median[2]);
	pass_ticks[3] = touch(WINDOW_B, &pass_median[3]);
	pass_ticks[4] = touch(WINDOW_C, &pass_median[4]);
	*(volatile uint64_t *)(uintptr_t)(WINDOW_A + 5 * PAGE_SIZE + 8) = MARKER;
	alias_seen = *(volatile uint64_t *)(uintptr_t)(WINDOW_B + 5 * PAGE_SIZE + 8);
	return 0;
}

static void report_pass(unsigned int n, const char *what)
{
	rt_puts("lab3: pass ");
	rt_put_dec(n + 1);
	rt_puts(" ticks=");
	rt_put_dec(pass_ticks[n]);
	rt_puts(" per_page=");
	rt_put_dec(pass_ticks[n] / NR_PAGES);
	rt_puts(" median=");
	rt_put_dec(pass_median[n]);
	rt_puts(" (");
	rt_puts(what);
	rt_puts(")\n");
}

static void check(int ok, const char *what)
{
	if (ok)
		return;
	rt_puts("lab3: FAIL ");
	rt_puts(what);
	rt_putc('\n');
	rt_debug_exit(LAB_FAIL);
}

int main(void)
{
	uint64_t gpa, direct;
	const uint64_t *pte5 = &pt_a[0][5];

	rt_cpu_init();
	rt_puts("lab3: building page tables: ");
	rt_put_dec(NR_PAGES);
	rt_puts(" pages of 4 KiB, windows A=");
	rt_put_hex(WINDOW_A);
	rt_puts(" B=");
	rt_put_hex(WINDOW_B);
	rt_puts(" C=");
	rt_put_hex(WINDOW_C);
	rt_puts(" -> gpa ");
	rt_put_hex(REGION_GPA);
	rt_putc('\n');
	build_tables();

	gpa = walk(WINDOW_A + 5 * PAGE_SIZE + 8);
	rt_puts("lab3: walk result gpa=");
	rt_put_hex(gpa);
	rt_putc('\n');
	check(gpa == REGION_GPA + 5 * PAGE_SIZE + 8, "software walk of window A");
	rt_puts("lab3: PT[5] before: accessed=");
	rt_put_dec(!!(*pte5 & PTE_A));
	rt_puts(" dirty=");
	rt_put_dec(!!(*pte5 & PTE_D));
	rt_putc('\n');

	rt_run_user(user_touch, 0);
	/* Stop here with --step=io,dev=post-code: CR3 is this guest's own PML4. */
	outb(POST_PORT, POST_PASSES_DONE);

	report_pass(0, "window A, first touch");
	report_pass(1, "window A again");
	report_pass(2, "window B: own page tables, same guest-physical pages");
	report_pass(3, "window B again");
	report_pass(4, "window C: A's page tables");
	/* The CPU (or the hypervisor on its behalf) set A and D in the guest's own PTE. */
	rt_puts("lab3: PT[5] after: accessed=");
	rt_put_dec(!!(*pte5 & PTE_A));
	rt_puts(" dirty=");
	rt_put_dec(!!(*pte5 & PTE_D));
	rt_putc('\n');
	direct = *(volatile uint64_t *)(uintptr_t)(REGION_GPA + 5 * PAGE_SIZE + 8);
	rt_puts("lab3: alias: wrote ");
	rt_put_hex(MARKER);
	rt_puts(" through A, read ");
	rt_put_hex(alias_seen);
	rt_puts(" through B and ");
	rt_put_hex(direct);
	rt_puts(" at its guest-physical address\n");
	check(alias_seen == MARKER && direct == MARKER, "A and B alias one guest-physical page");
	rt_puts("lab3: done\n");
	rt_debug_exit(LAB_MEM_OK);
}
