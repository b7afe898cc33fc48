/*
 * dirtylog: --dirty-log, the guest pages written during a run, from KVM's
 * dirty-page log (docs/labs/03-memory-virtualization).
 *
 * With --dirty-log every RAM slot is registered with KVM_MEM_LOG_DIRTY_PAGES
 * (vm.c); KVM then sets a bit in a per-slot bitmap the first time the guest
 * writes each 4 KiB page (by write-protecting the page in its shadow or
 * nested page tables). After the VM stopped, dirtylog_report() fetches the
 * bitmaps with KVM_GET_DIRTY_LOG and prints how many pages were written and
 * where. Writes trapeze itself makes through its mapping (loading the image,
 * virtio buffers) are not the guest's and are not logged.
 *
 * The bitmap helpers are pure functions over KVM's layout (bit n of 64-bit
 * word n / 64 is page n of the slot), so they are unit-tested without KVM.
 */
#ifndef TRAPEZE_DEBUG_DIRTYLOG_H
#define TRAPEZE_DEBUG_DIRTYLOG_H

#include <stdio.h>

#include "trapeze/guest_mem.h"
#include "trapeze/types.h"

#define DIRTYLOG_PAGE_SIZE	4096ULL
#define DIRTYLOG_MAX_PRINTED	16	/* ranges listed by dirtylog_report */

/* A run of written pages: [gpa, gpa + pages * 4 KiB). */
struct dirtylog_range {
	u64 gpa;
	u64 pages;
};

/* The number of bits set among the first npages bits of bitmap. */
u64 dirtylog_count(const u64 *bitmap, u64 npages);

/*
 * Finds the runs of set bits among the first npages bits of bitmap, page n
 * being at base_gpa + n * 4 KiB. Stores the first max of them in r (r may be
 * NULL when max is 0) and returns how many there are in all.
 */
u64 dirtylog_ranges(const u64 *bitmap, u64 npages, u64 base_gpa,
		    struct dirtylog_range *r, u64 max);

/*
 * Fetches (and so clears) KVM's dirty bitmap of every RAM slot of vm_fd,
 * slot i being mem->regions[i] as vm.c registers them, and prints the total
 * and up to DIRTYLOG_MAX_PRINTED ranges to out. 0, -ENOMEM, or the
 * KVM_GET_DIRTY_LOG error (-ENOENT when a slot has no dirty logging).
 */
int dirtylog_report(int vm_fd, const struct guest_mem *mem, FILE *out);

#endif
