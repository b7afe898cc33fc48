/*
 * pagewalk: translates a guest-virtual (linear) address to a guest-physical
 * one by walking the guest's own page tables in guest RAM, the way the CPU
 * does (SDM Vol. 3A, chapter 4 "Paging"), and records every level it read,
 * so a debugger can show the walk entry by entry.
 *
 * Modes, chosen from CR0.PG, CR4.PAE, EFER.LMA and CR4.LA57 (SDM 3A 4.1.1):
 *   paging off   linear = physical (32 bits unless in long mode)
 *   32-bit       PD -> PT, 4-byte entries; 4 MiB pages when CR4.PSE
 *   PAE          PDPT (4 entries from CR3) -> PD -> PT; 2 MiB pages
 *   4-level      PML4 -> PDPT -> PD -> PT; 1 GiB and 2 MiB pages
 *   5-level      PML5 -> PML4 -> ... (CR4.LA57)
 *
 * No KVM here: the control registers come in as plain numbers and the
 * tables are read through guest_mem. Every table address comes from the
 * guest and is checked by guest_mem_read; a walk that leaves RAM stops with
 * a reason, it never reads outside it.
 */
#ifndef TRAPEZE_DEBUG_PAGEWALK_H
#define TRAPEZE_DEBUG_PAGEWALK_H

#include <stdio.h>

#include "trapeze/guest_mem.h"
#include "trapeze/types.h"

/* Control-register bits the walk reads (SDM 3A 2.5 and 2.2.1). */
#define PW_CR0_PG	(1ull << 31)
#define PW_CR0_WP	(1ull << 16)
#define PW_CR4_PSE	(1ull << 4)
#define PW_CR4_PAE	(1ull << 5)
#define PW_CR4_LA57	(1ull << 12)
#define PW_EFER_LMA	(1ull << 10)
#define PW_EFER_NXE	(1ull << 11)

/* Paging-structure entry bits (SDM 3A 4.3-4.5, tables 4-4 .. 4-20). */
#define PW_P		(1ull << 0)
#define PW_RW		(1ull << 1)
#define PW_US		(1ull << 2)
#define PW_PWT		(1ull << 3)
#define PW_PCD		(1ull << 4)
#define PW_A		(1ull << 5)
#define PW_D		(1ull << 6)
#define PW_PS		(1ull << 7)
#define PW_G		(1ull << 8)
#define PW_NX		(1ull << 63)
/* Physical-address bits of a 64-bit entry (up to MAXPHYADDR 52). */
#define PW_ADDR_MASK	0x000ffffffffff000ull

enum pagewalk_mode {
	PW_MODE_OFF,
	PW_MODE_32,
	PW_MODE_PAE,
	PW_MODE_4LEVEL,
	PW_MODE_5LEVEL,
};

#define PW_MAX_LEVELS 5

/* One paging-structure entry the walk read. */
struct pagewalk_level {
	const char *table;	/* "PML5", "PML4", "PDPT", "PD", "PT" */
	u64 table_gpa;		/* where the table starts */
	unsigned int index;	/* which entry */
	u64 entry_gpa;		/* where the entry is */
	unsigned int entry_size;/* 4 or 8 bytes */
	u64 entry;		/* its value */
	bool leaf;		/* maps the page (PT entry or PS set) */
};

struct pagewalk {
	enum pagewalk_mode mode;
	u64 va;
	unsigned int nr_levels;	/* entries read */
	struct pagewalk_level levels[PW_MAX_LEVELS];
	bool mapped;		/* true: gpa, page_size and the rights below are valid */
	u64 gpa;
	u64 page_size;
	bool writable;		/* RW in every level (what CPL 3 may write) */
	bool user;		/* US in every level */
	bool nx;		/* execute-disable in some level (EFER.NXE) */
	char why[96];		/* when not mapped: "PD entry 3 not present", ... */
};

/* The control registers a walk depends on (from KVM_GET_SREGS). */
struct pagewalk_regs {
	u64 cr0, cr3, cr4, efer;
};

enum pagewalk_mode pagewalk_mode_of(const struct pagewalk_regs *regs);
const char *pagewalk_mode_name(enum pagewalk_mode mode);

/*
 * Walks va. Returns 0 when it is mapped (w->gpa is the guest-physical
 * address), -EFAULT when it is not (w->why says where the walk stopped:
 * an entry not present, a reserved bit, a table outside RAM), -EINVAL for a
 * non-canonical address in long mode or an address beyond 32 bits outside
 * it. w is filled in every case.
 */
int pagewalk(const struct guest_mem *mem, const struct pagewalk_regs *regs, u64 va,
	     struct pagewalk *w);

/* The flags of an entry as text ("P RW US A PS NX"), for messages. */
void pagewalk_flags(u64 entry, bool is_leaf_ps_level, char *buf, size_t len);

/* Prints the walk level by level and the result (the `walk` command). */
void pagewalk_print(const struct pagewalk *w, FILE *out);

/*
 * Copies len bytes at guest-virtual va, page by page, into buf. 0, or
 * -EFAULT/-EINVAL as pagewalk for the first page that fails (*done says how
 * many bytes were copied before it).
 */
int pagewalk_read(const struct guest_mem *mem, const struct pagewalk_regs *regs, u64 va,
		  void *buf, u64 len, u64 *done);
/* The same for writing into guest memory. */
int pagewalk_write(const struct guest_mem *mem, const struct pagewalk_regs *regs, u64 va,
		   const void *buf, u64 len, u64 *done);

#endif
