/*
 * boot_tables: the GDT and identity page tables an ELF guest starts with.
 * See include/trapeze/arch/x86/boot_tables.h for the layout and
 * docs/guest-abi.md for what the guest is promised.
 */
#include <errno.h>
#include <string.h>

#include "trapeze/arch/x86/boot_tables.h"
#include "trapeze/arch/x86/layout.h"

/*
 * Segment descriptor fields (Intel SDM Vol. 3A, 3.4.5 "Segment Descriptors",
 * Figure 3-8): limit 15:0 in bits 15:0, base 23:0 in bits 39:16, type in
 * 43:40, S in 44, DPL in 46:45, P in 47, limit 19:16 in 51:48, AVL 52, L 53,
 * D/B 54, G 55, base 31:24 in 63:56.
 */
#define DESC_TYPE_DATA_RW_A	0x3ULL	/* read/write, accessed (SDM 3.4.5.1) */
#define DESC_TYPE_CODE_XR_A	0xbULL	/* execute/read, accessed (SDM 3.4.5.1) */
#define DESC_S			(1ULL << 44)	/* code or data, not system */
#define DESC_P			(1ULL << 47)	/* present */
#define DESC_L			(1ULL << 53)	/* 64-bit code (SDM 3.4.5, 5.2.1) */
#define DESC_DB			(1ULL << 54)	/* 32-bit default size / big */
#define DESC_G			(1ULL << 55)	/* limit in 4 KiB units */

/*
 * Paging-structure entry bits (SDM Vol. 3A, 4.5 "4-Level Paging",
 * Tables 4-15, 4-17, 4-18): P, R/W, U/S, A in every level; D and PS only in
 * the PDE that maps a 2 MiB page.
 */
#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_US		(1ULL << 2)
#define PTE_A		(1ULL << 5)
#define PTE_D		(1ULL << 6)
#define PTE_PS		(1ULL << 7)

#define PTE_TABLE	(PTE_P | PTE_RW | PTE_US | PTE_A)
#define PTE_LARGE	(PTE_TABLE | PTE_D | PTE_PS)

#define PAGE_SIZE_4K	0x1000ULL
#define PAGE_SIZE_2M	0x200000ULL
#define PT_ENTRIES	512
#define BOOT_NR_PDS	4	/* 4 PDs x 512 x 2 MiB = 4 GiB */

/* A code/data descriptor with base 0, limit 0xfffff, DPL 0, present. */
static u64 flat_descriptor(u64 type, u64 flags)
{
	u64 limit = 0xfffff;

	return (limit & 0xffff) | ((limit >> 16) << 48) | (type << 40) |
	       DESC_S | DESC_P | flags;
}

u64 x86_gdt_entry(unsigned int index)
{
	switch (index) {
	case X86_SEL_CODE64 >> 3:
		/* L=1 requires D=0 (SDM 5.2.1); base and limit are ignored in
		 * 64-bit mode but kept flat for the hidden parts. */
		return flat_descriptor(DESC_TYPE_CODE_XR_A, DESC_L | DESC_G);
	case X86_SEL_CODE32 >> 3:
		return flat_descriptor(DESC_TYPE_CODE_XR_A, DESC_DB | DESC_G);
	case X86_SEL_DATA >> 3:
		return flat_descriptor(DESC_TYPE_DATA_RW_A, DESC_DB | DESC_G);
	default:
		return 0;	/* entry 0 is the null descriptor */
	}
}

/* Stores v at guest-physical gpa inside the table area, which base maps from X86_BOOT_GDT. */
static void put_u64(u8 *base, u64 gpa, u64 v)
{
	memcpy(base + (gpa - X86_BOOT_GDT), &v, sizeof(v));
}

int x86_write_boot_tables(const struct guest_mem *mem)
{
	u64 len = X86_BOOT_TABLES_END - X86_BOOT_GDT;
	unsigned int i, pd;
	u8 *base;

	/* The whole area in one region: every put_u64 below stays inside it. */
	base = guest_mem_ptr(mem, X86_BOOT_GDT, len);
	if (!base)
		return -EFAULT;
	memset(base, 0, len);

	for (i = 0; i < X86_GDT_ENTRIES; i++)
		put_u64(base, X86_BOOT_GDT + 8ULL * i, x86_gdt_entry(i));

	put_u64(base, X86_BOOT_PML4, X86_BOOT_PDPT | PTE_TABLE);
	for (pd = 0; pd < BOOT_NR_PDS; pd++) {
		u64 pd_gpa = X86_BOOT_PD + pd * PAGE_SIZE_4K;

		put_u64(base, X86_BOOT_PDPT + 8ULL * pd, pd_gpa | PTE_TABLE);
		for (i = 0; i < PT_ENTRIES; i++) {
			u64 phys = ((u64)pd * PT_ENTRIES + i) * PAGE_SIZE_2M;

			put_u64(base, pd_gpa + 8ULL * i, phys | PTE_LARGE);
		}
	}
	return 0;
}

/* The four PDs must fit below X86_BOOT_TABLES_END, the PML4 and PDPT below X86_BOOT_PD. */
_Static_assert(X86_BOOT_PD + BOOT_NR_PDS * PAGE_SIZE_4K <= X86_BOOT_TABLES_END,
	       "boot page directories overrun X86_BOOT_TABLES_END");
_Static_assert(X86_BOOT_GDT + 8 * X86_GDT_ENTRIES <= X86_BOOT_PML4,
	       "boot GDT overruns the PML4");
