/*
 * dirtylog: --dirty-log's report of the pages the guest wrote, from
 * KVM_GET_DIRTY_LOG (Documentation/virt/kvm/api.rst, 4.8).
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "trapeze/debug/dirtylog.h"

#define BITS_PER_WORD 64ULL

static bool bit_set(const u64 *bitmap, u64 n)
{
	return (bitmap[n / BITS_PER_WORD] >> (n % BITS_PER_WORD)) & 1;
}

u64 dirtylog_count(const u64 *bitmap, u64 npages)
{
	u64 n = 0, full = npages / BITS_PER_WORD, i;

	for (i = 0; i < full; i++)
		n += (u64)__builtin_popcountll(bitmap[i]);
	for (i = full * BITS_PER_WORD; i < npages; i++)
		n += bit_set(bitmap, i);
	return n;
}

u64 dirtylog_ranges(const u64 *bitmap, u64 npages, u64 base_gpa,
		    struct dirtylog_range *r, u64 max)
{
	u64 found = 0, i = 0, start;

	while (i < npages) {
		/* Skip clear words whole: most of a big guest's bitmap. */
		if (i % BITS_PER_WORD == 0 && bitmap[i / BITS_PER_WORD] == 0) {
			i += BITS_PER_WORD;
			continue;
		}
		if (!bit_set(bitmap, i)) {
			i++;
			continue;
		}
		start = i;
		while (i < npages && bit_set(bitmap, i))
			i++;
		if (found < max) {
			r[found].gpa = base_gpa + start * DIRTYLOG_PAGE_SIZE;
			r[found].pages = i - start;
		}
		found++;
	}
	return found;
}

/* KVM_GET_DIRTY_LOG for one slot into a zeroed bitmap of its size. */
static int dirtylog_fetch(int vm_fd, u32 slot, u64 *bitmap)
{
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = bitmap };

	return ioctl(vm_fd, KVM_GET_DIRTY_LOG, &log) < 0 ? -errno : 0;
}

int dirtylog_report(int vm_fd, const struct guest_mem *mem, FILE *out)
{
	struct dirtylog_range shown[DIRTYLOG_MAX_PRINTED];
	u64 *bitmaps[GUEST_MEM_MAX_REGIONS] = { NULL };
	u64 pages[GUEST_MEM_MAX_REGIONS] = { 0 };
	u64 dirty = 0, total = 0, ranges = 0, nshown = 0;
	unsigned int i;
	int r = 0;

	for (i = 0; i < mem->nr_regions && !r; i++) {
		pages[i] = mem->regions[i].size / DIRTYLOG_PAGE_SIZE;
		/* KVM writes whole longs: round the bitmap up to 64 pages. */
		bitmaps[i] = calloc((pages[i] + BITS_PER_WORD - 1) / BITS_PER_WORD, sizeof(u64));
		if (!bitmaps[i])
			r = -ENOMEM;
		else
			r = dirtylog_fetch(vm_fd, i, bitmaps[i]);
	}
	if (r)
		goto out_free;

	for (i = 0; i < mem->nr_regions; i++) {
		dirty += dirtylog_count(bitmaps[i], pages[i]);
		total += pages[i];
	}
	fprintf(out, "trapeze: dirty-page log (KVM_GET_DIRTY_LOG): the guest wrote %llu of %llu pages (%.1f MiB)\n",
		(unsigned long long)dirty, (unsigned long long)total,
		(double)(dirty * DIRTYLOG_PAGE_SIZE) / (1 << 20));
	for (i = 0; i < mem->nr_regions; i++) {
		u64 n = dirtylog_ranges(bitmaps[i], pages[i], mem->regions[i].gpa, shown + nshown,
					DIRTYLOG_MAX_PRINTED - nshown);

		for (u64 k = nshown; k < DIRTYLOG_MAX_PRINTED && k < nshown + n; k++)
			fprintf(out, "  gpa 0x%010llx-0x%010llx %8llu pages\n",
				(unsigned long long)shown[k].gpa,
				(unsigned long long)(shown[k].gpa + shown[k].pages * DIRTYLOG_PAGE_SIZE - 1),
				(unsigned long long)shown[k].pages);
		nshown = nshown + n < DIRTYLOG_MAX_PRINTED ? nshown + n : DIRTYLOG_MAX_PRINTED;
		ranges += n;
	}
	if (ranges > nshown)
		fprintf(out, "  ... and %llu more ranges\n", (unsigned long long)(ranges - nshown));

out_free:
	for (i = 0; i < GUEST_MEM_MAX_REGIONS; i++)
		free(bitmaps[i]);
	return r;
}
