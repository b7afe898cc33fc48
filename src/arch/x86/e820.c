/*
 * e820: the guest memory map, from guest_mem's regions and the fixed
 * reserved area below 1 MiB (include/trapeze/arch/x86/e820.h).
 */
#include <errno.h>

#include "trapeze/arch/x86/e820.h"
#include "trapeze/arch/x86/layout.h"

/* Appends one entry; -ENOSPC when out is full. */
static int e820_add(struct e820_entry *out, unsigned int max, unsigned int *n,
		    u64 addr, u64 size, u32 type)
{
	if (*n >= max)
		return -ENOSPC;
	out[*n] = (struct e820_entry){ .addr = addr, .size = size, .type = type };
	(*n)++;
	return 0;
}

int e820_build(const struct guest_mem *mem, struct e820_entry *out,
	       unsigned int max)
{
	const struct guest_region *low = &mem->regions[0];
	unsigned int i, n = 0;
	u64 prev_end;
	int ret;

	/*
	 * The low area (boot tables, zero page, command line, EBDA, ACPI)
	 * and at least 1 MiB above it must be RAM in region 0.
	 */
	if (!mem->nr_regions || low->gpa != 0 || low->size < E820_MIN_RAM)
		return -EINVAL;

	ret = e820_add(out, max, &n, 0, X86_EBDA_START, E820_RAM);
	if (!ret)
		ret = e820_add(out, max, &n, X86_EBDA_START,
			       X86_LOW_RESERVED_END - X86_EBDA_START,
			       E820_RESERVED);
	if (!ret)
		ret = e820_add(out, max, &n, X86_LOW_RESERVED_END,
			       low->size - X86_LOW_RESERVED_END, E820_RAM);
	if (ret)
		return ret;

	prev_end = low->size;
	for (i = 1; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		/* A map with overlapping or unsorted entries confuses guests. */
		if (!r->size || r->gpa < prev_end || r->size > UINT64_MAX - r->gpa)
			return -EINVAL;
		ret = e820_add(out, max, &n, r->gpa, r->size, E820_RAM);
		if (ret)
			return ret;
		prev_end = r->gpa + r->size;
	}
	return n;
}
