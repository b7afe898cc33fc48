/*
 * The guest page-table walker (SDM Vol. 3A, chapter 4): 32-bit, PAE,
 * 4-level and 5-level paging, level by level, over guest_mem only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "trapeze/debug/pagewalk.h"

#define PW_4K	(1ull << 12)
#define PW_2M	(1ull << 21)
#define PW_4M	(1ull << 22)
#define PW_1G	(1ull << 30)

enum pagewalk_mode pagewalk_mode_of(const struct pagewalk_regs *regs)
{
	if (!(regs->cr0 & PW_CR0_PG))
		return PW_MODE_OFF;
	if (!(regs->cr4 & PW_CR4_PAE))
		return PW_MODE_32;
	if (!(regs->efer & PW_EFER_LMA))
		return PW_MODE_PAE;
	return regs->cr4 & PW_CR4_LA57 ? PW_MODE_5LEVEL : PW_MODE_4LEVEL;
}

const char *pagewalk_mode_name(enum pagewalk_mode mode)
{
	switch (mode) {
	case PW_MODE_OFF:
		return "paging off";
	case PW_MODE_32:
		return "32-bit paging";
	case PW_MODE_PAE:
		return "PAE paging";
	case PW_MODE_4LEVEL:
		return "4-level paging";
	case PW_MODE_5LEVEL:
		return "5-level paging";
	}
	return "?";
}

__attribute__((format(printf, 2, 3)))
static int pagewalk_fail(struct pagewalk *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->why, sizeof(w->why), fmt, ap);
	va_end(ap);
	w->mapped = false;
	return -EFAULT;
}

/*
 * Reads entry index of the table at table_gpa into a new level record.
 * -EFAULT (with w->why) when the entry is outside RAM.
 */
static int pagewalk_read_entry(const struct guest_mem *mem, struct pagewalk *w,
			       const char *table, u64 table_gpa, unsigned int index,
			       unsigned int size, u64 *entry)
{
	struct pagewalk_level *l = &w->levels[w->nr_levels];
	u64 gpa = table_gpa + (u64)index * size;
	u64 v = 0;

	if (guest_mem_read(mem, gpa, &v, size))
		return pagewalk_fail(w, "%s at 0x%" PRIx64 " is outside guest RAM", table,
				     table_gpa);
	l->table = table;
	l->table_gpa = table_gpa;
	l->index = index;
	l->entry_gpa = gpa;
	l->entry_size = size;
	l->entry = v;
	l->leaf = false;
	w->nr_levels++;
	*entry = v;
	return 0;
}

static void pagewalk_rights(struct pagewalk *w, u64 entry, bool nxe, bool has_rw_us)
{
	if (has_rw_us) {
		w->writable &= !!(entry & PW_RW);
		w->user &= !!(entry & PW_US);
	}
	if (nxe && (entry & PW_NX))
		w->nx = true;
}

static int pagewalk_done(struct pagewalk *w, u64 gpa, u64 page_size)
{
	w->levels[w->nr_levels - 1].leaf = true;
	w->mapped = true;
	w->gpa = gpa;
	w->page_size = page_size;
	return 0;
}

/* 4- and 5-level paging (SDM 3A 4.5): 8-byte entries, 9 index bits a level. */
static int pagewalk_long(const struct guest_mem *mem, const struct pagewalk_regs *regs,
			 u64 va, struct pagewalk *w)
{
	static const char *const names[] = { "PML5", "PML4", "PDPT", "PD", "PT" };
	bool la57 = w->mode == PW_MODE_5LEVEL;
	bool nxe = regs->efer & PW_EFER_NXE;
	unsigned int bits = la57 ? 57 : 48;
	u64 table = regs->cr3 & PW_ADDR_MASK;
	s64 sva = (s64)va;

	/* Canonical: bits 63 down to bits - 1 all equal (SDM 3A 4.5.1). */
	if ((sva >> (bits - 1)) != 0 && (sva >> (bits - 1)) != -1) {
		snprintf(w->why, sizeof(w->why), "0x%" PRIx64 " is not canonical (%u-bit)",
			 va, bits);
		return -EINVAL;
	}
	for (unsigned int lvl = la57 ? 0 : 1; lvl < 5; lvl++) {
		unsigned int shift = 12 + 9 * (4 - lvl);
		unsigned int index = (unsigned int)(va >> shift) & 0x1ff;
		u64 e = 0;

		if (pagewalk_read_entry(mem, w, names[lvl], table, index, 8, &e))
			return -EFAULT;
		if (!(e & PW_P))
			return pagewalk_fail(w, "%s entry %u not present", names[lvl], index);
		if (!nxe && (e & PW_NX))
			return pagewalk_fail(w, "%s entry %u: NX set with EFER.NXE clear (reserved)",
					     names[lvl], index);
		pagewalk_rights(w, e, nxe, true);
		if (lvl == 4)	/* PT: a 4 KiB page */
			return pagewalk_done(w, (e & PW_ADDR_MASK) | (va & (PW_4K - 1)), PW_4K);
		if (e & PW_PS) {
			u64 size = lvl == 2 ? PW_1G : PW_2M;

			if (lvl < 2)
				return pagewalk_fail(w, "%s entry %u: PS set (reserved at this level)",
						     names[lvl], index);
			return pagewalk_done(w, (e & PW_ADDR_MASK & ~(size - 1)) | (va & (size - 1)),
					     size);
		}
		table = e & PW_ADDR_MASK;
	}
	return pagewalk_fail(w, "walk did not end");	/* not reached */
}

/* PAE paging (SDM 3A 4.4): four PDPTEs from CR3, then PD and PT with 8-byte entries. */
static int pagewalk_pae(const struct guest_mem *mem, const struct pagewalk_regs *regs,
			u64 va, struct pagewalk *w)
{
	bool nxe = regs->efer & PW_EFER_NXE;
	unsigned int index = (unsigned int)(va >> 30) & 3;
	u64 e = 0;

	if (pagewalk_read_entry(mem, w, "PDPT", regs->cr3 & 0xffffffe0ull, index, 8, &e))
		return -EFAULT;
	if (!(e & PW_P))
		return pagewalk_fail(w, "PDPT entry %u not present", index);
	/* PDPTEs have no RW/US/NX bits in PAE mode (table 4-8). */
	index = (unsigned int)(va >> 21) & 0x1ff;
	if (pagewalk_read_entry(mem, w, "PD", e & PW_ADDR_MASK, index, 8, &e))
		return -EFAULT;
	if (!(e & PW_P))
		return pagewalk_fail(w, "PD entry %u not present", index);
	pagewalk_rights(w, e, nxe, true);
	if (e & PW_PS)
		return pagewalk_done(w, (e & PW_ADDR_MASK & ~(PW_2M - 1)) | (va & (PW_2M - 1)),
				     PW_2M);
	index = (unsigned int)(va >> 12) & 0x1ff;
	if (pagewalk_read_entry(mem, w, "PT", e & PW_ADDR_MASK, index, 8, &e))
		return -EFAULT;
	if (!(e & PW_P))
		return pagewalk_fail(w, "PT entry %u not present", index);
	pagewalk_rights(w, e, nxe, true);
	return pagewalk_done(w, (e & PW_ADDR_MASK) | (va & (PW_4K - 1)), PW_4K);
}

/* 32-bit paging (SDM 3A 4.3): PD -> PT with 4-byte entries, 4 MiB pages with PSE. */
static int pagewalk_32(const struct guest_mem *mem, const struct pagewalk_regs *regs,
		       u64 va, struct pagewalk *w)
{
	unsigned int index = (unsigned int)(va >> 22) & 0x3ff;
	u64 e = 0;

	if (pagewalk_read_entry(mem, w, "PD", regs->cr3 & 0xfffff000ull, index, 4, &e))
		return -EFAULT;
	if (!(e & PW_P))
		return pagewalk_fail(w, "PD entry %u not present", index);
	pagewalk_rights(w, e, false, true);
	if ((e & PW_PS) && (regs->cr4 & PW_CR4_PSE)) {
		/* PSE-36: PDE bits 20:13 are physical-address bits 39:32 (table 4-4). */
		u64 base = (e & 0xffc00000ull) | ((e >> 13) & 0xffull) << 32;

		return pagewalk_done(w, base | (va & (PW_4M - 1)), PW_4M);
	}
	index = (unsigned int)(va >> 12) & 0x3ff;
	if (pagewalk_read_entry(mem, w, "PT", e & 0xfffff000ull, index, 4, &e))
		return -EFAULT;
	if (!(e & PW_P))
		return pagewalk_fail(w, "PT entry %u not present", index);
	pagewalk_rights(w, e, false, true);
	return pagewalk_done(w, (e & 0xfffff000ull) | (va & (PW_4K - 1)), PW_4K);
}

int pagewalk(const struct guest_mem *mem, const struct pagewalk_regs *regs, u64 va,
	     struct pagewalk *w)
{
	memset(w, 0, sizeof(*w));
	w->mode = pagewalk_mode_of(regs);
	w->va = va;
	w->writable = true;
	w->user = true;
	if (w->mode == PW_MODE_4LEVEL || w->mode == PW_MODE_5LEVEL)
		return pagewalk_long(mem, regs, va, w);
	if (va > 0xffffffffull) {
		snprintf(w->why, sizeof(w->why), "0x%" PRIx64 " is beyond 32 bits (%s)", va,
			 pagewalk_mode_name(w->mode));
		return -EINVAL;
	}
	if (w->mode == PW_MODE_PAE)
		return pagewalk_pae(mem, regs, va, w);
	if (w->mode == PW_MODE_32)
		return pagewalk_32(mem, regs, va, w);
	/* Paging off: the linear address is the physical one. */
	w->mapped = true;
	w->gpa = va;
	w->page_size = PW_4K;
	return 0;
}

void pagewalk_flags(u64 entry, bool ps_level, char *buf, size_t len)
{
	static const struct { u64 bit; const char *name; } flags[] = {
		{ PW_P, "P" }, { PW_RW, "RW" }, { PW_US, "US" }, { PW_PWT, "PWT" },
		{ PW_PCD, "PCD" }, { PW_A, "A" }, { PW_D, "D" }, { PW_PS, "PS" },
		{ PW_G, "G" }, { PW_NX, "NX" },
	};
	size_t o = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(flags) && o < len; i++) {
		/* D and G mean something only where the entry maps a page. */
		if (!(entry & flags[i].bit) ||
		    (!ps_level && (flags[i].bit == PW_D || flags[i].bit == PW_G)))
			continue;
		o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? " " : "", flags[i].name);
	}
}

static const char *pagewalk_size_name(u64 size)
{
	switch (size) {
	case PW_4K:
		return "4 KiB";
	case PW_2M:
		return "2 MiB";
	case PW_4M:
		return "4 MiB";
	case PW_1G:
		return "1 GiB";
	}
	return "?";
}

void pagewalk_print(const struct pagewalk *w, FILE *out)
{
	fprintf(out, "walk 0x%" PRIx64 ": %s", w->va, pagewalk_mode_name(w->mode));
	if (w->nr_levels)
		fprintf(out, ", first table at 0x%" PRIx64, w->levels[0].table_gpa);
	fputc('\n', out);
	for (unsigned int i = 0; i < w->nr_levels; i++) {
		const struct pagewalk_level *l = &w->levels[i];
		char flags[48];

		pagewalk_flags(l->entry, l->leaf, flags, sizeof(flags));
		fprintf(out, "  %-4s[%3u] at 0x%-10" PRIx64 " = 0x%0*" PRIx64 "  %-22s",
			l->table, l->index, l->entry_gpa, (int)l->entry_size * 2, l->entry, flags);
		if (!(l->entry & PW_P))
			fprintf(out, " not present\n");
		else if (l->leaf)
			fprintf(out, " -> %s page\n", pagewalk_size_name(w->page_size));
		else if (i + 1 < w->nr_levels)
			fprintf(out, " -> %s at 0x%" PRIx64 "\n", w->levels[i + 1].table,
				w->levels[i + 1].table_gpa);
		else
			fputc('\n', out);
	}
	if (w->mapped)
		fprintf(out, "  = guest-physical 0x%" PRIx64 " (%s page, %s, %s, %s)\n", w->gpa,
			pagewalk_size_name(w->page_size),
			w->writable ? "writable" : "read-only",
			w->user ? "user" : "supervisor only",
			w->nx ? "no-execute" : "executable");
	else
		fprintf(out, "  = not mapped: %s\n", w->why);
}

/* Copies page by page; write selects the direction. */
static int pagewalk_copy(const struct guest_mem *mem, const struct pagewalk_regs *regs,
			 u64 va, void *buf, u64 len, u64 *done, bool write)
{
	u8 *p = buf;

	*done = 0;
	if (len && va + len - 1 < va)
		return -EINVAL;	/* wraps past the top of the address space */
	while (*done < len) {
		struct pagewalk w;
		u64 in_page, n;
		int r;

		r = pagewalk(mem, regs, va + *done, &w);
		if (r)
			return r;
		/* Stay inside the page (a 4 KiB unit is enough even for large pages). */
		in_page = PW_4K - ((va + *done) & (PW_4K - 1));
		n = len - *done < in_page ? len - *done : in_page;
		r = write ? guest_mem_write(mem, w.gpa, p + *done, n) :
			    guest_mem_read(mem, w.gpa, p + *done, n);
		if (r)
			return r;
		*done += n;
	}
	return 0;
}

int pagewalk_read(const struct guest_mem *mem, const struct pagewalk_regs *regs, u64 va,
		  void *buf, u64 len, u64 *done)
{
	return pagewalk_copy(mem, regs, va, buf, len, done, false);
}

int pagewalk_write(const struct guest_mem *mem, const struct pagewalk_regs *regs, u64 va,
		   const void *buf, u64 len, u64 *done)
{
	return pagewalk_copy(mem, regs, va, (void *)buf, len, done, true);
}
