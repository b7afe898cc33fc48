/*
 * e820: the guest's physical memory map as the BIOS INT 15h, AX=E820h call
 * would report it (ACPI 6.5, chapter 15), built from
 * guest_mem for the Linux zero page and the PVH memory map.
 *
 * The map trapeze reports:
 *   [0, X86_EBDA_START)              RAM        conventional memory
 *   [X86_EBDA_START, 1 MiB)          reserved   EBDA, MP table, ACPI tables, BIOS area
 *   [1 MiB, end of region 0)         RAM
 *   each further guest_mem region    RAM        (above the 32-bit hole)
 * The hole [GUEST_MEM_HOLE_START, 4 GiB) is left out: a gap in the map is
 * where Linux looks for room for PCI MMIO.
 */
#ifndef TRAPEZE_ARCH_X86_E820_H
#define TRAPEZE_ARCH_X86_E820_H

#include "trapeze/guest_mem.h"
#include "trapeze/types.h"

/* Address range types (ACPI 6.5, chapter 15 "System Address Map Interfaces"). */
#define E820_RAM	1	/* AddressRangeMemory */
#define E820_RESERVED	2	/* AddressRangeReserved */
#define E820_ACPI	3	/* AddressRangeACPI (reclaimable) */

/* Linux needs RAM above 1 MiB; less than this in region 0 is refused. */
#define E820_MIN_RAM	0x200000ULL	/* 2 MiB */

struct e820_entry {
	u64 addr;
	u64 size;
	u32 type;
};

/*
 * Fills out[0..max) with mem's map, sorted by address, entries disjoint.
 * Returns the number of entries, -EINVAL when region 0 does not start at 0
 * or holds less than E820_MIN_RAM (or the regions are not sorted and
 * disjoint), -ENOSPC when max entries are not enough.
 */
int e820_build(const struct guest_mem *mem, struct e820_entry *out,
	       unsigned int max);

#endif
